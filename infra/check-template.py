#!/usr/bin/env python3
"""Check that template.yaml and the workspace's function crates agree.

Fails (exit 1) when:
  * a binary of a function crate (functions/*/Cargo.toml) has no function in template.yaml,
  * a function's Metadata.BuildProperties.Binary is not such a binary,
  * a function is not built and run the way every function here is: rust-cargolambda,
    provided.al2023, arm64, Handler bootstrap (set on the function or in Globals.Function).

cfn-lint checks the template against CloudFormation; it cannot know the Cargo workspace, which
is why this exists. Needs PyYAML (cfn-lint installs it into .venv): run with .venv/bin/python.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

try:
    import yaml
except ImportError:  # pragma: no cover - depends on the interpreter used
    sys.exit(
        "check-template: PyYAML is missing; run with the project venv "
        "(.venv/bin/python infra/check-template.py), which ./infra/test.sh creates"
    )

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
EXPECTED = {
    "Runtime": "provided.al2023",
    "Architectures": ["arm64"],
    "Handler": "bootstrap",
}
BUILD_METHOD = "rust-cargolambda"


class CfnLoader(yaml.SafeLoader):
    """A safe loader that accepts CloudFormation short-form tags (!Ref, !GetAtt, !Sub...)."""


def _cfn_tag(loader: CfnLoader, _suffix: str, node: yaml.Node) -> object:
    # The value of an intrinsic is irrelevant here; keep its raw form so parsing succeeds.
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


CfnLoader.add_multi_constructor("!", _cfn_tag)


def crate_binaries(manifest_path: Path) -> set[str]:
    """Binary targets of one crate, following Cargo's target auto-discovery rules."""
    with manifest_path.open("rb") as f:
        manifest = tomllib.load(f)
    crate_dir = manifest_path.parent
    package = manifest.get("package", {})
    name = package.get("name")
    if not name:
        raise ValueError(f"{manifest_path}: no [package] name")

    declared = manifest.get("bin", [])
    binaries = {b["name"] for b in declared if "name" in b}
    if package.get("autobins", True):
        declared_paths = {b.get("path") for b in declared}
        # src/main.rs is the binary named after the package unless a [[bin]] claims it.
        if (crate_dir / "src/main.rs").is_file() and not (
            name in binaries or "src/main.rs" in declared_paths
        ):
            binaries.add(name)
        bin_dir = crate_dir / "src/bin"
        if bin_dir.is_dir():
            for entry in sorted(bin_dir.iterdir()):
                rel = entry.relative_to(crate_dir).as_posix()
                if entry.suffix == ".rs" and entry.is_file():
                    if rel not in declared_paths:
                        binaries.add(entry.stem)
                elif (entry / "main.rs").is_file():
                    if f"{rel}/main.rs" not in declared_paths:
                        binaries.add(entry.name)
    return binaries


def workspace_binaries(root: Path) -> dict[str, Path]:
    """Every binary of every function crate, mapped to the manifest declaring it."""
    found: dict[str, Path] = {}
    for manifest in sorted(root.glob("functions/*/Cargo.toml")):
        for binary in crate_binaries(manifest):
            found[binary] = manifest.relative_to(root)
    return found


def check(root: Path, template_path: Path) -> list[str]:
    errors: list[str] = []
    with template_path.open(encoding="utf-8") as f:
        template = yaml.load(f, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass
    if not isinstance(template, dict):
        return [f"{template_path}: not a YAML mapping"]

    globals_fn = (template.get("Globals") or {}).get("Function") or {}
    resources = template.get("Resources") or {}
    binaries = workspace_binaries(root)
    if not binaries:
        errors.append(f"no function crate binaries found under {root / 'functions'}")

    built: dict[str, str] = {}
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        metadata = resource.get("Metadata") or {}
        props = {**globals_fn, **(resource.get("Properties") or {})}
        where = f"template.yaml: {logical_id}"

        if metadata.get("BuildMethod") != BUILD_METHOD:
            errors.append(
                f"{where}: Metadata.BuildMethod is {metadata.get('BuildMethod')!r}, "
                f"expected {BUILD_METHOD!r}"
            )
        for key, expected in EXPECTED.items():
            if props.get(key) != expected:
                errors.append(
                    f"{where}: {key} is {props.get(key)!r} (on the function or in "
                    f"Globals.Function), expected {expected!r}"
                )

        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if not binary:
            errors.append(f"{where}: no Metadata.BuildProperties.Binary")
            continue
        if binary not in binaries:
            known = ", ".join(sorted(binaries)) or "none"
            errors.append(
                f"{where}: BuildProperties.Binary {binary!r} is not a binary of any "
                f"functions/*/Cargo.toml (known: {known})"
            )
        built[binary] = logical_id

    for binary, manifest in sorted(binaries.items()):
        if binary not in built:
            errors.append(
                f"{manifest}: binary {binary!r} has no {SERVERLESS_FUNCTION} in template.yaml "
                f"(add one with Metadata.BuildProperties.Binary: {binary})"
            )
    return errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--root", type=Path, default=REPO_ROOT, help="repository root (default: %(default)s)"
    )
    parser.add_argument(
        "--template", type=Path, help="SAM template (default: ROOT/template.yaml)"
    )
    args = parser.parse_args()
    template_path = args.template or args.root / "template.yaml"

    try:
        errors = check(args.root, template_path)
    except (OSError, ValueError, KeyError, yaml.YAMLError, tomllib.TOMLDecodeError) as err:
        print(f"check-template: {err}", file=sys.stderr)
        return 1
    if errors:
        for error in errors:
            print(f"check-template: {error}", file=sys.stderr)
        print(f"check-template: FAILED ({len(errors)} problem(s))", file=sys.stderr)
        return 1
    print(f"check-template: OK ({', '.join(sorted(workspace_binaries(args.root)))})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

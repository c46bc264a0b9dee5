#!/usr/bin/env python3
"""Check that template.yaml and the workspace's function crates agree.

Fails (exit 1) when:
  * a binary of a function crate (functions/*/Cargo.toml) has no function in template.yaml,
  * a function's Metadata.BuildProperties.Binary is not such a binary,
  * a function is not built and run the way every function here is: rust-cargolambda,
    provided.al2023, arm64, Handler bootstrap (set on the function or in Globals.Function),
  * the CloudFront distribution's CacheBehaviors (PathPattern -> the function behind the
    origin) and `cargo lambda watch`'s router ([workspace.metadata.lambda.watch.router] in
    Cargo.toml) do not route the same paths to the same functions. Both must follow the route
    table in shared/src/web/routes.rs, which `ltictl serve` uses; shared/tests/routes.rs checks
    each of them against that table.

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


def _cfn_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> object:
    # The long form CloudFormation reads the short one as: !Ref X is {"Ref": X}, !Sub s is
    # {"Fn::Sub": s}, !GetAtt A.B is {"Fn::GetAtt": ["A", "B"]}.
    value: object
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix in ("Ref", "Condition"):
        return {suffix: value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


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


ROUTER = "[workspace.metadata.lambda.watch.router] in Cargo.toml"
ROUTE_TABLE = "shared/src/web/routes.rs"


def cargo_router(root: Path) -> tuple[dict[str, str], list[str]]:
    """`cargo lambda watch`'s routes as {pattern: function}, a final catch-all segment
    `{*name}` written as CloudFront writes a prefix (`/outcomes/{*rest}` is `/outcomes/*`)."""
    with (root / "Cargo.toml").open("rb") as f:
        manifest = tomllib.load(f)
    router = manifest
    for key in ("workspace", "metadata", "lambda", "watch", "router"):
        router = router.get(key) if isinstance(router, dict) else None
    if not isinstance(router, dict):
        return {}, [f"Cargo.toml: no {ROUTER} table"]
    routes: dict[str, str] = {}
    errors: list[str] = []
    for path, function in router.items():
        where = f"{ROUTER}: {path!r}"
        if not isinstance(function, str):
            errors.append(f"{where}: expected one function name, not per-method routes")
            continue
        head, _, last = path.rpartition("/")
        if "{" in head or "}" in head:
            errors.append(f"{where}: only the last segment may be a parameter")
            continue
        if last.startswith("{") and last.endswith("}"):
            if not last.startswith("{*"):
                errors.append(
                    f"{where}: a {{name}} parameter matches one segment only, while CloudFront's "
                    f"{head}/* matches every path under {head}/; write {head}/{{*rest}}"
                )
                continue
            pattern = f"{head}/*"
        elif "{" in last or "}" in last:
            errors.append(f"{where}: a parameter must be a whole segment")
            continue
        else:
            pattern = path
        if pattern in routes:
            errors.append(f"{where}: {pattern} is routed twice")
        routes[pattern] = function
    return routes, errors


def _get_att(value: object) -> list[str] | None:
    """The [logical id, attribute] of the first Fn::GetAtt found in `value`."""
    if isinstance(value, dict):
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and len(att) == 2 and all(isinstance(a, str) for a in att):
            return att
        values = list(value.values())
    elif isinstance(value, list):
        values = value
    else:
        return None
    for item in values:
        found = _get_att(item)
        if found:
            return found
    return None


def cloudfront_routes(resources: dict) -> tuple[dict[str, str], list[str]]:
    """The distribution's CacheBehaviors as {PathPattern: function binary}: each origin is
    followed through its DomainName (`!GetAtt <Function>Url.FunctionUrl`, the function URL SAM
    creates for FunctionUrlConfig) to the function's Metadata.BuildProperties.Binary."""
    distributions = [
        (logical_id, r)
        for logical_id, r in resources.items()
        if isinstance(r, dict) and r.get("Type") == "AWS::CloudFront::Distribution"
    ]
    if len(distributions) != 1:
        return {}, [f"template.yaml: {len(distributions)} CloudFront distributions, expected 1"]
    dist_id, dist = distributions[0]
    config = (dist.get("Properties") or {}).get("DistributionConfig") or {}
    errors: list[str] = []

    origins: dict[str, str] = {}
    for origin in config.get("Origins") or []:
        origin_id = origin.get("Id")
        where = f"template.yaml: {dist_id} origin {origin_id!r}"
        att = _get_att(origin.get("DomainName"))
        if not att or att[1] != "FunctionUrl" or not att[0].endswith("Url"):
            errors.append(f"{where}: DomainName is not a !GetAtt <Function>Url.FunctionUrl")
            continue
        function_id = att[0].removesuffix("Url")
        function = resources.get(function_id)
        binary = (
            ((function.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
            if isinstance(function, dict)
            else None
        )
        if not binary:
            errors.append(
                f"{where}: {att[0]} is not the URL of a function with "
                f"Metadata.BuildProperties.Binary (looked for {function_id})"
            )
            continue
        origins[origin_id] = binary

    routes: dict[str, str] = {}
    for behavior in config.get("CacheBehaviors") or []:
        pattern = behavior.get("PathPattern")
        target = behavior.get("TargetOriginId")
        where = f"template.yaml: {dist_id} CacheBehavior {pattern!r}"
        if target not in origins:
            errors.append(f"{where}: TargetOriginId {target!r} is not a function origin")
            continue
        if pattern in routes:
            errors.append(f"{where}: PathPattern listed twice")
        routes[pattern] = origins[target]
    default = (config.get("DefaultCacheBehavior") or {}).get("TargetOriginId")
    if default not in origins:
        errors.append(
            f"template.yaml: {dist_id} DefaultCacheBehavior: TargetOriginId {default!r} is not a "
            "function origin"
        )
    return routes, errors


def check_routes(root: Path, resources: dict) -> list[str]:
    """CloudFront and `cargo lambda watch` route the same paths to the same functions."""
    router, errors = cargo_router(root)
    behaviors, more = cloudfront_routes(resources)
    errors += more
    for pattern in sorted(set(router) | set(behaviors)):
        local, deployed = router.get(pattern), behaviors.get(pattern)
        if local == deployed:
            continue
        if deployed is None:
            errors.append(
                f"{ROUTER} routes {pattern} to {local}, but template.yaml has no CacheBehavior "
                f"with PathPattern {pattern}: add one (TargetOriginId: the {local} origin), or "
                f"remove the route, following {ROUTE_TABLE}"
            )
        elif local is None:
            cargo_form = pattern[:-1] + "{*rest}" if pattern.endswith("/*") else pattern
            errors.append(
                f"template.yaml: CacheBehavior {pattern} goes to {deployed}, but {ROUTER} has no "
                f'such route: add "{cargo_form}" = "{deployed}", or remove the behaviour, '
                f"following {ROUTE_TABLE}"
            )
        else:
            errors.append(
                f"{pattern}: template.yaml's CacheBehavior goes to {deployed}, {ROUTER} to "
                f"{local}; make both follow {ROUTE_TABLE}"
            )
    return errors


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
    errors.extend(check_routes(root, resources))
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

#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the shared crate's parsers, for a bounded
# time per target. The targets live in fuzz/, a workspace of their own.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/fuzz.sh [SECONDS] [TARGET...]

Fuzzes each TARGET for SECONDS seconds (default 30), one target after the other. Without
TARGET, every target that `cargo fuzz list` shows for fuzz/ is run.

  SECONDS   whole seconds per target (libFuzzer -max_total_time)
  TARGET    a [[bin]] of fuzz/Cargo.toml, e.g. oauth_params

Each run is, from fuzz/:
  cargo +stable fuzz run TARGET --sanitizer none -- \
      -max_total_time=SECONDS -rss_limit_mb=512 -print_final_stats=1 [-dict=...]
Sanitizers need a nightly toolchain, which a machine of this project may not have, while
coverage-guided fuzzing does not: without a sanitizer cargo-fuzz passes rustc no -Z flag, so
the stable compiler builds the targets as they are. The fuzzed code is safe Rust
(unsafe_code = "forbid"), so the stable build loses little. FUZZ_TOOLCHAIN=nightly runs `cargo +nightly fuzz run` with
AddressSanitizer instead (when a nightly toolchain is installed); FUZZ_SANITIZER overrides
the sanitizer (none, or address/leak/memory/thread on nightly).
The first build compiles the shared crate's whole dependency tree with instrumentation
(about 10 minutes on 2 cores); later runs reuse fuzz/target.
fuzz/dicts/TARGET.dict, when present, is passed as the libFuzzer dictionary.

The corpus accumulates in fuzz/corpus/TARGET. A crashing input is saved in
fuzz/artifacts/TARGET and the script exits non-zero; reproduce it with
  cd fuzz && cargo +stable fuzz run TARGET --sanitizer none ARTIFACT

Idempotent: installs cargo-fuzz (cargo install cargo-fuzz --locked) only when it is missing.
Takes no secrets.

Examples:
  infra/fuzz.sh                    # every target, 30 s each
  infra/fuzz.sh 20 oauth_params    # one target, 20 s
EOF
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
esac

die() {
    printf 'fuzz.sh: %s\n' "$*" >&2
    exit 1
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"

DURATION=30
if [[ $# -gt 0 && "$1" =~ ^[0-9]+$ ]]; then
    DURATION="$1"
    shift
fi
[[ "$DURATION" -gt 0 ]] || die "SECONDS must be a positive whole number"
for arg in "$@"; do
    [[ "$arg" != -* ]] || die "unknown option: $arg (see --help)"
done

if ! cargo fuzz --version >/dev/null 2>&1; then
    printf '==> installing cargo-fuzz\n'
    cargo install cargo-fuzz --locked
fi

has_nightly() {
    command -v rustup >/dev/null 2>&1 \
        && rustup toolchain list 2>/dev/null | grep -q '^nightly' \
        && rustc +nightly --version >/dev/null 2>&1
}

TOOLCHAIN="${FUZZ_TOOLCHAIN:-stable}"
case "$TOOLCHAIN" in
    nightly)
        has_nightly || die "FUZZ_TOOLCHAIN=nightly but no nightly toolchain is installed"
        CARGO=(cargo +nightly)
        SANITIZER="${FUZZ_SANITIZER:-address}"
        ;;
    stable)
        if command -v rustup >/dev/null 2>&1; then CARGO=(cargo +stable); else CARGO=(cargo); fi
        SANITIZER="${FUZZ_SANITIZER:-none}"
        [[ "$SANITIZER" == none ]] || die "sanitizers need a nightly toolchain; use FUZZ_SANITIZER=none"
        ;;
    *) die "FUZZ_TOOLCHAIN must be stable or nightly, not $TOOLCHAIN" ;;
esac

cd "$FUZZ_DIR"
mapfile -t KNOWN < <("${CARGO[@]}" fuzz list)
[[ ${#KNOWN[@]} -gt 0 ]] || die "no fuzz targets found in $FUZZ_DIR"
if [[ $# -gt 0 ]]; then TARGETS=("$@"); else TARGETS=("${KNOWN[@]}"); fi
for target in "${TARGETS[@]}"; do
    printf '%s\n' "${KNOWN[@]}" | grep -qxF -- "$target" \
        || die "unknown target $target (known: ${KNOWN[*]})"
done

status=0
for target in "${TARGETS[@]}"; do
    libfuzzer_args=(-max_total_time="$DURATION" -rss_limit_mb=512 -print_final_stats=1)
    if [[ -f "dicts/$target.dict" ]]; then
        libfuzzer_args+=(-dict="dicts/$target.dict")
    fi
    printf '\n==> %s fuzz run %s --sanitizer %s -- %s\n' \
        "${CARGO[*]}" "$target" "$SANITIZER" "${libfuzzer_args[*]}"
    if ! "${CARGO[@]}" fuzz run "$target" --sanitizer "$SANITIZER" -- "${libfuzzer_args[@]}"; then
        printf 'fuzz.sh: %s failed; see fuzz/artifacts/%s\n' "$target" "$target" >&2
        status=1
    fi
done
exit "$status"

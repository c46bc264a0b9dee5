#!/usr/bin/env bash
# Cold start and size of every Lambda function, measured the way they are deployed.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/coldstart.sh [--repeat N] [--skip-build] [--no-arm64]

For every function crate in functions/*:
  1. builds the release binaries as SAM's rust-cargolambda build does
     (cargo lambda build --release), for arm64 (as deployed; zipped) and for this
     machine's x86_64 (to run here);
  2. starts moto on a free loopback port, creates the table, secret and queues
     (infra/local_aws.py), creates signing keys and registers the platform the recorded
     login event names (ltictl --aws);
  3. runs each x86_64 binary N times (default 5) as a fresh process under a minimal Lambda
     Runtime API emulator on loopback (infra/coldstart.py) with the function's environment,
     dummy credentials and AWS_ENDPOINT_URL at moto, hands it one recorded function-URL event
     (infra/coldstart-events/<function>.json, else functions/<function>/tests/data/*.json);
  4. prints, per function: the zipped size of the arm64 bootstrap, the median time from
     process start to its first GET /2018-06-01/runtime/invocation/next ("init"), the median
     first-invocation latency, and the peak resident memory (VmHWM), against the aims
     (init <= 25 ms, zip <= 4 MiB, peak <= 30 MiB).

Options:
  --repeat N     fresh processes per function (default 5)
  --skip-build   reuse the binaries of the last build (target/lambda/)
  --no-arm64     skip the arm64 build (sizes come from an earlier arm64 build if there is
                 one for every function, else from the x86_64 zips)

Tools are pinned and installed only here, into .venv-lambda/ (cargo-lambda 1.9.2, ziglang
0.17.1, moto 5.2.5); the arm64 Rust target is added with rustup when missing. Figures are
from this machine and an HTTP moto (no TLS handshake to AWS): compare them with each other
and over time, not with Lambda's own numbers. Not part of infra/test.sh (release builds are
slow). Outputs: target/lambda/{arm64,x86_64}/<function>/, logs in target/coldstart-*.log.
EOF
}

REPEAT=5
BUILD=1
ARM64=1
while (($#)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --repeat)
            [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || {
                usage >&2
                exit 2
            }
            REPEAT="$2"
            shift 2
            ;;
        --skip-build)
            BUILD=0
            shift
            ;;
        --no-arm64)
            ARM64=0
            shift
            ;;
        *)
            printf 'coldstart.sh: unknown argument %q\n\n' "$1" >&2
            usage >&2
            exit 2
            ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT=coldstart
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
cd "$ROOT"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mapfile -t FUNCTIONS < <(function_names)
((${#FUNCTIONS[@]})) || die "no function crates in functions/*"
BIN_ARGS=()
for f in "${FUNCTIONS[@]}"; do
    BIN_ARGS+=(--bin "$f")
done
echo "functions: ${FUNCTIONS[*]}"

ensure_lambda_venv

# --- Builds ------------------------------------------------------------------------------------
if ((BUILD)); then
    if ((ARM64)); then
        header "arm64 release build (as deployed)"
        if ! rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
            rustup target add aarch64-unknown-linux-gnu ||
                die "could not add the aarch64-unknown-linux-gnu target; rerun with --no-arm64"
        fi
        cargo lambda build --release --arm64 --output-format zip \
            --lambda-dir target/lambda/arm64 "${BIN_ARGS[@]}"
    fi
    # ltictl (to seed moto) shares this build's dependencies, so it costs one more link only.
    header "x86_64 release build (to run here) and ltictl"
    cargo lambda build --release --x86-64 --output-format zip \
        --lambda-dir target/lambda/x86_64 "${BIN_ARGS[@]}" --bin ltictl
fi
for f in "${FUNCTIONS[@]}"; do
    [[ -f "target/lambda/x86_64/$f/bootstrap.zip" ]] ||
        die "no target/lambda/x86_64/$f/bootstrap.zip: run without --skip-build"
done
LTICTL="${CARGO_TARGET_DIR:-$ROOT/target}/x86_64-unknown-linux-gnu/release/ltictl"
[[ -x "$LTICTL" ]] || die "no $LTICTL: run without --skip-build"

# --- The AWS side, on moto ----------------------------------------------------------------------
hermetic_aws_env
start_moto
header "table, secret, queues, keys and a registration"
while IFS='=' read -r name value; do
    export "$name=$value"
done < <("$LAMBDA_VENV/bin/python" infra/local_aws.py --name lti-coldstart)
# The origin the recorded events were sent to (a function URL), so login accepts their target.
export PUBLIC_URL="https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws"
"$LTICTL" --aws keys init >/dev/null
# The platform the recorded login event (functions/login/tests/data/get-login.json) names;
# its URLs are never called (login only redirects the browser to auth-url).
if ! "$LTICTL" --aws platform show --issuer https://canvas.test.example \
    --client-id 10000000000001 >/dev/null 2>&1; then
    "$LTICTL" --aws platform add --issuer https://canvas.test.example \
        --client-id 10000000000001 --deployment-id 1:abc \
        --auth-url https://canvas.test.example/api/lti/authorize_redirect \
        --token-url https://canvas.test.example/login/oauth2/token \
        --jwks-url https://canvas.test.example/api/lti/security/jwks >/dev/null
fi
env | grep -E '^(LTI_|PUBLIC_URL|AWS_ENDPOINT_URL)' | sort

# --- Measure ------------------------------------------------------------------------------------
header "cold starts ($REPEAT fresh processes per function)"
RUNS=()
for f in "${FUNCTIONS[@]}"; do
    event="infra/coldstart-events/$f.json"
    if [[ ! -f "$event" ]]; then
        event="$(find "functions/$f/tests/data" -maxdepth 1 -name '*.json' 2>/dev/null |
            sort | head -n 1)"
    fi
    [[ -n "$event" && -f "$event" ]] || die "no event for $f (add infra/coldstart-events/$f.json)"
    mkdir -p "target/lambda/x86_64/$f/run"
    unzip -o -q "target/lambda/x86_64/$f/bootstrap.zip" -d "target/lambda/x86_64/$f/run"
    RUNS+=("$f=target/lambda/x86_64/$f/run/bootstrap=$event")
done
RESULTS="$ROOT/target/coldstart-results.jsonl"
LOG="$ROOT/target/coldstart-functions.log"
: >"$LOG"
status=0
python3 infra/coldstart.py --repeat "$REPEAT" --log "$LOG" "${RUNS[@]}" >"$RESULTS" || status=$?

# The deployed (arm64) zips when a build left them, else this machine's.
SIZE_DIR=target/lambda/arm64
SIZE_LABEL="arm64 zip"
for f in "${FUNCTIONS[@]}"; do
    if [[ ! -f "$SIZE_DIR/$f/bootstrap.zip" ]]; then
        SIZE_DIR=target/lambda/x86_64
        SIZE_LABEL="x86_64 zip"
    fi
done
python3 - "$RESULTS" "$SIZE_DIR" "$SIZE_LABEL" <<'EOF'
import json, os, sys

results, size_dir, size_label = sys.argv[1], sys.argv[2], sys.argv[3]
AIMS = {"zip": 4.0, "init": 25.0, "peak": 30.0}

def mark(value, aim):
    return "ok" if value is not None and value <= aim else "OVER"

rows = [json.loads(line) for line in open(results) if line.strip()]
print(f"{'function':<14}{size_label:>12}{'init ms':>10}{'1st invoke ms':>15}"
      f"{'peak MiB':>10}{'status':>8}   aims (zip/init/peak)")
for r in rows:
    path = os.path.join(size_dir, r["function"], "bootstrap.zip")
    zipped = os.path.getsize(path) / 2**20 if os.path.exists(path) else None
    if r.get("ok"):
        marks = "/".join((mark(zipped, AIMS["zip"]), mark(r["init_ms"], AIMS["init"]),
                          mark(r["peak_mib"], AIMS["peak"])))
        print(f"{r['function']:<14}{zipped or 0:>10.2f}MB{r['init_ms']:>10.1f}"
              f"{r['invoke_ms']:>15.1f}{r['peak_mib']:>10.1f}{r['status']:>8}   {marks}")
    else:
        print(f"{r['function']:<14}{zipped or 0:>10.2f}MB   failed: {'; '.join(r.get('errors', []))}")
print("\naims: init <= 25 ms, zipped <= 4 MiB, peak <= 30 MiB "
      "(init = process start to first Runtime API request; median of the runs)")
EOF
echo "raw results: $RESULTS; function logs: $LOG"
exit "$status"

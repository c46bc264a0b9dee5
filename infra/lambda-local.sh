#!/usr/bin/env bash
# The real Lambda binaries under `cargo lambda watch`, against moto, driven through one
# complete LTI 1.3 launch and one grade.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/lambda-local.sh [--port PORT] [--keep-running]

  1. installs pinned cargo-lambda and moto into .venv-lambda/ (when missing) and builds the
     function binaries (debug profile, as `cargo lambda watch` runs them);
  2. starts moto on a free loopback port and creates the table, secret and queues
     (infra/local_aws.py);
  3. starts `cargo lambda watch` on 127.0.0.1:PORT (default: a free port) with the
     functions' environment pointing at moto; it routes every path of the route table
     (shared/src/web/routes.rs) to its function binary
     ([workspace.metadata.lambda.watch.router] in Cargo.toml, checked against the table by
     shared/tests/routes.rs), the same paths `ltictl serve` answers on;
  4. runs tests/tests/lambda_local.rs: a fake LTI 1.3 platform logs a learner in and
     launches through the login and launch functions, and the activity posts a score to the
     outcomes function, which delivers it to a loopback AGS platform (AGS checks the tool's
     client assertion against the jwks function);
  5. stops everything it started (unless --keep-running: then it waits for Ctrl-C, for
     trying the endpoints by hand).

Logs: target/lambda-local-watch.log (the emulator and the functions' JSON logs) and
target/lambda-local-moto.log.
EOF
}

PORT=""
KEEP=0
while (($#)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --port)
            [[ "${2:-}" =~ ^[0-9]+$ ]] || {
                printf 'lambda-local.sh: --port needs a number\n\n' >&2
                usage >&2
                exit 2
            }
            PORT="$2"
            shift 2
            ;;
        --keep-running)
            KEEP=1
            shift
            ;;
        *)
            printf 'lambda-local.sh: unknown argument %q\n\n' "$1" >&2
            usage >&2
            exit 2
            ;;
    esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT=lambda-local
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
cd "$ROOT"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_lambda_venv
mapfile -t FUNCTIONS < <(function_names)
BIN_ARGS=()
for f in "${FUNCTIONS[@]}"; do
    BIN_ARGS+=(--bin "$f")
done
header "function binaries (debug profile, as cargo lambda watch runs them)"
# Built up front so the first request to each function does not wait for a compile.
cargo build "${BIN_ARGS[@]}"

hermetic_aws_env
start_moto
header "table, secret and queues"
ENV_ARGS=()
while IFS='=' read -r name value; do
    export "$name=$value"
    ENV_ARGS+=(--env-var "$name=$value")
done < <("$LAMBDA_VENV/bin/python" infra/local_aws.py --name lti-local)

[[ -n "$PORT" ]] || PORT="$(free_port)"
export LAMBDA_LOCAL_URL="http://127.0.0.1:$PORT"
export PUBLIC_URL="$LAMBDA_LOCAL_URL"
# The fake platforms of the test listen on loopback over http, which the functions' strict
# outbound policy refuses; this emulator (and nothing deployed) opts in to the local policy.
export LTI_OUTBOUND_LOCAL=true
for name in AWS_ENDPOINT_URL AWS_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY \
    AWS_EC2_METADATA_DISABLED PUBLIC_URL LTI_OUTBOUND_LOCAL; do
    ENV_ARGS+=(--env-var "$name=${!name}")
done

header "cargo lambda watch on $LAMBDA_LOCAL_URL"
WATCH_LOG="$ROOT/target/lambda-local-watch.log"
setsid cargo lambda watch --ignore-changes --invoke-address 127.0.0.1 --invoke-port "$PORT" \
    "${ENV_ARGS[@]}" >"$WATCH_LOG" 2>&1 &
WATCH_PID=$!
CLEANUP_PIDS+=("$WATCH_PID")
# A function name that does not exist: the emulator answers 404 itself, starting no function
# (a started jwks would cache the key document before the test creates the keys).
if ! wait_for_http "$LAMBDA_LOCAL_URL/lambda-url/readiness-probe/" "$WATCH_PID" 120; then
    tail -n 30 "$WATCH_LOG" >&2 || true
    die "cargo lambda watch did not answer on $LAMBDA_LOCAL_URL (log: $WATCH_LOG)"
fi
echo "answering; log in $WATCH_LOG"

header "one launch and one grade through the Lambda binaries"
status=0
cargo nextest run -p lti-tests --test lambda_local --run-ignored only --no-fail-fast ||
    status=$?
if ((status)); then
    echo "--- last lines of $WATCH_LOG ---" >&2
    tail -n 40 "$WATCH_LOG" >&2 || true
fi

if ((KEEP)); then
    cat <<EOF

Running until Ctrl-C:
  $LAMBDA_LOCAL_URL/jwks /login /launch /activity /deep-link /outcomes /views /register
  moto at $AWS_ENDPOINT_URL (table and secret $LTI_TABLE)
EOF
    wait "$WATCH_PID" || true
fi
exit "$status"

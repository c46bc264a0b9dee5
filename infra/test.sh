#!/usr/bin/env bash
# The project's whole check: formatting, lints, template checks, then every test against a
# local AWS-compatible server (moto) on loopback. CI runs exactly this (.ci/run).
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/test.sh [NEXTEST_ARGS...]

Runs, from the repository root:
  1. cargo fmt --all -- --check
  2. cargo clippy --workspace --all-targets -- -D warnings
  3. cfn-lint template.yaml
  4. infra/check-template.py (template functions <-> workspace binaries)
  5. cargo nextest run --workspace --no-fail-fast [NEXTEST_ARGS...]
     with a moto server (DynamoDB, Secrets Manager) on a free 127.0.0.1 port and
     AWS_ENDPOINT_URL, dummy credentials and AWS_REGION=us-east-1 pointing at it.

Every step runs even if an earlier one fails; the exit status is non-zero if any failed.
Idempotent: creates .venv (pinned moto and cfn-lint) only when missing or out of date, and
installs Debian's chromium and chromium-driver (for tests/tests/browser.rs) only when
missing, with apt-get (as root).
The moto log is in target/moto.log; the server is stopped on exit.

Examples:
  infra/test.sh
  infra/test.sh -E 'test(contract)'
EOF
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
esac

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Pinned so CI and every developer lint and test against the same versions.
PY_REQUIREMENTS=("moto[server]==5.2.5" "cfn-lint==1.53.3" "oauthlib==3.3.1")
FREEZE_LINES=("moto==5.2.5" "cfn-lint==1.53.3" "oauthlib==3.3.1")
VENV="$ROOT/.venv"
PY="$VENV/bin/python"

header() {
    printf '\n==> %s\n' "$*"
}

die() {
    printf 'test.sh: %s\n' "$*" >&2
    exit 1
}

# --- Python tools (moto, cfn-lint) in a project-local venv ------------------------------------
venv_is_current() {
    [[ -x "$VENV/bin/moto_server" && -x "$VENV/bin/cfn-lint" ]] || return 1
    local frozen line
    frozen="$("$PY" -m pip freeze --disable-pip-version-check 2>/dev/null)" || return 1
    for line in "${FREEZE_LINES[@]}"; do
        grep -qixF -- "$line" <<<"$frozen" || return 1
    done
}

header "python venv ($VENV)"
if ! "$PY" -c '' 2>/dev/null; then
    # Missing, or its interpreter is gone (e.g. a new machine): (re)create it.
    python3 -m venv --clear "$VENV"
fi
if venv_is_current; then
    echo "up to date: ${PY_REQUIREMENTS[*]}"
else
    "$PY" -m pip install --disable-pip-version-check --quiet "${PY_REQUIREMENTS[@]}"
    venv_is_current || die "pip did not leave ${FREEZE_LINES[*]} in $VENV"
fi

# --- cargo-nextest ----------------------------------------------------------------------------
header "cargo-nextest"
if ! nextest_version="$(cargo nextest --version 2>/dev/null)"; then
    cargo install cargo-nextest --locked
    nextest_version="$(cargo nextest --version)"
fi
echo "${nextest_version%%$'\n'*}"

# --- Chromium and chromedriver for the real-browser tests (tests/tests/browser.rs) -------------
have_browser() {
    command -v chromium >/dev/null && command -v chromedriver >/dev/null
}

header "chromium and chromedriver"
if ! have_browser; then
    ((EUID == 0)) || die "chromium and chromedriver are missing; as root run: \
apt-get update && apt-get install -y --no-install-recommends chromium chromium-driver"
    command -v apt-get >/dev/null ||
        die "chromium and chromedriver are missing and there is no apt-get to install them"
    apt-get update || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        chromium chromium-driver || die "apt-get could not install chromium chromium-driver"
    have_browser || die "apt-get install left no chromium or chromedriver on PATH"
fi
# Debian's chromium wrapper script prints shell noise on stderr; the version is on stdout.
chromium --version 2>/dev/null || die "chromium is installed but does not run"
chromedriver --version || die "chromedriver is installed but does not run"

# --- A hermetic AWS environment ---------------------------------------------------------------
# Nothing from a developer's real AWS setup may leak into the checks: cfn-lint's SAM transform
# already fails on an unknown AWS_PROFILE, and tests must never reach a real account.
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null

# --- Steps ------------------------------------------------------------------------------------
FAILED=()

step() {
    local name="$1"
    shift
    header "$name"
    if "$@"; then
        return 0
    fi
    FAILED+=("$name")
}

step "cargo fmt" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets -- -D warnings
step "cfn-lint" "$VENV/bin/cfn-lint" template.yaml
step "check-template" "$PY" infra/check-template.py

# --- moto on loopback for the adapter and integration tests -----------------------------------
header "moto server"
MOTO_PID=""
stop_moto() {
    if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
        kill "$MOTO_PID" 2>/dev/null || true
        wait "$MOTO_PID" 2>/dev/null || true
    fi
}
trap stop_moto EXIT
# A signal must still run the EXIT trap (and so stop moto).
trap 'exit 130' INT
trap 'exit 143' TERM

# Ask the kernel for a free port so parallel runs and other local servers never collide.
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1]); s.close()')"
mkdir -p target
MOTO_LOG="target/moto.log"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$MOTO_LOG" 2>&1 &
MOTO_PID=$!

ENDPOINT="http://127.0.0.1:$PORT"
ready=""
for _ in $(seq 1 150); do
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
        break
    fi
    # Any HTTP answer means it is serving.
    if curl -s -o /dev/null --max-time 1 "$ENDPOINT/moto-api/"; then
        ready=1
        break
    fi
    sleep 0.2
done
if [[ -z "$ready" ]]; then
    echo "--- last lines of $MOTO_LOG ---" >&2
    tail -n 30 "$MOTO_LOG" >&2 || true
    die "moto did not answer on $ENDPOINT (pid $MOTO_PID)"
fi
echo "moto (pid $MOTO_PID) answering on $ENDPOINT; log in $MOTO_LOG"

export AWS_ENDPOINT_URL="$ENDPOINT"

step "cargo nextest" cargo nextest run --workspace --no-fail-fast "$@"
# No `cargo test --doc`: nextest does not run doctests and the workspace has none. Add it here
# if a doctest is ever written.

# --- Summary ----------------------------------------------------------------------------------
echo
if ((${#FAILED[@]})); then
    printf 'test.sh: FAILED step: %s\n' "${FAILED[@]}" >&2
    exit 1
fi
echo "test.sh: all steps passed"

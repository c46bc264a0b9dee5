# shellcheck shell=bash
# Helpers shared by infra/coldstart.sh and infra/lambda-local.sh (sourced, not run).
#
# The caller sets ROOT (the repository root) and SCRIPT (its name, for messages) and installs
# `trap cleanup EXIT`; everything started here registers itself in CLEANUP_PIDS.

# Pinned so every measurement and local run uses the same tools. cargo-lambda's wheel depends on
# ziglang (the C cross-compiler for the arm64 build); moto is the version infra/test.sh pins.
LAMBDA_REQUIREMENTS=("cargo-lambda==1.9.2" "ziglang==0.17.1" "moto[server]==5.2.5")
LAMBDA_FREEZE_LINES=("cargo-lambda==1.9.2" "ziglang==0.17.1" "moto==5.2.5")
LAMBDA_VENV="$ROOT/.venv-lambda"
CLEANUP_PIDS=()

die() {
    printf '%s: %s\n' "$SCRIPT" "$*" >&2
    exit 1
}

header() {
    printf '\n==> %s\n' "$*"
}

cleanup() {
    local pid
    for pid in "${CLEANUP_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            # Each was started in its own process group (setsid): stop its children too.
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${CLEANUP_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}

# A hermetic AWS environment: dummy credentials, no profile, no instance metadata, so nothing
# here can reach a real account. AWS_ENDPOINT_URL is set by start_moto.
hermetic_aws_env() {
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL
    export AWS_CONFIG_FILE=/dev/null
    export AWS_SHARED_CREDENTIALS_FILE=/dev/null
}

lambda_venv_is_current() {
    [[ -x "$LAMBDA_VENV/bin/cargo-lambda" && -x "$LAMBDA_VENV/bin/moto_server" ]] || return 1
    local frozen line
    frozen="$("$LAMBDA_VENV/bin/python" -m pip freeze --disable-pip-version-check 2>/dev/null)" ||
        return 1
    for line in "${LAMBDA_FREEZE_LINES[@]}"; do
        grep -qixF -- "$line" <<<"$frozen" || return 1
    done
}

# Creates or updates .venv-lambda (cargo-lambda, zig, moto) and puts it first on PATH, so
# `cargo lambda` and the `python3 -m ziglang` it uses for cross-compiling are found.
ensure_lambda_venv() {
    header "cargo-lambda, zig and moto in $LAMBDA_VENV"
    if ! "$LAMBDA_VENV/bin/python" -c '' 2>/dev/null; then
        python3 -m venv --clear "$LAMBDA_VENV" || die "python3 -m venv failed"
    fi
    if lambda_venv_is_current; then
        echo "up to date: ${LAMBDA_REQUIREMENTS[*]}"
    else
        "$LAMBDA_VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
            "${LAMBDA_REQUIREMENTS[@]}" || die "pip could not install ${LAMBDA_REQUIREMENTS[*]}"
        lambda_venv_is_current || die "pip did not leave ${LAMBDA_FREEZE_LINES[*]} in $LAMBDA_VENV"
    fi
    export PATH="$LAMBDA_VENV/bin:$PATH"
    cargo lambda --version
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1]); s.close()'
}

# Waits until URL answers any HTTP status, or the process PID dies, for at most SECONDS.
wait_for_http() {
    local url="$1" pid="$2" seconds="$3" i
    for ((i = 0; i < seconds * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        if curl -s -o /dev/null --max-time 1 "$url"; then
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# Starts moto on a free loopback port (log in target/), exports AWS_ENDPOINT_URL.
start_moto() {
    header "moto server"
    local port log="$ROOT/target/$SCRIPT-moto.log"
    port="$(free_port)"
    mkdir -p "$ROOT/target"
    setsid "$LAMBDA_VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
    CLEANUP_PIDS+=("$!")
    if ! wait_for_http "http://127.0.0.1:$port/moto-api/" "$!" 30; then
        tail -n 20 "$log" >&2 || true
        die "moto did not answer on 127.0.0.1:$port (log: $log)"
    fi
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    echo "moto answering on $AWS_ENDPOINT_URL; log in $log"
}

# The function crates: every functions/*/Cargo.toml, by package name (one binary each).
function_names() {
    local manifest
    for manifest in "$ROOT"/functions/*/Cargo.toml; do
        sed -n 's/^name = "\(.*\)"$/\1/p' "$manifest" | head -n 1
    done
}

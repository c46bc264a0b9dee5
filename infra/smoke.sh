#!/usr/bin/env bash
# Smoke test of a running tool: a deployed stack, or `ltictl serve` on this machine.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/smoke.sh --base-url URL [options]
       infra/smoke.sh --stack NAME [--region REGION] [options]

Checks, without changing anything the tool stores except one short-lived login state when
--issuer is given:
  1. JWKS:   GET <jwks>          200, JSON with a non-empty "keys" array, each key with a kid
             (and GET /.well-known/jwks.json the same, when the URLs share one origin);
  2. login:  GET <login>?iss=..  for an unregistered issuer: 400 UNKNOWN_PLATFORM; with
             --issuer (a registered platform): 302 to the platform's authorization URL
             carrying state and nonce;
  3. launch: POST <launch>       a garbage id_token is refused with a 4xx.

Where the URLs come from:
  --base-url URL     one origin for everything (the public origin, or `ltictl serve`'s
                     http://127.0.0.1:3000): URL/jwks, URL/login, URL/launch.
  --stack NAME       the stack's outputs, read with the AWS CLI (aws cloudformation
                     describe-stacks; credentials and region from the usual AWS
                     environment, or --region). Outputs whose keys start with Jwks, Login
                     and Launch (or Redirect) are used; a function URL (ending in /) gets the
                     path appended.
  --jwks-url, --login-url, --launch-url URL
                     override one URL.
  --public-url URL   the tool's public origin, for the login's target_link_uri
                     (default: the origin of the launch URL). Set it when checking function
                     URLs of a stack whose PublicUrl is a different origin.

Options:
  --issuer ISS --client-id ID   a registered platform: expect login to redirect (302).
  --insecure                    accept self-signed TLS certificates (curl -k).
  -h, --help                    this text.

Exit status: 0 when every check passes, 1 when one fails (each says what to do), 2 on a
usage error. Needs curl and python3.
EOF
}

die_usage() {
    printf 'smoke.sh: %s\n\n' "$*" >&2
    usage >&2
    exit 2
}

BASE_URL=""
STACK=""
REGION=""
JWKS_URL=""
LOGIN_URL=""
LAUNCH_URL=""
PUBLIC_URL=""
ISSUER=""
CLIENT_ID=""
CURL_OPTS=(--silent --show-error --max-time 20)
while (($#)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --base-url | --stack | --region | --jwks-url | --login-url | --launch-url | \
            --public-url | --issuer | --client-id)
            if (($# < 2)) || [[ -z "$2" ]]; then
                die_usage "$1 needs a value"
            fi
            case "$1" in
                --base-url) BASE_URL="${2%/}" ;;
                --stack) STACK="$2" ;;
                --region) REGION="$2" ;;
                --jwks-url) JWKS_URL="$2" ;;
                --login-url) LOGIN_URL="$2" ;;
                --launch-url) LAUNCH_URL="$2" ;;
                --public-url) PUBLIC_URL="${2%/}" ;;
                --issuer) ISSUER="$2" ;;
                --client-id) CLIENT_ID="$2" ;;
            esac
            shift 2
            ;;
        --insecure)
            CURL_OPTS+=(--insecure)
            shift
            ;;
        *) die_usage "unknown argument $1" ;;
    esac
done

[[ -n "$BASE_URL" || -n "$STACK" ]] || [[ -n "$JWKS_URL" && -n "$LOGIN_URL" && -n "$LAUNCH_URL" ]] ||
    die_usage "give --base-url or --stack (or all three of --jwks-url, --login-url, --launch-url)"
[[ -z "$BASE_URL" || -z "$STACK" ]] || die_usage "give --base-url or --stack, not both"
[[ -z "$CLIENT_ID" || -n "$ISSUER" ]] || die_usage "--client-id needs --issuer"
command -v curl >/dev/null || { echo "smoke.sh: curl is required" >&2; exit 2; }
command -v python3 >/dev/null || { echo "smoke.sh: python3 is required" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# An output URL as a full endpoint URL: a function URL (ending in /) gets PATH appended.
endpoint() {
    local url="$1" path="$2"
    if [[ "$url" == */ ]]; then
        printf '%s%s' "$url" "$path"
    else
        printf '%s' "$url"
    fi
}

if [[ -n "$STACK" ]]; then
    command -v aws >/dev/null ||
        die_usage "--stack needs the AWS CLI (aws); or pass --base-url with the public origin"
    aws_args=(cloudformation describe-stacks --stack-name "$STACK" --output json)
    [[ -z "$REGION" ]] || aws_args+=(--region "$REGION")
    if ! aws "${aws_args[@]}" >"$WORK/stack.json"; then
        echo "smoke.sh: could not read stack $STACK (check AWS credentials and region)" >&2
        exit 1
    fi
    # KEY=VALUE for the first output whose key starts with each prefix.
    while IFS='=' read -r key value; do
        case "$key" in
            jwks) [[ -n "$JWKS_URL" ]] || JWKS_URL="$(endpoint "$value" jwks)" ;;
            login) [[ -n "$LOGIN_URL" ]] || LOGIN_URL="$(endpoint "$value" login)" ;;
            launch) [[ -n "$LAUNCH_URL" ]] || LAUNCH_URL="$(endpoint "$value" launch)" ;;
        esac
    done < <(python3 - "$WORK/stack.json" <<'EOF'
import json, sys
outputs = json.load(open(sys.argv[1]))["Stacks"][0].get("Outputs", [])
found = {}
# The stack's public-origin outputs (JwksUrl, LoginUrl, TargetLinkUrl); LaunchFunctionUrl
# style outputs of older stacks still match.
for prefix, name in (("Jwks", "jwks"), ("Login", "login"), ("TargetLink", "launch"),
                     ("Launch", "launch")):
    for output in sorted(outputs, key=lambda o: o["OutputKey"]):
        if output["OutputKey"].startswith(prefix) and name not in found:
            found[name] = output["OutputValue"]
for name, value in found.items():
    print(f"{name}={value}")
EOF
    )
fi
if [[ -n "$BASE_URL" ]]; then
    [[ -n "$JWKS_URL" ]] || JWKS_URL="$BASE_URL/jwks"
    [[ -n "$LOGIN_URL" ]] || LOGIN_URL="$BASE_URL/login"
    [[ -n "$LAUNCH_URL" ]] || LAUNCH_URL="$BASE_URL/launch"
fi
for pair in "jwks:$JWKS_URL" "login:$LOGIN_URL" "launch:$LAUNCH_URL"; do
    [[ -n "${pair#*:}" ]] || die_usage "no ${pair%%:*} URL (stack output missing?): pass --${pair%%:*}-url"
done
if [[ -z "$PUBLIC_URL" ]]; then
    PUBLIC_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1])
print(f"{p.scheme}://{p.netloc}")' "$LAUNCH_URL")"
fi

FAILURES=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
    printf 'FAIL  %s\n' "$*"
    FAILURES=$((FAILURES + 1))
}

# What came back for request NAME, shortened to one line (body, then curl's error).
detail() {
    cat "$WORK/$1.body" "$WORK/$1.err" 2>/dev/null | tr -s '\r\n\t' '   ' | head -c 300
}

# request NAME CURL_ARGS...: the status code; body in $WORK/NAME.body, headers in .headers.
request() {
    local name="$1"
    shift
    local code
    : >"$WORK/$name.body"
    : >"$WORK/$name.headers"
    # curl prints 000 itself when nothing answered; its exit status is in the .err file.
    code="$(curl "${CURL_OPTS[@]}" -o "$WORK/$name.body" -D "$WORK/$name.headers" \
        -w '%{http_code}' "$@" 2>"$WORK/$name.err")" || true
    printf '%s' "${code:-000}"
}

check_jwks() {
    local label="$1" url="$2" status summary
    status="$(request jwks "$url")"
    if [[ "$status" != 200 ]]; then
        fail "$label: GET $url answered $status $(detail jwks)"
        return
    fi
    if summary="$(python3 - "$WORK/jwks.body" <<'EOF'
import json, sys
try:
    keys = json.load(open(sys.argv[1]))["keys"]
except (ValueError, KeyError, TypeError) as e:
    sys.exit(f"not a JWK set ({e})")
if not isinstance(keys, list) or not keys:
    sys.exit("no keys: create them with `ltictl --aws keys init`")
if not all(isinstance(k, dict) and k.get("kid") and k.get("kty") for k in keys):
    sys.exit("a key has no kid or kty")
print(f"{len(keys)} key(s): " + ", ".join(k["kid"][:12] + "…" for k in keys))
EOF
    )"; then
        pass "$label: $url serves $summary"
    else
        fail "$label: $url: $summary"
    fi
}

# --- 1. JWKS -------------------------------------------------------------------------------------
check_jwks "JWKS" "$JWKS_URL"
if [[ -n "$BASE_URL" ]]; then
    check_jwks "JWKS (well-known)" "$BASE_URL/.well-known/jwks.json"
fi

# --- 2. Login ------------------------------------------------------------------------------------
query_issuer="${ISSUER:-https://smoke-test.invalid}"
login_args=(--get "$LOGIN_URL" --data-urlencode "iss=$query_issuer"
    --data-urlencode "login_hint=smoke-test"
    --data-urlencode "target_link_uri=$PUBLIC_URL/launch")
[[ -z "$CLIENT_ID" ]] || login_args+=(--data-urlencode "client_id=$CLIENT_ID")
status="$(request login "${login_args[@]}")"
if [[ -n "$ISSUER" ]]; then
    location="$(sed -n 's/^[Ll]ocation: *//p' "$WORK/login.headers" | tr -d '\r' | head -n 1)"
    if [[ "$status" == 302 && "$location" == http*://* && "$location" == *state=* &&
        "$location" == *nonce=* ]]; then
        pass "login: $ISSUER redirects (302) to ${location%%\?*}"
    else
        fail "login: expected a 302 to $ISSUER's authorization URL with state and nonce, got $status ${location:-$(detail login)}"
    fi
else
    if [[ "$status" == 400 ]] && grep -q UNKNOWN_PLATFORM "$WORK/login.body"; then
        pass "login: an unregistered issuer is refused (400 UNKNOWN_PLATFORM)"
    elif [[ "$status" == 400 ]] && grep -q FOREIGN_TARGET "$WORK/login.body"; then
        fail "login: $PUBLIC_URL/launch is not the tool's launch URL (FOREIGN_TARGET): pass --public-url with the stack's PublicUrl"
    else
        fail "login: expected 400 UNKNOWN_PLATFORM for an unregistered issuer, got $status $(detail login)"
    fi
fi

# --- 3. Launch -----------------------------------------------------------------------------------
status="$(request launch -X POST "$LAUNCH_URL" \
    --data-urlencode "id_token=garbage.not-a.token" --data-urlencode "state=smoke-test")"
if [[ "$status" =~ ^4[0-9][0-9]$ ]]; then
    pass "launch: a garbage id_token is refused ($status)"
else
    fail "launch: expected a 4xx for a garbage id_token, got $status $(detail launch)"
fi

echo
if ((FAILURES)); then
    echo "smoke.sh: $FAILURES check(s) failed" >&2
    exit 1
fi
echo "smoke.sh: all checks passed"

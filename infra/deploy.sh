#!/usr/bin/env bash
# Build and deploy the stack with AWS SAM; guided the first time.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: infra/deploy.sh [--stack-name NAME] [--region REGION] [--public-url URL]
                       [--guided] [--no-build] [-- SAM_DEPLOY_ARGS...]

  1. sam build: every function with cargo-lambda for arm64 (BuildMethod rust-cargolambda,
     a SAM beta feature this script opts into with SAM_CLI_BETA_RUST_CARGO_LAMBDA=1);
  2. sam deploy: with --guided when the stack does not exist yet (or --guided is given),
     which asks for the region and parameters and saves the answers in samconfig.toml;
     otherwise with the saved settings (samconfig.toml shows the change set before applying
     it);
  3. prints the stack outputs (the values an LMS administrator pastes) and the next steps:
     `ltictl --aws keys init` on a new stack, and infra/smoke.sh.

Options:
  --stack-name NAME   the stack (default: stack_name in samconfig.toml, "lti-tool")
  --region REGION     the AWS region (default: the AWS profile's, or samconfig.toml's)
  --public-url URL    set the PublicUrl parameter (the one public https origin)
  --guided            ask every question even when the stack exists
  --no-build          deploy the last build (.aws-sam/)
  -- ARGS             passed to sam deploy as they are (e.g. --no-confirm-changeset)

Credentials come from the usual AWS environment (AWS_PROFILE, SSO, ...); nothing secret is
taken on the command line. Tools: sam on PATH, or aws-sam-cli 1.170.0 installed into
.venv-lambda/ with cargo-lambda 1.9.2 and ziglang 0.17.1 (pinned).
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPT=deploy
# shellcheck source=infra/lib.sh
source "$ROOT/infra/lib.sh"
cd "$ROOT"

STACK="$(sed -n 's/^stack_name *= *"\(.*\)"$/\1/p' samconfig.toml | head -n 1)"
STACK="${STACK:-lti-tool}"
REGION=""
PUBLIC_URL=""
GUIDED=0
BUILD=1
DEPLOY_ARGS=()
while (($#)); do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --stack-name | --region | --public-url)
            if (($# < 2)) || [[ -z "$2" ]]; then
                printf 'deploy.sh: %s needs a value\n\n' "$1" >&2
                usage >&2
                exit 2
            fi
            case "$1" in
                --stack-name) STACK="$2" ;;
                --region) REGION="$2" ;;
                --public-url) PUBLIC_URL="${2%/}" ;;
            esac
            shift 2
            ;;
        --guided)
            GUIDED=1
            shift
            ;;
        --no-build)
            BUILD=0
            shift
            ;;
        --)
            shift
            DEPLOY_ARGS+=("$@")
            break
            ;;
        *)
            printf 'deploy.sh: unknown argument %q\n\n' "$1" >&2
            usage >&2
            exit 2
            ;;
    esac
done
if [[ -n "$PUBLIC_URL" && ! "$PUBLIC_URL" =~ ^https://[^/[:space:]]+$ ]]; then
    die "--public-url must be an https origin without a path, e.g. https://lti.example.edu"
fi

ensure_lambda_venv
if command -v sam >/dev/null; then
    SAM=(sam)
else
    header "AWS SAM CLI into $LAMBDA_VENV"
    "$LAMBDA_VENV/bin/python" -m pip install --disable-pip-version-check --quiet \
        "aws-sam-cli==1.170.0" || die "pip could not install aws-sam-cli==1.170.0"
    SAM=("$LAMBDA_VENV/bin/sam")
fi
"${SAM[@]}" --version
REGION_ARGS=()
[[ -z "$REGION" ]] || REGION_ARGS=(--region "$REGION")

if ((BUILD)); then
    header "sam build"
    SAM_CLI_BETA_RUST_CARGO_LAMBDA=1 "${SAM[@]}" build --beta-features
fi

stack_exists() {
    "${SAM[@]}" list stack-outputs --stack-name "$STACK" "${REGION_ARGS[@]}" --output json \
        >/dev/null 2>&1
}

ARGS=(--stack-name "$STACK" "${REGION_ARGS[@]}")
[[ -z "$PUBLIC_URL" ]] || ARGS+=(--parameter-overrides "PublicUrl=$PUBLIC_URL")
NEW_STACK=0
if ((GUIDED)) || ! stack_exists; then
    stack_exists || NEW_STACK=1
    header "sam deploy --guided (stack $STACK)"
    echo "Answer the questions; they are saved in samconfig.toml for the next deploy."
    "${SAM[@]}" deploy --guided "${ARGS[@]}" "${DEPLOY_ARGS[@]}"
else
    header "sam deploy (stack $STACK)"
    "${SAM[@]}" deploy "${ARGS[@]}" "${DEPLOY_ARGS[@]}"
fi

header "stack outputs"
"${SAM[@]}" list stack-outputs --stack-name "$STACK" "${REGION_ARGS[@]}" --output table
OUTPUTS="$("${SAM[@]}" list stack-outputs --stack-name "$STACK" "${REGION_ARGS[@]}" --output json)"
OUTPUTS="$OUTPUTS" python3 - "$STACK" "$NEW_STACK" "$REGION" <<'EOF'
import json, os, sys
stack, new, region = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
outputs = {o["OutputKey"]: o["OutputValue"] for o in json.loads(os.environ["OUTPUTS"])}
table, secret = outputs.get("TableName", "<TableName>"), outputs.get("SecretArn", "<SecretArn>")
region_flag = f" --region {region}" if region else ""
print()
print("Next steps:")
step = 1
if new:
    print(f"  {step}. Create the signing keys (once per stack; the JWKS is empty until then):")
else:
    print(f"  {step}. If this stack has no signing keys yet (infra/smoke.sh says so), create them:")
print(f"       ltictl --aws --table {table} --secret-id {secret} keys init")
step += 1
print(f"  {step}. Check the deployment:  infra/smoke.sh --stack {stack}{region_flag}")
step += 1
print(f"  {step}. Register the tool in each LMS with the URLs above: docs/operations.md")
EOF

#!/usr/bin/env python3
"""Signs an LTI 1.1 launch with oauthlib, an OAuth 1.0a implementation independent of the tool's.

The Rust integration tests (tests/tests/lti11_flow.rs) run it with the project's virtual
environment. Input on stdin, JSON:
  {"url": ..., "key": ..., "secret": ..., "params": [[name, value], ...],
   "method": "HMAC-SHA1" | "HMAC-SHA256" | "PLAINTEXT", "timestamp": "...", "nonce": "..."}
Output on stdout, JSON: the signed form body as [[name, value], ...] (oauth_* included).
"""
import json
import sys
from urllib.parse import parse_qsl, urlencode

from oauthlib.oauth1 import SIGNATURE_TYPE_BODY, Client


def main() -> None:
    request = json.load(sys.stdin)
    client = Client(
        request["key"],
        client_secret=request["secret"],
        signature_method=request.get("method", "HMAC-SHA1"),
        signature_type=SIGNATURE_TYPE_BODY,
        timestamp=request.get("timestamp"),
        nonce=request.get("nonce"),
    )
    body = urlencode([tuple(pair) for pair in request["params"]])
    _, _, signed = client.sign(
        request["url"],
        http_method="POST",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    json.dump(parse_qsl(signed, keep_blank_values=True), sys.stdout)


if __name__ == "__main__":
    main()

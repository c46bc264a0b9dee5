#!/usr/bin/env python3
"""Verifies an OAuth 1.0a signed form POST with oauthlib, as an LTI 1.1 platform would verify
what a tool sends back (the Content-Item `ContentItemSelection` form): an implementation
independent of the tool's.

The Rust integration tests (tests/tests/content_item_flow.rs) run it with the project's virtual
environment. Input on stdin, JSON:
  {"url": the URL posted to (query included), "body": the form body as the browser sent it,
   "key": the consumer key expected, "secret": its secret}
Output on stdout, JSON: {"valid": bool, "client": bool, "signature": bool, "error": str|null}.
Only HMAC-SHA1 is allowed; the timestamp must be within 600 s of now; the nonce is checked for
shape (oauthlib) but not for replay (one request per run).
"""
import json
import string
import sys

from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint


class Validator(RequestValidator):
    def __init__(self, key, secret):
        super().__init__()
        self.key = key
        self.secret = secret

    @property
    def allowed_signature_methods(self):
        return ["HMAC-SHA1"]

    @property
    def safe_characters(self):
        return set(string.ascii_letters + string.digits + "-_.")

    @property
    def client_key_length(self):
        return 1, 255

    @property
    def nonce_length(self):
        return 8, 128

    @property
    def enforce_ssl(self):
        # The test platform listens on plain loopback http.
        return False

    @property
    def dummy_client(self):
        return "dummy-client"

    def validate_client_key(self, client_key, request):
        return client_key == self.key

    def get_client_secret(self, client_key, request):
        return self.secret if client_key == self.key else "dummy-secret"

    def validate_timestamp_and_nonce(self, client_key, timestamp, nonce, request,
                                     request_token=None, access_token=None):
        return True


def main() -> None:
    request = json.load(sys.stdin)
    endpoint = SignatureOnlyEndpoint(Validator(request["key"], request["secret"]))
    valid, checked = endpoint.validate_request(
        request["url"],
        http_method="POST",
        body=request["body"],
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    log = getattr(checked, "validator_log", {}) if checked is not None else {}
    json.dump(
        {
            "valid": bool(valid),
            "client": bool(log.get("client", False)),
            "signature": bool(log.get("signature", False)),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()

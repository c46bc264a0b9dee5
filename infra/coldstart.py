#!/usr/bin/env python3
"""A minimal AWS Lambda Runtime API on loopback, for measuring cold starts.

Python standard library only. For each function binary given on the command line this starts
the binary as Lambda would (AWS_LAMBDA_RUNTIME_API pointing at a loopback server, the usual
AWS_LAMBDA_* variables, the caller's environment for the function's own configuration) and
measures, over several fresh processes:

  init    from just before the process is spawned to its first
          `GET /2018-06-01/runtime/invocation/next` (what Lambda bills as the Init phase);
  invoke  from handing it one recorded function-URL event to its
          `POST /2018-06-01/runtime/invocation/<id>/response` (the first, cold invocation);
  peak    the process's peak resident set (VmHWM in /proc/<pid>/status) after that response.

The process is stopped after the first invocation. Medians of init and invoke and the largest
peak are printed as one JSON object per function line. Called by
infra/coldstart.sh, which builds the binaries and starts moto; see `--help`.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

NEXT = "/2018-06-01/runtime/invocation/next"
RESPONSE = re.compile(r"^/2018-06-01/runtime/invocation/([^/]+)/(response|error)$")
INIT_ERROR = "/2018-06-01/runtime/init/error"


class Invocation:
    """What one fresh process did, filled in by the server's handler threads."""

    def __init__(self, event: bytes) -> None:
        self.event = event
        self.request_id = str(uuid.uuid4())
        self.first_next = threading.Event()
        self.answered = threading.Event()
        self.stop = threading.Event()
        self.t_next: float | None = None
        self.t_sent: float | None = None
        self.t_answer: float | None = None
        self.outcome = ""
        self.answer = b""
        self.lock = threading.Lock()
        self.served = False


class RuntimeApi(http.server.BaseHTTPRequestHandler):
    """The four Runtime API routes a function uses."""

    protocol_version = "HTTP/1.1"
    invocation: Invocation  # set on the per-run subclass

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        inv = self.invocation
        if self.path != NEXT:
            self._reply(404, b'{"message":"not found"}')
            return
        now = time.perf_counter()
        with inv.lock:
            first = not inv.served
            inv.served = True
            if first:
                inv.t_next = now
        if not first:
            # The function finished its one invocation and waits for the next: keep it waiting
            # (as Lambda does between invocations) until the measurement stops the process.
            inv.stop.wait()
            return
        inv.first_next.set()
        deadline = int(time.time() * 1000) + 30_000
        headers = {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(deadline),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:coldstart",
            "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Sampled=0",
        }
        inv.t_sent = time.perf_counter()
        self._reply(200, inv.event, headers)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        inv = self.invocation
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = RESPONSE.match(self.path)
        if match or self.path == INIT_ERROR:
            inv.t_answer = time.perf_counter()
            inv.outcome = match.group(2) if match else "init-error"
            inv.answer = body
            self._reply(202, b'{"status":"OK"}')
            inv.answered.set()
            return
        self._reply(404, b'{"message":"not found"}')


class QuietServer(http.server.ThreadingHTTPServer):
    """Stopping the function mid-request (its second `next`) is expected: no traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - stdlib name
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)


def peak_rss_kib(pid: int) -> int | None:
    """VmHWM of a running process, in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def run_once(binary: Path, event: bytes, env: dict[str, str], timeout: float, log) -> dict:
    """Starts `binary` once, hands it `event`, and returns what was measured."""
    inv = Invocation(event)
    handler = type("Handler", (RuntimeApi,), {"invocation": inv})
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    name = binary.parent.name if binary.name == "bootstrap" else binary.name
    process_env = dict(env)
    process_env.update(
        {
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
            "AWS_LAMBDA_LOG_FORMAT": "JSON",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "_HANDLER": "bootstrap",
            "LAMBDA_TASK_ROOT": str(binary.parent),
        }
    )
    t_start = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own build output
        [str(binary)], env=process_env, stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )
    result: dict = {"ok": False}
    try:
        if not inv.first_next.wait(timeout):
            result["error"] = "no request to the Runtime API (exit code %s)" % process.poll()
            return result
        if not inv.answered.wait(timeout):
            result["error"] = "no answer to the invocation (exit code %s)" % process.poll()
            return result
        # The response is posted before the function asks for the next event; VmHWM is the
        # high-water mark so far, which is what Lambda's "Max Memory Used" reports.
        rss = peak_rss_kib(process.pid)
        result.update(
            {
                "ok": inv.outcome == "response",
                "init_ms": (inv.t_next - t_start) * 1000,
                "invoke_ms": (inv.t_answer - inv.t_sent) * 1000,
                "peak_kib": rss,
                "outcome": inv.outcome,
                "answer": inv.answer.decode("utf-8", "replace"),
            }
        )
        if inv.outcome != "response":
            result["error"] = f"the function reported {inv.outcome}: {result['answer'][:300]}"
        return result
    finally:
        inv.stop.set()
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait()
        server.shutdown()
        server.server_close()


def status_of(answer: str) -> str:
    """The HTTP status inside a function-URL response, for the report."""
    try:
        return str(json.loads(answer).get("statusCode", "?"))
    except (ValueError, AttributeError):
        return "?"


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Measure cold start (init, first invocation, peak memory) of Lambda "
        "binaries under a loopback Runtime API emulator.",
        epilog="Each FUNCTION=BINARY=EVENT triple names the function, its bootstrap binary and "
        "the JSON event file to hand it. The function's own configuration (LTI_TABLE, "
        "AWS_ENDPOINT_URL, credentials, ...) comes from this process's environment.",
    )
    parser.add_argument("runs", metavar="FUNCTION=BINARY=EVENT", nargs="+")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per function")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per step")
    parser.add_argument("--log", type=Path, help="append the functions' output here")
    args = parser.parse_args()

    log = open(args.log, "ab") if args.log else subprocess.DEVNULL  # noqa: SIM115
    failed = False
    for spec in args.runs:
        try:
            function, binary, event_path = spec.split("=", 2)
        except ValueError:
            parser.error(f"{spec!r} is not FUNCTION=BINARY=EVENT")
        binary_path = Path(binary)
        if not os.access(binary_path, os.X_OK):
            parser.error(f"{binary} is not an executable file")
        event = Path(event_path).read_bytes()
        runs = [
            run_once(binary_path, event, dict(os.environ), args.timeout, log)
            for _ in range(args.repeat)
        ]
        good = [r for r in runs if r["ok"]]
        summary: dict = {"function": function, "runs": len(runs), "ok": len(good)}
        if good:
            summary.update(
                {
                    "init_ms": round(statistics.median(r["init_ms"] for r in good), 2),
                    "init_ms_min": round(min(r["init_ms"] for r in good), 2),
                    "invoke_ms": round(statistics.median(r["invoke_ms"] for r in good), 2),
                    "peak_mib": round(max(r["peak_kib"] or 0 for r in good) / 1024, 2),
                    "status": status_of(good[0]["answer"]),
                }
            )
        errors = sorted({r["error"] for r in runs if "error" in r})
        if errors:
            summary["errors"] = errors
            failed = True
        print(json.dumps(summary), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

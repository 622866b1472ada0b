#!/usr/bin/env python3
"""A job processor for POST /jobs, with the standard library only.

The rooms' queue consumer POSTs each job of a kind named in JOB_PROCESSORS to its URL, as
``{"job": "job_...", "user": "42", "kind": "text.stats", "input": {...}}``, signed with the
Standard Webhooks scheme under HOOK_SECRET. This server refuses anything that secret did not
sign (401), so nobody else can make it work or feed it a job, and answers a signed job with
its result as JSON, which reaches the user's room as ``job.done``. Its one kind, ``text.stats``,
counts the lines, words and characters of ``{"text": "..."}``.

    HOOK_SECRET=whsec_... python3 examples/processor.py --port 8788

and tell the Worker where it is, in .dev.vars (or wrangler.toml [vars] when deployed):

    JOB_PROCESSORS={"text.stats":"http://127.0.0.1:8788/"}

Without HOOK_SECRET in the environment it reads the one `npm start` wrote into .dev.vars.
What it answers decides what the job becomes: 2xx is done; 4xx (but 408 and 429) fails the job
at once; anything else, or no answer in 30 s, is retried with backoff.
"""
import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SEC = 300  # how old (or early) a timestamp may be: an older request is a replay
MAX_BODY_BYTES = 1 << 20  # a job is at most 128 KB; this is only a bound for what others send


def verify(secret: str, headers, body: bytes, now: int | None = None) -> str | None:
    """Checks a Standard Webhooks signature; returns why it fails, or None when it holds."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not timestamp.isdigit():
        return "webhook-timestamp must be unix seconds"
    now = int(time.time()) if now is None else now
    if abs(now - int(timestamp)) > TOLERANCE_SEC:
        return f"webhook-timestamp is more than {TOLERANCE_SEC} s from now"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = hmac.new(key, signed, hashlib.sha256).digest()
    # Several signatures may be sent (a key being rotated): one match is enough.
    for candidate in signatures.split(" "):
        scheme, _, value = candidate.partition(",")
        if scheme != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, expected):
            return None
    return "no signature matches"


def text_stats(job_input) -> dict:
    text = job_input.get("text") if isinstance(job_input, dict) else None
    if not isinstance(text, str):
        raise ValueError('text.stats needs {"text": "..."}')
    return {"lines": len(text.splitlines()), "words": len(text.split()), "chars": len(text)}


KINDS = {"text.stats": text_stats}


class Processor(BaseHTTPRequestHandler):
    secret = ""
    # Answers by webhook-id: a retried or redelivered job (same id, same body) gets the answer it
    # got before instead of being worked on twice. Memory only, as befits an example.
    answered: dict[str, tuple[int, dict]] = {}

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY_BYTES:
            return self.answer(413, {"error": "too_large", "message": "job bodies are small"})
        body = self.rfile.read(length)
        # The signature is checked on the raw bytes, before anything in them is believed.
        problem = verify(self.secret, self.headers, body)
        if problem is not None:
            return self.answer(401, {"error": "bad_signature", "message": problem})
        msg_id = self.headers["webhook-id"]
        if msg_id not in self.answered:
            self.answered[msg_id] = self.work(body)
        self.answer(*self.answered[msg_id])

    def work(self, body: bytes) -> tuple[int, dict]:
        job = json.loads(body)
        run = KINDS.get(job.get("kind"))
        if run is None:
            return 422, {"error": "unknown_kind", "message": f"no kind {job.get('kind')!r} here"}
        try:
            return 200, run(job.get("input"))
        except ValueError as err:
            return 422, {"error": "invalid_input", "message": str(err)}  # 4xx: not retried

    def answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:
        sys.stderr.write(f"processor: {format % args}\n")


def secret_from_dev_vars() -> str | None:
    path = os.path.join(os.path.dirname(__file__), "..", ".dev.vars")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, _, value = line.strip().partition("=")
                if name == "HOOK_SECRET":
                    return value.strip('"')
    except FileNotFoundError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    args = parser.parse_args()
    secret = os.environ.get("HOOK_SECRET") or secret_from_dev_vars()
    if not secret:
        print("HOOK_SECRET is not set (run `npm start` once, or export it)", file=sys.stderr)
        return 2
    try:
        if not base64.b64decode(secret.removeprefix("whsec_"), validate=True):
            raise binascii.Error("empty")
    except binascii.Error:
        print("HOOK_SECRET must be whsec_<base64>", file=sys.stderr)
        return 2
    Processor.secret = secret
    server = ThreadingHTTPServer((args.host, args.port), Processor)
    host, port = server.server_address[:2]
    print(f"processor listening on http://{host}:{port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

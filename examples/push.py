#!/usr/bin/env python3
"""Push an event into a room from any Python backend, with the standard library only.

This is what a Django view does instead of
``async_to_sync(channel_layer.group_send)(group, {...})``: sign one HTTP request with the
Standard Webhooks scheme and POST it to /push. The event reaches every socket of the room (or
only the sockets of ``to``), in the room's order, exactly once even if this request is retried
with the same webhook id.

    PUSH_SECRET=whsec_... python3 examples/push.py --room orders --event order.paid --data '{"order": 7}'

Without PUSH_SECRET in the environment it reads the one `npm start` wrote into .dev.vars.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header: v1,<base64 HMAC-SHA256 of "id.timestamp.body">."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def push(base_url: str, secret: str, payload: dict, msg_id: str | None = None) -> dict:
    """POSTs one event (or {"events": [...]}) and returns the parsed answer.

    Reuse the same msg_id when retrying: the rooms deliver it only once.
    """
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    body = json.dumps(payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        base_url.rstrip("/") + "/push",
        data=body,
        method="POST",
        headers={
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, msg_id, timestamp, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as err:
        # Every error body is JSON: {"error": "<code>", "message": "<sentence>"}.
        raise RuntimeError(f"push refused: HTTP {err.code} {err.read().decode()}") from None


def secret_from_dev_vars() -> str | None:
    path = os.path.join(os.path.dirname(__file__), "..", ".dev.vars")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                name, _, value = line.strip().partition("=")
                if name == "PUSH_SECRET":
                    return value.strip('"')
    except FileNotFoundError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("ROOMS_URL", "http://localhost:8787"))
    parser.add_argument("--room", required=True)
    parser.add_argument("--event", required=True)
    parser.add_argument("--data", default="null", help="JSON")
    parser.add_argument(
        "--to", help="deliver only to the sockets of this member id (a user's, or a guest-... id)"
    )
    parser.add_argument("--no-store", action="store_true", help="live only: not kept for replay")
    parser.add_argument("--id", help="webhook id; reuse it when retrying")
    args = parser.parse_args()
    secret = os.environ.get("PUSH_SECRET") or secret_from_dev_vars()
    if not secret:
        print("PUSH_SECRET is not set (run `npm start` once, or export it)", file=sys.stderr)
        return 2
    payload = {"room": args.room, "event": args.event, "data": json.loads(args.data)}
    if args.to:
        payload["to"] = args.to
    if args.no_store:
        payload["store"] = False
    try:
        print(json.dumps(push(args.url, secret, payload, args.id)))
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Standard Webhooks verification (https://www.standardwebhooks.com), standard library only.

Every call the rooms server makes to this site (the connect hook, the publish hook, events out)
carries `webhook-id`, `webhook-timestamp` (unix seconds) and `webhook-signature`: `v1,` and the
base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the
base64-decoded part of HOOK_SECRET (`whsec_<base64>`). Several space-separated signatures may be
sent while a secret is rotated; one match is enough. A timestamp more than five minutes from
this clock is refused, so a recorded call cannot be replayed later.
"""
import base64
import binascii
import hashlib
import hmac
import time

TOLERANCE_SEC = 300


def verify(secret: str, headers, body: bytes, now: float | None = None) -> str | None:
    """Why the call does not verify, or None when it does. `headers`: request.headers."""
    if not secret:
        return "HOOK_SECRET is not set on this site"
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if not msg_id or not timestamp or not signatures:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    if not timestamp.isdigit():
        return "webhook-timestamp must be unix seconds"
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SEC:
        return f"webhook-timestamp is more than {TOLERANCE_SEC} s from now"
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except binascii.Error:
        return "HOOK_SECRET on this site is not whsec_<base64>"
    expected = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    for candidate in signatures.split(" "):
        version, _, value = candidate.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(value, validate=True)
        except binascii.Error:
            continue
        if hmac.compare_digest(given, expected):
            return None
    return "no signature matches"

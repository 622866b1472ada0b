"""Join tokens: JWTs signed HS256 with JOIN_SECRET, standard library only.

What `npm run token` prints. The rooms server admits the token's `sub` to its `room` until
`exp`; a token is checked only when a socket joins, so keep the lifetime short.
"""
import base64
import hashlib
import hmac
import json
import time


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def join_token(secret: str, user_id: str, name: str, room: str, ttl: int = 600) -> str:
    if not secret:
        raise ValueError("JOIN_SECRET is not set")
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": user_id, "name": name, "room": room, "exp": int(time.time()) + ttl}
    payload = _b64url(json.dumps(claims, ensure_ascii=False).encode())
    signature = hmac.new(secret.encode(), f"{header}.{payload}".encode(), hashlib.sha256)
    return f"{header}.{payload}.{_b64url(signature.digest())}"

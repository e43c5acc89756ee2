"""API keys and the short-lived upload tokens of the storage endpoints.

With no API keys configured every request is allowed (and the server binds to loopback only,
see Settings.require_safe_bind). With keys, requests carry `Authorization: Key <key>` (the
official clients' format; `Bearer <key>` is accepted too). The CDN-token endpoint hands out a
signed token (HMAC-SHA256 with a secret kept in the data directory) that the upload endpoints
accept in place of a key, as fal's CDN does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from talkies.service.errors import Unauthorized


def load_secret(data_dir: Path) -> bytes:
    """This server's signing secret, made on first start and kept in `data_dir/secret`."""
    path = Path(data_dir) / "secret"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_bytes()


def issue_token(secret: bytes, ttl_s: float) -> tuple[str, float]:
    """(token, expiry in epoch seconds)."""
    expires = int(time.time() + ttl_s)
    return f"{expires}.{_sign(secret, str(expires))}", float(expires)


def check(authorization: str | None, api_keys: tuple[str, ...], secret: bytes) -> None:
    """Raise Unauthorized unless the header carries a configured key or a live upload token."""
    if not api_keys:
        return
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() in ("key", "bearer") and any(hmac.compare_digest(value, key) for key in api_keys):
        return
    if scheme.lower() == "bearer" and _token_valid(secret, value):
        return
    raise Unauthorized("missing or unknown API key; send the header 'Authorization: Key <your key>'")


def _token_valid(secret: bytes, token: str) -> bool:
    expires, _, signature = token.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature, _sign(secret, expires))


def _sign(secret: bytes, text: str) -> str:
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")

"""API keys and the short-lived upload tokens of the storage endpoints.

With no API keys configured every request is allowed (and the server binds to loopback only,
see Settings.require_safe_bind). With keys, requests carry `Authorization: Key <key>` (the
official clients' format; `Bearer <key>` is accepted too). The CDN-token endpoint hands out a
signed token (HMAC-SHA256 with a secret kept in the data directory) that the upload endpoints
accept in place of a key, as fal's CDN does; it names its scope, so it opens nothing else (a
leaked upload token cannot submit jobs or mint tokens). A header that is not printable ASCII,
or a scheme without a value, is simply not a credential. The check runs in the gate (gate.py),
before the request body is read.
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


UPLOAD = "upload"  # scope of the CDN-upload token: the upload endpoints only
REALTIME = "realtime"  # scope of the /tokens/ token: realtime connections only (none are served)
API = "api"  # what a route needs that only an API key opens


def issue_token(secret: bytes, ttl_s: float, scope: str = UPLOAD) -> tuple[str, float]:
    """(token, expiry in epoch seconds): `{scope}.{expiry}.{signature}`, valid for `scope` only."""
    expires = int(time.time() + ttl_s)
    return f"{scope}.{expires}.{_sign(secret, f'{scope}.{expires}')}", float(expires)


def check(authorization: str | None, api_keys: tuple[str, ...], secret: bytes, scope: str = API) -> None:
    """Raise Unauthorized unless the header carries a configured key, or a live token of
    `scope` (a token never opens API routes, and no token mints another)."""
    if not api_keys:
        return
    value = _credential(authorization)
    if value is not None:
        scheme, credential = value
        if scheme in ("key", "bearer") and any(
            hmac.compare_digest(credential.encode(), key.encode()) for key in api_keys
        ):
            return
        if scheme == "bearer" and scope != API and _token_scope(secret, credential) == scope:
            return
    raise Unauthorized("missing or unknown API key; send the header 'Authorization: Key <your key>'")


def _credential(authorization: str | None) -> tuple[str, str] | None:
    """(scheme lowercased, credential) of a well-formed ASCII header, else None."""
    if not authorization or not authorization.isascii() or not authorization.isprintable():
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    return (scheme.lower(), credential) if credential else None


def _token_scope(secret: bytes, token: str) -> str | None:
    scope, _, rest = token.partition(".")
    expires, _, signature = rest.partition(".")
    if not expires.isdigit() or int(expires) < time.time():
        return None
    if not hmac.compare_digest(signature.encode(), _sign(secret, f"{scope}.{expires}").encode()):
        return None
    return scope


def _sign(secret: bytes, text: str) -> str:
    digest = hmac.new(secret, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")

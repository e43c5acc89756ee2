"""Webhook signatures as fal sends them: ED25519 over the request id, user id, timestamp and
the body's SHA-256, verifiable against this server's JWKS (`GET /.well-known/jwks.json`).

fal's scheme (docs.fal.ai, "Verifying your webhook"): each delivery carries the headers
`X-Fal-Webhook-Request-Id`, `X-Fal-Webhook-User-Id`, `X-Fal-Webhook-Timestamp` (epoch seconds)
and `X-Fal-Webhook-Signature` (hex). The signed message is the UTF-8 of
`request_id + "\\n" + user_id + "\\n" + timestamp + "\\n" + sha256_hex(raw body)`; a receiver
verifies it with any ED25519 key of the JWKS (`keys[].x`, base64url) and refuses timestamps more
than 5 minutes away from its clock. A receiver written for fal only has to be pointed at this
server's JWKS URL instead of fal's.

The private key is made on first start and kept in the storage root beside the upload-token
secret (PEM, mode 600), so every API node sharing that directory signs with the same key.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

KEY_FILE = "webhook-signing-key.pem"
JWKS_PATH = "/.well-known/jwks.json"
# fal's user id names the account; a self-hosted server has one operator.
USER_ID = "talkies"
TOLERANCE_S = 300


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


@functools.lru_cache(maxsize=8)
def load_key(folder: Path) -> Ed25519PrivateKey:
    """This server's signing key, made once in `folder` (the first process to link it wins)."""
    path = Path(folder) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # atomic and never replaces a key another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an ED25519 private key")
    return key


def public_jwk(key: Ed25519PrivateKey) -> dict[str, str]:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "use": "sig",
        "kid": _b64url(hashlib.sha256(raw).digest()[:12]),
        "x": _b64url(raw),
    }


def jwks(key: Ed25519PrivateKey) -> dict[str, list[dict[str, str]]]:
    """The JSON Web Key Set receivers verify against."""
    return {"keys": [public_jwk(key)]}


def message(request_id: str, user_id: str, timestamp: str, body: bytes) -> bytes:
    """What is signed: fal's four lines."""
    return "\n".join((request_id, user_id, timestamp, hashlib.sha256(body).hexdigest())).encode()


def signed_headers(
    key: Ed25519PrivateKey, request_id: str, body: bytes, now: float | None = None
) -> dict[str, str]:
    """The X-Fal-Webhook-* headers of one delivery of `body` (the exact bytes sent)."""
    timestamp = str(int(time.time() if now is None else now))
    signature = key.sign(message(request_id, USER_ID, timestamp, body)).hex()
    return {
        "X-Fal-Webhook-Request-Id": request_id,
        "X-Fal-Webhook-User-Id": USER_ID,
        "X-Fal-Webhook-Timestamp": timestamp,
        "X-Fal-Webhook-Signature": signature,
    }

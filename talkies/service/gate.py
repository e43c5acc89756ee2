"""The gate every HTTP request passes before any handler sees it: who may call the route, and
how much body it may send.

Why a middleware and not a FastAPI dependency: FastAPI reads and parses a request's body
before it resolves the route's dependencies, so a dependency checks the key only after 200 MB
of JSON sat in memory. Here the order is: (1) which scope the path needs (`scope_of`),
(2) the Authorization header against it, (3) a declared Content-Length over the limit is
refused unread, (4) the body is counted as it arrives and cut at the limit. JSON bodies are
spooled (in memory up to SPOOL_MEMORY_BYTES, then a temporary file), so a body over the limit
never reaches the JSON parser and costs at most that much memory; upload bodies stream
through to the handlers, which write them to disk under the same count.
"""

from __future__ import annotations

import re
import tempfile
from typing import Any

from talkies.service import auth
from talkies.service.errors import TooLarge, Unauthorized, error_response
from talkies.service.settings import Settings

SPOOL_MEMORY_BYTES = 1 << 20
_CHUNK = 1 << 16

# (methods, path pattern, scope, body is a file). First match wins; anything else needs an API
# key and has a JSON body. File downloads are public (the file id is the secret), so are upload
# URLs (the upload id is). File bodies stream to the handlers, under max_upload_bytes.
_PUBLIC_PAGES = (
    r"^/(|health|openapi\.json|docs|docs/oauth2-redirect|redoc|live|\.well-known/jwks\.json"
    r"|static-offline-docs/[\w.-]+|playground/[\w./-]+)$"
)
_ROUTES: tuple[tuple[frozenset[str], re.Pattern[str], str, bool], ...] = (
    (frozenset({"GET", "HEAD"}), re.compile(r"^/files/[^/]+/[^/]+$"), "public", False),
    (frozenset({"GET", "HEAD"}), re.compile(_PUBLIC_PAGES), "public", False),
    (frozenset({"PUT"}), re.compile(r"^/uploads/[^/]+(/[^/]+)?$"), "capability", True),
    (frozenset({"POST"}), re.compile(r"^/uploads/[^/]+/complete$"), "capability", False),
    (frozenset({"POST"}), re.compile(r"^/files/upload$"), auth.UPLOAD, True),
    (frozenset({"POST"}), re.compile(r"^/files/upload/multipart$"), auth.UPLOAD, False),
    (frozenset({"PUT"}), re.compile(r"^/files/[^/]+/[^/]+/multipart/[^/]+/[^/]+$"), auth.UPLOAD, True),
    (frozenset({"POST"}), re.compile(r"^/files/[^/]+/[^/]+/multipart/[^/]+/complete$"), auth.UPLOAD, False),
    (frozenset({"POST"}), re.compile(r"^/storage/upload/initiate(-multipart)?$"), auth.UPLOAD, False),
)


def route_of(method: str, path: str) -> tuple[str, bool]:
    """(scope, body is a file): scope "public", "capability", "upload" or "api" (the default:
    an API key is needed)."""
    for methods, pattern, scope, streamed in _ROUTES:
        if method in methods and pattern.match(path):
            return scope, streamed
    return auth.API, False


def scope_of(method: str, path: str) -> str:
    """ "public", "capability", "upload" or "api": who may call `method path`."""
    return route_of(method, path)[0]


def request_limit_bytes(settings: Settings) -> int:
    """The largest JSON body accepted: three inline files at the data: URI limit, in base64."""
    return 3 * (settings.max_data_uri_bytes * 4 // 3 + 4) + SPOOL_MEMORY_BYTES


class Gate:
    """ASGI middleware: authentication before the body, and a body limit while reading it."""

    def __init__(self, app: Any, settings: Settings, secret: bytes) -> None:
        self.app, self.settings, self.secret = app, settings, secret

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        needs, streamed = route_of(scope["method"], scope["path"])
        headers = dict(scope.get("headers", []))
        try:
            if needs not in ("public", "capability"):
                header = headers.get(b"authorization")
                auth.check(
                    header.decode("latin-1") if header is not None else None,
                    self.settings.api_keys,
                    self.secret,
                    needs,
                )
            limit = self.settings.max_upload_bytes if streamed else request_limit_bytes(self.settings)
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > limit:
                raise TooLarge(
                    f"the request body is {int(declared)} bytes; this endpoint accepts at most {limit}"
                )
            if streamed:
                await self.app(scope, _counted(receive, limit), send)
                return
            with tempfile.SpooledTemporaryFile(SPOOL_MEMORY_BYTES) as body:
                size = await _spool(receive, body, limit)
                await self.app(scope, _replay(body, size, receive), send)
        except (Unauthorized, TooLarge) as e:
            await error_response(e)(scope, receive, send)


def _counted(receive: Any, limit: int) -> Any:
    received = 0

    async def counted() -> dict:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise TooLarge(f"the request body is larger than {limit} bytes, the limit of this endpoint")
        return message

    return counted


async def _spool(receive: Any, body: Any, limit: int) -> int:
    """Write the whole body to `body`; its size (the client may leave early: what came)."""
    received = 0
    while True:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise TooLarge(f"the request body is larger than {limit} bytes, the limit of this endpoint")
            body.write(chunk)
        if message["type"] != "http.request" or not message.get("more_body", False):
            body.seek(0)
            return received


def _replay(body: Any, size: int, receive: Any) -> Any:
    done = False

    async def replay() -> dict:
        nonlocal done
        if done:
            return await receive()  # after the body: the client's disconnect, when it comes
        chunk = body.read(_CHUNK)
        done = body.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replay

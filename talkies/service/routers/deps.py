"""What the handlers share: the service context, the request's origin, and spooling request
bodies to disk under the upload size limit. (Authentication is the gate's, gate.py.)"""

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from talkies.service.context import Context
from talkies.service.errors import TooLarge
from talkies.service.maintenance import scratch_name
from talkies.service.submit import Origin

QUEUE_ROOT = "queue_root"  # scope["state"] key set by the host-routing middleware

# The API-key security scheme of the OpenAPI document (and the docs' Authorize button). The
# gate checks the key before any handler runs; this only declares it, so it never refuses.
api_key = APIKeyHeader(
    name="Authorization",
    scheme_name="ApiKey",
    description="`Key <your key>` (fal's format; `Bearer <key>` works too). Needed when the server "
    "runs with --api-key / TALKIES_API_KEYS.",
    auto_error=False,
)
KEYED = [Depends(api_key)]


def get_ctx(request: Request) -> Context:
    return request.app.state.ctx


CtxDep = Annotated[Context, Depends(get_ctx)]


def origin(request: Request) -> Origin:
    """Base URLs for what we hand out: the configured public URL, else the scheme and host the
    request came in on (so a client reaching us as queue.fal.run gets URLs it can reach)."""
    public = get_ctx(request).settings.public_url.rstrip("/")
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    base = public or f"{request.url.scheme}://{host}"
    queue_root = request.scope.get("state", {}).get(QUEUE_ROOT, "/queue")
    own = {host.lower()} | ({urlsplit(public).netloc.lower()} if public else set())
    return Origin(
        base_url=base,
        queue_base=(public + "/queue") if public else base + queue_root,
        own_hosts=frozenset(own),
    )


async def spool(request: Request, ctx: Context) -> Path:
    """Write the request body to a scratch file, refusing more than max_upload_bytes (413)."""
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"upload is {declared} bytes; this server accepts at most {limit}")
    target = ctx.files.scratch() / f"{scratch_name('upload')}{uuid.uuid4().hex}"
    written = 0
    try:
        with target.open("wb") as out:
            async for chunk in request.stream():
                written += len(chunk)
                if written > limit:
                    raise TooLarge(f"upload is larger than {limit} bytes, the limit of this server")
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


@contextlib.contextmanager
def spooled(source: Path) -> Iterator[Path]:
    """A spooled body for the block; whatever the block did not move away is deleted after it,
    so a failed upload leaves nothing in the scratch directory."""
    try:
        yield source
    finally:
        source.unlink(missing_ok=True)

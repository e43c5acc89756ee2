"""Storage endpoints the official clients upload through (fal-protocol.md S1-S5, T1).

Python `upload_file`: S1 token, then S2 one-shot upload (S3 multipart above 100 MB).
JS `storage.upload`: S4 initiate, then a plain PUT to the returned `upload_url` (S5 in parts
above 90 MB). The JS PUT carries no credentials, so an upload URL is a capability: its id is
128 random bits, usable until the upload completes. Every upload returns a URL on this server
that jobs read from local storage.
"""

import json
import re
from datetime import UTC, datetime

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from talkies.errors import InputError
from talkies.service import auth, schemas
from talkies.service.context import Context
from talkies.service.errors import BadRequest
from talkies.service.files import check_part_number
from talkies.service.routers.deps import KEYED, CtxDep, origin, spool, spooled

TOKEN_TTL_S = 3600.0
authed = APIRouter(
    tags=["storage"], dependencies=KEYED, responses={**schemas.UNAUTHORIZED, **schemas.TOO_LARGE}
)  # key or upload token, checked by the gate (gate.py)
capability = APIRouter(tags=["storage"], responses={**schemas.UPLOAD_TARGET, **schemas.TOO_LARGE})


class InitiateUpload(BaseModel):
    file_name: str | None = None
    content_type: str = "application/octet-stream"


# RFC 6838 media type: type "/" subtype, each a restricted-name (ASCII), then optional
# `; name=value` parameters of RFC 9110 tokens or quoted strings.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}"
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM = rf"\s*;\s*{_TOKEN}=(?:{_TOKEN}|\"[\x20\x21\x23-\x5b\x5d-\x7e]*\")"
_MEDIA_TYPE = re.compile(rf"^{_NAME}/{_NAME}(?:{_PARAM})*$")
MAX_CONTENT_TYPE_CHARS = 255


def checked_content_type(value: str) -> str:
    """`value` if it is a valid media type (RFC 6838 syntax, ASCII), else InputError (422)."""
    if len(value) > MAX_CONTENT_TYPE_CHARS or not _MEDIA_TYPE.match(value):
        raise InputError(
            f"content_type {value[:100]!a} is not a media type like 'image/png' (RFC 6838: ASCII "
            f"type/subtype, optional ;name=value parameters, at most {MAX_CONTENT_TYPE_CHARS} characters)",
            "content_type",
        )
    return value


def _ttl(lifecycle: str | None) -> float | None:
    """expiration_duration_seconds of an X-Fal-Object-Lifecycle(-Preference) header."""
    if not lifecycle:
        return None
    try:
        value = json.loads(lifecycle).get("expiration_duration_seconds")
    except (ValueError, AttributeError) as e:
        raise BadRequest(f"X-Fal-Object-Lifecycle is not a JSON object: {lifecycle[:100]!r}") from e
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e10:
        return None  # absent, null ("never") or nonsense: the retention default
    return float(value)


def _file_url(request: Request, file_id: str, name: str) -> str:
    return f"{origin(request).base_url}/files/{file_id}/{name}"


@authed.post("/storage/auth/token")
def cdn_token(request: Request) -> dict[str, str]:
    """S1: a short-lived upload token for the CDN upload endpoints."""
    token, expires = auth.issue_token(request.app.state.secret, TOKEN_TTL_S, auth.UPLOAD)
    expires_at = datetime.fromtimestamp(expires, UTC).isoformat()
    return {
        "token": token,
        "token_type": "Bearer",
        "base_url": origin(request).base_url,
        "expires_at": expires_at,
    }


@authed.post("/tokens/")
def realtime_token(request: Request) -> str:
    """T1: a short-lived token (the clients ask for one before realtime or streaming calls); it
    is scoped to realtime connections and opens no other route."""
    return auth.issue_token(request.app.state.secret, 120.0, auth.REALTIME)[0]


@authed.post("/files/upload")
async def upload(
    request: Request,
    ctx: CtxDep,
    content_type: str = Header("application/octet-stream"),
    x_fal_file_name: str = Header("upload"),
    x_fal_object_lifecycle: str | None = Header(None),
) -> dict:
    """S2: the whole file in the body."""
    ttl, content_type = _ttl(x_fal_object_lifecycle), checked_content_type(content_type)  # before any write
    with spooled(await spool(request, ctx)) as source:
        stored = await run_in_threadpool(ctx.files.put_path, source, x_fal_file_name, content_type, None, ttl)
    return {"access_url": _file_url(request, stored.id, stored.name)}


@authed.post("/files/upload/multipart")
def multipart_start(
    request: Request,
    ctx: CtxDep,
    content_type: str = Header("application/octet-stream"),
    x_fal_file_name: str = Header("upload"),
    x_fal_object_lifecycle: str | None = Header(None),
) -> dict:
    """S3 step 1: reserve a file; parts are PUT under its access_url."""
    ttl, content_type = _ttl(x_fal_object_lifecycle), checked_content_type(content_type)
    upload_id = ctx.files.start_upload(x_fal_file_name, content_type, ttl)
    file_id, name = ctx.files.upload_target(upload_id)
    return {"access_url": _file_url(request, file_id, name), "uploadId": upload_id}


@authed.put("/files/{file_id}/{name}/multipart/{upload_id}/{part}", responses=schemas.UPLOAD_TARGET)
async def multipart_part(
    request: Request, ctx: CtxDep, file_id: str, name: str, upload_id: str, part: int
) -> JSONResponse:
    """S3 step 2: one part; the ETag header goes back in the completion."""
    _check_target(ctx, upload_id, file_id, name)
    check_part_number(part)
    with spooled(await spool(request, ctx)) as source:
        etag = await run_in_threadpool(ctx.files.write_part, upload_id, part, source)
    return JSONResponse({"partNumber": part, "etag": etag}, headers={"ETag": etag})


@authed.post("/files/{file_id}/{name}/multipart/{upload_id}/complete", responses=schemas.UPLOAD_TARGET)
def multipart_complete(request: Request, ctx: CtxDep, file_id: str, name: str, upload_id: str) -> dict:
    """S3 step 3: join the parts."""
    _check_target(ctx, upload_id, file_id, name)
    stored = ctx.files.complete_upload(upload_id)
    return {"access_url": _file_url(request, stored.id, stored.name)}


@authed.post("/storage/upload/initiate")
def initiate(
    request: Request,
    ctx: CtxDep,
    body: InitiateUpload,
    x_fal_object_lifecycle: str | None = Header(None),
) -> dict:
    """S4: where to PUT the file (upload_url) and where it will be (file_url)."""
    return _initiate(request, ctx, body, x_fal_object_lifecycle)


@authed.post("/storage/upload/initiate-multipart")
def initiate_multipart(
    request: Request,
    ctx: CtxDep,
    body: InitiateUpload,
    x_fal_object_lifecycle: str | None = Header(None),
) -> dict:
    """S5: as S4, parts go to {upload_url}/{n}, then {upload_url}/complete."""
    return _initiate(request, ctx, body, x_fal_object_lifecycle)


def _initiate(request: Request, ctx: Context, body: InitiateUpload, lifecycle: str | None) -> dict:
    ttl, content_type = _ttl(lifecycle), checked_content_type(body.content_type)
    upload_id = ctx.files.start_upload(body.file_name or "upload", content_type, ttl)
    file_id, name = ctx.files.upload_target(upload_id)
    base = origin(request).base_url
    return {"upload_url": f"{base}/uploads/{upload_id}", "file_url": _file_url(request, file_id, name)}


@capability.put("/uploads/{upload_id}")
async def put_whole(request: Request, ctx: CtxDep, upload_id: str) -> dict:
    """S4 step 2: the file's bytes (no credentials needed: the URL is the credential)."""
    ctx.files.upload_target(upload_id)  # 404 for an unknown upload, before anything is written
    with spooled(await spool(request, ctx)) as source:
        await run_in_threadpool(ctx.files.write_part, upload_id, 1, source)
    stored = await run_in_threadpool(ctx.files.complete_upload, upload_id)
    return {"file_url": _file_url(request, stored.id, stored.name)}


@capability.put("/uploads/{upload_id}/{part}")
async def put_part(request: Request, ctx: CtxDep, upload_id: str, part: int) -> dict:
    """S5 step 2: one part."""
    ctx.files.upload_target(upload_id)  # 404 for an unknown upload, before anything is written
    check_part_number(part)
    with spooled(await spool(request, ctx)) as source:
        etag = await run_in_threadpool(ctx.files.write_part, upload_id, part, source)
    return {"partNumber": part, "etag": etag}


@capability.post("/uploads/{upload_id}/complete")
def put_complete(request: Request, ctx: CtxDep, upload_id: str) -> dict:
    """S5 step 3: join the parts."""
    stored = ctx.files.complete_upload(upload_id)
    return {"file_url": _file_url(request, stored.id, stored.name)}


def _check_target(ctx: Context, upload_id: str, file_id: str, name: str) -> None:
    if ctx.files.upload_target(upload_id) != (file_id, name):
        raise BadRequest(f"upload {upload_id} does not belong to /files/{file_id}/{name}")

"""Stored files (uploads, inputs, rendered videos), with HTTP Range support for players."""

from fastapi import APIRouter
from fastapi.responses import FileResponse

from talkies.service import schemas
from talkies.service.routers.deps import CtxDep

router = APIRouter(tags=["files"])


@router.head("/files/{file_id}/{name}", include_in_schema=False)
@router.get("/files/{file_id}/{name}", responses=schemas.FILE)
def download(file_id: str, name: str, ctx: CtxDep) -> FileResponse:
    """The file's bytes. No API key needed: the id is the secret (like a CDN URL)."""
    stored = ctx.files.get_named(file_id, name)
    return FileResponse(
        ctx.files.path(stored),
        media_type=stored.content_type,
        content_disposition_type="inline",
        filename=stored.name,
    )

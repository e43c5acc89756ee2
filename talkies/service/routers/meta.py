"""What is not the model API: the webhook verification keys and the playground page."""

from importlib.resources import files as package_files

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from talkies.service import signing
from talkies.service.routers.deps import CtxDep

router = APIRouter(tags=["meta"])
PLAYGROUND = package_files("talkies.service") / "static" / "playground"


@router.get(signing.JWKS_PATH, summary="Webhook signing keys (JWKS)")
def jwks(ctx: CtxDep) -> JSONResponse:
    """The public keys webhook receivers verify `X-Fal-Webhook-Signature` against (ED25519,
    fal's scheme; see docs/webhooks.md)."""
    key = signing.load_key(ctx.settings.storage_root)
    return JSONResponse(signing.jwks(key), headers={"Cache-Control": "public, max-age=3600"})


@router.get("/", include_in_schema=False)
def playground() -> FileResponse:
    """The playground page (static; it reads the input schema from /openapi.json)."""
    return FileResponse(str(PLAYGROUND / "index.html"), media_type="text/html")

"""What is not the model API: the webhook verification keys and the playground page (static
files from the package; it builds its form from /openapi.json and reads /playground/config)."""

from importlib.resources import files as package_files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from talkies import __version__
from talkies.service import clients, signing
from talkies.service.endpoints import ENDPOINTS, V15
from talkies.service.routers.deps import CtxDep, origin

router = APIRouter(tags=["meta"])
PLAYGROUND = package_files("talkies.service") / "static" / "playground"


@router.get(signing.JWKS_PATH, summary="Webhook signing keys (JWKS)")
def jwks(ctx: CtxDep) -> JSONResponse:
    """The public keys webhook receivers verify `X-Fal-Webhook-Signature` against (ED25519,
    fal's scheme; see docs/webhooks.md)."""
    key = signing.load_key(ctx.settings.storage_root)
    return JSONResponse(signing.jwks(key), headers={"Cache-Control": "public, max-age=3600"})


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def playground() -> FileResponse:
    return FileResponse(str(PLAYGROUND / "index.html"), media_type="text/html")


@router.get("/playground/config", include_in_schema=False)
def playground_config(request: Request, ctx: CtxDep) -> dict[str, Any]:
    """What the page needs to know about this server (public: it holds no secret)."""
    where = origin(request)
    return {
        "version": __version__,
        "auth_required": bool(ctx.settings.api_keys),
        "endpoints": list(ENDPOINTS),
        "default_endpoint": V15,
        "base_url": where.base_url,
        "queue_base": where.queue_base,
        "https": where.base_url.startswith("https:"),
        "python_env": clients.python_env(ctx.settings, where.base_url),
    }

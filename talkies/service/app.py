"""The FastAPI application: routers, error handlers, host routing and background maintenance.

Routing mirrors fal's hosts on one server: `queue.*` host names (and the optional queue port)
serve the queue API at the root, as queue.fal.run does; any other host serves the sync run
endpoints at the root and the queue under `/queue`. Storage and file paths are the same on
every host (rest.fal.ai and v3.fal.media paths do not collide with anything else).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from talkies.service import auth, errors, logs, maintenance
from talkies.service.context import Context
from talkies.service.gate import Gate
from talkies.service.routers import files, history, meta, queue, realtime, run, storage
from talkies.service.routers.deps import QUEUE_ROOT
from talkies.service.settings import Settings

SHARED_PATHS = (
    "/files/",
    "/storage/",
    "/uploads/",
    "/tokens/",
    "/docs",
    "/redoc",
    "/static-offline-docs/",
    "/playground/",
    "/.well-known/",
    "/openapi.json",
    "/health",
    "/queue/",
    "/v1/",
)

DESCRIPTION = """A self-hosted, drop-in equivalent of fal.ai's ByteDance OmniHuman endpoints:
the same request and response schema and the same queue protocol, so the official fal clients
work against it unmodified. Rendering is done by talkies on the CPU."""


TAGS = [
    {
        "name": "queue",
        "description": "fal's queue protocol: submit, status (polled or streamed), result, cancel.",
    },
    {"name": "run", "description": "Synchronous run: POST the input, wait for the output."},
    {"name": "history", "description": "Recent requests of an endpoint, with inputs and outputs."},
    {
        "name": "storage",
        "description": "fal's storage uploads (what fal_client.upload_file and the JS client use).",
    },
    {"name": "files", "description": "Uploaded inputs and rendered videos."},
    {"name": "meta", "description": "Health and the webhook signing keys."},
]


def create_app(
    settings: Settings, maintain: bool = True, workers_running: Callable[[], bool] | None = None
) -> FastAPI:
    """The ASGI app for `settings`. With `maintain`, the background loops (orphaned jobs,
    deadlines, webhooks, retention) run while the app runs. `workers_running` tells /health
    whether this server's worker consumer is up (None: the workers run elsewhere)."""
    ctx = Context.open(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if maintain:
            await asyncio.to_thread(
                maintenance.recover_orphans, ctx, time.time() + maintenance.ORPHAN_MIN_AGE_S
            )
            tasks = [
                asyncio.create_task(maintenance.run(ctx)),
                asyncio.create_task(maintenance.run_webhooks(ctx)),
            ]
        yield
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # Swagger UI and ReDoc from the fastapi-offline package's files: /docs works offline.
    app = FastAPIOffline(
        title="talkies",
        summary="fal-compatible OmniHuman endpoints",
        description=DESCRIPTION,
        version="0.1.0",
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    app.state.ctx = ctx
    app.state.secret = auth.load_secret(settings.storage_root)  # shared by API nodes
    app.state.live_slots = realtime.Slots(settings.live_sessions)
    errors.install(app)
    app.add_api_route("/health", _health(workers_running), methods=["GET"], tags=["meta"])
    routers = (meta.router, history.router, files.router, storage.capability, storage.authed, queue.router)
    for router in (*routers, realtime.router, run.router):
        app.include_router(router)
    app.mount("/playground", StaticFiles(directory=str(meta.PLAYGROUND)), name="playground")
    app.add_middleware(
        Gate, settings=settings, secret=app.state.secret
    )  # inside HostRouting: sees /queue/...
    app.add_middleware(SameOriginPages)
    app.add_middleware(HostRouting, queue_port=settings.queue_port)
    app.add_middleware(logs.RequestLog)  # outermost: the path as the client sent it
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, without the 422 it declares for every route with parameters where no
    parameter can fail validation (plain strings, no body): the status codes listed are the ones
    a route really answers with."""
    if app.openapi_schema is None:
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        for operations in schema["paths"].values():
            for operation in operations.values():
                params = operation.get("parameters", [])
                plain = all(_is_text(p.get("schema", {})) for p in params)
                default = operation["responses"].get("422", {}).get("description") == "Validation Error"
                if "requestBody" not in operation and plain and default:
                    del operation["responses"]["422"]
        app.openapi_schema = schema
    return app.openapi_schema


# The docs pages load nothing from elsewhere (ReDoc's bundle would fetch its logo
# from a CDN): they work the same offline, and tell no one who reads them.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; media-src 'self' blob:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'"
)
DOC_PAGES = ("/docs", "/redoc")


class SameOriginPages:
    """ASGI middleware: the Content-Security-Policy above on the docs pages."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] not in DOC_PAGES:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"content-security-policy", PAGE_POLICY.encode())]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_policy)


def _is_text(schema: dict[str, Any]) -> bool:
    """A string, or an optional string: a parameter no value of fails validation."""
    kinds = [s.get("type") for s in schema.get("anyOf", [schema])]
    return all(kind in ("string", "null") for kind in kinds)


def _health(workers_running: Callable[[], bool] | None) -> Callable[[], dict[str, str]]:
    def health() -> dict[str, str]:
        """200 while this server can run jobs; 503 with Retry-After while its workers are down
        (they are being restarted)."""
        if workers_running is not None and not workers_running():
            raise errors.WorkersDown("the rendering workers are not running; they are being restarted")
        return {"status": "ok"}

    return health


class HostRouting:
    """Serve the queue API at the root for `queue.*` hosts and on the queue port."""

    def __init__(self, app: Any, queue_port: int | None) -> None:
        self.app, self.queue_port = app, queue_port

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self._is_queue(scope) and not scope["path"].startswith(SHARED_PATHS):
            raw = scope.get("raw_path") or scope["path"].encode()
            scope = dict(scope, path="/queue" + scope["path"], raw_path=b"/queue" + raw)
            scope["state"] = {**scope.get("state", {}), QUEUE_ROOT: ""}
        await self.app(scope, receive, send)

    def _is_queue(self, scope: dict) -> bool:
        server = scope.get("server") or ("", None)
        if self.queue_port is not None and server[1] == self.queue_port:
            return True
        host = dict(scope.get("headers", [])).get(b"host", b"").decode("latin-1").lower()
        return host.startswith("queue.")

"""Synchronous run (fal-protocol.md R1): POST the input to the endpoint id, get the output.

The request goes through the same queue as everything else (so the worker limit holds); the
handler just waits for it. A client that hangs up cancels its request.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from talkies.service import schemas
from talkies.service.endpoints import ENDPOINTS, Endpoint, OmniHumanOutput
from talkies.service.errors import ClientDisconnected, NotFound, cancelled_outcome, outcome_response
from talkies.service.routers.deps import KEYED, CtxDep, origin
from talkies.service.submit import submit

POLL_S = 0.1
router = APIRouter(tags=["run"], dependencies=KEYED)  # API key checked by the gate (gate.py)


def _run_route(endpoint: Endpoint) -> Callable[..., Awaitable[JSONResponse]]:
    async def run(
        request: Request,
        ctx: CtxDep,
        payload: endpoint.model,  # type: ignore[name-defined]
    ) -> JSONResponse:
        job = await run_in_threadpool(submit, ctx, endpoint, payload, origin(request))
        while True:
            current = await run_in_threadpool(ctx.store.get, job.id)
            if current is None:
                raise NotFound(f"request {job.id} vanished (expired while running?)")
            if current.status == "COMPLETED" and current.outcome is not None:
                return outcome_response(current.outcome, job.id)
            if await request.is_disconnected():
                await run_in_threadpool(ctx.store.cancel, job.id, cancelled_outcome(), time.time())
                raise ClientDisconnected(f"request {job.id}: the client disconnected; it was cancelled")
            await asyncio.sleep(POLL_S)

    run.__doc__ = f"Run `{endpoint.id}` and wait for the video (the queue API is better for long audio)."
    return run


for _endpoint in ENDPOINTS.values():
    router.add_api_route(
        f"/{_endpoint.id}",
        _run_route(_endpoint),
        methods=["POST"],
        response_model=OmniHumanOutput,
        summary=f"Run {_endpoint.id}",
        responses=schemas.RUN,
    )


@router.post("/{endpoint_id:path}", include_in_schema=False)
def run_unknown(endpoint_id: str) -> None:
    raise NotFound(f"endpoint {endpoint_id!r} does not exist here; available: {', '.join(ENDPOINTS)}")

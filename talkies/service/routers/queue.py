"""The queue API (fal-protocol.md Q1-Q5): submit, status (polled and streamed), result, cancel.

Per-request routes take any prefix before `/requests/{id}` (owner/alias as the clients send it,
or the full endpoint id as hand-written callers do): request ids are unique on their own.
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from talkies.service import logs, protocol, schemas
from talkies.service.context import Context
from talkies.service.endpoints import ENDPOINTS, Endpoint
from talkies.service.errors import AlreadyCompleted, NotFound, NotReady, cancelled_outcome, outcome_response
from talkies.service.routers.deps import KEYED, CtxDep, origin
from talkies.service.store import Job
from talkies.service.submit import QueueOptions, submit

STREAM_POLL_S = 0.2
# The `{app}` of per-request routes: any prefix (owner/alias, or the full endpoint id); request
# ids are unique on their own, so it is declared (for the OpenAPI schema) but not used.
AppPath = Annotated[str, Path(description="owner/alias of the endpoint, e.g. fal-ai/bytedance")]
router = APIRouter(prefix="/queue", tags=["queue"], dependencies=KEYED)  # key checked by the gate (gate.py)


def _submit_route(endpoint: Endpoint) -> Callable[..., JSONResponse]:
    def submit_request(
        request: Request,
        ctx: CtxDep,
        payload: endpoint.model,  # type: ignore[name-defined]
        fal_webhook: str | None = None,
        x_fal_queue_priority: str = Header("normal"),
        x_fal_request_timeout: str | None = Header(None),
    ) -> JSONResponse:
        where = origin(request)
        options = QueueOptions(x_fal_queue_priority, x_fal_request_timeout, fal_webhook)
        job = submit(ctx, endpoint, payload, where, options)
        body = protocol.submit_body(job, where.queue_base, ctx.store.position(job.id) or 0)
        return JSONResponse(body, headers={"x-fal-request-id": job.id})

    submit_request.__doc__ = (
        f"Queue a `{endpoint.id}` request; poll its status_url, then GET its response_url."
    )
    return submit_request


for _endpoint in ENDPOINTS.values():
    router.add_api_route(
        f"/{_endpoint.id}",
        _submit_route(_endpoint),
        methods=["POST"],
        summary=f"Submit to {_endpoint.id}",
        responses=schemas.SUBMIT,
    )


@router.post("/{endpoint_id:path}", include_in_schema=False)
def submit_unknown(endpoint_id: str) -> None:
    raise NotFound(f"endpoint {endpoint_id!r} does not exist here; available: {', '.join(ENDPOINTS)}")


@router.get("/{app:path}/requests/{request_id}/status", responses=schemas.STATUS)
def status(
    request: Request, ctx: CtxDep, app: AppPath, request_id: str, logs: str | None = None
) -> JSONResponse:
    """The request's status: IN_QUEUE (with queue_position), IN_PROGRESS or COMPLETED."""
    job, position, lines = _snapshot(ctx, request_id, 0 if protocol.wants_logs(logs) else None)
    body = protocol.status_body(job, origin(request).queue_base, position, lines)
    code = 200 if job.status == "COMPLETED" else 202
    return JSONResponse(body, status_code=code, headers={"x-fal-request-id": job.id})


@router.get(
    "/{app:path}/requests/{request_id}/status/stream",
    responses=schemas.STREAM,
    response_class=StreamingResponse,
)
async def status_stream(
    request: Request, ctx: CtxDep, app: AppPath, request_id: str, logs: str | None = None
) -> StreamingResponse:
    """Server-sent events: one status per change (new log lines only), closed after COMPLETED."""
    await run_in_threadpool(_job, ctx, request_id)  # 404 before the stream starts
    events = _events(ctx, request_id, origin(request).queue_base, protocol.wants_logs(logs))
    headers = {"Cache-Control": "no-cache", "x-fal-request-id": request_id}
    return StreamingResponse(events, media_type="text/event-stream", headers=headers)


@router.get("/{app:path}/requests/{request_id}", responses=schemas.RESULT)
def result(app: AppPath, request_id: str, ctx: CtxDep) -> JSONResponse:
    """The model output, or the error of a failed request with its HTTP status."""
    job = _job(ctx, request_id)
    if job.status != "COMPLETED" or job.outcome is None:
        raise NotReady(f"request {request_id} is still {job.status.lower().replace('_', ' ')}")
    return outcome_response(job.outcome, job.id)


@router.put(
    "/{app:path}/requests/{request_id}/cancel",
    status_code=202,
    responses=schemas.CANCEL,
)
def cancel(app: AppPath, request_id: str, ctx: CtxDep) -> JSONResponse:
    """Cancel: a queued request is removed, a running one stops between frames."""
    found = ctx.store.cancel(request_id, cancelled_outcome(), time.time())
    if found == "missing":
        raise NotFound(f"request {request_id} not found")
    if found == "completed":
        raise AlreadyCompleted(f"request {request_id} already completed")
    if found == "requested":
        ctx.store.log(request_id, "cancellation requested", "WARN")
    elif (job := ctx.store.get(request_id)) is not None and job.outcome is not None:
        logs.job_ended(job, job.outcome)  # removed from the queue: it ends here, not in a worker
    return JSONResponse({"status": "CANCELLATION_REQUESTED"}, 202)


def _job(ctx: Context, request_id: str) -> Job:
    job = ctx.store.get(request_id)
    if job is None:
        raise NotFound(f"request {request_id} not found (unknown, or expired after the retention period)")
    return job


def _snapshot(ctx: Context, request_id: str, logs_after: int | None) -> tuple[Job, int | None, Any]:
    job = _job(ctx, request_id)
    position = ctx.store.position(job.id) if job.status == "IN_QUEUE" else None
    lines = None if logs_after is None else ctx.store.logs(job.id, logs_after)
    return job, position, lines


async def _events(ctx: Context, request_id: str, queue_base: str, with_logs: bool) -> AsyncIterator[str]:
    sent, last = 0, None
    while True:
        job, position, lines = await run_in_threadpool(
            _snapshot, ctx, request_id, sent if with_logs else None
        )
        if (job.status, position) != last or lines:
            yield f"data: {json.dumps(protocol.status_body(job, queue_base, position, lines))}\n\n"
            sent, last = sent + len(lines or []), (job.status, position)
        if job.status == "COMPLETED":
            return
        await asyncio.sleep(STREAM_POLL_S)

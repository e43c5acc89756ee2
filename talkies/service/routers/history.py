"""Request history: an endpoint's requests, newest first, with their inputs, outputs and
timings (what fal's requests-by-endpoint API and Replicate's predictions list give).

`GET /v1/models/requests/by-endpoint?endpoint_id=...&limit=20&cursor=...`; the answer's
`next_cursor` fetches the next page. Needs an API key when keys are configured (the gate).
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from talkies.service import schemas
from talkies.service.endpoints import ENDPOINTS, V15
from talkies.service.errors import BadRequest, NotFound
from talkies.service.routers.deps import KEYED, CtxDep
from talkies.service.store import Job

router = APIRouter(tags=["history"], dependencies=KEYED)
MAX_LIMIT = 100


class RequestEntry(BaseModel):
    request_id: str
    endpoint_id: str
    status: str = Field(description="IN_QUEUE, IN_PROGRESS or COMPLETED (see error_type for failures).")
    created_at: str = Field(description="When the request was submitted (ISO 8601, UTC).")
    started_at: str | None = Field(description="When a worker started it.")
    ended_at: str | None = Field(description="When it finished, failed or was cancelled.")
    duration: float | None = Field(description="Seconds from start to end (the inference time).")
    status_code: int | None = Field(description="HTTP status of its result: 200, or the error's.")
    error: str | None = None
    error_type: str | None = None
    json_input: dict[str, Any] = Field(description="The input; inline files as this server's file URLs.")
    json_output: dict[str, Any] | None = Field(description="The output, or the error body of a failure.")


class RequestPage(BaseModel):
    items: list[RequestEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")
    has_more: bool


@router.get(
    "/v1/models/requests/by-endpoint",
    summary="Requests of an endpoint, newest first",
    responses=schemas.HISTORY,
)
def by_endpoint(
    ctx: CtxDep,
    endpoint_id: Annotated[str, Query(description="e.g. fal-ai/bytedance/omnihuman/v1.5")] = V15,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Entries per page.")] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> RequestPage:
    """An endpoint's requests with their status, timings, input and output, paginated."""
    if endpoint_id not in ENDPOINTS:
        raise NotFound(f"endpoint {endpoint_id!r} does not exist here; available: {', '.join(ENDPOINTS)}")
    before = _cursor(cursor)
    jobs = ctx.store.history(endpoint_id, limit + 1, before)
    page = jobs[:limit]
    more = len(jobs) > limit
    return RequestPage(
        items=[_entry(job) for job in page],
        next_cursor=repr(page[-1].created_at) if more else None,
        has_more=more,
    )


def _cursor(cursor: str | None) -> float | None:
    if cursor is None:
        return None
    try:
        return float(cursor)
    except ValueError as e:
        raise BadRequest(f"cursor is {cursor!r}; pass the next_cursor of a previous page") from e


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat()


def _entry(job: Job) -> RequestEntry:
    outcome = job.outcome
    took = None if job.started_at is None or job.finished_at is None else job.finished_at - job.started_at
    return RequestEntry(
        request_id=job.id,
        endpoint_id=job.endpoint,
        status=job.status,
        created_at=_iso(job.created_at) or "",
        started_at=_iso(job.started_at),
        ended_at=_iso(job.finished_at),
        duration=None if took is None else round(took, 3),
        status_code=outcome.http_status if outcome else None,
        error=outcome.error if outcome else None,
        error_type=outcome.error_type if outcome else None,
        json_input=job.payload.get("input", {}),
        json_output=outcome.body if outcome else None,
    )

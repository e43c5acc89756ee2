"""Creating a job from a request: validate cheaply, store the inputs, enqueue.

Everything that can be refused without rendering is refused here, before the job is queued,
with a fal-style 422: the schema (pydantic), the options (AnimateOptions.validate), unusable
`*_url` values (bad data: URIs, non-media bytes, literal private addresses) and audio longer
than the endpoint allows when its length can be read from the file header. What needs a
download or the engine is checked by the worker, and fails the job instead.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from talkies.options import AnimateOptions
from talkies.service import inputs
from talkies.service.context import Context
from talkies.service.endpoints import Endpoint, OmniHumanInput
from talkies.service.errors import BadRequest, FetchError
from talkies.service.store import PRIORITY, Job, NewJob

MIN_START_TIMEOUT_S = 1.0
REQUIRED_FILES = ("image_url", "audio_url")


@dataclass(frozen=True)
class Origin:
    """Where a request came in: the base URLs handed back, and the host names that mean us."""

    base_url: str  # "https://127.0.0.1:8443": files and sync run
    queue_base: str  # "https://127.0.0.1:8443/queue" or "https://queue.example.com"
    own_hosts: frozenset[str]


@dataclass(frozen=True)
class QueueOptions:
    """The queue's request headers and query: X-Fal-Queue-Priority, X-Fal-Request-Timeout,
    fal_webhook."""

    priority: str = "normal"
    start_timeout: str | None = None
    webhook_url: str | None = None

    def priority_value(self) -> int:
        if self.priority.lower() not in PRIORITY:
            raise BadRequest(f"X-Fal-Queue-Priority is {self.priority!r}; allowed: normal, low")
        return PRIORITY[self.priority.lower()]

    def deadline(self, now: float) -> float | None:
        if self.start_timeout is None:
            return None
        try:
            seconds = float(self.start_timeout)
        except ValueError as e:
            raise BadRequest(f"X-Fal-Request-Timeout is {self.start_timeout!r}; expected seconds") from e
        if not seconds > MIN_START_TIMEOUT_S:
            raise BadRequest(f"X-Fal-Request-Timeout is {seconds:g} s; it must be more than 1 s")
        return now + seconds


def submit(
    ctx: Context,
    endpoint: Endpoint,
    payload: OmniHumanInput,
    origin: Origin,
    queue: QueueOptions = QueueOptions(),
) -> Job:
    """Validate the request, store its inputs and queue the job. Raises InputError (422) or
    ServiceError; nothing is left behind when it raises."""
    now = time.time()
    options = AnimateOptions(**endpoint.options(payload))
    options.validate()
    priority, deadline = queue.priority_value(), queue.deadline(now)
    webhook = _check_webhook(ctx, queue.webhook_url) if queue.webhook_url else None
    job_id = str(uuid.uuid4())
    refs = _accept_inputs(ctx, endpoint, payload, origin, job_id, options)
    new = NewJob(
        job_id,
        endpoint.id,
        {
            "inputs": refs,
            "options": endpoint.options(payload),
            "base_url": origin.base_url,
            "input": _shown_input(ctx, payload, refs, origin.base_url),
        },
        priority,
        deadline,
        webhook,
    )
    try:
        job = ctx.store.add(new, now)
    except BaseException:  # the backend is down: leave no input files behind
        _drop_files(ctx, refs)
        raise
    ctx.queue.enqueue(job.id, job.priority)
    return job


def _accept_inputs(
    ctx: Context,
    endpoint: Endpoint,
    payload: OmniHumanInput,
    origin: Origin,
    job_id: str,
    options: AnimateOptions,
) -> dict[str, inputs.Ref]:
    """References to the inputs; files stored on the way are deleted again if one is refused."""
    refs: dict[str, inputs.Ref] = {}
    try:
        for field in endpoint.file_fields:
            value = getattr(payload, field, None)
            if value is not None and (value or field in REQUIRED_FILES):  # an empty mask_url: none
                refs[field] = inputs.accept(
                    value,
                    field,
                    ctx.files,
                    ctx.guard,
                    set(origin.own_hosts),
                    job_id,
                    ctx.settings.max_data_uri_bytes,
                )
        inputs.check_audio_length(refs["audio_url"], ctx.files, options)
    except BaseException:
        _drop_files(ctx, refs)
        raise
    return refs


def _shown_input(ctx: Context, payload: OmniHumanInput, refs: dict[str, inputs.Ref], base: str) -> dict:
    """The request's input as the history shows it: inline data: URIs become the URLs of the
    files they were stored as (a history entry stays small, and its thumbnails load)."""
    shown = payload.model_dump(mode="json", exclude_none=True)
    for field, ref in refs.items():
        stored = ctx.files.get(ref["file"]) if "file" in ref else None
        shown[field] = base + stored.url_path if stored is not None else ref.get("url", shown[field])
    return shown


def _drop_files(ctx: Context, refs: dict[str, inputs.Ref]) -> None:
    for ref in refs.values():
        stored = ctx.files.get(ref.get("file", ""))
        if stored is not None and stored.owner is not None:
            ctx.files.delete(stored.id)


def _check_webhook(ctx: Context, url: str) -> str:
    try:
        return ctx.guard.check_url_text(url, "fal_webhook").text
    except FetchError as e:
        raise BadRequest(
            e.message if e.message.startswith("fal_webhook") else f"fal_webhook: {e.message}"
        ) from e

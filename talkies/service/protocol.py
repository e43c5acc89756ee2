"""The fal queue protocol's response bodies (fal-protocol.md §3), built from job records.

Only three statuses exist on the wire: IN_QUEUE (with `queue_position`), IN_PROGRESS and
COMPLETED (both always with a `logs` key, list or null). A failed or cancelled job is COMPLETED
with `error` and `error_type`; its result request returns the error. Any other status value
breaks the official Python client.
"""

from __future__ import annotations

from typing import Any

from talkies.service.store import Job, LogLine


def app_path(endpoint_id: str) -> str:
    """The owner/alias part of an endpoint id: per-request URLs leave the sub-path out."""
    return "/".join(endpoint_id.split("/")[:2])


def request_urls(job: Job, queue_base: str) -> dict[str, str]:
    base = f"{queue_base}/{app_path(job.endpoint)}/requests/{job.id}"
    return {"response_url": base, "status_url": f"{base}/status", "cancel_url": f"{base}/cancel"}


def submit_body(job: Job, queue_base: str, position: int) -> dict[str, Any]:
    return {
        "status": "IN_QUEUE",
        "request_id": job.id,
        **request_urls(job, queue_base),
        "queue_position": position,
    }


def status_body(
    job: Job, queue_base: str, position: int | None, logs: list[LogLine] | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"status": job.status, "request_id": job.id, **request_urls(job, queue_base)}
    body["logs"] = None if logs is None else [line.as_json() for line in logs]
    if job.status == "IN_QUEUE":
        body["queue_position"] = position or 0
    if job.status == "COMPLETED":
        body["metrics"] = _metrics(job)
        if job.outcome is not None and not job.outcome.ok:
            body["error"], body["error_type"] = job.outcome.error, job.outcome.error_type
    return body


def wants_logs(value: str | None) -> bool:
    """Python sends logs=true/false, JS logs=1/0."""
    return (value or "").strip().lower() in ("1", "true", "yes")


def _metrics(job: Job) -> dict[str, float]:
    if job.started_at is None or job.finished_at is None:
        return {}
    return {"inference_time": round(job.finished_at - job.started_at, 3)}

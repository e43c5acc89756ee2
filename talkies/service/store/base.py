"""Job state shared by the API and the workers: what a job is, and the store interface.

Huey carries one message per queued job from the API to the workers; everything a client can
ask about a job (status, queue position, logs, result, cancellation) lives here instead, in
storage that every API process and worker can reach. A worker that receives a message claims
the job at the head of this store's queue (claim_next), so the queue position a client is told
is exactly the order jobs start in, whatever order the queue delivers its messages in.
SQLite is the embedded implementation, Redis (store/redis.py) the one for many machines;
tests/service/test_store.py holds both to the same contract. Every state change is one atomic
compare-and-set, so any number of processes may call these methods concurrently, and writes of
a worker that lost its job (its attempt number no longer matches) are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from talkies.errors import InvalidOptionError

Status = Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
CancelResult = Literal["removed", "requested", "completed", "missing"]

PRIORITY = {"normal": 1, "low": 0}  # higher runs first


@dataclass(frozen=True)
class Outcome:
    """How a job ended: the HTTP status and body its result request returns.

    `body` is the model output when `http_status` is 200, else an error body ({"detail": ...}).
    `error` / `error_type` are what the status shows on a failed job."""

    http_status: int
    body: dict[str, Any]
    error: str | None = None
    error_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status == 200

    def to_json(self) -> str:
        """The stored form (both stores keep this text)."""
        return json.dumps(
            {
                "http_status": self.http_status,
                "body": self.body,
                "error": self.error,
                "error_type": self.error_type,
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Outcome:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class NewJob:
    id: str
    endpoint: str
    # Resolved inputs and engine options, as JSON (see service.submit).
    payload: dict[str, Any]
    priority: int = PRIORITY["normal"]
    # Epoch seconds by which the job must have started, else it ends with request_timeout.
    start_deadline: float | None = None
    webhook_url: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    endpoint: str
    payload: dict[str, Any]
    status: Status
    priority: int
    created_at: float
    start_deadline: float | None
    webhook_url: str | None
    started_at: float | None
    finished_at: float | None
    # How many times a worker has claimed the job; doubles as the fencing token of that worker.
    attempts: int
    worker: str | None
    heartbeat_at: float | None
    cancel_requested: bool
    outcome: Outcome | None


@dataclass(frozen=True)
class LogLine:
    message: str
    level: str
    timestamp: str  # ISO 8601, UTC

    def as_json(self) -> dict[str, str]:
        return {"message": self.message, "level": self.level, "source": "USER", "timestamp": self.timestamp}


@dataclass(frozen=True)
class Delivery:
    """A webhook to deliver: the job it reports and how often it was tried."""

    job_id: str
    url: str
    attempts: int


class JobStore(Protocol):
    def add(self, job: NewJob, now: float) -> Job: ...

    def get(self, job_id: str) -> Job | None: ...

    def position(self, job_id: str) -> int | None:
        """Jobs that will start before this one (0-based), or None if it is not queued."""
        ...

    def claim(self, job_id: str, worker: str, now: float) -> Job | None:
        """IN_QUEUE -> IN_PROGRESS for one worker; None if the job is not queued any more."""
        ...

    def claim_next(self, worker: str, now: float) -> Job | None:
        """Claim the job at the head of the queue (position 0), or None if none is queued.
        Workers start jobs this way, so queue positions are exactly the order jobs start in."""
        ...

    def heartbeat(self, job_id: str, attempt: int, now: float) -> bool: ...

    def cancel_requested(self, job_id: str) -> bool: ...

    def log(self, job_id: str, message: str, level: str = "INFO") -> None: ...

    def logs(self, job_id: str, after: int = 0) -> list[LogLine]:
        """Log lines after the first `after` ones."""
        ...

    def finish(self, job_id: str, outcome: Outcome, now: float, attempt: int | None = None) -> bool:
        """-> COMPLETED with `outcome`, if still running as `attempt` (or, with attempt None,
        still queued). Schedules the webhook. False if the job had moved on."""
        ...

    def requeue(self, job_id: str, attempt: int, count_attempt: bool = True) -> Job | None:
        """IN_PROGRESS (as `attempt`) -> IN_QUEUE at the back of its priority class."""
        ...

    def cancel(self, job_id: str, outcome: Outcome, now: float) -> CancelResult:
        """Queued: end it with `outcome` ("removed"); running: flag it ("requested")."""
        ...

    def stale(self, older_than: float) -> list[Job]:
        """Running jobs whose last heartbeat is before `older_than` (epoch s)."""
        ...

    def overdue(self, now: float) -> list[Job]:
        """Queued jobs past their start deadline."""
        ...

    def queued(self) -> list[Job]: ...

    def expired(self, finished_before: float) -> list[Job]: ...

    def delete(self, job_id: str) -> None: ...

    def history(self, endpoint: str, limit: int, before: float | None = None) -> list[Job]:
        """The endpoint's jobs, newest first: at most `limit` created before `before` (epoch s)."""
        ...

    def due_deliveries(self, now: float, lease_s: float, limit: int = 20) -> list[Delivery]:
        """Webhooks due now, leased to the caller for `lease_s` seconds."""
        ...

    def delivery_done(self, job_id: str, next_at: float | None) -> None:
        """Record a delivery try: next_at None means finished (delivered or given up)."""
        ...


class UnsupportedBackend(InvalidOptionError):
    """A queue URL this build cannot use (not sqlite or redis://, a bad name). It lives here,
    under the stores, so that they can raise it without importing the service's error table
    (which imports the stores)."""

    field = "queue_url"

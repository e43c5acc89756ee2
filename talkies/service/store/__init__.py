"""Job-state stores: one interface (base.JobStore), one implementation per queue backend."""

from __future__ import annotations

from pathlib import Path

from talkies.service.store.base import (
    PRIORITY,
    CancelResult,
    Delivery,
    Job,
    JobStore,
    LogLine,
    NewJob,
    Outcome,
    UnsupportedBackend,
)
from talkies.service.store.sqlite import SqliteJobStore

__all__ = [
    "PRIORITY",
    "CancelResult",
    "Delivery",
    "Job",
    "JobStore",
    "LogLine",
    "NewJob",
    "Outcome",
    "SqliteJobStore",
    "UnsupportedBackend",
    "open_store",
]


def open_store(queue_url: str, data_dir: Path) -> JobStore:
    """The job store that goes with a queue backend: SQLite beside the SQLite queue, or the
    same Redis server (and `name`) as the Redis queue."""
    if queue_url.startswith("sqlite:"):
        return SqliteJobStore(Path(data_dir) / "jobs.db")
    if queue_url.startswith(("redis:", "rediss:", "unix:")):
        from talkies.service.store.redis import RedisJobStore

        return RedisJobStore.from_queue_url(queue_url)

    raise UnsupportedBackend(
        f"queue URL {queue_url!r}: use sqlite:///path/queue.db or redis://host:port/db[?name=NAME]"
    )

"""The job store in one SQLite file, shared by the API process and the worker processes.

WAL mode lets readers (status polls) run while a worker writes; every state change is a single
UPDATE with its precondition in the WHERE clause, so concurrent processes cannot both win.
Queue order is (priority desc, seq asc), the same order SqliteHuey dequeues in, so the queue
position a client sees is the order jobs start in.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from talkies.service.store.base import CancelResult, Delivery, Job, LogLine, NewJob, Outcome

_SCHEMA = """
create table if not exists jobs (
    id text primary key,
    endpoint text not null,
    payload text not null,
    status text not null,
    priority integer not null,
    seq integer not null,
    created_at real not null,
    start_deadline real,
    webhook_url text,
    started_at real,
    finished_at real,
    attempts integer not null default 0,
    worker text,
    heartbeat_at real,
    cancel_requested integer not null default 0,
    outcome text
);
create index if not exists jobs_queue on jobs (status, priority, seq);
create index if not exists jobs_history on jobs (endpoint, created_at);
create table if not exists logs (
    job_id text not null, n integer not null, message text not null, level text not null,
    timestamp text not null, primary key (job_id, n)
);
create table if not exists webhooks (
    job_id text primary key, url text not null, attempts integer not null default 0,
    next_at real, lease_until real
);
"""

_NEXT_SEQ = "(select coalesce(max(seq), 0) + 1 from jobs)"


class SqliteJobStore:
    """JobStore on a SQLite file. Safe to share between threads and forked processes: each
    (process, thread) opens its own connection on first use."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")
            conn.row_factory = sqlite3.Row
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; `begin immediate` takes the write lock up front so two
        writers never deadlock upgrading read locks."""
        db = self._conn()
        db.execute("begin immediate")
        try:
            yield db
        except BaseException:
            db.execute("rollback")
            raise
        db.execute("commit")

    def _one(self, sql: str, args: tuple[Any, ...]) -> sqlite3.Row | None:
        return self._conn().execute(sql, args).fetchone()

    def _jobs(self, sql: str, args: tuple[Any, ...] = ()) -> list[Job]:
        return [_job(row) for row in self._conn().execute(sql, args).fetchall()]

    def add(self, job: NewJob, now: float) -> Job:
        with self._tx() as db:
            db.execute(
                "insert into jobs (id, endpoint, payload, status, priority, seq, created_at, start_deadline,"
                f" webhook_url) values (?, ?, ?, 'IN_QUEUE', ?, {_NEXT_SEQ}, ?, ?, ?)",
                (
                    job.id,
                    job.endpoint,
                    json.dumps(job.payload),
                    job.priority,
                    now,
                    job.start_deadline,
                    job.webhook_url,
                ),
            )
        added = self.get(job.id)
        assert added is not None
        return added

    def get(self, job_id: str) -> Job | None:
        row = self._one("select * from jobs where id = ?", (job_id,))
        return _job(row) if row else None

    def position(self, job_id: str) -> int | None:
        row = self._one(
            "select count(j.id) from jobs me left join jobs j on j.status = 'IN_QUEUE'"
            " and (j.priority > me.priority or (j.priority = me.priority and j.seq < me.seq))"
            " where me.id = ? and me.status = 'IN_QUEUE' group by me.id",
            (job_id,),
        )
        return int(row[0]) if row else None

    def claim(self, job_id: str, worker: str, now: float) -> Job | None:
        with self._tx() as db:
            changed = db.execute(
                "update jobs set status = 'IN_PROGRESS', attempts = attempts + 1, worker = ?,"
                " started_at = ?, heartbeat_at = ? where id = ? and status = 'IN_QUEUE'",
                (worker, now, now, job_id),
            ).rowcount
        return self.get(job_id) if changed else None

    def claim_next(self, worker: str, now: float) -> Job | None:
        with self._tx() as db:
            row = db.execute(
                "select id from jobs where status = 'IN_QUEUE' order by priority desc, seq limit 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "update jobs set status = 'IN_PROGRESS', attempts = attempts + 1, worker = ?,"
                " started_at = ?, heartbeat_at = ? where id = ?",
                (worker, now, now, row[0]),
            )
        return self.get(row[0])

    def heartbeat(self, job_id: str, attempt: int, now: float) -> bool:
        with self._tx() as db:
            return bool(
                db.execute(
                    "update jobs set heartbeat_at = ?"
                    " where id = ? and status = 'IN_PROGRESS' and attempts = ?",
                    (now, job_id, attempt),
                ).rowcount
            )

    def cancel_requested(self, job_id: str) -> bool:
        row = self._one("select cancel_requested, status from jobs where id = ?", (job_id,))
        return bool(row and (row[0] or row[1] == "COMPLETED"))

    def log(self, job_id: str, message: str, level: str = "INFO") -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
        with self._tx() as db:
            db.execute(
                "insert into logs (job_id, n, message, level, timestamp) values"
                " (?, (select count(*) from logs where job_id = ?), ?, ?, ?)",
                (job_id, job_id, message, level, stamp),
            )

    def logs(self, job_id: str, after: int = 0) -> list[LogLine]:
        rows = self._conn().execute(
            "select message, level, timestamp from logs where job_id = ? and n >= ? order by n",
            (job_id, after),
        )
        return [LogLine(r[0], r[1], r[2]) for r in rows.fetchall()]

    def finish(self, job_id: str, outcome: Outcome, now: float, attempt: int | None = None) -> bool:
        fence = "status = 'IN_QUEUE'" if attempt is None else "status = 'IN_PROGRESS' and attempts = ?"
        args: tuple[Any, ...] = () if attempt is None else (attempt,)
        with self._tx() as db:
            changed = db.execute(
                "update jobs set status = 'COMPLETED', finished_at = ?, outcome = ?"
                f" where id = ? and {fence}",
                (now, outcome.to_json(), job_id, *args),
            ).rowcount
            if changed:
                db.execute(
                    "insert into webhooks (job_id, url, next_at) select id, webhook_url, ? from jobs"
                    " where id = ? and webhook_url is not null",
                    (now, job_id),
                )
        return bool(changed)

    def requeue(self, job_id: str, attempt: int, count_attempt: bool = True) -> Job | None:
        undo = "" if count_attempt else ", attempts = attempts - 1"
        with self._tx() as db:
            changed = db.execute(
                f"update jobs set status = 'IN_QUEUE', seq = {_NEXT_SEQ}, worker = null, heartbeat_at = null"
                f"{undo} where id = ? and status = 'IN_PROGRESS' and attempts = ?",
                (job_id, attempt),
            ).rowcount
        return self.get(job_id) if changed else None

    def cancel(self, job_id: str, outcome: Outcome, now: float) -> CancelResult:
        with self._tx() as db:
            row = db.execute("select status from jobs where id = ?", (job_id,)).fetchone()
            if row is None:
                return "missing"
            if row[0] == "IN_PROGRESS":
                db.execute("update jobs set cancel_requested = 1 where id = ?", (job_id,))
                return "requested"
        if row[0] == "COMPLETED":
            return "completed"
        # Queued: end it now. If a worker claimed it in between, ask again (it is running now).
        return "removed" if self.finish(job_id, outcome, now) else self.cancel(job_id, outcome, now)

    def stale(self, older_than: float) -> list[Job]:
        return self._jobs(
            "select * from jobs where status = 'IN_PROGRESS' and heartbeat_at < ?", (older_than,)
        )

    def overdue(self, now: float) -> list[Job]:
        return self._jobs("select * from jobs where status = 'IN_QUEUE' and start_deadline < ?", (now,))

    def queued(self) -> list[Job]:
        return self._jobs("select * from jobs where status = 'IN_QUEUE' order by priority desc, seq")

    def expired(self, finished_before: float) -> list[Job]:
        return self._jobs(
            "select * from jobs where status = 'COMPLETED' and finished_at < ?", (finished_before,)
        )

    def delete(self, job_id: str) -> None:
        with self._tx() as db:
            for table, key in (("jobs", "id"), ("logs", "job_id"), ("webhooks", "job_id")):
                db.execute(f"delete from {table} where {key} = ?", (job_id,))

    def history(self, endpoint: str, limit: int, before: float | None = None) -> list[Job]:
        return self._jobs(
            "select * from jobs where endpoint = ? and created_at < ? order by created_at desc limit ?",
            (endpoint, float("inf") if before is None else before, limit),
        )

    def due_deliveries(self, now: float, lease_s: float, limit: int = 20) -> list[Delivery]:
        with self._tx() as db:
            rows = db.execute(
                "select job_id, url, attempts from webhooks where next_at <= ?"
                " and coalesce(lease_until, 0) <= ? order by next_at limit ?",
                (now, now, limit),
            ).fetchall()
            db.executemany(
                "update webhooks set lease_until = ? where job_id = ?", [(now + lease_s, r[0]) for r in rows]
            )
        return [Delivery(r[0], r[1], r[2]) for r in rows]

    def delivery_done(self, job_id: str, next_at: float | None) -> None:
        with self._tx() as db:
            db.execute(
                "update webhooks set attempts = attempts + 1, next_at = ?, lease_until = null"
                " where job_id = ?",
                (next_at, job_id),
            )


def _job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        endpoint=row["endpoint"],
        payload=json.loads(row["payload"]),
        status=row["status"],
        priority=row["priority"],
        created_at=row["created_at"],
        start_deadline=row["start_deadline"],
        webhook_url=row["webhook_url"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempts=row["attempts"],
        worker=row["worker"],
        heartbeat_at=row["heartbeat_at"],
        cancel_requested=bool(row["cancel_requested"]),
        outcome=Outcome.from_json(row["outcome"]) if row["outcome"] else None,
    )

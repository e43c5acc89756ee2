"""The SQLite job store: queue order, claims and their fencing, cancellation, deliveries."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkies.service.errors import cancelled_outcome, success
from talkies.service.store import PRIORITY, NewJob, SqliteJobStore


@pytest.fixture
def store(tmp_path: Path) -> SqliteJobStore:
    return SqliteJobStore(tmp_path / "jobs.db")


def add(store: SqliteJobStore, job_id: str, priority: str = "normal", **kw) -> None:
    store.add(NewJob(job_id, "e", {"inputs": {}}, PRIORITY[priority], **kw), now=100.0)


def test_position_counts_jobs_ahead_with_low_priority_last(store: SqliteJobStore) -> None:
    for job_id, priority in [("a", "normal"), ("b", "low"), ("c", "normal"), ("d", "low")]:
        add(store, job_id, priority)
    assert [store.position(j) for j in "acbd"] == [0, 1, 2, 3]
    store.claim("a", "w", 101.0)
    assert [store.position(j) for j in "acbd"] == [None, 0, 1, 2]


def test_claim_is_exclusive_and_counts_attempts(store: SqliteJobStore) -> None:
    add(store, "a")
    first = store.claim("a", "w1", 101.0)
    assert first is not None and first.status == "IN_PROGRESS" and first.attempts == 1
    assert store.claim("a", "w2", 101.0) is None


def test_finish_is_fenced_by_attempt(store: SqliteJobStore) -> None:
    add(store, "a")
    store.claim("a", "w1", 101.0)
    assert store.requeue("a", attempt=1) is not None
    store.claim("a", "w2", 102.0)
    assert not store.finish("a", success({"late": True}), 103.0, attempt=1), "stale worker must lose"
    assert store.finish("a", success({"ok": True}), 103.0, attempt=2)
    job = store.get("a")
    assert job.status == "COMPLETED" and job.outcome.body == {"ok": True} and job.attempts == 2


def test_requeue_goes_to_the_back_of_its_class(store: SqliteJobStore) -> None:
    add(store, "a")
    add(store, "b")
    store.claim("a", "w", 101.0)
    store.requeue("a", attempt=1)
    assert store.position("b") == 0 and store.position("a") == 1


def test_cancel_queued_removes_running_requests_done_reports(store: SqliteJobStore) -> None:
    add(store, "q")
    add(store, "r")
    add(store, "behind")
    store.claim("r", "w", 101.0)
    assert store.cancel("q", cancelled_outcome(), 102.0) == "removed"
    assert store.get("q").outcome.error_type == "client_cancelled"
    assert store.position("behind") == 0
    assert store.cancel("r", cancelled_outcome(), 102.0) == "requested"
    assert store.cancel_requested("r") and store.get("r").status == "IN_PROGRESS"
    assert store.cancel("q", cancelled_outcome(), 103.0) == "completed"
    assert store.cancel("nope", cancelled_outcome(), 103.0) == "missing"


def test_stale_and_overdue(store: SqliteJobStore) -> None:
    add(store, "run")
    add(store, "late", start_deadline=105.0)
    store.claim("run", "w", 101.0)
    store.heartbeat("run", 1, 110.0)
    assert [j.id for j in store.stale(109.0)] == []
    assert [j.id for j in store.stale(111.0)] == ["run"]
    assert [j.id for j in store.overdue(106.0)] == ["late"]


def test_logs_append_in_order_and_page(store: SqliteJobStore) -> None:
    add(store, "a")
    for message in ("one", "two", "three"):
        store.log("a", message)
    assert [line.message for line in store.logs("a")] == ["one", "two", "three"]
    assert [line.message for line in store.logs("a", after=2)] == ["three"]
    assert store.logs("a")[0].as_json()["source"] == "USER"


def test_webhook_is_scheduled_with_the_outcome_and_leased(store: SqliteJobStore) -> None:
    add(store, "a", webhook_url="http://hook.example/x")
    add(store, "b")
    store.claim("a", "w", 101.0)
    store.finish("a", success({}), 102.0, attempt=1)
    due = store.due_deliveries(103.0, lease_s=10)
    assert [(d.job_id, d.url, d.attempts) for d in due] == [("a", "http://hook.example/x", 0)]
    assert store.due_deliveries(104.0, lease_s=10) == [], "leased to the first caller"
    store.delivery_done("a", next_at=200.0)
    assert store.due_deliveries(150.0, lease_s=10) == []
    assert store.due_deliveries(201.0, lease_s=10)[0].attempts == 1
    store.delivery_done("a", next_at=None)
    assert store.due_deliveries(10_000.0, lease_s=10) == []


def test_delete_removes_job_logs_and_webhook(store: SqliteJobStore) -> None:
    add(store, "a")
    store.log("a", "x")
    store.delete("a")
    assert store.get("a") is None and store.logs("a") == []

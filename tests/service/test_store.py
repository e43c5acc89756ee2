"""The job store contract, run against both backends (SQLite file, real Redis at
TALKIES_TEST_REDIS, default 127.0.0.1:6379 db 0 under a per-test name): queue order, claims and
their fencing, cancellation, deliveries, and concurrent claims that never hand one job out twice."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkies.service.errors import cancelled_outcome, success
from talkies.service.store import PRIORITY, JobStore, NewJob, SqliteJobStore, open_store

from .redis_util import redis_url


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    if request.param == "sqlite":
        yield SqliteJobStore(tmp_path / "jobs.db")
        return
    from talkies.service.store.redis import RedisJobStore

    opened = open_store(redis_url(f"store-{uuid.uuid4().hex[:12]}"), tmp_path)
    assert isinstance(opened, RedisJobStore)
    try:
        yield opened
    finally:
        opened.flush()
        assert opened.own_keys() == []


def add(store: JobStore, job_id: str, priority: str = "normal", **kw) -> None:
    store.add(NewJob(job_id, "e", {"inputs": {}}, PRIORITY[priority], **kw), now=100.0)


def test_position_counts_jobs_ahead_with_low_priority_last(store: JobStore) -> None:
    for job_id, priority in [("a", "normal"), ("b", "low"), ("c", "normal"), ("d", "low")]:
        add(store, job_id, priority)
    assert [store.position(j) for j in "acbd"] == [0, 1, 2, 3]
    store.claim("a", "w", 101.0)
    assert [store.position(j) for j in "acbd"] == [None, 0, 1, 2]


def test_claim_is_exclusive_and_counts_attempts(store: JobStore) -> None:
    add(store, "a")
    first = store.claim("a", "w1", 101.0)
    assert first is not None and first.status == "IN_PROGRESS" and first.attempts == 1
    assert store.claim("a", "w2", 101.0) is None


def test_finish_is_fenced_by_attempt(store: JobStore) -> None:
    add(store, "a")
    store.claim("a", "w1", 101.0)
    assert store.requeue("a", attempt=1) is not None
    store.claim("a", "w2", 102.0)
    assert not store.finish("a", success({"late": True}), 103.0, attempt=1), "stale worker must lose"
    assert store.finish("a", success({"ok": True}), 103.0, attempt=2)
    job = store.get("a")
    assert job.status == "COMPLETED" and job.outcome.body == {"ok": True} and job.attempts == 2


def test_requeue_goes_to_the_back_of_its_class(store: JobStore) -> None:
    add(store, "a")
    add(store, "b")
    store.claim("a", "w", 101.0)
    store.requeue("a", attempt=1)
    assert store.position("b") == 0 and store.position("a") == 1


def test_cancel_queued_removes_running_requests_done_reports(store: JobStore) -> None:
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


def test_stale_and_overdue(store: JobStore) -> None:
    add(store, "run")
    add(store, "late", start_deadline=105.0)
    store.claim("run", "w", 101.0)
    store.heartbeat("run", 1, 110.0)
    assert [j.id for j in store.stale(109.0)] == []
    assert [j.id for j in store.stale(111.0)] == ["run"]
    assert [j.id for j in store.overdue(106.0)] == ["late"]


def test_logs_append_in_order_and_page(store: JobStore) -> None:
    add(store, "a")
    for message in ("one", "two", "three"):
        store.log("a", message)
    assert [line.message for line in store.logs("a")] == ["one", "two", "three"]
    assert [line.message for line in store.logs("a", after=2)] == ["three"]
    assert store.logs("a")[0].as_json()["source"] == "USER"


def test_webhook_is_scheduled_with_the_outcome_and_leased(store: JobStore) -> None:
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


def test_delete_removes_job_logs_and_webhook(store: JobStore) -> None:
    add(store, "a")
    store.log("a", "x")
    store.delete("a")
    assert store.get("a") is None and store.logs("a") == []


def test_claim_next_takes_the_head_in_position_order(store: JobStore) -> None:
    for job_id, priority in [("a", "low"), ("b", "normal"), ("c", "low"), ("d", "normal")]:
        add(store, job_id, priority)
    store.cancel("d", cancelled_outcome(), 101.0)
    order = []
    while (job := store.claim_next("w", 102.0)) is not None:
        assert job.status == "IN_PROGRESS" and job.attempts == 1 and job.worker == "w"
        order.append(job.id)
    assert order == ["b", "a", "c"]


def test_job_record_round_trips(store: JobStore) -> None:
    store.add(
        NewJob("a", "fal-ai/x", {"inputs": {"k": [1, "é"]}}, PRIORITY["low"], 150.5, "http://h/x"), 100.25
    )
    job = store.get("a")
    assert (job.endpoint, job.payload, job.priority) == ("fal-ai/x", {"inputs": {"k": [1, "é"]}}, 0)
    assert (job.created_at, job.start_deadline, job.webhook_url) == (100.25, 150.5, "http://h/x")
    assert (job.started_at, job.finished_at, job.worker, job.heartbeat_at, job.outcome) == (None,) * 5
    assert store.get("missing") is None and store.position("missing") is None
    store.claim("a", "w", 101.0)
    store.finish("a", cancelled_outcome(), 102.0, attempt=1)
    done = store.get("a")
    assert done.outcome == cancelled_outcome() and done.finished_at == 102.0
    assert [j.id for j in store.expired(103.0)] == ["a"] and store.expired(102.0) == []


def test_queued_lists_in_start_order_and_requeue_keeps_the_deadline(store: JobStore) -> None:
    add(store, "a", start_deadline=105.0)
    add(store, "b", "low")
    add(store, "c")
    assert [j.id for j in store.queued()] == ["a", "c", "b"]
    store.claim("a", "w", 101.0)
    assert store.overdue(106.0) == [], "a running job is not overdue"
    store.requeue("a", attempt=1, count_attempt=False)
    assert [j.id for j in store.queued()] == ["c", "a", "b"]
    assert store.get("a").attempts == 0 and [j.id for j in store.overdue(106.0)] == ["a"]


def test_heartbeat_of_a_lost_attempt_is_ignored(store: JobStore) -> None:
    add(store, "a")
    store.claim("a", "w1", 101.0)
    store.requeue("a", attempt=1)
    assert not store.heartbeat("a", 1, 102.0), "not running"
    store.claim("a", "w2", 103.0)
    assert not store.heartbeat("a", 1, 104.0) and store.heartbeat("a", 2, 104.0)
    assert store.get("a").heartbeat_at == 104.0


def test_concurrent_claims_hand_each_job_to_exactly_one_worker(store: JobStore) -> None:
    ids = [f"j{i:03d}" for i in range(60)]
    for job_id in ids:
        add(store, job_id)
    claimed: dict[str, list[str]] = {}
    lock = threading.Lock()

    def worker(name: str) -> None:
        while True:
            job = store.claim_next(name, 101.0)
            by_id = store.claim(f"j{len(name):03d}", name, 101.0)  # racing a claim by id too
            for got in (job, by_id):
                if got is not None:
                    with lock:
                        claimed.setdefault(got.id, []).append(name)
            if job is None:
                return

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids
    assert {job_id: names for job_id, names in claimed.items() if len(names) != 1} == {}
    assert all(store.get(job_id).attempts == 1 for job_id in ids)


@pytest.mark.parametrize("store", ["redis"], indirect=True)
def test_redis_drops_log_lines_of_a_job_that_is_gone(store: JobStore) -> None:
    add(store, "a")
    store.delete("a")
    store.log("a", "late line from a worker")
    assert store.logs("a") == []
    assert [k for k in store.own_keys() if b":logs:" in k or b":job:" in k] == [], "nothing outlives the job"


def test_redis_queue_url_names_a_namespace_and_refuses_bad_ones() -> None:
    from talkies.service.store import UnsupportedBackend
    from talkies.service.store.redis import split_url

    assert split_url("redis://h:6379/2?name=prod") == ("redis://h:6379/2", "prod")
    assert split_url("rediss://h/0?ssl_cert_reqs=none") == ("rediss://h/0?ssl_cert_reqs=none", "talkies")
    with pytest.raises(UnsupportedBackend, match="'a b'"):
        split_url("redis://h/0?name=a b")
    with pytest.raises(UnsupportedBackend, match=r"sqlite:///path/queue\.db or redis://"):
        open_store("postgres://h/db", Path("."))


def test_history_is_per_endpoint_newest_first_paged_and_forgets_deleted_jobs(store: JobStore) -> None:
    for i, (job_id, endpoint) in enumerate([("a", "x"), ("b", "y"), ("c", "x"), ("d", "x")]):
        store.add(NewJob(job_id, endpoint, {"inputs": {}}), now=100.0 + i)
    assert [j.id for j in store.history("x", 2)] == ["d", "c"]
    assert [j.id for j in store.history("x", 2, before=102.0)] == ["a"]
    assert [j.id for j in store.history("y", 10)] == ["b"]
    store.delete("c")
    assert [j.id for j in store.history("x", 10)] == ["d", "a"]

"""Queue order on a one-worker server: positions, priorities, start deadlines."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from .helpers import APP, result, status, submit, wait_done, wait_status
from .servers import Server


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    running = Server(tmp_path_factory.mktemp("one-worker"), env={"TALKIES_WORKERS": "1"}).start()
    with running.client() as c:
        yield c
    running.close()


def started_at(client: httpx.Client, request_id: str) -> str:
    logs = wait_done(client, request_id)["logs"]
    return next(line["timestamp"] for line in logs if line["message"].startswith("started"))


def test_positions_and_low_priority_behind_normal(one_worker: httpx.Client, inputs: dict) -> None:
    blocker = submit(one_worker, {**inputs, "prompt": "slow 1000"})
    wait_status(one_worker, blocker, "IN_PROGRESS")
    jobs = {}
    for name, priority in [("a", "normal"), ("b", "low"), ("c", "normal"), ("d", "low"), ("e", "normal")]:
        jobs[name] = submit(
            one_worker, {**inputs, "prompt": "slow 3"}, headers={"X-Fal-Queue-Priority": priority}
        )
    positions = {name: status(one_worker, rid)["queue_position"] for name, rid in jobs.items()}
    assert positions == {"a": 0, "c": 1, "e": 2, "b": 3, "d": 4}
    one_worker.put(f"/queue/{APP}/requests/{jobs['c']}/cancel")
    positions = {name: status(one_worker, rid).get("queue_position") for name, rid in jobs.items()}
    assert positions == {"a": 0, "c": None, "e": 1, "b": 2, "d": 3}, "a cancelled job leaves the queue"
    assert result(one_worker, jobs["c"]).status_code == 499
    one_worker.put(f"/queue/{APP}/requests/{blocker}/cancel")
    order = sorted(["a", "b", "d", "e"], key=lambda name: started_at(one_worker, jobs[name]))
    assert order == ["a", "e", "b", "d"], "jobs start in the order their positions said"


def test_bad_priority_header_is_400(one_worker: httpx.Client, inputs: dict) -> None:
    r = one_worker.post(
        f"/queue/{APP}/omnihuman/v1.5", json=inputs, headers={"X-Fal-Queue-Priority": "urgent"}
    )
    assert r.status_code == 400 and "normal, low" in r.json()["detail"]


def test_start_deadline_expires_a_waiting_job(one_worker: httpx.Client, inputs: dict) -> None:
    blocker = submit(one_worker, {**inputs, "prompt": "slow 1000"})
    wait_status(one_worker, blocker, "IN_PROGRESS")
    waiting = submit(one_worker, inputs, headers={"X-Fal-Request-Timeout": "1.5"})
    submitted = time.monotonic()
    done = wait_done(one_worker, waiting)
    assert 1.4 < time.monotonic() - submitted < 3.0
    assert done["error_type"] == "request_timeout"
    r = result(one_worker, waiting)
    assert r.status_code == 504 and r.headers["x-fal-request-timeout-type"] == "user"
    assert r.json()["error_type"] == "request_timeout"
    one_worker.put(f"/queue/{APP}/requests/{blocker}/cancel")
    wait_done(one_worker, blocker)


def test_start_deadline_met_runs_normally(one_worker: httpx.Client, inputs: dict) -> None:
    done = wait_done(one_worker, submit(one_worker, inputs, headers={"X-Fal-Request-Timeout": "30"}))
    assert "error" not in done


def test_timeout_header_must_exceed_one_second(one_worker: httpx.Client, inputs: dict) -> None:
    r = one_worker.post(f"/queue/{APP}/omnihuman/v1.5", json=inputs, headers={"X-Fal-Request-Timeout": "0.5"})
    assert r.status_code == 400

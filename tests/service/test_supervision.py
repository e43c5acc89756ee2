"""Acceptance 4 of issue 14: SIGKILL of the worker consumer mid-render. Within BOUND_S the
job completes and a job submitted afterwards runs; while nothing can run, /health is not 200
(503 with Retry-After). On the SQLite queue and on Redis."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import submit, wait_done, wait_status
from .redis_util import flush_name, redis_url
from .servers import Server

BOUND_S = 30.0  # stale_after_s (1.5 s here) + a new consumer's start + the re-run, with margin


@pytest.fixture(params=["sqlite", "redis"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    env = {"TALKIES_WORKERS": "1"}
    name = f"supervise-{uuid.uuid4().hex[:8]}"
    if request.param == "redis":
        env["TALKIES_QUEUE_URL"] = redis_url(name)
    running = Server(tmp_path / "data", env=env).start()
    yield running
    running.close()
    if request.param == "redis":
        flush_name(name)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _consumer_pid(server: Server) -> int:
    return json.loads((server.data_dir / "server.json").read_text())["consumer_pid"]


def test_killed_consumer_is_replaced_and_health_tells_the_truth(server: Server, inputs: dict) -> None:
    with server.client() as c:
        job = submit(c, {**inputs, "prompt": "slow 100"})  # 2 s of rendering
        wait_status(c, job, "IN_PROGRESS")
        old = _consumer_pid(server)
        os.kill(old, signal.SIGKILL)
        killed_at = time.monotonic()
        while _running(old):  # the kernel takes a moment; then it is a zombie or gone
            time.sleep(0.005)

        # While no consumer runs, /health is 503 with Retry-After, until the new one is ready.
        seen = []
        while time.monotonic() - killed_at < BOUND_S:
            r = c.get("/health")
            seen.append(r.status_code)
            if r.status_code == 503:
                assert r.headers["retry-after"].isdigit()
            if r.status_code == 200 and 503 in seen:
                break
            time.sleep(0.05)
        assert seen[0] == 503, f"the dead consumer must show in /health at once: {seen}"
        assert seen[-1] == 200, f"no healthy consumer within {BOUND_S:g} s"
        assert _consumer_pid(server) != old

        done = wait_done(c, job, timeout_s=BOUND_S)
        assert done.get("error") is None, done
        after = submit(c, inputs)
        assert wait_done(c, after, timeout_s=BOUND_S).get("error") is None
        assert time.monotonic() - killed_at < 2 * BOUND_S

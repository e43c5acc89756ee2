"""Acceptance: 20 jobs queued, the server killed with SIGKILL and started again, all 20 complete.

Also checks that the kill took the consumer and worker processes with it (otherwise the
"restart" would just be a second server beside the old workers).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from .helpers import status, submit, wait_done
from .servers import Server


def descendants(pid: int) -> set[int]:
    """All processes below `pid` (from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def _wait_started(c, request_id: str, timeout_s: float = 20) -> None:
    """Until the job left the queue: IN_PROGRESS, or already COMPLETED (8 frames of 20 ms can
    end between two polls of a loaded server)."""
    deadline = time.monotonic() + timeout_s
    while status(c, request_id)["status"] == "IN_QUEUE":
        assert time.monotonic() < deadline, f"{request_id} never started"
        time.sleep(0.02)


def test_sigkill_and_restart_loses_no_queued_job(tmp_path: Path, inputs: dict) -> None:
    server = Server(tmp_path / "data", env={"TALKIES_WORKERS": "1"}).start()
    try:
        with server.client() as c:
            ids = [submit(c, {**inputs, "prompt": "slow 8"}) for _ in range(20)]
            _wait_started(c, ids[0])
            queued_before = sum(status(c, i)["status"] == "IN_QUEUE" for i in ids)
        assert queued_before >= 15, "most jobs must still be queued when the server dies"
        assert server.proc is not None
        below = descendants(server.proc.pid)
        assert len(below) >= 2, "a consumer and a worker process"
        server.kill()
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in below) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in below if alive(pid)], "workers must die with the server"

        server.start()
        with server.client() as c:
            done = [wait_done(c, i, timeout_s=60) for i in ids]
        failed = [d for d in done if "error" in d]
        assert not failed, failed
    finally:
        server.close()
    assert os.path.exists(tmp_path / "data" / "queue.db")


def test_sigterm_puts_the_running_job_back_and_stops_every_process(tmp_path: Path, inputs: dict) -> None:
    server = Server(tmp_path / "data", env={"TALKIES_WORKERS": "1"}).start()
    try:
        with server.client() as c:
            request_id = submit(c, {**inputs, "prompt": "slow 60"})
            deadline = time.monotonic() + 20
            while not any(
                "rendering" in line["message"] for line in status(c, request_id, True)["logs"] or []
            ):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert server.proc is not None
        below = descendants(server.proc.pid)
        assert server.stop() == 128 + 15, server.log_tail()
        # multiprocessing's resource tracker (a child of the server) exits when it sees the
        # server gone, or dies with the group kill of stop(): give it a moment under load.
        deadline = time.monotonic() + 3
        while any(alive(pid) for pid in below) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in below if alive(pid)], "an orderly stop stops every process"
        assert "stopping the workers" in server.log_tail() and "workers stopped" in server.log_tail()

        server.start()
        with server.client() as c:
            done = wait_done(c, request_id)
        assert "error" not in done
        starts = [line["message"] for line in done["logs"] if line["message"].startswith("started")]
        assert starts == ["started (attempt 1 of 2)"] * 2, "an interrupted attempt is not counted"
    finally:
        server.close()

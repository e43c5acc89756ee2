"""A scaled-out deployment for tests: API nodes (`talkies serve --workers 0`) and worker
machines (`talkies worker`) as real subprocesses sharing a Redis queue and a storage directory
(or an S3 bucket)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from talkies.service.queue import JobQueue, open_huey
from talkies.service.store.redis import RedisJobStore

from .redis_util import flush_name, redis_url
from .servers import FAKE_ENGINE, FAST, REPO, Server

T = TypeVar("T")


class WorkerProcess:
    """One `talkies worker` subprocess (a worker machine)."""

    def __init__(self, folder: Path, queue_url: str, storage_url: str, workers: int = 1) -> None:
        self.folder, self.queue_url, self.storage_url, self.workers = folder, queue_url, storage_url, workers
        self.env = {**os.environ, **FAST, "TALKIES_ENGINE": FAKE_ENGINE}
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO)) if p)
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "talkies",
            "worker",
            "--queue",
            self.queue_url,
            "--storage",
            self.storage_url,
            "--workers",
            str(self.workers),
            "--data-dir",
            str(self.folder),
        ]
        log = (self.folder / "worker.log").open("ab")
        self.proc = subprocess.Popen(
            command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        path = self.folder / "worker.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


class Cluster:
    """API nodes and worker machines on one Redis name and one shared storage directory."""

    def __init__(self, root: Path, name: str, base: str | None = None, storage_url: str = "") -> None:
        self.root, self.name = root, name
        self.base = base
        self.queue_url = redis_url(name, base) if base else redis_url(name)
        self.storage = root / "shared-storage"
        self.storage.mkdir(parents=True, exist_ok=True)
        self.storage_url = storage_url or f"file://{self.storage}"
        self.apis: list[Server] = []
        self.workers: list[WorkerProcess] = []

    def api(self, env: dict[str, str] | None = None) -> Server:
        """A new API node (its own data directory), not started."""
        folder = self.root / f"api-{len(self.apis)}"
        args = ("--workers", "0", "--queue", self.queue_url, "--storage", self.storage_url)
        node = Server(folder, env=env, args=args)
        self.apis.append(node)
        return node

    def worker(self, workers: int = 1) -> WorkerProcess:
        """A new worker machine (its own scratch directory), started."""
        folder = self.root / f"worker-{len(self.workers)}"
        machine = WorkerProcess(folder, self.queue_url, self.storage_url, workers)
        self.workers.append(machine)
        return machine.start()

    def store(self) -> RedisJobStore:
        return RedisJobStore.from_queue_url(self.queue_url)

    def queue(self) -> JobQueue:
        return JobQueue(open_huey(self.queue_url))

    def logs(self) -> str:
        parts = [f"--- api {i}\n{a.log_tail()}" for i, a in enumerate(self.apis)]
        parts += [f"--- worker {i}\n{w.log_tail()}" for i, w in enumerate(self.workers)]
        return "\n".join(parts)

    def close(self) -> None:
        for machine in self.workers:
            machine.close()
        for node in self.apis:
            node.close()
        if self.base is None:
            flush_name(self.name)


def wait_for(predicate: Callable[[], T], timeout_s: float, what: str, every_s: float = 0.05) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every_s)
    raise TimeoutError(f"{what} (waited {timeout_s} s)")

"""The task queue: Huey, with its SQLite storage by default.

Huey carries only job ids (with the job's priority); the job itself (inputs, state, logs,
result) is in the job store. One URL picks the backend: `sqlite:///path/queue.db` (embedded,
one machine; a file survives restarts) or `redis://host:port/db?name=NAME` (API nodes and
`talkies worker` machines sharing one Redis; `name` namespaces the queue and the job store).

The consumer runs `workers` forked worker processes. Rendering happens there, never in the API's
event loop. An idle worker polls the queue with a backoff capped at `poll_interval_s`.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from huey import Huey, PriorityRedisHuey, SqliteHuey
from huey.consumer import Consumer, Scheduler, Worker

from talkies.service.store.base import UnsupportedBackend

TASK_NAME = "talkies_render"
log = logging.getLogger("talkies.service.queue")


def open_huey(queue_url: str) -> Huey:
    """The Huey instance for a queue URL (results are not kept in Huey: the job store has them)."""
    if queue_url.startswith("sqlite:///"):
        path = Path(queue_url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name="talkies", filename=str(path), results=False, timeout=30)
    if queue_url.startswith(("redis:", "rediss:", "unix:")):
        from redis import ConnectionPool

        from talkies.service.store.redis import CONNECT_TIMEOUT_S, SOCKET_TIMEOUT_S, split_url

        url, name = split_url(queue_url)
        pool = ConnectionPool.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=SOCKET_TIMEOUT_S
        )
        # A sorted set by priority (Huey's Redis list cannot take priorities), at the key
        # huey.redis.talkies.NAME (clean_name=False keeps the '.' and '-' of the name); blocking
        # pops, 1 s at a time: an idle worker wakes as soon as a job is queued.
        return PriorityRedisHuey(
            name=f"talkies.{name}",
            connection_pool=pool,
            results=False,
            blocking=True,
            read_timeout=1,
            clean_name=False,
        )
    raise UnsupportedBackend(
        f"queue URL {queue_url!r}: use sqlite:///path/queue.db or redis://host:port/db[?name=NAME]"
    )


class JobQueue:
    """Enqueue job ids; run the consumer that hands them to `handler` in worker processes."""

    def __init__(self, huey: Huey, handler: Callable[[str], None] | None = None) -> None:
        self.huey = huey
        run = handler or _handled_elsewhere

        # Huey names a task after its function's module: define it here so that the API
        # process (no handler) and the workers register the same name.
        def render_job(job_id: str) -> None:
            run(job_id)

        self._task = huey.task(name=TASK_NAME)(render_job)

    def enqueue(self, job_id: str, priority: int) -> None:
        self.huey.enqueue(self._task.s(job_id, priority=priority))

    def pending_ids(self) -> set[str]:
        """Job ids of the messages waiting in the queue (not the ones a worker has taken)."""
        return {task.args[0] for task in self.huey.pending() if task.args}

    def pending_count(self) -> int:
        """Messages waiting in the queue (not the ones a worker has taken)."""
        return self.huey.pending_count()

    def run_consumer(
        self,
        workers: int,
        poll_interval_s: float,
        on_worker_start: Callable[[], None],
        parent_pid: int | None = None,
        tied_to_parent: bool = True,
    ) -> None:
        """Run `workers` worker processes until SIGINT (graceful) or SIGTERM (interrupt).
        `tied_to_parent`: die with the parent process (the consumer of `talkies serve`); a
        standalone `talkies worker` is not."""
        global _consumer_pid
        if tied_to_parent:
            die_with_parent(parent_pid)
        _consumer_pid = os.getpid()
        self.huey.on_startup("worker_start")(on_worker_start)
        consumer = _Consumer(
            self.huey,
            workers=workers,
            worker_type="process",
            periodic=False,
            initial_delay=min(0.05, poll_interval_s),
            backoff=1.5,
            max_delay=poll_interval_s,
            check_worker_health=True,
            health_check_interval=1,
        )
        consumer.run()


_consumer_pid: int | None = None  # set in the consumer before it forks its children


class _Worker(Worker):
    def initialize(self) -> None:
        die_with_parent(_consumer_pid)
        super().initialize()


class _Scheduler(Scheduler):
    def initialize(self) -> None:
        die_with_parent(_consumer_pid)
        super().initialize()


class _Consumer(Consumer):
    """Huey's consumer, whose forked children (workers and the scheduler) die with it."""

    worker_class = _Worker
    scheduler_class = _Scheduler


def die_with_parent(parent_pid: int | None = None) -> None:
    """Ask Linux to SIGKILL this process when its parent dies, so that killing `talkies serve`
    (even with SIGKILL) takes its consumer and workers with it. Elsewhere a no-op."""
    if not sys.platform.startswith("linux"):
        return
    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except OSError as e:
        log.warning("cannot tie this process's life to its parent: %s", e)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # the parent died before we asked


def _handled_elsewhere(job_id: str) -> None:
    raise RuntimeError(f"job {job_id} reached a process that has no worker handler")

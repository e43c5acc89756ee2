"""Worker processes: take a job id from the queue, render it with the engine, record the outcome.

A worker first *claims* the job at the head of the job store's queue (IN_QUEUE -> IN_PROGRESS,
attempt + 1) atomically, so two workers never get the same job; a message that finds the queue
empty (its job was cancelled, or already run for another message) does nothing, so a duplicate
queue entry is harmless. While it renders, a heartbeat thread marks the job alive; the API
process re-queues a job whose heartbeat stops (the worker died) and gives up after
`max_attempts`. Every write of the outcome is fenced by the attempt number, so a worker that
lost its job cannot overwrite the result of the attempt that replaced it.

Cancellation is cooperative: the progress callback the engine calls between frames checks the
job's cancel flag (every `cancel_check_interval_s`) and raises `Cancelled`.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from talkies.errors import Cancelled
from talkies.options import AnimateOptions
from talkies.service import inputs, logs, maintenance
from talkies.service.context import Context
from talkies.service.errors import cancelled_outcome, outcome_for, success, timeout_outcome
from talkies.service.files import file_id_of
from talkies.service.settings import Settings
from talkies.service.store import Job, JobStore, Outcome

log = logging.getLogger("talkies.service.worker")


class Rendered(Protocol):
    """What the service reads of an engine's result (talkies.Result has it)."""

    @property
    def duration_s(self) -> float: ...


class Engine(Protocol):
    """The service's one seam to the engine: talkies.animate's signature. Inputs are paths or
    bytes; `progress` gets talkies.Progress reports and may raise talkies.errors.Cancelled."""

    def __call__(
        self,
        image: str | Path | bytes,
        sound: str | Path | bytes,
        options: AnimateOptions | None = None,
        output: str | Path = ...,
        mask: str | Path | bytes | None = None,
        progress: Callable[[Any], None] | None = None,
    ) -> Rendered: ...


if TYPE_CHECKING:  # mypy checks that the real engine fits the seam (no import at run time)
    import talkies

    _animate_is_an_engine: Engine = talkies.animate


def load_engine(spec: str) -> Engine:
    """ "module:function" -> the function (same signature as talkies.animate)."""
    module, _, name = spec.partition(":")
    engine: Engine = getattr(importlib.import_module(module), name or "animate")
    return engine


def run_workers(
    settings: Settings, parent_pid: int | None = None, standalone: bool = False, ready: Any = None
) -> None:
    """Entry point of the consumer process: run `settings.workers` worker processes, as a child
    of `talkies serve` (dies with it) or `standalone` (`talkies worker`). `ready` (an Event)
    is set once a worker has warmed up."""
    logs.configure(settings.log_format)
    runner = Runner(settings, ready)
    runner.ctx = Context.open(settings, handler=runner.run)
    runner.ctx.queue.run_consumer(
        settings.workers, settings.poll_interval_s, runner.warm_up, parent_pid, tied_to_parent=not standalone
    )


class Runner:
    """Runs jobs in one worker process (one instance per process, made before forking)."""

    def __init__(self, settings: Settings, ready: Any = None) -> None:
        self.settings, self.ready = settings, ready
        self.ctx: Context
        self._engine: Engine | None = None

    @property
    def name(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def warm_up(self) -> None:
        """Import the engine once per worker, before it takes a job; clear what crashed workers
        of this host left in the scratch directory. Runs in the worker process, which is where
        mediapipe's native code writes its chatter to descriptor 2: that is filtered here."""
        logs.capture_native_stderr()
        self._engine = load_engine(self.settings.engine)
        maintenance.sweep_scratch(scratch_dir(self.settings), time.time(), self.settings.scratch_max_age_s)
        if self.ready is not None:
            self.ready.set()

    def run(self, job_id: str) -> None:
        """Handle one queue message (sent for `job_id`): run the job at the head of the queue.

        Messages and jobs are one to one in number, not necessarily in order (two API
        requests may write their jobs and send their messages in opposite orders), so taking
        the head keeps the start order equal to the queue positions clients were told."""
        store = self.ctx.store
        job = store.claim_next(self.name, time.time())
        if job is None:
            return  # nothing queued: the job was cancelled, finished, or taken by another worker
        try:
            with _heartbeat(store, job, self.settings.heartbeat_s):
                outcome = self._attempt(job)
        except KeyboardInterrupt:
            # The consumer is shutting down: put the job back untouched, it runs after restart.
            if store.requeue(job.id, job.attempts, count_attempt=False):
                self.ctx.queue.enqueue(job.id, job.priority)
            raise
        store.log(job.id, _summary(outcome, job), "INFO" if outcome.ok else "ERROR")
        finished = store.finish(job.id, outcome, time.time(), attempt=job.attempts)
        if not finished and outcome.ok:
            self._discard(outcome)  # another attempt owns the job now
        logs.job_ended(job, outcome, superseded=not finished)

    def _attempt(self, job: Job) -> Outcome:
        deadline = job.start_deadline
        if deadline is not None and job.started_at is not None and job.started_at > deadline:
            return timeout_outcome(deadline - job.created_at)
        self.ctx.store.log(job.id, f"started (attempt {job.attempts} of {self.settings.max_attempts})")
        try:
            return self._render(job)
        except Exception as e:
            # A cancelled job ends cancelled, whatever the cancel interrupted (a download that
            # then failed, a decoder) and however that surfaced.
            if not isinstance(e, Cancelled) and self.ctx.store.cancel_requested(job.id):
                return cancelled_outcome()
            return outcome_for(e)

    def _render(self, job: Job) -> Outcome:
        settings, store = self.settings, self.ctx.store
        prefix = maintenance.scratch_name("render")
        with tempfile.TemporaryDirectory(dir=scratch_dir(settings), prefix=prefix) as tmp:
            sources = {
                field: inputs.load(
                    ref,
                    field,
                    self.ctx.files,
                    self.ctx.guard,
                    settings.max_fetch_bytes,
                    settings.fetch_timeout_s,
                    stop=lambda: store.cancel_requested(job.id),
                    folder=Path(tmp),
                )
                for field, ref in job.payload["inputs"].items()
            }
            options = AnimateOptions(**job.payload["options"])
            if "url" in job.payload["inputs"]["audio_url"]:
                inputs.check_audio_bytes(sources["audio_url"], options)
            return self._animate(job, sources, options, Path(tmp) / "output.mp4")

    def _animate(
        self, job: Job, sources: dict[str, bytes | Path], options: AnimateOptions, output: Path
    ) -> Outcome:
        engine = self._engine or load_engine(self.settings.engine)
        result = engine(
            sources["image_url"],
            sources["audio_url"],
            options,
            output=output,
            mask=sources.get("mask_url"),
            progress=ProgressReporter(self.ctx.store, job.id, self.settings),
        )
        stored = self.ctx.files.put_path(output, f"talkies-{job.id[:8]}.mp4", "video/mp4", owner=job.id)
        video = {
            "url": job.payload["base_url"] + stored.url_path,
            "content_type": "video/mp4",
            "file_name": stored.name,
            "file_size": stored.size,
        }
        return success({"video": video, "duration": round(float(result.duration_s), 3)})

    def _discard(self, outcome: Outcome) -> None:
        file_id = file_id_of(outcome.body["video"]["url"])
        if file_id:
            self.ctx.files.delete(file_id)


def scratch_dir(settings: Settings) -> Path:
    """Where renders keep their temporary files (swept by maintenance.sweep_scratch)."""
    folder = settings.data_dir / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class ProgressReporter:
    """The engine's progress callback: writes log lines the clients see, and stops a cancelled
    job. Non-render stages log each new message and look at the cancel flag on every report
    (speech analysis repeats its message as it ticks, about every second, so a cancel lands
    within about a second); render logs at most every `progress_log_interval_s` (plus the last
    frame) and looks every `cancel_check_interval_s`."""

    def __init__(self, store: JobStore, job_id: str, settings: Settings) -> None:
        self.store, self.job_id = store, job_id
        self.log_every, self.check_every = settings.progress_log_interval_s, settings.cancel_check_interval_s
        self._logged = self._checked = 0.0
        self._last_message = ""

    def __call__(self, progress: Any) -> None:
        now = time.monotonic()
        if progress.stage == "render":
            last_frame = progress.done >= progress.total
            due = last_frame or now - self._logged >= self.log_every
        else:
            due = progress.message != self._last_message
        if due:
            self.store.log(self.job_id, progress.message)
            self._logged, self._last_message = now, progress.message
        if progress.stage != "render" or now - self._checked >= self.check_every:
            self._checked = now
            if self.store.cancel_requested(self.job_id):
                raise Cancelled(f"request {self.job_id} was cancelled")


@contextmanager
def _heartbeat(store: JobStore, job: Job, every_s: float) -> Iterator[None]:
    """Mark `job` alive every `every_s` seconds from a background thread while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                store.heartbeat(job.id, job.attempts, time.time())
            except Exception as e:  # a busy database must not kill the render
                log.warning("heartbeat of %s failed: %s", job.id, e)

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.id[:8]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _summary(outcome: Outcome, job: Job) -> str:
    took = time.time() - (job.started_at or time.time())
    if outcome.ok:
        return f"completed in {took:.1f} s"
    return f"failed after {took:.1f} s: {outcome.error}"

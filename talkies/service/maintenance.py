"""Housekeeping that keeps the queue honest, run by the API process in the background.

- Orphaned jobs: a job whose worker died (no heartbeat for stale_after_s) is queued again, or
  ends with a clear error after max_attempts, so no job stays IN_PROGRESS forever. Queued jobs
  the queue lost messages for (the process died between writing the job and queueing it, or
  between a worker taking a message and claiming a job) get new ones; a duplicate is harmless
  (see worker.py).
- Start deadlines: a queued job past its X-Fal-Request-Timeout ends with request_timeout even
  if no worker is free to notice.
- Webhooks due are delivered (webhooks.py).
- Retention: finished jobs, their inputs and results, and standalone uploads are deleted
  retention_s after they finished (or were uploaded).
- Scratch: temporary files of renders and uploads are removed once the process that made them
  is gone (a crashed or killed worker), or after scratch_max_age_s untouched.

Every step is a compare-and-set in the job store, so several API processes may run it at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

import redis
from fastapi.concurrency import run_in_threadpool

from talkies.service import logs, webhooks
from talkies.service.context import Context
from talkies.service.errors import timeout_outcome, worker_died_outcome
from talkies.service.files import file_id_of
from talkies.service.store import Job

ORPHAN_EVERY_S = 30.0
RETENTION_EVERY_S = 60.0
ORPHAN_MIN_AGE_S = 5.0
log = logging.getLogger("talkies.service.maintenance")


def reap_stale(ctx: Context, now: float) -> None:
    """Re-queue (or fail, after max_attempts) jobs whose worker stopped sending heartbeats."""
    for job in ctx.store.stale(now - ctx.settings.stale_after_s):
        if job.attempts >= ctx.settings.max_attempts:
            outcome = worker_died_outcome(job.attempts)
            if ctx.store.finish(job.id, outcome, now, attempt=job.attempts):
                log.error("job %s: worker died %d times, giving up", job.id, job.attempts)
                logs.job_ended(job, outcome)
        elif ctx.store.requeue(job.id, job.attempts):
            ctx.store.log(
                job.id,
                f"worker {job.worker} stopped responding; queued again "
                f"(attempt {job.attempts + 1} of {ctx.settings.max_attempts} next)",
                "WARN",
            )
            ctx.queue.enqueue(job.id, job.priority)


def expire_deadlines(ctx: Context, now: float) -> None:
    for job in ctx.store.overdue(now):
        assert job.start_deadline is not None
        outcome = timeout_outcome(job.start_deadline - job.created_at)
        if ctx.store.finish(job.id, outcome, now):
            logs.job_ended(job, outcome)


def recover_orphans(ctx: Context, now: float) -> None:
    """Send the queue a message for each queued job it has no message for.

    A worker runs the head of the job store's queue for any message (worker.py), so what
    matters is that there are at least as many messages as queued jobs; the newest queued
    jobs (older than ORPHAN_MIN_AGE_S, so that submits in flight are not counted) are the
    ones that get a new message."""
    queued = ctx.store.queued()
    missing = len(queued) - ctx.queue.pending_count()
    if missing <= 0:
        return
    old_enough = [job for job in queued if now - job.created_at > ORPHAN_MIN_AGE_S]
    for job in old_enough[len(old_enough) - min(missing, len(old_enough)) :]:
        log.warning("job %s had no message in the queue; queueing it again", job.id)
        ctx.queue.enqueue(job.id, job.priority)


def expire_retained(ctx: Context, now: float) -> None:
    """Delete finished jobs (with their input and result files) and standalone uploads once
    they are older than the retention time."""
    retention = ctx.settings.retention_s
    for job in ctx.store.expired(now - retention):
        for file_id in _owned_files(ctx, job):
            ctx.files.delete(file_id)
        ctx.store.delete(job.id)
    for stored in ctx.files.expired(now, retention):
        ctx.files.delete(stored.id)
    for upload_id in ctx.files.stale_uploads(now - retention):
        ctx.files.drop_upload(upload_id)


_SCRATCH_NAME = re.compile(r"^(?:render|upload)-(?P<host>.+)-(?P<pid>\d+)-[^-]+$")


def scratch_name(kind: str) -> str:
    """The start of a scratch entry's name, `{kind}-{host}-{pid}-`: whoever sweeps on this host
    can tell the leftovers of a dead process from the work of a live one."""
    return f"{kind}-{socket.gethostname()}-{os.getpid()}-"


def sweep_scratch(folder: Path, now: float, max_age_s: float) -> list[str]:
    """Remove what dead processes of this host left in `folder` at once, and anything untouched
    (newest modification inside) for `max_age_s`. Returns the names removed."""
    removed = []
    for entry in folder.iterdir() if folder.is_dir() else ():
        match = _SCRATCH_NAME.match(entry.name)
        mine = match is not None and match["host"] == socket.gethostname()
        try:
            dead = mine and not _alive(int(match["pid"]))  # type: ignore[index]
            if dead or now - _newest_mtime(entry) > max_age_s:
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed.append(entry.name)
        except FileNotFoundError:  # finished and removed by its owner meanwhile
            continue
    if removed:
        log.info("removed %d leftover scratch entries in %s", len(removed), folder)
    return removed


def sweep_all_scratch(ctx: Context, now: float) -> None:
    for folder in {ctx.settings.data_dir / "tmp", ctx.files.root / "tmp"}:
        sweep_scratch(folder, now, ctx.settings.scratch_max_age_s)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _newest_mtime(entry: Path) -> float:
    if not entry.is_dir():
        return entry.stat().st_mtime
    return max([entry.stat().st_mtime, *(p.stat().st_mtime for p in entry.rglob("*"))])


def _owned_files(ctx: Context, job: Job) -> list[str]:
    """Files made for `job`: inputs sent inline, and the video (uploads it used stay)."""
    ids = [ref["file"] for ref in job.payload.get("inputs", {}).values() if "file" in ref]
    if job.outcome is not None and job.outcome.ok and isinstance(job.outcome.body.get("video"), dict):
        ids.append(file_id_of(job.outcome.body["video"].get("url", "")) or "")
    return [i for i in ids if (f := ctx.files.get(i)) is not None and f.owner == job.id]


async def run(ctx: Context) -> None:
    """The maintenance loop (cancel the task to stop it)."""
    interval = ctx.settings.maintenance_interval_s
    last_orphans = last_retention = 0.0
    while True:
        now = time.time()
        await _step(reap_stale, ctx, now)
        await _step(expire_deadlines, ctx, now)
        await _step(sweep_all_scratch, ctx, now)
        if now - last_orphans >= ORPHAN_EVERY_S:
            await _step(recover_orphans, ctx, now)
            last_orphans = now
        if now - last_retention >= min(RETENTION_EVERY_S, ctx.settings.retention_s):
            await _step(expire_retained, ctx, now)
            last_retention = now
        await asyncio.sleep(interval)


async def run_webhooks(ctx: Context) -> None:
    """The webhook delivery loop (separate, so a slow receiver does not delay the rest)."""
    while True:
        await _step(webhooks.deliver_due, ctx, time.time())
        await asyncio.sleep(ctx.settings.maintenance_interval_s)


async def _step(fn: Callable[[Context, float], object], ctx: Context, now: float) -> None:
    try:
        await run_in_threadpool(fn, ctx, now)
    except (redis.ConnectionError, redis.TimeoutError) as e:  # Redis down: retried next round
        log.warning("maintenance step %s: queue backend unreachable: %s", fn.__name__, e)
    except Exception:  # one failed sweep (a locked database) must not stop the loop
        log.exception("maintenance step %s failed", fn.__name__)

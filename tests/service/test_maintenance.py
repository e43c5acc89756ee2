"""Housekeeping steps, run in-process against a real data directory (no server, no workers)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from talkies.service import maintenance
from talkies.service.context import Context
from talkies.service.errors import success
from talkies.service.settings import Settings
from talkies.service.store import NewJob

from .helpers import png_bytes


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    settings = Settings(data_dir=tmp_path, stale_after_s=5, max_attempts=2, retention_s=100)
    return Context.open(settings)


def add(ctx: Context, job_id: str, now: float, **kw) -> None:
    image = ctx.files.put_bytes(png_bytes(), "image.png", "image/png", owner=job_id)
    ctx.store.add(NewJob(job_id, "e", {"inputs": {"image_url": {"file": image.id}}}, **kw), now)
    ctx.queue.enqueue(job_id, 1)


def test_dead_worker_job_is_requeued_then_failed(ctx: Context) -> None:
    add(ctx, "j", 0.0)
    ctx.store.claim("j", "w1", 10.0)
    maintenance.reap_stale(ctx, now=12.0)
    assert ctx.store.get("j").status == "IN_PROGRESS", "heartbeat still fresh"
    maintenance.reap_stale(ctx, now=20.0)
    assert ctx.store.get("j").status == "IN_QUEUE"
    assert "stopped responding" in ctx.store.logs("j")[-1].message
    entries = [task.args[0] for task in ctx.queue.huey.pending()]
    assert entries == ["j", "j"], "queued again (the first entry stays: nothing consumes the queue here)"
    ctx.store.claim("j", "w2", 21.0)
    maintenance.reap_stale(ctx, now=30.0)
    job = ctx.store.get("j")
    assert job.status == "COMPLETED" and job.outcome.http_status == 500 and "2 time(s)" in job.outcome.error


def test_missed_start_deadline(ctx: Context) -> None:
    add(ctx, "late", 0.0, start_deadline=3.0)
    maintenance.expire_deadlines(ctx, now=2.0)
    assert ctx.store.get("late").status == "IN_QUEUE"
    maintenance.expire_deadlines(ctx, now=4.0)
    job = ctx.store.get("late")
    assert job.outcome.http_status == 504 and job.outcome.error_type == "request_timeout"


def test_orphaned_queued_job_is_queued_again(ctx: Context) -> None:
    add(ctx, "lost", time.time() - 60)
    ctx.queue.huey.flush()  # the queue lost it (e.g. a worker died between taking and claiming it)
    maintenance.recover_orphans(ctx, time.time())
    assert ctx.queue.pending_ids() == {"lost"}


def test_orphan_recovery_tops_messages_up_to_the_number_of_queued_jobs(ctx: Context) -> None:
    """Workers run the queue head for any message, so only the count of messages matters."""
    add(ctx, "a", time.time() - 60)
    add(ctx, "b", time.time() - 60)
    add(ctx, "fresh", time.time())  # young: never given a second message
    ctx.queue.huey.flush()
    ctx.queue.enqueue("a", 1)
    ctx.queue.enqueue("fresh", 1)
    maintenance.recover_orphans(ctx, time.time())
    assert sorted(task.args[0] for task in ctx.queue.huey.pending()) == ["a", "b", "fresh"]
    maintenance.recover_orphans(ctx, time.time())
    assert ctx.queue.pending_count() == 3, "as many messages as queued jobs: nothing more to send"


def test_retention_deletes_old_jobs_their_files_and_old_uploads(ctx: Context, tmp_path: Path) -> None:
    upload = ctx.files.put_bytes(png_bytes(), "up.png", "image/png")
    add(ctx, "old", 0.0)
    ctx.store.claim("old", "w", 1.0)
    video = ctx.files.put_bytes(b"mp4", "v.mp4", "video/mp4", owner="old")
    ctx.store.finish("old", success({"video": {"url": f"http://x/files/{video.id}/v.mp4"}}), 2.0, attempt=1)
    image_id = ctx.store.get("old").payload["inputs"]["image_url"]["file"]
    maintenance.expire_retained(ctx, now=50.0)
    assert ctx.store.get("old") is not None and ctx.files.get(video.id) is not None
    maintenance.expire_retained(ctx, now=upload.created_at + 101)
    assert ctx.store.get("old") is None
    assert ctx.files.get(video.id) is None and ctx.files.get(image_id) is None
    assert ctx.files.get(upload.id) is None, "standalone uploads expire too"

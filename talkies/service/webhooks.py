"""Webhook delivery (`?fal_webhook=<url>` on submit): signed as fal signs them, retried with
exponential backoff over about two hours.

When a job ends, the job store records a delivery in the same transaction (so none is lost to a
crash). The API process's maintenance loop leases due deliveries and POSTs them, each try with
fresh X-Fal-Webhook-* signature headers (signing.py); a failed try (a refused or malformed URL,
a network error, or any non-2xx answer) counts as an attempt and is retried after
webhook_backoff_s, doubling up to MAX_BACKOFF_S, webhook_attempts times in all. fal promises 10
tries over 2 hours; the defaults (10 tries, 15 s doubling, capped at an hour) wait 2 h 4 min
between the first and the last (schedule_s). Deliveries go through the same SSRF guard as input
fetches.
"""

from __future__ import annotations

import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from talkies.service import signing
from talkies.service.context import Context
from talkies.service.errors import FetchError
from talkies.service.fetch import post_json
from talkies.service.settings import Settings
from talkies.service.store import Delivery, Job

MAX_BACKOFF_S = 3600.0
PARALLEL = 4
log = logging.getLogger("talkies.service.webhooks")


def body(job: Job) -> dict[str, Any]:
    """fal's webhook payload for a finished job."""
    outcome = job.outcome
    assert outcome is not None
    return {
        "request_id": job.id,
        "gateway_request_id": job.id,
        "status": "OK" if outcome.ok else "ERROR",
        "payload": outcome.body,
        "error": None if outcome.ok else f"Invalid status code: {outcome.http_status}",
    }


def backoff_s(settings: Settings, attempts: int) -> float:
    """Delay before try number `attempts + 2` (after `attempts + 1` failed tries)."""
    return min(settings.webhook_backoff_s * 2**attempts, MAX_BACKOFF_S)


def schedule_s(settings: Settings) -> list[float]:
    """When each try happens, in seconds after the job ended (the first try at 0)."""
    times = [0.0]
    for attempts in range(settings.webhook_attempts - 1):
        times.append(times[-1] + backoff_s(settings, attempts))
    return times


def deliver_due(ctx: Context, now: float) -> int:
    """Deliver every webhook that is due; returns how many were tried."""
    due = ctx.store.due_deliveries(now, lease_s=ctx.settings.webhook_timeout_s * 2)
    if due:
        with ThreadPoolExecutor(PARALLEL) as pool:
            list(pool.map(lambda d: _deliver(ctx, d), due))
    return len(due)


def _deliver(ctx: Context, delivery: Delivery) -> None:
    job = ctx.store.get(delivery.job_id)
    if job is None or job.outcome is None:
        ctx.store.delivery_done(delivery.job_id, None)
        return
    try:
        content = json.dumps(body(job)).encode()
        headers = signing.signed_headers(signing.load_key(ctx.settings.storage_root), job.id, content)
        code = post_json(delivery.url, content, ctx.guard, ctx.settings.webhook_timeout_s, headers)
        problem = None if 200 <= code < 300 else f"answered HTTP {code}"
    except FetchError as e:  # post_json reports every way a try can fail as one: each is an attempt
        problem = e.message
    tries = delivery.attempts + 1
    if problem is None:
        ctx.store.log(job.id, f"webhook delivered (try {tries})")
        ctx.store.delivery_done(job.id, None)
    elif tries >= ctx.settings.webhook_attempts:
        ctx.store.log(job.id, f"webhook {delivery.url} failed {tries} times, giving up: {problem}", "ERROR")
        ctx.store.delivery_done(job.id, None)
    else:
        ctx.store.log(job.id, f"webhook try {tries} failed ({problem}); retrying", "WARN")
        ctx.store.delivery_done(job.id, time.time() + backoff_s(ctx.settings, delivery.attempts))

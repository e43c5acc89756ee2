"""Load on one API node with the Redis queue: many concurrent clients submitting and polling.

    python bench/queue_load.py [--clients 200] [--workers 2] [--frames 10] [--poll 0.5]
                               [--redis redis://127.0.0.1:6379/0] [--json out.json]

Starts one API node (`talkies serve --workers 0 --queue redis://...`) and one worker machine
(`talkies worker --workers N`) with the fake engines of tests/service/fakes.py (each render
sleeps `--frames` x 20 ms, so that a queue builds up), under a fresh Redis name that is deleted
afterwards. Each client (an asyncio task; all share one HTTP connection pool) submits one job
with tiny data: URI inputs, polls its status every `--poll` seconds until COMPLETED, then
fetches the result. Reported:

- submit and status latency, p50 / p99 / max (ms), as the client sees them;
- errors: any non-2xx answer or transport error (target 0);
- lost jobs: submitted but never COMPLETED with a 200 result within the timeout (target 0);
- queue positions: every IN_QUEUE status a client saw is checked against the order jobs were
  actually claimed in (the store's start_seq). A status answered between t0 (sent) and t1
  (received) with position p is consistent when
      #{K ahead of J in start order, submitted by t0, not started by t1}  <=  p
      <=  #{K ahead of J in start order, created by t1, not started by t0}
  (the queue changed while the request was in flight, so p is only known between bounds).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import math
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from talkies.service.store.redis import RedisJobStore  # noqa: E402

V15 = "fal-ai/bytedance/omnihuman/v1.5"
APP = "fal-ai/bytedance"
ENGINE = "tests.service.fakes:dispatch"  # "" -> instant, "slow N" -> N frames of 20 ms
EPSILON_S = 0.002  # clock skew between worker processes stamping started_at


@dataclass
class Observation:
    position: int
    sent: float
    received: float


@dataclass
class ClientRun:
    request_id: str | None = None
    submit_sent: float = 0.0
    submitted: float = 0.0
    submit_ms: float = 0.0
    status_ms: list[float] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    completed: bool = False
    result_ok: bool = False


def tiny_inputs() -> dict[str, str]:
    from PIL import Image

    png = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 150, 120)).save(png, "PNG")
    rate, n = 8000, 8000
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(n)
    )
    wav = io.BytesIO()
    with wave.open(wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return {
        "image_url": "data:image/png;base64," + base64.b64encode(png.getvalue()).decode(),
        "audio_url": "data:audio/wav;base64," + base64.b64encode(wav.getvalue()).decode(),
    }


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def wait_api(state: Path, proc: subprocess.Popen, timeout_s: float = 60) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the API node exited")
        if state.exists():
            url = json.loads(state.read_text())["url"]
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise TimeoutError("the API node did not come up")


async def one_client(http: httpx.AsyncClient, body: dict, poll_s: float, timeout_s: float) -> ClientRun:
    run = ClientRun()
    run.submit_sent = time.time()
    try:
        r = await http.post(f"/queue/{V15}", json=body)
    except httpx.HTTPError as e:
        run.errors.append(f"submit: {type(e).__name__}: {e}")
        return run
    run.submitted = time.time()
    run.submit_ms = (run.submitted - run.submit_sent) * 1000
    if r.status_code != 200:
        run.errors.append(f"submit: {r.status_code} {r.text[:200]}")
        return run
    run.request_id = r.json()["request_id"]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        sent = time.time()
        try:
            r = await http.get(f"/queue/{APP}/requests/{run.request_id}/status")
        except httpx.HTTPError as e:
            run.errors.append(f"status: {type(e).__name__}: {e}")
            await asyncio.sleep(poll_s)
            continue
        received = time.time()
        run.status_ms.append((received - sent) * 1000)
        if r.status_code not in (200, 202):
            run.errors.append(f"status: {r.status_code} {r.text[:200]}")
        else:
            body_ = r.json()
            if body_["status"] == "IN_QUEUE":
                run.observations.append(Observation(body_["queue_position"], sent, received))
            elif body_["status"] == "COMPLETED":
                run.completed = "error" not in body_
                break
        await asyncio.sleep(poll_s)
    if run.completed:
        r = await http.get(f"/queue/{APP}/requests/{run.request_id}")
        run.result_ok = r.status_code == 200 and r.json()["video"]["content_type"] == "video/mp4"
        if not run.result_ok:
            run.errors.append(f"result: {r.status_code} {r.text[:200]}")
    return run


async def load(
    url: str, clients: int, poll_s: float, timeout_s: float, frames: int
) -> tuple[list[ClientRun], float]:
    body = {**tiny_inputs(), "prompt": f"slow {frames}" if frames else ""}
    limits = httpx.Limits(max_connections=clients + 10, max_keepalive_connections=clients + 10)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60, trust_env=False) as http:
        began = time.monotonic()
        runs = await asyncio.gather(*(one_client(http, body, poll_s, timeout_s) for _ in range(clients)))
        return list(runs), time.monotonic() - began


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def check_positions(runs: list[ClientRun], store: RedisJobStore) -> tuple[int, list[str]]:
    """(observations checked, descriptions of the inconsistent ones)."""
    jobs = {}
    for run in runs:
        if run.request_id:
            job = store.get(run.request_id)
            seq = store.start_seq(run.request_id)
            if job is not None and seq is not None and job.started_at is not None:
                jobs[run.request_id] = (seq, job.started_at, job.created_at, run.submitted)
    checked, bad = 0, []
    for run in runs:
        if run.request_id not in jobs:
            continue
        my_seq = jobs[run.request_id][0]
        ahead = [v for v in jobs.values() if v[0] < my_seq]
        for ob in run.observations:
            checked += 1
            low = sum(
                1
                for _, started, _, submitted in ahead
                if submitted <= ob.sent and started > ob.received + EPSILON_S
            )
            high = sum(
                1
                for _, started, created, _ in ahead
                if created <= ob.received and started >= ob.sent - EPSILON_S
            )
            if not low <= ob.position <= high:
                bad.append(f"{run.request_id}: position {ob.position}, expected {low}..{high}")
    return checked, bad


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the worker machine")
    parser.add_argument("--redis", default=os.environ.get("TALKIES_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--poll", type=float, default=0.5, help="status poll interval of each client (s)")
    parser.add_argument(
        "--frames", type=int, default=10, help="frames of 20 ms each fake render takes (0: instant)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="per-client limit (s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    name = f"bench-{uuid.uuid4().hex[:10]}"
    queue_url = f"{args.redis}{'&' if '?' in args.redis else '?'}name={name}"
    env = {**os.environ, "TALKIES_ENGINE": ENGINE, "PYTHONPATH": str(ROOT), "TALKIES_POLL_INTERVAL_S": "0.1"}
    with tempfile.TemporaryDirectory(prefix="queue-load-") as tmp:
        root = Path(tmp)
        storage = root / "storage"
        storage.mkdir()
        common = ["--queue", queue_url, "--storage", f"file://{storage}"]
        python = [sys.executable, "-m", "talkies"]
        api = start(
            [*python, "serve", "--port", "0", "--workers", "0", "--data-dir", str(root / "api"), *common],
            root / "api.log",
            env,
        )
        worker = start(
            [*python, "worker", "--workers", str(args.workers), "--data-dir", str(root / "worker"), *common],
            root / "worker.log",
            env,
        )
        store = RedisJobStore.from_queue_url(queue_url)
        try:
            url = wait_api(root / "api" / "server.json", api)
            runs, wall_s = asyncio.run(load(url, args.clients, args.poll, args.timeout, args.frames))
            checked, bad = check_positions(runs, store)
        finally:
            stop(worker)
            stop(api)
            store.flush()
            client = redis.Redis.from_url(args.redis)
            huey_keys = list(client.scan_iter(match=f"huey.*talkies.{name}*"))
            if huey_keys:
                client.delete(*huey_keys)
    submit_ms = [r.submit_ms for r in runs if r.request_id]
    status_ms = [ms for r in runs for ms in r.status_ms]
    errors = [e for r in runs for e in r.errors]
    lost = [r.request_id for r in runs if r.request_id and not (r.completed and r.result_ok)]
    figures = {
        "clients": args.clients,
        "workers": args.workers,
        "frames": args.frames,
        "poll_s": args.poll,
        "wall_s": round(wall_s, 2),
        "jobs_per_s": round(sum(r.completed for r in runs) / wall_s, 1),
        "submit_ms": {
            q: round(percentile(submit_ms, p), 1) for q, p in (("p50", 50), ("p99", 99), ("max", 100))
        },
        "status_ms": {
            q: round(percentile(status_ms, p), 1) for q, p in (("p50", 50), ("p99", 99), ("max", 100))
        },
        "status_requests": len(status_ms),
        "errors": len(errors),
        "lost_jobs": len(lost),
        "positions_checked": checked,
        "positions_inconsistent": len(bad),
    }
    print(json.dumps(figures, indent=2))
    for line in (errors + bad)[:20]:
        print("  ", line)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if not errors and not lost and not bad else 1


if __name__ == "__main__":
    sys.exit(main())

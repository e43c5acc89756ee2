"""Scale-out through Redis (issue 5): API nodes and `talkies worker` machines sharing a Redis
queue and job store (the real server at TALKIES_TEST_REDIS, under a per-test name) and a storage
directory, through the real CLI, HTTP stack and Huey. Faults: a worker SIGKILLed mid-render, an
API node restarted with 50 jobs queued, Redis restarted (a private redis-server), duplicate queue
messages racing two worker machines."""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cluster import Cluster, wait_for
from .helpers import APP, V15, result, status, submit, wait_done, wait_status
from .redis_util import RedisProcess
from .s3_util import MotoServer, set_credentials


def unique(tag: str) -> str:
    return f"t-{tag}-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two API nodes and one worker machine with two worker processes."""
    running = Cluster(tmp_path_factory.mktemp("cluster"), unique("cluster"))
    try:
        running.api().start()
        running.api().start()
        running.worker(workers=2)
        yield running
    finally:
        running.close()


def started_lines(done: dict) -> list[str]:
    return [line["message"] for line in done["logs"] if line["message"].startswith("started")]


def job_videos(storage: Path, job_id: str) -> list[Path]:
    """Result videos in the shared storage that belong to `job_id`."""
    found = []
    for meta in storage.glob("files/*/.meta.json"):
        text = meta.read_text()
        if f'"owner": "{job_id}"' in text and '"video/mp4"' in text:
            found.append(meta.parent)
    return found


def test_any_api_node_answers_for_any_job(cluster: Cluster, inputs: dict) -> None:
    first, second = cluster.apis
    with first.client() as a, second.client() as b:
        request_id = submit(a, {**inputs, "prompt": "slow 10"})
        done = wait_done(b, request_id)
        assert "error" not in done and "rendering frame 10/10" in [line["message"] for line in done["logs"]]
        r = result(b, request_id)
        assert r.status_code == 200, r.text
        video = r.json()["video"]
        assert video["url"].startswith(first.url), "URLs name the node the client submitted to"
        download = b.get(video["url"].replace(first.url, second.url))
        assert download.status_code == 200 and len(download.content) == video["file_size"]

        queued = submit(b, {**inputs, "prompt": "slow 400"})
        wait_status(a, queued, "IN_PROGRESS")
        assert a.put(f"/queue/{APP}/requests/{queued}/cancel").status_code == 202
        cancelled = wait_done(b, queued, timeout_s=10)
        assert cancelled["error_type"] == "client_cancelled"
        assert result(a, queued).status_code == 499
    assert len(job_videos(cluster.storage, request_id)) == 1


def test_worker_killed_mid_render_is_rerun_once_with_one_output(cluster: Cluster, inputs: dict) -> None:
    store = cluster.store()
    with cluster.apis[0].client() as c:
        request_id = submit(c, {**inputs, "prompt": "slow 60"})
        wait_for(
            lambda: any("rendering" in line.message for line in store.logs(request_id)),
            20,
            "the render never started",
        )
        job = store.get(request_id)
        assert job.status == "IN_PROGRESS" and job.worker is not None
        os.kill(int(job.worker.rsplit(":", 1)[1]), signal.SIGKILL)
        done = wait_done(c, request_id, timeout_s=30)
    assert "error" not in done, done
    assert started_lines(done) == ["started (attempt 1 of 2)", "started (attempt 2 of 2)"]
    assert any("stopped responding; queued again" in line["message"] for line in done["logs"])
    assert store.get(request_id).attempts == 2
    assert len(job_videos(cluster.storage, request_id)) == 1, "the output is written once"
    assert cluster.workers[0].alive(), "the worker machine replaces its dead process"


def test_a_job_that_keeps_killing_workers_ends_with_a_clear_error(cluster: Cluster, inputs: dict) -> None:
    with cluster.apis[1].client() as c:
        request_id = submit(c, {**inputs, "prompt": "crash"})
        done = wait_done(c, request_id, timeout_s=30)
        assert done["error_type"] == "internal_error" and "2 time(s)" in done["error"]
        assert result(c, request_id).status_code == 500
    assert cluster.store().get(request_id).status == "COMPLETED"


def test_two_worker_machines_never_render_one_job_twice(cluster: Cluster, inputs: dict) -> None:
    second = cluster.worker(workers=2)
    queue = cluster.queue()
    assert queue.huey.storage.queue_key == f"huey.redis.talkies.{cluster.name}", "as docs/deployment.md says"
    with cluster.apis[0].client() as c:
        ids = [submit(c, {**inputs, "prompt": "slow 4"}) for _ in range(24)]
        for request_id in ids:  # every message twice: both machines race for each job
            queue.enqueue(request_id, 1)
        done = [wait_done(c, request_id, timeout_s=60) for request_id in ids]
    assert [started_lines(d) for d in done] == [["started (attempt 1 of 2)"]] * len(ids)
    renders = [sum(line["message"] == "analysing portrait" for line in d["logs"]) for d in done]
    assert renders == [1] * len(ids)
    store = cluster.store()
    assert all(store.get(request_id).attempts == 1 for request_id in ids)
    assert all(len(job_videos(cluster.storage, request_id)) == 1 for request_id in ids)
    assert second.alive()
    wait_for(lambda: queue.pending_count() == 0, 10, "the duplicate messages were not drained")


@pytest.mark.slow
def test_api_node_restarted_with_50_queued_jobs_completes_them_all(tmp_path: Path, inputs: dict) -> None:
    cluster = Cluster(tmp_path, unique("restart"))
    try:
        api = cluster.api().start()
        with api.client() as c:
            ids = [submit(c, inputs) for _ in range(50)]
            assert all(status(c, i)["status"] == "IN_QUEUE" for i in ids)
        api.kill()
        api.start()
        cluster.worker(workers=2)
        with api.client() as c:
            done = [wait_done(c, i, timeout_s=60) for i in ids]
        assert [d for d in done if "error" in d] == []
        assert cluster.queue().pending_count() == 0
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.close()


@pytest.mark.slow
def test_redis_restart_is_a_503_with_retry_after_then_recovers(tmp_path: Path, inputs: dict) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("needs the redis-server binary to run a private, restartable Redis")
    server = RedisProcess(tmp_path / "redis").start()
    cluster = Cluster(tmp_path, "outage", base=server.url)
    try:
        api = cluster.api().start()
        worker = cluster.worker()
        with api.client() as c:
            assert "error" not in wait_done(c, submit(c, inputs))
            server.kill()
            r = c.post(f"/queue/{V15}", json=inputs)
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5" and r.json()["error_type"] == "service_unavailable"
            assert "unreachable" in r.json()["detail"]
            gone = c.get(f"/queue/{APP}/requests/{uuid.uuid4()}/status")
            assert gone.status_code == 503
            assert c.get("/health").status_code == 200, "the API process keeps running"
            time.sleep(1.0)  # the maintenance loop and the workers hit the outage too
            server.start()

            def submitted() -> str | None:
                r = c.post(f"/queue/{V15}", json=inputs)
                return r.json()["request_id"] if r.status_code == 200 else None

            request_id = wait_for(submitted, 15, "the API did not reconnect to Redis", every_s=0.2)
            done = wait_done(c, request_id, timeout_s=30)
        assert "error" not in done, "the worker reconnected by itself"
        assert worker.alive() and api.proc is not None and api.proc.poll() is None
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.close()
        server.kill()


def test_keep_alive_responses_are_not_held_back_by_nagle(cluster: Cluster) -> None:
    """The listening socket says IPPROTO_TCP, so asyncio sets TCP_NODELAY on each connection;
    with proto 0 every keep-alive response waited ~40 ms for the client's delayed ACK."""
    with cluster.apis[0].client() as c:
        timings = []
        for _ in range(12):
            began = time.perf_counter()
            assert c.get("/health").status_code == 200
            timings.append(time.perf_counter() - began)
    assert min(timings[2:]) < 0.02, timings


@pytest.mark.slow
def test_s3_storage_shared_by_api_node_and_worker(tmp_path: Path, inputs: dict) -> None:
    set_credentials()
    moto = MotoServer(tmp_path / "moto").start()
    moto.make_bucket("talkies-test")
    cluster = Cluster(tmp_path, unique("s3"), storage_url=moto.storage_url("talkies-test"))
    try:
        api = cluster.api().start()
        cluster.worker()
        with api.client() as c:
            upload = c.post(
                "/storage/upload/initiate", json={"content_type": "image/png", "file_name": "face.png"}
            ).json()
            png = base64.b64decode(inputs["image_url"].split(",", 1)[1])
            assert c.put(upload["upload_url"], content=png).status_code == 200
            request_id = submit(c, {**inputs, "image_url": upload["file_url"], "prompt": "slow 5"})
            done = wait_done(c, request_id, timeout_s=30)
            assert "error" not in done, done
            video = result(c, request_id).json()["video"]
            whole = c.get(video["url"])
            assert whole.status_code == 200 and len(whole.content) == video["file_size"]
            part = c.get(video["url"], headers={"Range": "bytes=4-11"})
            assert part.status_code == 206 and part.content == whole.content[4:12] == b"ftypmp42"
        assert list(cluster.storage.iterdir()) == [], "nothing on the shared directory: all in the bucket"
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.close()
        moto.close()


def test_worker_command_needs_a_redis_queue_and_a_worker(tmp_path: Path) -> None:
    from talkies.errors import InvalidOptionError
    from talkies.service.commands import run_worker

    def args(**kw: object) -> argparse.Namespace:
        base = {"storage_url": None, "workers": None, "data_dir": tmp_path, "engine": None}
        return argparse.Namespace(**{**base, "fetch_allow_private": None, **kw})

    with pytest.raises(InvalidOptionError, match=r"'sqlite:///x'.*needs a shared redis://"):
        run_worker(args(queue_url="sqlite:///x"))
    with pytest.raises(InvalidOptionError, match="workers is 0; it must be at least 1"):
        run_worker(args(queue_url="redis://127.0.0.1:6379/0", workers=0))

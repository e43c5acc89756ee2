"""The queue protocol through the real HTTP stack, Huey and worker processes, with fake engines
(fakes.py picks the behaviour from the prompt)."""

from __future__ import annotations

import json
import re
import time

import httpx

from .helpers import (
    APP,
    V1,
    V15,
    data_uri,
    png_bytes,
    result,
    status,
    submit,
    wait_done,
    wav_bytes,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_submit_returns_the_fal_envelope(client: httpx.Client, server, inputs: dict) -> None:
    r = client.post(f"/queue/{V15}", json=inputs)
    body = r.json()
    assert r.status_code == 200 and UUID.match(body["request_id"])
    assert r.headers["x-fal-request-id"] == body["request_id"]
    base = f"{server.url}/queue/{APP}/requests/{body['request_id']}"
    assert body["response_url"] == base, "per-request URLs use owner/alias only"
    assert body["status_url"] == base + "/status" and body["cancel_url"] == base + "/cancel"
    assert body["status"] == "IN_QUEUE" and isinstance(body["queue_position"], int)
    wait_done(client, body["request_id"])


def test_job_completes_with_video_logs_and_metrics(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "slow 10"})
    done = wait_done(client, request_id)
    messages = [line["message"] for line in done["logs"]]
    assert "analysing portrait" in messages and "rendering frame 10/10" in messages
    assert all(
        line["level"] in ("INFO", "WARN", "ERROR") and line["source"] == "USER" for line in done["logs"]
    )
    assert done["metrics"]["inference_time"] > 0.15 and "error" not in done
    r = result(client, request_id)
    assert r.status_code == 200 and r.headers["x-fal-request-id"] == request_id
    video = r.json()["video"]
    assert r.json()["duration"] == 0.4 and video["content_type"] == "video/mp4"
    download = client.get(video["url"])
    assert download.status_code == 200 and len(download.content) == video["file_size"]
    assert download.headers["content-type"] == "video/mp4"


def test_status_logs_flag_accepts_both_clients_spellings(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, inputs)
    wait_done(client, request_id)
    path = f"/queue/{APP}/requests/{request_id}/status"
    for value, has_logs in (("true", True), ("1", True), ("false", False), ("0", False)):
        body = client.get(path, params={"logs": value}).json()
        assert (body["logs"] is not None) == has_logs and "logs" in body
    full_id_path = f"/queue/{V15}/requests/{request_id}/status"
    assert client.get(full_id_path).json()["status"] == "COMPLETED", "the full endpoint id prefix works too"


def test_v1_endpoint(client: httpx.Client, inputs: dict) -> None:
    r = client.post(f"/queue/{V1}", json=inputs)
    assert r.status_code == 200
    assert r.json()["status_url"].endswith(f"/queue/{APP}/requests/{r.json()['request_id']}/status")
    assert result(client, wait_done(client, r.json()["request_id"])["request_id"]).status_code == 200


def test_engine_input_error_completes_with_error_and_422(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "input_error"})
    done = wait_done(client, request_id)
    assert done["status"] == "COMPLETED" and done["error_type"] == "face_detection_error"
    assert "no face found" in done["error"]
    r = result(client, request_id)
    assert r.status_code == 422
    [detail] = r.json()["detail"]
    assert detail["loc"] == ["body", "image_url"] and detail["type"] == "face_detection_error"


def test_engine_failure_is_500_internal_error(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "engine_error"})
    assert wait_done(client, request_id)["error_type"] == "internal_error"
    r = result(client, request_id)
    assert r.status_code == 500 and r.headers["x-fal-error-type"] == "internal_error"
    assert "the fake engine broke" in r.json()["detail"]


def test_worker_crash_is_retried(client: httpx.Client, inputs: dict, tmp_path) -> None:
    request_id = submit(client, {**inputs, "prompt": f"crash_once {tmp_path / 'marker'}"})
    done = wait_done(client, request_id)
    assert "error" not in done, done
    assert any("stopped responding; queued again" in line["message"] for line in done["logs"])
    assert any("attempt 2 of 2" in line["message"] for line in done["logs"])


def test_worker_crashing_every_time_ends_with_a_clear_error(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "crash"})
    done = wait_done(client, request_id, timeout_s=40)
    assert (
        done["error_type"] == "internal_error"
        and "stopped (crashed or was killed) 2 time(s)" in done["error"]
    )
    assert result(client, request_id).status_code == 500


def test_cancel_running_job_stops_it_within_a_second(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "slow 500"})
    deadline = time.monotonic() + 20
    while not any(
        "rendering frame" in line["message"] for line in status(client, request_id, True)["logs"] or []
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    cancelled_at = time.monotonic()
    r = client.put(f"/queue/{APP}/requests/{request_id}/cancel")
    assert r.status_code == 202 and r.json() == {"status": "CANCELLATION_REQUESTED"}
    done = wait_done(client, request_id)
    assert time.monotonic() - cancelled_at < 1.5
    assert done["error_type"] == "client_cancelled"
    frames = [line["message"] for line in done["logs"] if line["message"].startswith("rendering frame")]
    assert frames and frames[-1] != "rendering frame 500/500"
    assert result(client, request_id).status_code == 499


def test_cancel_completed_and_unknown(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, inputs)
    wait_done(client, request_id)
    r = client.put(f"/queue/{APP}/requests/{request_id}/cancel")
    assert r.status_code == 400 and r.json()["status"] == "ALREADY_COMPLETED"
    r = client.put(f"/queue/{APP}/requests/00000000-0000-4000-8000-000000000000/cancel")
    assert r.status_code == 404 and r.json()["status"] == "NOT_FOUND"
    assert client.get(f"/queue/{APP}/requests/00000000-0000-4000-8000-000000000000/status").status_code == 404


def test_result_of_running_job_is_400_not_a_retryable_code(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "slow 40"})
    r = result(client, request_id)
    assert r.status_code == 400 and "still" in r.json()["detail"]
    wait_done(client, request_id)


def test_validation_before_queueing(client: httpx.Client, inputs: dict, image_uri: str) -> None:
    cases = [
        ({"image_url": image_uri}, ["body", "audio_url"], "missing"),
        (
            {**inputs, "resolution": "4k"},
            ["body", "resolution"],
            "enum",
        ),  # ResolutionEnum, as in fal's schema
        ({**inputs, "prompt": "x" * 2001}, ["body", "prompt"], "string_too_long"),
        (
            {**inputs, "image_url": data_uri(b"<html>", "image/png")},
            ["body", "image_url"],
            "image_load_error",
        ),
        (
            {**inputs, "audio_url": data_uri(png_bytes(), "audio/wav")},
            ["body", "audio_url"],
            "audio_load_error",
        ),
        ({**inputs, "mask_url": data_uri(b"GIF", "image/gif")}, ["body", "mask_url"], "image_load_error"),
        ({**inputs, "image_url": "http://10.0.0.1/a.png"}, ["body", "image_url"], "file_download_error"),
        ({**inputs, "image_url": "ftp://example.com/a.png"}, ["body", "image_url"], "file_download_error"),
        ({**inputs, "image_url": "data:image/png;base64"}, ["body", "image_url"], "value_error"),
    ]
    for body, loc, error_type in cases:
        r = client.post(f"/queue/{V15}", json=body)
        assert r.status_code == 422, (loc, r.text)
        assert [(d["loc"], d["type"]) for d in r.json()["detail"]][:1] == [(loc, error_type)], r.text


def test_audio_length_limits_per_resolution_and_endpoint(client: httpx.Client, image_uri: str) -> None:
    long_audio = data_uri(wav_bytes(31, rate=2000), "audio/wav")
    r = client.post(f"/queue/{V15}", json={"image_url": image_uri, "audio_url": long_audio})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "audio_duration_error"
    assert "audio is 31.0 s; 1080p allows at most 30 s" in r.json()["detail"][0]["msg"]
    r = client.post(f"/queue/{V1}", json={"image_url": image_uri, "audio_url": long_audio})
    assert r.status_code == 422
    r = client.post(
        f"/queue/{V15}", json={"image_url": image_uri, "audio_url": long_audio, "resolution": "720p"}
    )
    assert r.status_code == 200, r.text
    wait_done(client, r.json()["request_id"])


def test_status_stream_sends_changes_and_closes_after_completed(client: httpx.Client, inputs: dict) -> None:
    request_id = submit(client, {**inputs, "prompt": "slow 20"})
    events = []
    with client.stream("GET", f"/queue/{APP}/requests/{request_id}/status/stream", params={"logs": "1"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["status"] == "COMPLETED" and "IN_PROGRESS" in [e["status"] for e in events]
    messages = [line["message"] for e in events for line in e["logs"] or []]
    assert len(messages) == len(set(messages)), "each log line is sent once"
    assert "rendering frame 20/20" in messages


def test_file_download_supports_ranges(client: httpx.Client, inputs: dict) -> None:
    video = result(client, wait_done(client, submit(client, inputs))["request_id"]).json()["video"]
    whole = client.get(video["url"]).content
    part = client.get(video["url"], headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == whole[4:12]
    assert part.headers["content-range"] == f"bytes 4-11/{len(whole)}"
    head = client.head(video["url"])
    assert head.status_code == 200 and head.headers["accept-ranges"] == "bytes" and head.content == b""
    assert client.get(video["url"].replace("/files/", "/files/0")).status_code == 404


def test_sync_run_and_unknown_endpoints(client: httpx.Client, inputs: dict) -> None:
    r = client.post(f"/{V15}", json=inputs)
    assert r.status_code == 200 and r.json()["video"]["content_type"] == "video/mp4"
    r = client.post(f"/{V15}", json={**inputs, "prompt": "input_error"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image_url"]
    assert client.post("/fal-ai/flux/dev", json={}).status_code == 404
    assert client.post("/queue/fal-ai/flux/dev", json={}).status_code == 404


def test_queue_host_serves_the_queue_at_the_root(server, inputs: dict) -> None:
    with server.client(headers={"Host": "queue.localhost"}) as c:
        r = c.post(f"/{V15}", json=inputs)
        assert r.status_code == 200 and r.json()["status"] == "IN_QUEUE"
        assert r.json()["status_url"].startswith(f"https://queue.localhost/{APP}/requests/")
        assert c.get(f"/{APP}/requests/{r.json()['request_id']}/status").status_code in (200, 202)


def test_openapi_docs(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert f"/queue/{V15}" in paths and f"/{V15}" in paths and "/files/upload" in paths

"""Request history over HTTP: an endpoint's requests, newest first and paginated, with
timings, status, error type, and the input and output JSON."""

from __future__ import annotations

from datetime import datetime

import httpx

from talkies.service import gate

from .helpers import V1, V15, submit, wait_done

PATH = "/v1/models/requests/by-endpoint"


def test_history_lists_requests_with_timings_inputs_and_outputs(client: httpx.Client, inputs: dict) -> None:
    ok = submit(client, {**inputs, "prompt": "smiles", "resolution": "720p"})
    failed = submit(client, {**inputs, "prompt": "input_error"})
    wait_done(client, ok)
    failure = wait_done(client, failed)
    r = client.get(PATH, params={"endpoint_id": V15, "limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [item["request_id"] for item in page["items"]] == [failed, ok]
    bad, good = page["items"]
    assert good["status"] == "COMPLETED" and good["status_code"] == 200 and good["error_type"] is None
    assert good["json_output"]["video"]["content_type"] == "video/mp4"
    assert good["json_input"]["prompt"] == "smiles" and good["json_input"]["resolution"] == "720p"
    image = good["json_input"]["image_url"]
    assert image.startswith(client.base_url.scheme + "://") and "/files/" in image, "data: URI shown as a URL"
    assert client.get(image).status_code == 200, "the thumbnail loads"
    created, started, ended = (
        datetime.fromisoformat(good[k]) for k in ("created_at", "started_at", "ended_at")
    )
    assert created <= started <= ended and good["duration"] >= 0
    assert bad["status_code"] == 422 and bad["error_type"] == failure["error_type"] and bad["error_type"]
    assert bad["json_output"]["detail"][0]["loc"] == ["body", "image_url"]


def test_history_pages_with_the_cursor(client: httpx.Client, inputs: dict) -> None:
    ids = [submit(client, inputs) for _ in range(3)]
    seen: list[str] = []
    cursor = None
    while len(seen) < 3:
        params = {"endpoint_id": V15, "limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(PATH, params=params).json()
        seen += [item["request_id"] for item in page["items"]]
        assert page["has_more"] and page["next_cursor"]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    assert client.get(PATH, params={"endpoint_id": V1}).status_code == 200


def test_history_refuses_bad_parameters_naming_them(client: httpx.Client) -> None:
    r = client.get(PATH, params={"limit": 1000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "limit"]
    assert "100" in r.json()["detail"][0]["msg"]
    r = client.get(PATH, params={"cursor": "yesterday"})
    assert r.status_code == 400 and "cursor is 'yesterday'" in r.json()["detail"]
    r = client.get(PATH, params={"endpoint_id": "fal-ai/flux"})
    assert r.status_code == 404 and V15 in r.json()["detail"]


def test_history_needs_an_api_key_when_keys_are_set() -> None:
    assert gate.scope_of("GET", PATH) == "api"

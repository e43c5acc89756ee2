"""API keys: required everywhere except file downloads and upload capability URLs; an
unauthenticated server refuses to bind beyond loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from .helpers import APP, V15, png_bytes
from .servers import REPO, Server

KEY = "test-secret-key"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("keyed"), env={"TALKIES_API_KEYS": f"other,{KEY}", "TALKIES_WORKERS": "0"}
    ).start()
    yield running
    running.close()


@pytest.mark.parametrize("header", [None, "Key wrong", "Bearer wrong", KEY])
def test_requests_without_a_valid_key_are_401(keyed: Server, header: str | None, inputs: dict) -> None:
    headers = {"Authorization": header} if header else {}
    with keyed.client(headers=headers) as c:
        for method, path, body in [
            ("POST", f"/queue/{V15}", inputs),
            ("GET", f"/queue/{APP}/requests/00000000-0000-4000-8000-000000000000/status", None),
            ("PUT", f"/queue/{APP}/requests/00000000-0000-4000-8000-000000000000/cancel", None),
            ("POST", f"/{V15}", inputs),
            ("POST", "/storage/auth/token", {}),
            ("POST", "/storage/upload/initiate", {"file_name": "a.png"}),
            ("POST", "/files/upload", None),
        ]:
            r = c.request(method, path, json=body)
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error_type"] == "unauthorized" and "Authorization: Key" in r.json()["detail"]


@pytest.mark.parametrize("scheme", ["Key", "Bearer"])
def test_valid_key_is_accepted(keyed: Server, scheme: str, inputs: dict) -> None:
    with keyed.client(headers={"Authorization": f"{scheme} {KEY}"}) as c:
        r = c.post(f"/queue/{V15}", json=inputs)
        assert r.status_code == 200
        assert c.get(f"/queue/{APP}/requests/{r.json()['request_id']}/status").status_code == 202


def test_downloads_docs_and_upload_urls_need_no_key(keyed: Server) -> None:
    with keyed.client(headers={"Authorization": f"Key {KEY}"}) as authed:
        token = authed.post("/storage/auth/token", json={}).json()
        start = authed.post("/storage/upload/initiate", json={"file_name": "a.png"}).json()
    with keyed.client() as anonymous:
        r = anonymous.post(
            "/files/upload", content=png_bytes(), headers={"Authorization": f"Bearer {token['token']}"}
        )
        assert r.status_code == 200, "the CDN token stands in for the key"
        assert anonymous.get(r.json()["access_url"]).status_code == 200
        assert anonymous.put(start["upload_url"], content=png_bytes()).status_code == 200
        assert anonymous.get("/docs").status_code == 200 and anonymous.get("/health").status_code == 200


def test_unauthenticated_server_refuses_a_public_address(tmp_path) -> None:
    command = [sys.executable, "-m", "talkies", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr
    assert "no API keys are configured" in run.stderr and "127.0.0.1 only" in run.stderr


def test_http_client_sees_401_without_retrying(keyed: Server) -> None:
    with keyed.client() as c:
        r = c.get(f"/queue/{APP}/requests/x/status")
    assert r.status_code == 401 and r.status_code not in (408, 409, 429)
    assert isinstance(r, httpx.Response)

"""Storage uploads (S1-S5), inputs read from this server's files and fetched URLs, webhooks."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from .helpers import V15, png_bytes, result, submit, wait_done, wav_bytes

PNG = png_bytes(48)
UPLOAD_CAP = 4 * 1024 * 1024  # TALKIES_MAX_UPLOAD_BYTES of the shared server


class _Receiver(BaseHTTPRequestHandler):
    """Webhook receiver (fails the first `fail_first` deliveries) and a tiny file server."""

    received: ClassVar[list[dict]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append(body)
        self.send_response(500 if len(self.received) <= self.fail_first else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(PNG)))
        self.end_headers()
        self.wfile.write(PNG)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "fail_first": 0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", handler
    httpd.shutdown()


def test_python_client_upload_flow_token_then_upload(client: httpx.Client, server) -> None:
    token = client.post("/storage/auth/token", params={"storage_type": "fal-cdn-v3"}, json={}).json()
    assert token["token_type"] == "Bearer" and token["expires_at"].endswith("+00:00")
    r = client.post(
        f"{token['base_url']}/files/upload",
        content=PNG,
        headers={
            "Authorization": f"Bearer {token['token']}",
            "Content-Type": "image/png",
            "X-Fal-File-Name": "my portrait.png",
        },
    )
    url = r.json()["access_url"]
    assert url.startswith(f"{server.url}/files/") and url.endswith("/my_portrait.png")
    assert client.get(url).content == PNG


def test_multipart_upload(client: httpx.Client) -> None:
    start = client.post(
        "/files/upload/multipart", headers={"Content-Type": "audio/wav", "X-Fal-File-Name": "a.wav"}
    )
    access_url, upload_id = start.json()["access_url"], start.json()["uploadId"]
    data = wav_bytes(0.5)
    parts = []
    for number, chunk in ((2, data[1000:]), (1, data[:1000])):
        r = client.put(f"{access_url}/multipart/{upload_id}/{number}", content=chunk)
        parts.append({"partNumber": number, "etag": r.headers["etag"]})
    r = client.post(f"{access_url}/multipart/{upload_id}/complete", json={"parts": parts})
    assert r.json()["access_url"] == access_url
    assert client.get(access_url).content == data


def test_initiate_and_put_then_use_as_input(client: httpx.Client, server) -> None:
    def upload(data: bytes, name: str, content_type: str) -> str:
        r = client.post(
            "/storage/upload/initiate",
            params={"storage_type": "fal-cdn-v3"},
            json={"file_name": name, "content_type": content_type},
        )
        with httpx.Client(verify=str(server.pki.ca)) as bare:  # no credentials, like the JS client
            assert bare.put(r.json()["upload_url"], content=data).status_code == 200
        return r.json()["file_url"]

    image, audio = upload(PNG, "face.png", "image/png"), upload(wav_bytes(), "voice.wav", "audio/wav")
    done = wait_done(client, submit(client, {"image_url": image, "audio_url": audio}))
    assert "error" not in done


def test_multipart_initiate_for_js(client: httpx.Client) -> None:
    r = client.post("/storage/upload/initiate-multipart", json={"file_name": "big.bin"}).json()
    upload_url = r["upload_url"]
    etags = [client.put(f"{upload_url}/{n}", content=bytes([n]) * 10).json() for n in (1, 2)]
    assert [e["partNumber"] for e in etags] == [1, 2]
    client.post(f"{upload_url}/complete", json={"parts": etags})
    assert client.get(r["file_url"]).content == b"\x01" * 10 + b"\x02" * 10


def test_upload_is_capped(client: httpx.Client) -> None:
    too_big = b"x" * (UPLOAD_CAP + 1)
    r = client.post("/files/upload", content=too_big)
    assert r.status_code == 413 and f"at most {UPLOAD_CAP}" in r.json()["detail"]
    r = client.post("/files/upload", content=iter([too_big[:UPLOAD_CAP], b"y"]))  # chunked, no length
    assert r.status_code == 413 and f"larger than {UPLOAD_CAP} bytes" in r.json()["detail"]


def test_expired_upload_url_is_refused(client: httpx.Client) -> None:
    r = client.put("/uploads/" + "0" * 32, content=b"x")
    assert r.status_code == 404


def test_input_fetched_from_url(client: httpx.Client, receiver, audio_uri: str) -> None:
    base, _ = receiver
    done = wait_done(client, submit(client, {"image_url": f"{base}/face.png", "audio_url": audio_uri}))
    assert "error" not in done, done


def test_input_url_redirecting_to_metadata_address_fails_the_job(
    client: httpx.Client, receiver, audio_uri
) -> None:
    base, _ = receiver
    image = f"{base}/redirect?to=http://169.254.169.254/latest/meta-data/"
    done = wait_done(client, submit(client, {"image_url": image, "audio_url": audio_uri}))
    assert done["error_type"] == "file_download_error" and "169.254.169.254" in done["error"]
    r = result(client, done["request_id"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "image_url"]


def test_webhook_is_retried_until_delivered(client: httpx.Client, receiver, inputs: dict) -> None:
    base, handler = receiver
    handler.fail_first = 2
    request_id = submit(client, inputs, params={"fal_webhook": f"{base}/hook"})
    wait_done(client, request_id)
    deadline = time.monotonic() + 10
    while len(handler.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(handler.received) == 3
    hook = handler.received[-1]
    assert hook["request_id"] == request_id and hook["status"] == "OK" and hook["error"] is None
    assert hook["payload"]["video"]["content_type"] == "video/mp4"
    time.sleep(0.5)
    assert len(handler.received) == 3, "no delivery after a success"


def test_webhook_of_failed_job(client: httpx.Client, receiver, inputs: dict) -> None:
    base, handler = receiver
    request_id = submit(client, {**inputs, "prompt": "input_error"}, params={"fal_webhook": f"{base}/hook"})
    wait_done(client, request_id)
    deadline = time.monotonic() + 10
    while not handler.received and time.monotonic() < deadline:
        time.sleep(0.05)
    hook = handler.received[0]
    assert hook["status"] == "ERROR" and hook["error"] == "Invalid status code: 422"
    assert hook["payload"]["detail"][0]["loc"] == ["body", "image_url"]


def test_webhook_to_private_address_is_refused_at_submit(client: httpx.Client, inputs: dict) -> None:
    r = client.post(f"/queue/{V15}", json=inputs, params={"fal_webhook": "http://192.168.1.10/hook"})
    assert r.status_code == 400 and "private" in r.json()["detail"]

"""Interop with the unmodified official Python client (fal-client 1.0.3) against `talkies serve`.

The client is pointed at the server the documented way (fal-protocol.md §6): FAL_RUN_HOST and
FAL_QUEUE_RUN_HOST (read once at import, so each scenario runs in a fresh interpreter), a test
CA in SSL_CERT_FILE (the client only speaks https), and for `upload_file`, whose hosts
(rest.fal.ai, v3.fal.media) are hard-coded, an HTTPS proxy that tunnels every CONNECT to the
server (recipe B). The scenario scripts print one JSON line that the tests check.
"""

from __future__ import annotations

import json
import os
import select
import socket
import socketserver
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import V15, png_bytes, wav_bytes
from .servers import Pki, Server

pytest.importorskip("fal_client")


class _Tunnel(socketserver.BaseRequestHandler):
    """CONNECT host:443 -> the server's TLS port, whatever the host (recipe B)."""

    target: tuple[str, int]

    def handle(self) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            head += chunk
        if not head.startswith(b"CONNECT "):
            self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        with socket.create_connection(self.target) as upstream:
            self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            _pipe(self.request, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    while True:
        readable, _, _ = select.select(list(peers), [], [], 30)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                return
            peers[sock].sendall(data)


@pytest.fixture(scope="module")
def proxy(server: Server) -> Iterator[str]:
    handler = type("Tunnel", (_Tunnel,), {"target": ("127.0.0.1", server.port)})
    tunnel = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    tunnel.daemon_threads = True
    threading.Thread(target=tunnel.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{tunnel.server_address[1]}"
    tunnel.shutdown()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("py-client-media")
    (folder / "portrait.png").write_bytes(png_bytes(40))
    (folder / "voice.wav").write_bytes(wav_bytes(1.0))
    return folder


PRELUDE = """
import json, sys, fal_client, httpx
APP = "{app}"
def encoded(name):
    return fal_client.encode_file(MEDIA + "/" + name)
def inputs(**extra):
    return {{"image_url": encoded("portrait.png"), "audio_url": encoded("voice.wav"), **extra}}
def http_error(call):
    try:
        call()
    except fal_client.FalClientHTTPError as e:
        return {{"status": e.status_code, "message": e.message, "error_type": e.error_type}}
    return None
"""


def run_client(server: Server, pki: Pki, media: Path, body: str, proxy: str | None = None) -> dict:
    """Run a scenario with the unmodified client in a fresh interpreter; returns its JSON."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_", "HTTP", "NO_PROXY"))}
    env |= {
        "FAL_KEY": "test-key",
        "SSL_CERT_FILE": str(pki.bundle),
        "FAL_RUN_HOST": server.host,
        "FAL_QUEUE_RUN_HOST": f"{server.host}/queue",
    }
    if proxy:
        env |= {"HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1,localhost"}
    script = f"MEDIA = {str(media)!r}\n" + PRELUDE.format(app=V15) + textwrap.dedent(body)
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"{run.stderr}\n--- server log ---\n{server.log_tail(30)}"
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_subscribe_with_logs(server: Server, pki: Pki, media: Path) -> None:
    out = run_client(
        server,
        pki,
        media,
        """
        updates, logs, enqueued = [], [], []
        def on_update(update):
            updates.append(type(update).__name__)
            logs.extend(line["message"] for line in getattr(update, "logs", None) or [])
        result = fal_client.subscribe(APP, arguments=inputs(prompt="slow 15"), with_logs=True,
                                      on_enqueue=enqueued.append, on_queue_update=on_update)
        video = httpx.get(result["video"]["url"]).content
        print(json.dumps({"updates": updates, "logs": logs, "enqueued": enqueued, "result": result,
                          "downloaded": len(video)}))
    """,
    )
    assert len(out["enqueued"]) == 1 and "InProgress" in out["updates"] and out["updates"][-1] == "Completed"
    assert "analysing portrait" in out["logs"] and "rendering frame 15/15" in out["logs"]
    assert out["result"]["video"]["content_type"] == "video/mp4" and out["result"]["duration"] == 0.6
    assert out["downloaded"] == out["result"]["video"]["file_size"]


def test_submit_status_result_cancel(server: Server, pki: Pki, media: Path) -> None:
    out = run_client(
        server,
        pki,
        media,
        """
        handle = fal_client.submit(APP, arguments=inputs(), priority="low", start_timeout=30, hint="r1")
        result = handle.get()
        status = fal_client.status(APP, handle.request_id, with_logs=True)
        again = fal_client.result(APP, handle.request_id)
        cancel_done = http_error(lambda: handle.cancel())

        slow = fal_client.submit(APP, arguments=inputs(prompt="slow 2000"))
        for event in slow.iter_events(with_logs=True, interval=0.05):
            if isinstance(event, fal_client.InProgress) and event.logs:
                break
        fal_client.cancel(APP, slow.request_id)
        cancelled = http_error(slow.get)
        print(json.dumps({"result": result, "status": type(status).__name__, "metrics": status.metrics,
                          "same": again == result, "cancel_done": cancel_done, "cancelled": cancelled}))
    """,
    )
    assert out["result"]["video"]["url"] and out["same"]
    assert out["status"] == "Completed" and out["metrics"]["inference_time"] >= 0
    assert out["cancel_done"]["status"] == 400
    assert out["cancelled"]["status"] == 499 and out["cancelled"]["error_type"] == "client_cancelled"


def test_upload_file_through_the_hard_coded_hosts(server: Server, pki: Pki, media: Path, proxy: str) -> None:
    out = run_client(
        server,
        pki,
        media,
        """
        image_url = fal_client.upload_file(MEDIA + "/portrait.png")
        audio_url = fal_client.upload_file(MEDIA + "/voice.wav")
        result = fal_client.subscribe(APP, arguments={"image_url": image_url, "audio_url": audio_url})
        print(json.dumps({"image_url": image_url, "result": result}))
    """,
        proxy=proxy,
    )
    assert out["image_url"].startswith("https://v3.fal.media/files/") and out["image_url"].endswith(
        "/portrait.png"
    )
    assert out["result"]["video"]["file_size"] > 0


def test_run(server: Server, pki: Pki, media: Path) -> None:
    out = run_client(
        server,
        pki,
        media,
        """
        print(json.dumps(fal_client.run(APP, arguments=inputs())))
    """,
    )
    assert out["video"]["content_type"] == "video/mp4"


def test_validation_errors_are_422(server: Server, pki: Pki, media: Path) -> None:
    out = run_client(
        server,
        pki,
        media,
        """
        engine = http_error(lambda: fal_client.subscribe(APP, arguments=inputs(prompt="input_error")))
        schema = http_error(lambda: fal_client.submit(APP, arguments={"image_url": encoded("portrait.png")}))
        print(json.dumps({"engine": engine, "schema": schema}))
    """,
    )
    assert out["engine"]["status"] == 422
    assert out["engine"]["message"][0]["loc"] == ["body", "image_url"]
    assert out["engine"]["message"][0]["type"] == "face_detection_error"
    assert out["schema"]["status"] == 422 and out["schema"]["message"][0]["loc"] == ["body", "audio_url"]


def test_upload_file_with_the_storage_constants_pointed_here(server: Server, pki: Pki, media: Path) -> None:
    """The README's recipe for upload_file without a proxy: the two module constants."""
    out = run_client(
        server,
        pki,
        media,
        f"""
        import fal_client.client as C
        C.REST_URL = C.CDN_URL = "{server.url}"
        image_url = fal_client.upload_file(MEDIA + "/portrait.png")
        args = {{"image_url": image_url, "audio_url": encoded("voice.wav")}}
        result = fal_client.subscribe(APP, arguments=args)
        print(json.dumps({{"image_url": image_url, "result": result}}))
    """,
    )
    assert out["image_url"].startswith(server.url + "/files/") and out["image_url"].endswith("/portrait.png")
    assert out["result"]["video"]["file_size"] > 0

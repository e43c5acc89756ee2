"""Helpers of the service tests: tiny media files and the queue protocol's calls."""

from __future__ import annotations

import base64
import io
import math
import struct
import time
import wave

import httpx
from PIL import Image

V15 = "fal-ai/bytedance/omnihuman/v1.5"
V1 = "fal-ai/bytedance/omnihuman"
APP = "fal-ai/bytedance"


def png_bytes(size: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 150, 120)).save(buf, "PNG")
    return buf.getvalue()


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A 220 Hz tone, 16-bit mono."""
    n = int(seconds * rate)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 220 * i / rate))) for i in range(n)
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return buf.getvalue()


def data_uri(data: bytes, content_type: str) -> str:
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


# ---- protocol helpers ---------------------------------------------------------------------


def submit(client: httpx.Client, body: dict, headers: dict | None = None, params: dict | None = None) -> str:
    r = client.post(f"/queue/{V15}", json=body, headers=headers or {}, params=params or {})
    assert r.status_code == 200, r.text
    return r.json()["request_id"]


def status(client: httpx.Client, request_id: str, logs: bool = False) -> dict:
    r = client.get(f"/queue/{APP}/requests/{request_id}/status", params={"logs": int(logs)})
    assert r.status_code in (200, 202), r.text
    return r.json()


def wait_done(client: httpx.Client, request_id: str, timeout_s: float = 30) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = status(client, request_id, logs=True)
        if body["status"] == "COMPLETED":
            return body
        time.sleep(0.05)
    raise TimeoutError(f"{request_id} not completed in {timeout_s} s: {body}")


def wait_status(client: httpx.Client, request_id: str, wanted: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = status(client, request_id, logs=True)
        if body["status"] == wanted:
            return body
        time.sleep(0.02)
    raise TimeoutError(f"{request_id} never {wanted}: {body}")


def result(client: httpx.Client, request_id: str) -> httpx.Response:
    return client.get(f"/queue/{APP}/requests/{request_id}")

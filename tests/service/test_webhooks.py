"""Webhooks as fal sends them: a receiver verifies each delivery's ED25519 signature against the
server's JWKS, exactly as fal's docs tell receivers to (so a tampered body fails), and the retry
schedule spans fal's two hours."""

from __future__ import annotations

import base64
import hashlib
import itertools
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from talkies.service import gate, webhooks
from talkies.service.settings import Settings

from .helpers import V15, submit, wait_done


class _Recorder(BaseHTTPRequestHandler):
    deliveries: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, type[_Recorder]]]:
    handler = type("Recorder", (_Recorder,), {"deliveries": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", handler
    httpd.shutdown()


def verify(headers: dict[str, str], body: bytes, jwks: dict) -> bool:
    """A receiver's check, written from fal's documentation (not from the server's code)."""
    timestamp = headers["x-fal-webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > 300:
        return False
    message = "\n".join(
        [
            headers["x-fal-webhook-request-id"],
            headers["x-fal-webhook-user-id"],
            timestamp,
            hashlib.sha256(body).hexdigest(),
        ]
    ).encode()
    signature = bytes.fromhex(headers["x-fal-webhook-signature"])
    for jwk in jwks["keys"]:
        if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
            continue
        raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
        try:
            Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
            return True
        except InvalidSignature:
            continue
    return False


def test_delivery_verifies_against_the_jwks_and_a_tampered_body_does_not(
    client: httpx.Client, recorder, inputs: dict
) -> None:
    url, handler = recorder
    request_id = submit(client, inputs, params={"fal_webhook": url})
    wait_done(client, request_id)
    deadline = time.monotonic() + 10
    while not handler.deliveries and time.monotonic() < deadline:
        time.sleep(0.05)
    headers, body = handler.deliveries[0]
    jwks = client.get("/.well-known/jwks.json").json()
    assert headers["x-fal-webhook-request-id"] == request_id
    assert verify(headers, body, jwks)
    assert not verify(headers, body.replace(b'"OK"', b'"ERROR"', 1), jwks), "tampered body must fail"
    assert not verify({**headers, "x-fal-webhook-request-id": "someone-else"}, body, jwks)


def test_jwks_needs_no_key_and_is_a_key_set(client: httpx.Client) -> None:
    assert gate.scope_of("GET", "/.well-known/jwks.json") == "public"
    r = client.get("/.well-known/jwks.json")
    assert r.status_code == 200
    (key,) = r.json()["keys"]
    assert (
        key["kty"] == "OKP"
        and key["crv"] == "Ed25519"
        and len(base64.urlsafe_b64decode(key["x"] + "=")) == 32
    )


def test_retry_schedule_spans_two_hours_in_ten_tries() -> None:
    times = webhooks.schedule_s(Settings())
    assert len(times) == 10, "fal: 10 tries"
    assert times[-1] >= 2 * 3600, f"last try {times[-1] / 60:.0f} min after the first"
    assert times[-1] < 2.5 * 3600
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert gaps == sorted(gaps) and gaps[0] == 15


def test_refused_webhook_host_names_the_cli_options(client: httpx.Client, inputs: dict) -> None:
    r = client.post(f"/queue/{V15}", json=inputs, params={"fal_webhook": "http://192.168.1.10/hook"})
    assert r.status_code == 400
    detail = r.json()["detail"]
    assert "--fetch-allow" in detail and "--allow-private-urls" in detail and "fetch_allow" not in detail

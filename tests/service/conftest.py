"""Fixtures of the service tests: the test CA, the shared `talkies serve` process (fake
engines from fakes.py, TLS, two workers), a client for it, and tiny media as data: URIs."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .helpers import data_uri, png_bytes, wav_bytes
from .servers import Pki, Server, make_pki
from .test_js_client import node_project  # noqa: F401  (the npm-installed JS client, for the playground too)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Server]:
    """The shared server: TLS, fake engines, two workers, private fetches allowed from 127.0.0.1
    (the tests' own file servers)."""
    env = {
        "TALKIES_WORKERS": "2",
        "TALKIES_FETCH_ALLOW": "127.0.0.1/32",
        "TALKIES_MAX_UPLOAD_BYTES": str(4 << 20),
    }
    running = Server(tmp_path_factory.mktemp("shared-server"), pki, env).start()
    yield running
    running.close()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


# ---- small media ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def image_uri() -> str:
    return data_uri(png_bytes(), "image/png")


@pytest.fixture(scope="session")
def audio_uri() -> str:
    return data_uri(wav_bytes(), "audio/wav")


@pytest.fixture
def inputs(image_uri: str, audio_uri: str) -> dict[str, str]:
    return {"image_url": image_uri, "audio_url": audio_uri}

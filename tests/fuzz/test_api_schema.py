"""Schemathesis against the running server's own OpenAPI schema: every operation with
generated valid and invalid input (paths, queries, headers, bodies), with a key, without one
and with the wrong kind of token. Properties: no 5xx, every answer within REQUEST_BOUND_S,
and no route that needs a key or token answers a request that lacks it with anything but 401.

Bounded for CI: FUZZ_EXAMPLES per operation and mode (set TALKIES_FUZZ_EXAMPLES for a soak).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings

from talkies.service import auth, gate
from talkies.service.settings import Settings

from .conftest import KEY, REQUEST_BOUND_S, TALLY, FuzzServer

FUZZ_EXAMPLES = int(os.environ.get("TALKIES_FUZZ_EXAMPLES", "40"))
CONFIG = schemathesis.Config.from_dict({"generation": {"mode": "all", "max-examples": FUZZ_EXAMPLES}})


def _app_schema() -> dict:
    """The schema the server serves at /openapi.json (built from the app here, at collection
    time, so the operations become test ids; test_the_schema_is_the_served_one checks it)."""
    from talkies.service.app import create_app

    folder = Path(tempfile.mkdtemp(prefix="talkies-fuzz-schema-"))
    try:
        return create_app(Settings(data_dir=folder), maintain=False).openapi()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


SCHEMA = _app_schema()
schema = schemathesis.openapi.from_dict(SCHEMA, config=CONFIG)


def test_the_schema_is_the_served_one(fuzz_server: FuzzServer) -> None:
    assert httpx.get(f"{fuzz_server.url}/openapi.json").json() == SCHEMA


@pytest.fixture(scope="module")
def upload_token(fuzz_server: FuzzServer) -> str:
    r = httpx.post(f"{fuzz_server.url}/storage/auth/token", headers={"Authorization": f"Key {KEY}"}, json={})
    return r.json()["token"]


@pytest.fixture(scope="module")
def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False  # no proxies: 127.0.0.1 only
    return s


FUZZ = settings(deadline=None, suppress_health_check=list(HealthCheck), max_examples=FUZZ_EXAMPLES)


def _call(case: schemathesis.Case, session: requests.Session, fuzz_server: FuzzServer, **headers: str):
    started = time.monotonic()
    response = case.call(
        base_url=fuzz_server.url, session=session, headers=headers, timeout=REQUEST_BOUND_S + 5
    )
    elapsed = time.monotonic() - started
    TALLY.record(f"{case.method} {case.formatted_path}", response.status_code, elapsed)
    return response, elapsed


@schema.parametrize()
@FUZZ
def test_no_server_error_and_no_hang_with_a_key(case, session, fuzz_server: FuzzServer) -> None:
    response, elapsed = _call(case, session, fuzz_server, Authorization=f"Key {KEY}")
    assert response.status_code < 500, response.text[:500]
    assert elapsed < REQUEST_BOUND_S
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        assert "detail" in response.json(), "errors use fal's `detail` shape"


@schema.parametrize()
@FUZZ
def test_no_route_accepts_a_missing_or_wrong_credential(
    case, session, fuzz_server: FuzzServer, upload_token: str
) -> None:
    path = urlsplit(fuzz_server.url + case.formatted_path).path
    needs = gate.scope_of(case.method.upper(), path)
    for header in ({}, {"Authorization": f"Bearer {upload_token}"}, {"Authorization": "Key"}):
        response, _ = _call(case, session, fuzz_server, **header)
        assert response.status_code < 500, response.text[:500]
        bearer_fits = needs == auth.UPLOAD and header.get("Authorization", "").startswith("Bearer")
        if needs in (auth.API, auth.UPLOAD) and not bearer_fits and response.status_code != 401:
            TALLY.forbidden_accepted.append(f"{case.method} {path} {header} -> {response.status_code}")
            pytest.fail(f"{case.method} {path} with {header or 'no credential'} got {response.status_code}")

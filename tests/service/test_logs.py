"""The server log: one line per HTTP request and per finished or failed job, with the fal
request id, endpoint, status and duration; JSON lines on request, and nothing else in them
(no native library chatter); a busy port is one clear line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .helpers import V15, submit, wait_done
from .servers import Server


def _lines_with(server: Server, text: str, timeout_s: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [line for line in server.log_tail(10_000).splitlines() if text in line]
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"no log line with {text!r}:\n{server.log_tail()}")


def test_failed_job_leaves_a_line_with_its_request_id_and_error_type(
    server: Server, client: httpx.Client, inputs: dict
) -> None:
    request_id = submit(client, {**inputs, "prompt": "engine_error"})
    done = wait_done(client, request_id)
    assert done["error_type"] == "internal_error"
    (line,) = [line for line in _lines_with(server, request_id) if "event=job" in line]
    assert "status=ERROR" in line and "error_type=internal_error" in line and f"endpoint={V15}" in line
    assert "duration_s=" in line and "http_status=500" in line
    requests = [line for line in _lines_with(server, request_id) if "event=request" in line]
    assert any(f"POST /queue/{V15} 200" in line for line in requests), "the submit's request line"


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("json-log"), env={"TALKIES_LOG_FORMAT": "json"}).start()
    yield running
    running.close()


def test_json_lines_carry_the_fields_and_every_line_is_json(json_server: Server, inputs: dict) -> None:
    with json_server.client() as c:
        request_id = submit(c, inputs)
        wait_done(c, request_id)
    _lines_with(json_server, '"event": "job"')
    entries = [json.loads(line) for line in json_server.log_tail(10_000).splitlines() if line.strip()]
    (job,) = [e for e in entries if e.get("event") == "job" and e.get("request_id") == request_id]
    assert job["status"] == "OK" and job["endpoint"] == V15 and job["duration_s"] >= 0
    polls = [e for e in entries if e.get("event") == "request" and e.get("request_id") == request_id]
    assert {e["http_status"] for e in polls} >= {200} and all("duration_s" in e for e in polls)
    started = " ".join(e["message"] for e in entries)
    assert f"serving {json_server.url}" in started
    assert (
        f"FAL_RUN_HOST=127.0.0.1:{json_server.port} FAL_QUEUE_RUN_HOST=127.0.0.1:{json_server.port}/queue"
        in started
    )


def test_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "talkies", "serve", "--port", str(port), "--data-dir", str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines == [
        f"talkies: error: port {port} on 127.0.0.1 is already in use (another talkies serve?); "
        "stop it or choose another with --port (0 picks a free one)"
    ], done.stderr

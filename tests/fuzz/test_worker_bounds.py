"""Hostile inputs by URL through a real `talkies serve` (fake engine, one worker) from a
hostile origin on 127.0.0.1: compression bombs, a long many-channel file, trickles, slow
redirect chains, redirects to other schemes. Every job ends within JOB_BOUND_S with a clear
error type, the worker's peak RSS grows by less than 50 MB over all of them, and no scratch
file is left behind."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import encode_audio, tone
from service.helpers import data_uri, png_bytes, submit, wait_done, wav_bytes
from service.origin import Origin, running_origin
from service.servers import Server

from .conftest import TALLY

FETCH_TIMEOUT_S = 4.0
JOB_BOUND_S = FETCH_TIMEOUT_S + 6.0  # the fetch deadline plus queueing and the fake engine


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    with running_origin() as running:
        # 10 minutes of 5.1 audio (FLAC, small: a pure tone); the endpoint allows 30 s.
        running.files["long"] = (encode_audio(tone(600.0, 8000, channels=6), 8000, "flac"), "audio/flac")
        yield running


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "TALKIES_WORKERS": "1",
        "TALKIES_FETCH_ALLOW": "127.0.0.1/32",
        "TALKIES_MAX_FETCH_BYTES": str(20 << 20),
        "TALKIES_FETCH_TIMEOUT_S": str(FETCH_TIMEOUT_S),
    }
    running = Server(tmp_path_factory.mktemp("fuzz-worker"), env=env).start()
    yield running
    running.close()


CASES = {
    "bomb-image": ("image_url", "/bomb?mb=300", "file_download_error"),
    "bomb-audio": ("audio_url", "/bomb?mb=300", "file_download_error"),
    "long-audio": ("audio_url", "/bytes?name=long", "audio_duration_error"),
    "trickle-headers": ("image_url", "/trickle-headers?every=0.3", "file_download_error"),
    "trickle-body": ("audio_url", "/trickle-body?every=0.3", "file_download_error"),
    "slow-redirects": ("image_url", "/chain/5?delay=1.5", "file_download_error"),
    "redirect-data": ("image_url", "/redirect?to=data:image/png;base64,AAAA", "file_download_error"),
    "redirect-js": ("audio_url", "/redirect?to=javascript:alert(1)", "file_download_error"),
    "redirect-bad-port": ("image_url", "/redirect?to=http://127.0.0.1:99999/", "file_download_error"),
    "redirect-octal": ("image_url", "/redirect?to=http://0177.0.0.1/", "file_download_error"),
}


def test_hostile_origin_jobs_end_in_bounds(server: Server, origin: Origin) -> None:
    consumer = json.loads((server.data_dir / "server.json").read_text())["consumer_pid"]
    deadline = time.monotonic() + 30
    while not (workers := [p for p in _children(consumer) if p != consumer]) and time.monotonic() < deadline:
        time.sleep(0.1)
    base = {"image_url": data_uri(png_bytes(), "image/png"), "audio_url": data_uri(wav_bytes(), "audio/wav")}
    origin.files["wav"] = (wav_bytes(), "audio/wav")
    outcomes = {}
    with server.client() as c:
        # A benign job by URL first: what the worker imports on its first fetch is not growth.
        warm = submit(c, {"image_url": origin.url("/png"), "audio_url": origin.url("/bytes?name=wav")})
        assert wait_done(c, warm).get("error") is None
        before = {pid: _peak_rss_kb(pid) for pid in workers}
        for name, (field, path, expected) in CASES.items():
            started = time.monotonic()
            job = submit(c, {**base, field: origin.url(path), "resolution": "1080p"})
            done = wait_done(c, job, timeout_s=JOB_BOUND_S * 2)
            took = time.monotonic() - started
            peak_mb = max((_peak_rss_kb(pid) - kb) / 1024 for pid, kb in before.items())
            outcomes[name] = (done.get("error_type"), round(took, 1), round(peak_mb, 1))
            TALLY.record(f"job {name}", 200, 0.0)
            assert done.get("error_type") == expected, (name, done)
            assert took < JOB_BOUND_S, f"{name} took {took:.1f} s"
    grown_mb = max(
        (_peak_rss_kb(pid) - kb) / 1024 for pid, kb in before.items() if Path(f"/proc/{pid}").exists()
    )
    print(f"worker peak RSS growth {grown_mb:.1f} MB; outcomes {outcomes}")
    assert grown_mb < 50, f"the worker's peak RSS grew by {grown_mb:.0f} MB"
    scratch = server.data_dir / "tmp"
    assert not scratch.exists() or list(scratch.iterdir()) == []

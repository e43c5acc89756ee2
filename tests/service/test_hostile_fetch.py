"""The input fetcher against a hostile origin on 127.0.0.1: bounded in time and memory, every
failure a FetchError naming the field (never another exception), cancel honoured mid-download;
webhook delivery errors of every kind counted as attempts."""

from __future__ import annotations

import resource
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpcore
import pytest

from talkies.errors import Cancelled
from talkies.service import fetch, webhooks
from talkies.service.context import Context
from talkies.service.errors import FetchError, success
from talkies.service.fetch import Guard
from talkies.service.settings import Settings
from talkies.service.store import NewJob

from .origin import PNG, Origin, running_origin

LOCAL = Guard(allow=("127.0.0.1/32",))


@pytest.fixture(scope="module")
def origin() -> Iterator[Origin]:
    with running_origin() as running:
        yield running


def _timed_fetch(
    url: str, timeout_s: float, max_bytes: int = 20 << 20, **kw
) -> tuple[float, BaseException | bytes]:
    started = time.monotonic()
    try:
        outcome: BaseException | bytes = fetch.fetch(url, "image_url", LOCAL, max_bytes, timeout_s, **kw)
    except (FetchError, Cancelled) as e:
        outcome = e
    return time.monotonic() - started, outcome


def test_trickled_headers_end_at_the_overall_deadline(origin: Origin) -> None:
    took, outcome = _timed_fetch(origin.url("/trickle-headers?every=0.3"), timeout_s=2)
    assert isinstance(outcome, FetchError) and "timed out" in outcome.message and outcome.field == "image_url"
    assert took < 3.5, f"a 2 s deadline took {took:.1f} s"


def test_trickled_body_ends_at_the_overall_deadline(origin: Origin) -> None:
    took, outcome = _timed_fetch(origin.url("/trickle-body?every=0.2"), timeout_s=2)
    assert isinstance(outcome, FetchError) and "timed out" in outcome.message
    assert took < 3.5


def test_slow_redirects_count_against_one_deadline(origin: Origin) -> None:
    took, outcome = _timed_fetch(origin.url("/chain/5?delay=1.2"), timeout_s=2.5)
    assert isinstance(outcome, FetchError) and "timed out" in outcome.message
    assert took < 4.0, f"5 redirects of 1.2 s with a 2.5 s deadline took {took:.1f} s"


def test_redirects_within_the_deadline_are_followed(origin: Origin) -> None:
    _, outcome = _timed_fetch(origin.url("/chain/3?delay=0.05"), timeout_s=5)
    assert outcome == PNG


def test_gzip_bomb_stops_at_the_size_cap(origin: Origin) -> None:
    # 300 MB of zeros gzipped twice: about 1 kB on the wire (built on request, streaming).
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _, outcome = _timed_fetch(origin.url("/bomb?mb=300"), timeout_s=20, max_bytes=20 << 20)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert isinstance(outcome, FetchError) and "larger than 20971520 bytes" in outcome.message
    assert grown_mb < 50, f"peak RSS grew by {grown_mb:.0f} MB inflating a bomb"


@pytest.mark.parametrize(
    "target",
    [
        "data:image/png;base64,iVBORw0KGgo=",
        "javascript:alert(1)",
        "ftp://127.0.0.1/x",
        "http://[",
        "http://h:99999/",
    ],
)
def test_redirect_to_a_non_http_target_is_a_fetch_error(origin: Origin, target: str) -> None:
    _, outcome = _timed_fetch(origin.url(f"/redirect?to={target}"), timeout_s=5)
    assert isinstance(outcome, FetchError) and "redirects to" in outcome.message


@pytest.mark.parametrize(
    "url",
    [
        "http://0177.0.0.1/",
        "http://2130706433/",
        "http://ｌｏｃａｌｈｏｓｔ/",
        "http://xn--/",
        "http://a\x00b/",
        "http://host/\ud800",
        "http://" + "a" * 70000 + ".com/",
    ],
)
def test_hostile_urls_are_fetch_errors(url: str) -> None:
    with pytest.raises(FetchError) as caught:
        fetch.fetch(url, "audio_url", Guard(), 1000, 2)
    assert caught.value.field == "audio_url"


def test_cancel_during_a_download_stops_it_within_half_a_second(origin: Origin) -> None:
    cancelled = threading.Event()
    threading.Timer(0.5, cancelled.set).start()
    took, outcome = _timed_fetch(origin.url("/trickle-body?every=0.2"), timeout_s=30, stop=cancelled.is_set)
    assert isinstance(outcome, Cancelled)
    assert took < 1.2


# ---- webhooks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["http://0177.0.0.1:1/", "http://[/", "http://127.0.0.1:1/", "http://h:99999/"]
)
def test_every_webhook_failure_counts_as_an_attempt(tmp_path: Path, url: str) -> None:
    settings = Settings(data_dir=tmp_path, webhook_attempts=2, webhook_backoff_s=0, fetch_allow_private=True)
    ctx = Context.open(settings)
    ctx.store.add(NewJob("j", "e", {"inputs": {}}, webhook_url=url), 0.0)
    ctx.store.finish("j", success({"ok": True}), 1.0)
    for _ in range(2):
        assert webhooks.deliver_due(ctx, time.time() + 60) == 1
    assert webhooks.deliver_due(ctx, time.time() + 3600) == 0, "given up after webhook_attempts"
    messages = [line.message for line in ctx.store.logs("j")]
    assert any("failed 2 times, giving up" in m for m in messages), messages


def test_deadline_passing_between_chunks_is_a_fetch_error() -> None:
    """The deadline check after each chunk (in _read_capped, outside httpx's exception mapping)
    still ends in a FetchError: that check, and only that one, finds the time up. (Counting the
    checks of a first fetch and failing the last one of a second was flaky: how often the
    socket reads wait, and so check the deadline, depends on timing.)"""
    original = fetch.Limits.left_s
    seen = {"after_chunk": 0}

    def deadline_between_chunks(self: fetch.Limits) -> float:
        if sys._getframe(1).f_code.co_name == "_read_capped":
            seen["after_chunk"] += 1
            raise httpcore.ReadTimeout("the overall deadline of the download passed")
        return original(self)

    with running_origin() as origin, pytest.MonkeyPatch.context() as patch:
        assert fetch.fetch(origin.url("/png"), "image_url", LOCAL, 1 << 20, 5) == PNG
        patch.setattr(fetch.Limits, "left_s", deadline_between_chunks)
        with pytest.raises(FetchError, match="timed out"):
            fetch.fetch(origin.url("/png"), "image_url", LOCAL, 1 << 20, 5)
    assert seen["after_chunk"] == 1

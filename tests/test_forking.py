"""Forked helpers (talkies/forking.py): a child never collects the garbage it inherited, and a
helper that says nothing for too long is an error, not a hang."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from talkies import forking, media
from talkies.audio import background
from talkies.errors import EngineError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.skipif(not forking.available(), reason="helpers are forked on Linux only")


@pytest.fixture
def no_collection() -> Iterator[None]:
    """The cyclic garbage collector off for the test (and back as it was after)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _graphs() -> int:
    return sum(type(o).__name__ == "Graph" for o in gc.get_objects())


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def _collect_and_answer(conn: Connection) -> None:
    conn.recv()
    gc.collect()
    conn.send(("done", gc.get_freeze_count()))


def test_a_child_never_collects_what_it_inherited(
    no_collection: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loading audio leaves PyAV's resampler graph in a reference cycle; freeing it joins
    # FFmpeg's slice threads, which the child does not have: collected there, it hangs.
    threads = _threads()
    media.load_audio(str(EXAMPLES / "speech_short.wav"))
    assert _graphs() > 0, "the test needs a filter graph left to the collector"
    if _threads() == threads:  # FFmpeg runs a filter graph on one thread where it has one CPU
        pytest.skip("the filter graph has no threads of its own here: nothing could hang")
    monkeypatch.setattr(forking, "STALL_S", 20.0)
    helper = forking.Helper(_collect_and_answer, "a test helper")
    try:
        assert not gc.isenabled()  # the parent's collector is as it was
        helper.start(None)
        assert helper.wait() > 0  # done, not hung: what it inherited was frozen, not collected
    finally:
        helper.kill()
    gc.collect()  # here it is freed, with its threads
    assert _graphs() == 0


def _answer_whether_collecting(conn: Connection) -> None:
    conn.recv()
    conn.send(("done", gc.isenabled()))


def test_the_collector_stays_on_in_parent_and_child() -> None:
    assert gc.isenabled()
    helper = forking.Helper(_answer_whether_collecting, "a test helper")
    try:
        assert gc.isenabled()
        helper.start(None)
        assert helper.wait() is True
    finally:
        helper.kill()


def test_a_fork_that_fails_leaves_the_collector_on(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork() -> int:
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    with pytest.raises(OSError, match="no more processes"):
        forking.Helper(_answer_whether_collecting, "a test helper")
    assert gc.isenabled()


def test_a_ctrl_c_at_the_moment_of_the_fork_is_ignored_by_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fork = os.fork

    def fork_then_ctrl_c() -> int:
        pid = real_fork()
        if pid == 0:
            try:
                os.kill(os.getpid(), signal.SIGINT)  # as if Ctrl-C came just now
                time.sleep(0.01)  # CPython raises KeyboardInterrupt at its next instruction
            except KeyboardInterrupt:
                os._exit(3)  # it would have unwound the parent's stack in the child
        return pid

    monkeypatch.setattr(os, "fork", fork_then_ctrl_c)
    helper = forking.Helper(_answer_whether_collecting, "a test helper")
    try:
        helper.start(None)
        assert helper.wait() is True
    finally:
        helper.kill()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the parent's own
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_a_ctrl_c_during_the_fork_reaches_the_parent_with_nothing_left_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_fork = os.fork
    forked: list[int] = []

    def fork_then_ctrl_c() -> int:
        pid = real_fork()
        if pid > 0:  # Ctrl-C now, held back until the fork's mask is lifted
            forked.append(pid)
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return pid

    assert threading.current_thread() is threading.main_thread()
    monkeypatch.setattr(os, "fork", fork_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        forking.Helper(_answer_whether_collecting, "a test helper")
    assert gc.isenabled()
    assert not signal.pthread_sigmask(signal.SIG_BLOCK, set()) & {signal.SIGINT, signal.SIGTERM}
    assert forked and not Path(f"/proc/{forked[0]}").exists()  # killed and reaped


def _never_answer(conn: Connection) -> None:
    conn.recv()
    time.sleep(60)


def test_a_helper_that_says_nothing_for_too_long_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking, "STALL_S", 0.5)
    helper = forking.Helper(_never_answer, "a test helper")
    try:
        helper.start(None)
        started = time.monotonic()
        with pytest.raises(EngineError, match=r"a test helper answered nothing for 0\.5 s"):
            helper.wait()
        assert time.monotonic() - started < 5
    finally:
        helper.kill()


def test_a_stuck_speech_analysis_is_an_error_and_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking, "STALL_S", 0.5)
    monkeypatch.setattr(background, "_serve", _never_answer)
    monkeypatch.setattr(background, "_idle", [])
    pending = background.analyse_in_background(media.load_audio(str(EXAMPLES / "speech_short.wav")))
    helper = pending._helper
    assert helper is not None
    with pytest.raises(EngineError, match="answered nothing"):
        pending.result()
    assert not helper.alive()

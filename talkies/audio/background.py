"""Speech analysis in a helper process, beside the portrait analysis on the other core.

    pending = analyse_in_background(voice)   # starts at once
    ...                                       # the portrait, the puppet: this process's core
    speech = pending.result(tick)             # the very SpeechTrack analyze_speech(voice) gives

Why a process: pocketsphinx holds the GIL for the whole of each decoder pass (two threads
decoding at once take longer than one after the other, measured), so a thread would stall
the portrait work instead of running beside it. The helper is forked: it starts in
milliseconds with everything this process imported, and is kept for the next call with its
recogniser loaded (~0.5 s saved per call after the first). One helper per concurrent caller;
a helper whose caller stopped waiting (a cancel, Ctrl-C, an error) is killed, never reused,
so no analysis outlives its job.

The result is the same as in this process: analyze_speech is deterministic, and the helper
resets the decoders before every utterance exactly as it would here. Off Linux (where fork
is unsafe or absent) the analysis runs in this process when `result` is called.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from talkies.audio.decoders import Seg
from talkies.audio.recognize import Task
from talkies.errors import EngineError, TalkiesError
from talkies.tracks import Audio, SpeechTrack

__all__ = ["PendingSpeech", "analyse_in_background"]

_POLL_S = 0.25  # how often a waiting caller checks that its helper is still alive

_idle: list[_Helper] = []
_idle_lock = threading.Lock()


class PendingSpeech:
    """A speech analysis under way; `result` waits for it."""

    def __init__(self, voice: Audio, helper: _Helper | None) -> None:
        self._voice = voice
        self._helper = helper

    def result(self, tick: Callable[[float], None] | None = None) -> SpeechTrack:
        """The SpeechTrack. `tick(share)` is called as the analysis goes (from this thread);
        if it raises (a cancel), the helper is killed and the exception propagates."""
        from talkies.audio import analyze_speech

        report = tick or (lambda share: None)
        helper, self._helper = self._helper, None
        if helper is None:
            return analyze_speech(self._voice, report)
        try:
            track = helper.wait(report)
        except BaseException:
            helper.kill()
            raise
        _give_back(helper)
        return track

    def abandon(self) -> None:
        """Stop the analysis (the caller no longer needs it); safe to call more than once."""
        helper, self._helper = self._helper, None
        if helper is not None:
            helper.kill()


def analyse_in_background(voice: Audio) -> PendingSpeech:
    """Start analysing `voice` in a helper process and return at once."""
    if not sys.platform.startswith("linux"):  # fork is unsafe on macOS, absent on Windows
        return PendingSpeech(voice, None)
    helper = _take()
    helper.start(voice)
    return PendingSpeech(voice, helper)


def _take() -> _Helper:
    with _idle_lock:
        while _idle:
            helper = _idle.pop()
            if helper.alive():
                return helper
            helper.kill()
    return _Helper(_serve)


def _give_back(helper: _Helper) -> None:
    with _idle_lock:
        _idle.append(helper)


class _Helper:
    """One forked process that analyses voices sent to it, one at a time, until its pipe
    closes (this process exited or dropped it). Forked by hand, not by multiprocessing: the
    service's workers are daemonic multiprocessing children, which may not start their own."""

    def __init__(self, serve: Callable[[Connection], None]) -> None:
        ours, theirs = socket.socketpair()
        self._exit_code: int | None = None
        self._pid = os.fork()
        if self._pid == 0:  # the child: serve, then leave without running the parent's exit code
            code = 1
            try:
                ours.close()
                serve(Connection(theirs.detach()))
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self._conn = Connection(ours.detach())

    def alive(self) -> bool:
        if self._exit_code is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self._pid, os.WNOHANG)
                if pid == 0:
                    return True
                self._exit_code = os.waitstatus_to_exitcode(status)
        return False

    def start(self, request: Any) -> None:
        try:
            self._conn.send(request)
        except (OSError, ValueError) as e:
            self.kill()
            raise EngineError(f"cannot reach the speech analysis process: {e}") from e

    def wait(self, tick: Callable[[float], None]) -> Any:
        while True:
            if not self._conn.poll(_POLL_S):
                if not self.alive():
                    raise self._died()
                continue
            try:
                kind, value = self._conn.recv()
            except (EOFError, OSError) as e:
                self.alive()
                raise self._died() from e
            if kind == "tick":
                tick(value)
            elif kind == "done":
                return value
            else:
                raise value

    def _died(self) -> EngineError:
        return EngineError(f"the speech analysis process died (exit code {self._exit_code})")

    def kill(self) -> None:
        """Stop the process (if it still runs) and reap it."""
        with contextlib.suppress(OSError):
            self._conn.close()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._exit_code = -signal.SIGKILL


def _serve(conn: Connection) -> None:
    """The helper's loop (in the forked child)."""
    _close_inherited_sockets(keep=conn.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    from talkies.audio import analyze_speech

    aside = _Aside()
    while True:
        try:
            voice = conn.recv()
        except (EOFError, OSError):
            return
        try:
            track = analyze_speech(voice, lambda share: conn.send(("tick", share)), aside)
            conn.send(("done", track))
        except (EOFError, OSError):
            return
        except Exception as e:  # every failure goes back to the caller
            conn.send(("error", _sendable(e)))


class _Aside:
    """recognize.Aside: a second helper, forked by the first on its first use (when the
    first is killed, its pipe closes and it stops after the pass it is in)."""

    def __init__(self) -> None:
        self._helper: _Helper | None = None
        self._pending = 0

    def submit(self, tasks: list[Task]) -> None:
        if self._helper is None or not self._helper.alive():
            self._helper = _Helper(_serve_passes)
        self._pending = len(tasks)
        self._helper.start(tasks)

    def collect(self) -> Iterator[tuple[int, list[Seg]]]:
        helper = self._helper
        assert helper is not None, "collect() before submit()"
        try:
            for _ in range(self._pending):
                yield helper.wait(lambda share: None)
        except BaseException:
            helper.kill()
            self._helper = None
            raise
        finally:
            self._pending = 0


def _serve_passes(conn: Connection) -> None:
    """The second helper's loop: decoder passes (recognize.Task) in order, each result sent
    back as soon as it is done."""
    _close_inherited_sockets(keep=conn.fileno())
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from talkies.audio.decoders import recogniser
    from talkies.audio.recognize import run_task

    while True:
        try:
            tasks = conn.recv()
        except (EOFError, OSError):
            return
        try:
            for k, task in enumerate(tasks):
                conn.send(("done", (k, run_task(recogniser(), task))))
        except (EOFError, OSError):
            return
        except Exception as e:  # every failure goes back to the caller
            conn.send(("error", _sendable(e)))


def _sendable(error: Exception) -> Exception:
    """The error itself where it survives pickling with its message, else an EngineError."""
    import pickle

    try:
        copy: Any = pickle.loads(pickle.dumps(error))
        if isinstance(copy, TalkiesError) and str(copy) == str(error):
            return error
    except Exception:  # anything unpicklable is described instead
        pass
    return EngineError(f"speech analysis failed: {type(error).__name__}: {error}")


def _close_inherited_sockets(keep: int) -> None:
    """Close the child's copies of the parent's sockets (a server's listening socket, its
    client connections): the helper uses none, and must not keep a port bound or a connection
    open after the parent let go of it. Closing a copy does not touch the parent's."""
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd <= 2 or fd == keep:
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)

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

import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection

from talkies.audio.decoders import Seg
from talkies.audio.recognize import Task
from talkies.forking import Helper, available, sendable
from talkies.tracks import Audio, SpeechTrack

__all__ = ["PendingSpeech", "analyse_in_background"]

_WHAT = "the speech analysis process"

_idle: list[Helper] = []
_idle_lock = threading.Lock()


class PendingSpeech:
    """A speech analysis under way; `result` waits for it."""

    def __init__(self, voice: Audio, helper: Helper | None) -> None:
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
    if not available():
        return PendingSpeech(voice, None)
    helper = _take()
    helper.start(voice)
    return PendingSpeech(voice, helper)


def _take() -> Helper:
    with _idle_lock:
        while _idle:
            helper = _idle.pop()
            if helper.alive():
                return helper
            helper.kill()
    return Helper(_serve, _WHAT)


def _give_back(helper: Helper) -> None:
    with _idle_lock:
        _idle.append(helper)


def _serve(conn: Connection) -> None:
    """The helper's loop (in the forked child)."""
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
            conn.send(("error", sendable(e, "speech analysis")))


class _Aside:
    """recognize.Aside: a second helper, forked by the first on its first use (when the
    first is killed, its pipe closes and it stops after the pass it is in)."""

    def __init__(self) -> None:
        self._helper: Helper | None = None
        self._pending = 0

    def submit(self, tasks: list[Task]) -> None:
        if self._helper is None or not self._helper.alive():
            self._helper = Helper(_serve_passes, _WHAT)
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
            conn.send(("error", sendable(e, "speech analysis")))

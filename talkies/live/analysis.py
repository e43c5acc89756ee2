"""Incremental speech analysis: the speech stage run on short overlapping windows of the audio
that has arrived, in a child process, spliced into one growing SpeechTrack.

Why this way: `audio.analyze_speech` is a batch function (about 0.3 s of CPU per second of
audio, nearly all of it pocketsphinx, which holds the GIL for its whole decode). Run on a
window of the newest STEP_S of audio plus CONTEXT_S of what came before (the recogniser's left
context), in its own process so the renderer keeps its core, it costs about
0.3 * (STEP_S + CONTEXT_S) / STEP_S of one core. The newest window wins from SPLICE_S before
the previous window's end onward: the end of a window is where its recogniser knew least of
what follows. Phones are cut at the splice point and their times made absolute.
"""

from __future__ import annotations

import contextlib
import math
import socket
import subprocess
import sys
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

import numpy as np

from talkies.phones import SILENCE
from talkies.tracks import Audio, Phone, SpeechTrack

if TYPE_CHECKING:  # the parent never loads the speech stage; only the child does
    from talkies.audio.noise import NoiseFloor

RATE = 16_000  # the session's audio, as analysed (mono float32)
HOP_S = 0.01  # the speech stage's envelope hop (audio.frames.HOP_S)
STEP_S = 0.2  # a window is analysed each time this much new audio has come
CONTEXT_S = 0.3  # already analysed audio re-analysed before the new audio
SPLICE_S = 0.1  # of the previous window's end replaced by the next window
NOISE_HISTORY_S, NOISE_EVERY_S, NOISE_MIN_S = 10.0, 1.0, 2.0  # see NoiseHistory
_ENVELOPES = ("loudness", "pitch_hz", "voicing", "openness", "spread", "rounding")
_START_S = 120.0  # the child process imports the engine and loads the recogniser in this


@dataclass(frozen=True)
class Window:
    """One analysed window: its start in the session's audio, seconds, and its track."""

    start_s: float
    track: SpeechTrack


class Analyser:
    """`analyze_speech` in a child process (`python -m talkies.live._analyst`, talking pickles
    over a socket pair: no fork of a threaded server, no re-import of the caller's main);
    one window in flight at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        command = [sys.executable, "-m", "talkies.live._analyst", str(theirs.fileno())]
        self._process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self.busy = False

    def wait_ready(self) -> None:
        """Block until the child has loaded the engine and warmed the recogniser."""
        if self._reply(_START_S) is not None:
            raise RuntimeError("the live speech analysis process did not start")

    def submit(self, start_s: float, samples: np.ndarray) -> None:
        self._conn.send((start_s, samples))
        self.busy = True

    def poll(self, timeout_s: float) -> Window | None:
        """The window in flight, when done within `timeout_s`; None otherwise."""
        if not self.busy or not self._conn.poll(timeout_s):
            return None
        self.busy = False
        return self._reply(0)

    def _reply(self, timeout_s: float):
        if timeout_s and not self._conn.poll(timeout_s):
            raise RuntimeError(f"the live speech analysis process did not answer in {timeout_s:g} s")
        try:
            reply = self._conn.recv()
        except (EOFError, OSError) as e:
            raise RuntimeError(f"the live speech analysis process died ({self._process.poll()})") from e
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._conn.close()
        try:
            self._process.wait(2.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class NoiseHistory:
    """The steady noise of the session, measured on its last NOISE_HISTORY_S of audio, not on
    each window: a window is half a second, often all voice, and the quietest 5% of that is
    speech (12 of speech.wav's 36 windows, and 51 of 340 on 68 s of clean streamed speech,
    called themselves noisy and were "denoised", voice and all). Measured anew every
    NOISE_EVERY_S of audio; no noise is assumed until NOISE_MIN_S has come."""

    def __init__(self) -> None:
        self._audio = np.zeros(0, np.float32)
        self._end_s = 0.0
        self._measured_at_s = -math.inf
        self._floor: NoiseFloor | None = None

    def add(self, start_s: float, samples: np.ndarray) -> None:
        """A window of the session's audio from `start_s` (windows overlap; only what is new
        counts). Digital silence is left out: it says nothing of the noise, and the silence a
        session inserts when its caller stalls would otherwise read as a noise floor of zero
        (no suppression for the next 10 s of a noisy stream)."""
        new = _without_digital_silence(samples[max(0, round((self._end_s - start_s) * RATE)) :])
        self._audio = np.concatenate([self._audio, new])[-round(NOISE_HISTORY_S * RATE) :]
        self._end_s = max(self._end_s, start_s + samples.size / RATE)

    def floor(self) -> NoiseFloor:
        """The noise floor to analyse the next window with: none at all (inf SNR, no spectrum)
        until NOISE_MIN_S of audio has come."""
        from talkies.audio.noise import NoiseFloor, measure_noise

        if self._end_s < NOISE_MIN_S:
            return NoiseFloor(np.zeros(0), math.inf)
        if self._floor is None or self._end_s - self._measured_at_s >= NOISE_EVERY_S:
            self._floor, self._measured_at_s = measure_noise(self._audio), self._end_s
        return self._floor


def _without_digital_silence(x: np.ndarray, shortest_s: float = 0.01) -> np.ndarray:
    """x less its runs of exact zeros of `shortest_s` or longer."""
    from talkies.audio.frames import runs  # the child's: the parent never loads the speech stage

    keep = np.ones(x.size, bool)
    for s, e in runs(x == 0):
        if e - s >= round(shortest_s * RATE):
            keep[s:e] = False
    return x[keep]


def serve(fd: int) -> None:
    """The child: analyse each (start_s, samples) window until None comes (or the parent goes),
    with the session's noise floor (NoiseHistory) and the phone loop alone (`words=False`: on
    windows this short it closes more of the p, b and m, and the analysis took about half the
    CPU: 0.44 s per second of audio against 0.81; with BLAS on one thread, 0.13)."""
    from talkies import blas

    with blas.one_thread():  # this process works beside the renderer's
        _serve(Connection(fd))


def _serve(conn: Connection) -> None:
    from talkies import audio

    t = np.arange(RATE // 2) / RATE
    voiced = (0.3 * np.sign(np.sin(2 * np.pi * 140 * t)) * np.hanning(t.size)).astype(np.float32)
    audio.analyze_speech(Audio(voiced[None, :], RATE))  # loads the recogniser now, not mid-stream
    conn.send(None)
    noise = NoiseHistory()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        start_s, samples = request
        try:
            noise.add(start_s, samples)
            track = audio.analyze_speech(Audio(samples[None, :], RATE), noise=noise.floor(), words=False)
            conn.send(Window(start_s, track))
        except Exception as e:  # the parent raises it
            conn.send(e)


class SplicedSpeech:
    """The session's SpeechTrack so far, grown window by window."""

    def __init__(self) -> None:
        self._env = {name: np.zeros(0, np.float32) for name in _ENVELOPES}
        self._speech = np.zeros(0, bool)
        self._phones: list[Phone] = []
        self._recognised: list[float] = []
        self._last: SpeechTrack | None = None
        self.end_s = 0.0

    def add(self, window: Window) -> None:
        track = window.track
        first = round(window.start_s / HOP_S)
        splice = max(first, len(self._speech) - round(SPLICE_S / HOP_S))
        skip = splice - first
        for name in _ENVELOPES:
            self._env[name] = np.concatenate([self._env[name][:splice], getattr(track, name)[skip:]])
        self._speech = np.concatenate([self._speech[:splice], track.speech[skip:]])
        cut = splice * HOP_S
        kept = [p for p in self._phones if p.start_s < cut - 1e-9]
        if kept and kept[-1].end_s > cut:
            kept[-1] = Phone(kept[-1].label, kept[-1].start_s, cut, kept[-1].confidence)
        for p in track.phones:
            start, end = p.start_s + window.start_s, p.end_s + window.start_s
            if end > cut + 1e-9:
                kept.append(Phone(p.label, max(start, cut), end, p.confidence))
        self._phones = kept
        if np.any(track.speech):
            self._recognised.append(track.recognised)
        self._last = track
        self.end_s = window.start_s + track.duration_s

    def track(self) -> SpeechTrack:
        """Everything analysed so far, as one track starting at the session's t = 0."""
        n = len(self._speech)
        last = self._last
        phones = tuple(self._phones)
        spoken = any(p.label != SILENCE for p in phones)
        return SpeechTrack(
            duration_s=self.end_s,
            hop_s=HOP_S,
            phones=phones if spoken else (),
            loudness=self._env["loudness"],
            pitch_hz=self._env["pitch_hz"],
            voicing=self._env["voicing"],
            openness=self._env["openness"],
            spread=self._env["spread"],
            rounding=self._env["rounding"],
            speech=self._speech,
            language="en" if spoken else "",
            notes=np.zeros(n, bool),
            style="speech",
            snr_db=last.snr_db if last is not None else math.inf,
            denoised=last.denoised if last is not None else False,
            recognised=float(np.mean(self._recognised)) if self._recognised else 0.0,
        )


def window_bounds(analysed_s: float, received_s: float) -> tuple[float, float]:
    """(start_s, end_s) of the next window once `received_s` of audio is in and the windows so
    far reach `analysed_s`: CONTEXT_S of the analysed audio, then everything new."""
    start = max(0.0, analysed_s - CONTEXT_S)
    return round(start / HOP_S) * HOP_S, received_s

"""One live session: a portrait analysed once, audio fed as it arrives, fMP4 fragments out.

The frame loop (a thread of the session) waits for the analysis of each new window of audio
(analysis.py, a child process), plans the motion over everything heard so far with the
session's seed (so blinks, head and breathing continue as one performance), and commits the
frames whose time is at least LOOKAHEAD_S behind the analysed audio: the mouth sees that far
into the sound it is about to make (closures start up to ~120 ms before a p, b or m). The
newly committed frames fade from the previous plan into the new one over the batch, so a plan
that changed its mind (a blink moved, the prompt changed) never jumps. Each frame is rendered,
encoded and handed out at once, with the voice muxed just behind it on the same timeline, so
picture and sound stay in sync however late both are.

The media clock starts with the first audio. When the caller falls behind the clock by more
than STALL_S, silence is inserted so that the face keeps moving at the frame rate (idle
liveliness); audio more than `max_ahead_s` ahead of the clock is refused.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from av.audio.resampler import AudioResampler

from talkies import blas, face, media, motion, render
from talkies.errors import InputError, LiveLimitError, LiveStreamError
from talkies.live.analysis import RATE, STEP_S, Analyser, SplicedSpeech, window_bounds
from talkies.live.fmp4 import FragmentMuxer
from talkies.options import AnimateOptions
from talkies.tracks import MotionTrack, Phone, PortraitRig, SpeechTrack, frame_count

LOOKAHEAD_S = 0.12  # of analysed audio beyond a frame's time before it is committed
STALL_S = 0.3  # the caller may fall this far behind the clock before silence is inserted
AUDIO_LEAD_S = 0.1  # voice muxed ahead of the last frame, so that frame's fragment leaves
PROGRESS_S = 1.0
ENCODE_QUEUE = 4  # rendered frames waiting for the encoder
# A plan covers at most the last PLAN_HORIZON_S of audio, its start moving in ANCHOR_STEP_S.
PLAN_HORIZON_S, ANCHOR_STEP_S = 16.0, 8.0


@dataclass(frozen=True)
class LiveOptions:
    # "720p" or "1080p", as for a file.
    resolution: str = "720p"
    prompt: str = ""
    seed: int = 0
    fps: int = 25
    turbo_mode: bool = False
    # Sample rate of the PCM the caller feeds (mono).
    sample_rate: int = RATE
    # Longest session, seconds of audio; None: the resolution's limit (as for a file).
    max_s: float | None = None
    # How far the caller's audio may run ahead of real time (seconds).
    max_ahead_s: float = 2.0

    def animate_options(self) -> AnimateOptions:
        return AnimateOptions(
            resolution=self.resolution,  # type: ignore[arg-type]
            turbo_mode=self.turbo_mode,
            prompt=self.prompt,
            seed=self.seed,
            fps=self.fps,
            max_audio_s=self.max_s,
        )

    def validate(self) -> None:
        self.animate_options().validate()
        if not isinstance(self.sample_rate, int) or not 8000 <= self.sample_rate <= 48000:
            raise LiveStreamError(
                f"sample_rate is {self.sample_rate!r}; PCM must be 8000 to 48000 Hz", field="sample_rate"
            )


@dataclass(frozen=True)
class Ready:
    """The stream's init segment (ftyp + moov) and its MediaSource type."""

    mime: str
    init: bytes
    width: int
    height: int
    fps: int
    lookahead_s: float


@dataclass(frozen=True)
class Media:
    """fMP4 fragments holding frame `frame` (shown from start_s) and the voice up to it."""

    data: bytes
    frame: int
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Progress:
    received_s: float
    shown_s: float
    latency_ms: float  # median over the last PROGRESS_S


@dataclass(frozen=True)
class Done:
    duration_s: float
    frames: int
    latency_median_ms: float
    latency_p95_ms: float
    lookahead_s: float
    inserted_silence_s: float
    # Seconds spent, in all: waiting for the analysis of windows (submit to reply), planning,
    # rendering, encoding and muxing (where the time went, for the bench).
    timings_s: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    message: str


Output = Ready | Media | Progress | Done | Failed


class LiveSession:
    """Feed audio with `feed` / `feed_pcm`, end it with `finish`; outputs go to `on_output`
    (called from the session's thread) in order: Ready, then Media (and Progress), then Done,
    or Failed. `close` stops the session and releases its thread, process and encoder."""

    def __init__(
        self,
        image: str | bytes,
        options: LiveOptions,
        on_output: Callable[[Output], None],
        mask: str | bytes | None = None,
    ) -> None:
        options.validate()
        self.options = options
        self._emit = on_output
        self._analyser = Analyser()
        try:
            self.rig = _portrait(image, mask, options.resolution)
            self._puppet = render.prepare(self.rig, options.turbo_mode)  # freed with the session
            self._analyser.wait_ready()
        except BaseException:
            self._analyser.close()
            raise
        self._limit_s = options.animate_options().audio_limit_s()
        self._resampler = (
            AudioResampler(format="flt", layout="mono", rate=RATE) if options.sample_rate != RATE else None
        )
        self._audio = np.zeros(round(RATE * (self._limit_s + 1)), np.float32)
        self._received = 0  # samples
        self._arrivals: list[tuple[int, float]] = []  # (end sample, arrival time) per chunk
        self._latencies: list[float] = []
        self._origin: float | None = None  # monotonic time of media t = 0
        self._inserted = 0
        self._ended = self._closed = False
        self._prompt = options.prompt
        self._lock = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="talkies-live", daemon=True)
        self._thread.start()

    # --- the caller's side ----------------------------------------------------------------

    def feed_pcm(self, data: bytes) -> None:
        """PCM s16le mono at options.sample_rate."""
        if len(data) % 2:
            raise LiveStreamError(f"PCM s16le audio comes in whole 2-byte samples; got {len(data)} bytes")
        self.feed(np.frombuffer(data, "<i2").astype(np.float32) / 32768.0)

    def feed_encoded(self, data: bytes) -> None:
        """A self-contained audio file or stream piece that PyAV decodes on its own (a WAV, an
        MP3 run of frames, an Ogg or WebM file ...), at any rate: mixed to mono, resampled."""
        try:
            voice = media.load_audio(data)
        except InputError as e:
            raise LiveStreamError(f"an audio message did not decode: {e.message}") from e
        x = voice.mono()
        if voice.sample_rate != self.options.sample_rate:
            x = _resample(x, voice.sample_rate, self.options.sample_rate)
        self.feed(x)

    def feed(self, samples: np.ndarray) -> None:
        """(n,) float32 mono samples in [-1, 1] at options.sample_rate."""
        x = self._to_rate(np.asarray(samples, np.float32).reshape(-1))
        now = time.monotonic()
        with self._lock:
            if self._ended or self._closed:
                raise LiveStreamError("audio came after the end of the audio")
            end = self._received + x.size
            if end > round(self._limit_s * RATE):
                raise LiveLimitError(
                    f"live audio reached {end / RATE:.1f} s; a {self.options.resolution} session allows "
                    f"at most {self._limit_s:g} s",
                    field="audio",
                )
            if self._origin is None:
                self._origin = now - x.size / RATE
            ahead = end / RATE - (now - self._origin)
            if ahead > self.options.max_ahead_s:
                raise LiveLimitError(
                    f"audio arrives faster than real time: {ahead:.1f} s ahead of the clock; at most "
                    f"{self.options.max_ahead_s:g} s may be buffered",
                    field="audio",
                )
            self._audio[self._received : end] = x
            self._received = end
            self._arrivals.append((end, now))
            self._lock.notify_all()

    def set_prompt(self, prompt: str) -> None:
        """Frames planned from now on follow `prompt` (it fades in over one commit)."""
        replace(self.options, prompt=prompt).validate()
        with self._lock:
            self._prompt = prompt

    def finish(self) -> None:
        """No more audio: the rest is rendered and the stream ends with Done."""
        with self._lock:
            self._ended = True
            self._lock.notify_all()

    def close(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout_s)
        self._analyser.close()
        self._puppet = None  # type: ignore[assignment]
        _return_memory()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _to_rate(self, x: np.ndarray) -> np.ndarray:
        if self._resampler is None or x.size == 0:
            return x
        import av

        frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        frame.sample_rate = self.options.sample_rate
        out = [f.to_ndarray().reshape(-1) for f in self._resampler.resample(frame)]
        return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)

    # --- the frame loop ---------------------------------------------------------------------

    def _run(self) -> None:
        size = self.rig.size
        muxer = FragmentMuxer(size, self.options.fps, RATE, self.options.turbo_mode)
        loop = _Loop(self, muxer)
        try:
            with blas.one_thread():  # shared with the other sessions of this process (blas.py)
                loop.run()
        except Exception as e:  # reported to the caller; the session is over
            self._emit(Failed(f"{type(e).__name__}: {e}"))
        finally:
            if loop.encoding.is_alive():
                loop.stop_encoder()
            muxer.close()

    def _fill_stall(self, now: float) -> None:
        """Insert silence up to STALL_S behind the clock (caller holds the lock); at the
        session's length limit the audio has ended."""
        if self._origin is None or self._ended:
            return
        behind = round((now - self._origin - STALL_S) * RATE)
        limit = round(self._limit_s * RATE)
        if behind > self._received and self._received < limit:
            end = min(behind, limit)
            self._audio[self._received : end] = 0.0
            self._inserted += end - self._received
            self._received = end
            self._ended = end == limit  # a caller silent to the session's end: it is over


class _Loop:
    """The frame loop's state: what has been analysed, planned, rendered and muxed."""

    def __init__(self, session: LiveSession, muxer: FragmentMuxer) -> None:
        self.s, self.muxer = session, muxer
        self.speech = SplicedSpeech()
        self.fps = session.options.fps
        self.committed = 0  # frames handed out
        self.muxed = 0  # samples of voice muxed
        self.previous: _Planned | None = None
        self.ready = False
        self.last_progress = time.monotonic()
        self.timings = {"analysis": 0.0, "plan": 0.0, "render": 0.0, "encode": 0.0}
        self.submitted_at = 0.0
        self.encoder: queue.Queue[tuple[int, np.ndarray, int] | None] = queue.Queue(ENCODE_QUEUE)
        self.encoding = threading.Thread(target=self._encode, name="talkies-live-encode", daemon=True)
        self.encoding.start()

    def stop_encoder(self) -> None:
        self.encoder.put(None)
        self.encoding.join()

    def run(self) -> None:
        s = self.s
        while True:
            with s._lock:
                s._fill_stall(time.monotonic())
                if s._closed:
                    return
                received, ended, prompt = s._received, s._ended, s._prompt
                working = s._analyser.busy or self._submit(received, ended)
                if not working and not ended:
                    s._lock.wait(0.02)
                    continue
            if not working:  # ended, and everything analysed
                if received:
                    self._commit(self.speech.track(), prompt, received, final=True)
                break
            window = s._analyser.poll(0.05)
            if window is None:
                continue
            self.timings["analysis"] += time.monotonic() - self.submitted_at
            self.speech.add(window)
            with s._lock:  # the next window analyses while this one renders
                if not s._analyser.busy:
                    self._submit(s._received, s._ended)
            self._commit(self.speech.track(), prompt, received, final=False)
        self._finish(received)

    def _submit(self, received: int, ended: bool) -> bool:
        """Send the next window when its audio is in. Windows end on a grid of STEP_S of the
        audio (the last one where the audio ends); a window behind the stream takes every
        whole step that is in, so the analysis catches up instead of falling further behind."""
        analysed = round(self.speech.end_s * RATE)
        step = round(STEP_S * RATE)
        end = analysed + (received - analysed) // step * step
        if end <= analysed:
            if not ended or received <= analysed:
                return False
            end = received
        start_s, _ = window_bounds(self.speech.end_s, end / RATE)
        start = round(start_s * RATE)
        self.s._analyser.submit(start / RATE, self.s._audio[start:end].copy())
        self.submitted_at = time.monotonic()
        return True

    def _commit(self, speech: SpeechTrack, prompt: str, received: int, final: bool) -> None:
        if final:
            limit = frame_count(received / RATE, self.fps)
        else:
            limit = math.floor((speech.duration_s - LOOKAHEAD_S) * self.fps) + 1
        if limit <= self.committed:
            return
        options = replace(self.s.options, prompt=prompt).animate_options()
        n_frames = max(limit, frame_count(speech.duration_s, self.fps))
        # The plan covers the audio since the horizon's anchor, not the whole session: its cost
        # stays bounded (a plan of 60 s took ~10x one of 6 s, five times a second).
        anchor = _anchor_s(speech.duration_s)
        first = round(anchor * self.fps)
        started = time.monotonic()
        track = motion.plan(_since(speech, anchor), self.s.rig, n_frames - first, options)
        self.timings["plan"] += time.monotonic() - started
        planned = _Planned(first, track)
        for i, values in enumerate(_faded(self.previous, planned, self.committed, limit), self.committed):
            self._show(i, values, received, final)
        self.previous = planned
        self.committed = limit

    def _show(self, i: int, values: dict[str, float], received: int, final: bool) -> None:
        """Render frame i here; the encoder thread muxes it with the voice up to just past it."""
        started = time.monotonic()
        frame = render.frame_at(self.s._puppet, values)
        self.timings["render"] += time.monotonic() - started
        voice_end = min(received, round(((i + 1) / self.fps + AUDIO_LEAD_S) * RATE))
        self.encoder.put((i, frame, voice_end))

    def _encode(self) -> None:
        """The encoder thread: x264 and the muxer run beside the next frame's render."""
        while (item := self.encoder.get()) is not None:
            i, frame, voice_end = item
            started = time.monotonic()
            self.muxer.add_frame(frame)
            if voice_end > self.muxed:
                self.muxer.add_audio(self.s._audio[self.muxed : voice_end])
                self.muxed = voice_end
            self.timings["encode"] += time.monotonic() - started
            self._hand_out(i)

    def _hand_out(self, i: int) -> None:
        """Emit what the muxer wrote (frame i's fragments) and the latency of the chunks that
        frame shows."""
        s = self.s
        data = self.muxer.take()
        if not self.ready and self.muxer.init is not None:
            w, h = s.rig.size
            s._emit(Ready(self.muxer.mime, self.muxer.init, w, h, self.fps, LOOKAHEAD_S))
            self.ready = True
        now = time.monotonic()
        if data:
            s._emit(Media(data, i, i / self.fps, (i + 1) / self.fps))
        shown = (i + 1) / self.fps
        with s._lock:
            while s._arrivals and s._arrivals[0][0] / RATE <= shown:
                s._latencies.append(now - s._arrivals.pop(0)[1])
            received = s._received
        if now - self.last_progress >= PROGRESS_S:
            self.last_progress = now
            recent = s._latencies[-25:]
            median = 1000 * float(np.median(recent)) if recent else float("nan")
            s._emit(Progress(received / RATE, shown, median))

    def _finish(self, received: int) -> None:
        s = self.s
        self.stop_encoder()
        if self.committed == 0:
            s._emit(Done(0.0, 0, float("nan"), float("nan"), LOOKAHEAD_S, s._inserted / RATE))
            return
        if received > self.muxed:
            self.muxer.add_audio(s._audio[self.muxed : received])
            self.muxed = received
        self.muxer.finish()
        self._hand_out(max(self.committed - 1, 0))
        lat = np.asarray(s._latencies) * 1000
        s._emit(
            Done(
                duration_s=received / RATE,
                frames=self.committed,
                latency_median_ms=float(np.median(lat)) if lat.size else float("nan"),
                latency_p95_ms=float(np.percentile(lat, 95)) if lat.size else float("nan"),
                lookahead_s=LOOKAHEAD_S,
                inserted_silence_s=s._inserted / RATE,
                timings_s={k: round(v, 3) for k, v in self.timings.items()},
            )
        )


@dataclass(frozen=True)
class _Planned:
    """A plan of the session's frames from frame `first` on (track frame 0 is session frame
    `first`)."""

    first: int
    track: MotionTrack

    def reaches(self, i: int) -> bool:
        return self.first <= i < self.first + self.track.n_frames

    def values(self, i: int) -> dict[str, float]:
        return {name: float(curve[i - self.first]) for name, curve in self.track.curves.items()}


def _anchor_s(heard_s: float) -> float:
    """Where a plan of `heard_s` of audio starts: on a grid of ANCHOR_STEP_S, at most
    PLAN_HORIZON_S back (and at least PLAN_HORIZON_S - ANCHOR_STEP_S), so a plan moves its
    start only every ANCHOR_STEP_S and what it plans near its end has that much behind it."""
    steps = math.ceil(max(0.0, heard_s - PLAN_HORIZON_S) / ANCHOR_STEP_S)
    return steps * ANCHOR_STEP_S


def _since(speech: SpeechTrack, start_s: float) -> SpeechTrack:
    """The track from `start_s` on, as a track of its own (time 0 at `start_s`)."""
    if start_s <= 0:
        return speech
    hop = round(start_s / speech.hop_s)
    phones = tuple(
        Phone(p.label, max(p.start_s, start_s) - start_s, p.end_s - start_s, p.confidence)
        for p in speech.phones
        if p.end_s > start_s + 1e-9
    )
    envelopes = {
        name: getattr(speech, name)[hop:]
        for name in ("loudness", "pitch_hz", "voicing", "openness", "spread", "rounding", "speech")
    }
    notes = speech.notes[hop:] if speech.notes.size else speech.notes
    return replace(speech, duration_s=speech.duration_s - start_s, phones=phones, notes=notes, **envelopes)


def _faded(previous: _Planned | None, planned: _Planned, start: int, end: int):
    """Curve values of frames [start, end): the new plan, faded in from the previous one
    across the batch where the previous plan reached (no jump at the batch's first frame)."""
    for i in range(start, end):
        values = planned.values(i)
        if previous is not None and previous.reaches(i):
            w = (i - start + 1) / (end - start)
            before = previous.values(i)
            values = {name: (1 - w) * before.get(name, 0.0) + w * value for name, value in values.items()}
        yield values


def _return_memory() -> None:
    """Hand the session's freed memory back to the system (glibc keeps freed blocks of every
    thread's arena otherwise: a server's RSS would stay at its busiest, measured +190 MB after
    three 720p sessions, all of it returned by this)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _resample(x: np.ndarray, rate: int, to_rate: int) -> np.ndarray:
    resampler = AudioResampler(format="flt", layout="mono", rate=to_rate)
    import av

    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None, :]), format="flt", layout="mono")
    frame.sample_rate = rate
    out = [f.to_ndarray().reshape(-1) for f in [*resampler.resample(frame), *resampler.resample(None)]]
    return np.concatenate(out).astype(np.float32) if out else np.zeros(0, np.float32)


def _portrait(image: str | bytes, mask: str | bytes | None, resolution: str) -> PortraitRig:
    picture = media.load_image(image)
    size = media.output_size(picture.shape[1], picture.shape[0], resolution)
    speaker = media.load_mask(mask) if mask is not None else None
    return face.analyze_portrait(media.resize_image(picture, size), speaker)

"""Stream an audio file through a live session in real time and keep what a viewer saw.

Used by `talkies live` and bench/live.py: the file is cut into `chunk_s` chunks fed at the
pace of the clock (as a microphone would), and the init segment plus every fragment the
session hands out are written, in order, to one MP4 (a fragmented MP4 plays like any other).
"""

from __future__ import annotations

import os
import queue
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from talkies import media
from talkies.errors import EngineError
from talkies.live.session import Done, Failed, LiveOptions, LiveSession, Media, Output, Progress, Ready


@dataclass(frozen=True)
class Recording:
    path: Path
    done: Done
    frames_out: int
    audio_in_s: float
    setup_s: float  # portrait analysis and engine start, before the first chunk
    wall_s: float  # from the first chunk to Done
    fed: tuple[tuple[float, float], ...] = ()  # (audio fed so far in s, monotonic time) per chunk
    shown: tuple[tuple[int, float], ...] = ()  # (frames out so far, monotonic time) per fragment


def record_file(
    image: str | bytes,
    audio: str | Path,
    options: LiveOptions,
    output: str | Path,
    chunk_s: float = 0.02,
    on_progress=None,
) -> Recording:
    """Stream `audio` (any format the file mode reads; its first channel mix, at its own rate)
    through a live session at real-time pace and write the session's stream to `output`."""
    voice = media.load_audio(str(audio), options.animate_options().audio_limit_s())
    mono = voice.mono()
    options = LiveOptions(**{**options.__dict__, "sample_rate": voice.sample_rate})
    outputs: queue.Queue[tuple[Output, float]] = queue.Queue()
    started = time.monotonic()
    session = LiveSession(image, options, lambda out: outputs.put((out, time.monotonic())))
    output = Path(output)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:
        setup_s = time.monotonic() - started
        t0 = time.monotonic()
        step = max(1, round(chunk_s * voice.sample_rate))
        fed: list[tuple[float, float]] = []
        shown: list[tuple[int, float]] = []
        with partial.open("wb") as f:
            for n, at in enumerate(range(0, mono.size, step)):
                _drain(outputs, f, on_progress, shown)
                time.sleep(max(0.0, t0 + n * chunk_s - time.monotonic()))
                session.feed(mono[at : at + step])
                fed.append((min(at + step, mono.size) / voice.sample_rate, time.monotonic()))
            session.finish()
            done = _drain(outputs, f, on_progress, shown, until_done=True)
        os.replace(partial, output)
    finally:
        session.close()
        partial.unlink(missing_ok=True)
    wall_s = time.monotonic() - t0
    return Recording(output, done, done.frames, voice.duration_s, setup_s, wall_s, tuple(fed), tuple(shown))


def _drain(
    outputs: queue.Queue, f, on_progress, shown: list[tuple[int, float]], until_done: bool = False
) -> Done:
    """Write what the session has handed out so far (until Done, with `until_done`)."""
    while True:
        try:
            item, at = outputs.get(timeout=60.0) if until_done else outputs.get_nowait()
        except queue.Empty:
            if until_done:
                raise EngineError("the live session stopped answering") from None
            return Done(0, 0, 0, 0, 0, 0)
        if isinstance(item, Ready):
            f.write(item.init)
        elif isinstance(item, Media):
            f.write(item.data)
            shown.append((item.frame + 1, at))  # when the session handed it out
        elif isinstance(item, Progress) and on_progress is not None:
            on_progress(item)
        elif isinstance(item, Failed):
            raise EngineError(f"the live session failed: {item.message}")
        elif isinstance(item, Done):
            return item

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
    outputs: queue.Queue[Output] = queue.Queue()
    started = time.monotonic()
    session = LiveSession(image, options, outputs.put)
    output = Path(output)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:
        setup_s = time.monotonic() - started
        t0 = time.monotonic()
        step = max(1, round(chunk_s * voice.sample_rate))
        with partial.open("wb") as f:
            for n, at in enumerate(range(0, mono.size, step)):
                _drain(outputs, f, on_progress)
                time.sleep(max(0.0, t0 + n * chunk_s - time.monotonic()))
                session.feed(mono[at : at + step])
            session.finish()
            done, frames = _drain(outputs, f, on_progress, until_done=True)
        os.replace(partial, output)
    finally:
        session.close()
        partial.unlink(missing_ok=True)
    return Recording(output, done, frames, voice.duration_s, setup_s, time.monotonic() - t0)


def _drain(outputs: queue.Queue, f, on_progress, until_done: bool = False) -> tuple[Done, int]:
    frames = 0
    while True:
        try:
            item = outputs.get(timeout=60.0) if until_done else outputs.get_nowait()
        except queue.Empty:
            if until_done:
                raise EngineError("the live session stopped answering") from None
            return Done(0, 0, 0, 0, 0, 0), frames
        if isinstance(item, Ready):
            f.write(item.init)
        elif isinstance(item, Media):
            f.write(item.data)
            frames = item.frame + 1
        elif isinstance(item, Progress) and on_progress is not None:
            on_progress(item)
        elif isinstance(item, Failed):
            raise EngineError(f"the live session failed: {item.message}")
        elif isinstance(item, Done):
            return item, item.frames

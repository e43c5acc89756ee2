"""Tiny fake engines with the signature of talkies.animate, one per path through the service.

Servers under test use `dispatch`, which picks the behaviour from the first word of the prompt,
so one running server can exercise every path: "" -> instant, "slow N" -> N frames of 20 ms,
"playable" (a real 2 s MP4),
"input_error", "engine_error", "crash" (the worker process dies), "crash_once PATH" (dies the
first time, succeeds once PATH exists).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from talkies.errors import NoFaceError
from talkies.pipeline import Progress

FAKE_VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 1000
FRAME_S = 0.02


@dataclass(frozen=True)
class FakeResult:
    path: Path
    duration_s: float


def _size(source) -> int:
    """Inputs are bytes, or paths of files the worker downloaded."""
    return Path(source).stat().st_size if isinstance(source, str | Path) else len(source)


def instant(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    report = progress or (lambda p: None)
    report(Progress("load", 0, 1, "loading inputs"))
    report(Progress("analyse", 0, 2, "analysing portrait"))
    Path(output).write_bytes(FAKE_VIDEO + bytes([_size(image) % 256, _size(sound) % 256, mask is not None]))
    return FakeResult(Path(output), 1.5)


def slow(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    """Renders N frames (N from the prompt "slow N", default 50), reporting each one."""
    words = (options.prompt if options else "").split()
    n = int(words[1]) if len(words) > 1 else 50
    report = progress or (lambda p: None)
    report(Progress("analyse", 0, 2, "analysing portrait"))
    for done in range(1, n + 1):
        time.sleep(FRAME_S)
        report(Progress("render", done, n, f"rendering frame {done}/{n}"))
    Path(output).write_bytes(FAKE_VIDEO)
    return FakeResult(Path(output), n / 25)


def playable(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    """A real 2 s H.264 MP4 (a slowly changing colour) in well under a second: for pages that
    play the result, without the real engine's cost."""
    import av
    import numpy as np

    report = progress or (lambda p: None)
    n = 50
    with av.open(str(output), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 128
        stream.pix_fmt = "yuv420p"
        for i in range(n):
            frame = np.full((128, 128, 3), (60 + 3 * i, 40, 160), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
            report(Progress("render", i + 1, n, f"rendering frame {i + 1}/{n}"))
        for packet in stream.encode():
            container.mux(packet)
    return FakeResult(Path(output), n / 25)


def input_error(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    raise NoFaceError("no face found in image_url (a 16x16 picture); use a photo with a visible face")


def engine_error(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    raise RuntimeError("the fake engine broke")


def crash(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    os._exit(3)


def crash_once(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    marker = Path(options.prompt.split()[1])
    if not marker.exists():
        marker.write_text("crashed once")
        os._exit(3)
    return instant(image, sound, options, output, mask, progress)


ENGINES = {
    "slow": slow,
    "playable": playable,
    "input_error": input_error,
    "engine_error": engine_error,
    "crash": crash,
    "crash_once": crash_once,
}


def dispatch(image, sound, options=None, output="talking.mp4", mask=None, progress=None):
    words = (options.prompt if options else "").split()
    engine = ENGINES.get(words[0] if words else "", instant)
    return engine(image, sound, options, output, mask, progress)

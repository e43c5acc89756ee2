"""Frames drawn by forked helpers (render/forked.py, issue 8): the same frames, in order; a
helper's error or death comes back as an error; a caller that stops early leaves no process;
OpenCV's thread pool is stopped for the fork and back after it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from talkies import face, media, motion, render
from talkies.errors import EngineError
from talkies.options import AnimateOptions
from talkies.render import forked

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SHAPE = (6, 8)


def _draw(values: dict[str, float]) -> np.ndarray:
    return np.full((*SHAPE, 3), int(values["k"]) % 256, np.uint8)


def _values(n: int) -> list[dict[str, float]]:
    return [{"k": float(k)} for k in range(n)]


def _children() -> set[int]:
    me = os.getpid()
    return {int(pid) for pid in Path(f"/proc/{me}/task/{me}/children").read_text().split()}


def _gone(pids: set[int]) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not any(Path(f"/proc/{pid}").exists() for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("helpers", [1, 2, 3])
def test_every_frame_comes_back_in_order_past_the_ring(helpers: int) -> None:
    n = 4 * helpers * 4 + 3  # four times round the ring of slots, and a bit
    frames = list(forked.drawn_in_helpers(_draw, _values(n), SHAPE, helpers))
    assert [int(f[0, 0, 0]) for f in frames] == list(range(n))
    assert all(f.shape == (*SHAPE, 3) and f.dtype == np.uint8 for f in frames)


def test_the_helpers_draw_the_very_frames_of_this_process() -> None:
    picture = media.resize_image(media.load_image(EXAMPLES / "portrait.png"), (360, 360))
    rig = face.analyze_portrait(picture, None)
    puppet = render.prepare(rig)
    n = 12
    track = motion.plan(_speech(), rig, n, AnimateOptions(seed=3))
    here = list(render.frames_of(puppet, track))
    there = list(render.frames_of(puppet, track, parallel=True))
    assert forked.helper_count() >= 2, "these machines have two cores"
    assert len(here) == len(there) == n
    assert all(np.array_equal(a, b) for a, b in zip(here, there, strict=True))


def _speech():
    from talkies import audio

    voice = media.load_audio(EXAMPLES / "speech_short.wav")
    return audio.analyze_speech(voice)


def test_an_error_in_a_helper_comes_back_as_an_error_here() -> None:
    def broken(values: dict[str, float]) -> np.ndarray:
        if values["k"] == 5:
            raise ValueError("no such curve")
        return _draw(values)

    got = []
    with pytest.raises(EngineError, match="rendering failed: ValueError: no such curve"):
        for frame in forked.drawn_in_helpers(broken, _values(20), SHAPE, 2):
            got.append(int(frame[0, 0, 0]))
    assert got == [0, 1, 2, 3, 4]


def test_a_helper_that_dies_is_an_error_and_leaves_no_process() -> None:
    def dies(values: dict[str, float]) -> np.ndarray:
        if values["k"] == 3:
            os._exit(9)
        return _draw(values)

    before = _children()
    with pytest.raises(EngineError, match="a rendering process died"):
        list(forked.drawn_in_helpers(dies, _values(20), SHAPE, 2))
    assert _gone(_children() - before)


def test_a_caller_that_stops_early_leaves_no_process() -> None:
    before = _children()
    frames = forked.drawn_in_helpers(_draw, _values(100), SHAPE, 2)
    next(frames)
    started = _children() - before
    assert len(started) == 2
    frames.close()  # what the encoder's prefetch thread does on a cancel
    assert _gone(started)
    assert not _children() - before


def test_opencv_threads_are_back_after_the_fork() -> None:
    threads = cv2.getNumThreads()
    frames = forked.drawn_in_helpers(_draw, _values(3), SHAPE, 2)
    next(frames)
    assert cv2.getNumThreads() == threads
    frames.close()


def test_one_frame_and_no_frames() -> None:
    assert [int(f[0, 0, 0]) for f in forked.drawn_in_helpers(_draw, _values(1), SHAPE, 2)] == [0]
    assert list(forked.drawn_in_helpers(_draw, [], SHAPE, 2)) == []

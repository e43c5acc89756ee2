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

from talkies import face, forking, media, motion, render
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
    draw = lambda v: render.frame_at(puppet, v)  # noqa: E731
    curves = {name: np.asarray(c, np.float64) for name, c in track.curves.items()}
    values = [{name: float(c[i]) for name, c in curves.items()} for i in range(n)]
    there = list(forked.drawn_in_helpers(draw, values, picture.shape[:2], 2))
    assert len(here) == len(there) == n
    assert all(np.array_equal(a, b) for a, b in zip(here, there, strict=True))
    parallel = list(render.frames_of(puppet, track, parallel=True))  # with helper_count() helpers
    assert all(np.array_equal(a, b) for a, b in zip(here, parallel, strict=True))


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

    _fails_leaving_no_process(dies, "a rendering process died")


def test_a_caller_that_stops_early_leaves_no_process() -> None:
    before = _children()
    frames = forked.drawn_in_helpers(_draw, _values(100), SHAPE, 2)
    next(frames)
    started = _children() - before
    assert len(started) == 2
    frames.close()  # what the encoder's prefetch thread does on a cancel
    assert _gone(started)
    assert not _children() - before


def test_helpers_run_opencv_on_their_own_thread_and_leave_this_process_as_it_was() -> None:
    threads = cv2.getNumThreads()
    cv2.resize(np.zeros((512, 512, 3), np.uint8), (300, 300))  # this process's pool at work
    seen = list(forked.drawn_in_helpers(lambda v: _draw({"k": cv2.getNumThreads()}), _values(2), SHAPE, 2))
    assert [int(f[0, 0, 0]) for f in seen] == [1, 1]  # none set (OpenCV reports 1), and no hang
    assert cv2.getNumThreads() == threads


def test_a_helper_that_draws_nothing_for_too_long_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(forking, "STALL_S", 0.5)

    def stuck(values: dict[str, float]) -> np.ndarray:
        if values["k"] == 2:
            time.sleep(60)
        return _draw(values)

    _fails_leaving_no_process(stuck, "a rendering process answered nothing for")


def _fails_leaving_no_process(draw, match: str) -> None:
    before = _children()
    with pytest.raises(EngineError, match=match):
        list(forked.drawn_in_helpers(draw, _values(12), SHAPE, 2))
    assert _gone(_children() - before)


def test_where_no_helper_can_be_forked_this_process_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_fork(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forked, "Helper", no_fork)
    assert [int(f[0, 0, 0]) for f in forked.drawn_in_helpers(_draw, _values(5), SHAPE, 2)] == list(range(5))


def test_an_os_error_while_drawing_is_reported_as_such() -> None:
    def unreadable(values: dict[str, float]) -> np.ndarray:
        raise FileNotFoundError(2, "No such file", "lut.png")

    with pytest.raises(EngineError, match="rendering failed: FileNotFoundError"):
        list(forked.drawn_in_helpers(unreadable, _values(3), SHAPE, 2))


def test_one_frame_and_no_frames() -> None:
    assert [int(f[0, 0, 0]) for f in forked.drawn_in_helpers(_draw, _values(1), SHAPE, 2)] == [0]
    assert list(forked.drawn_in_helpers(_draw, [], SHAPE, 2)) == []


def test_the_helpers_are_as_many_as_the_cores_a_container_may_use(tmp_path: Path) -> None:
    cpu_max = tmp_path / "cpu.max"
    for text, cores in (("150000 100000\n", 2), ("100000 100000\n", 1), ("50000 100000\n", 1)):
        cpu_max.write_text(text)
        assert forked._quota_cores(cpu_max) == cores
    cpu_max.write_text("max 100000\n")
    assert forked._quota_cores(cpu_max) > 1000
    assert forked._quota_cores(tmp_path / "absent") > 1000


def test_a_helper_that_keeps_ticking_is_not_stuck(monkeypatch: pytest.MonkeyPatch) -> None:
    from talkies.forking import Helper

    monkeypatch.setattr(forking, "STALL_S", 0.6)

    def serve(conn) -> None:
        conn.recv()
        for share in (0.25, 0.5, 0.75):
            time.sleep(0.3)
            conn.send(("tick", share))
        conn.send(("done", "drawn"))

    helper = Helper(serve, "a ticking process")
    try:
        helper.start("go")
        ticks: list[float] = []
        assert helper.wait(ticks.append) == "drawn"  # 1.2 s in all, never 0.6 silent
        assert ticks == [0.25, 0.5, 0.75]
    finally:
        helper.kill()


def test_helpers_are_forked_by_the_call_not_by_the_thread_that_reads_the_frames(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # PyAV keeps a frame converter per thread (with FFmpeg threads of its own); a helper forked
    # from another thread frees this thread's converter and waits for those threads forever.
    import threading

    import av

    monkeypatch.setattr(forking, "STALL_S", 10.0)
    clip = tmp_path / "clip.mp4"
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for k in range(3):
            rgb = np.full((48, 64, 3), 40 * k, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    with av.open(str(clip)) as container:
        # (two threads asked for: the converter has threads of its own on any machine)
        assert len([f.to_ndarray(format="rgb24", threads=2) for f in container.decode(video=0)]) == 3
    before = _children()
    drawn = forked.drawn_in_helpers(_draw, _values(8), SHAPE, 2)
    assert len(_children() - before) == 2  # forked already, here
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.extend(int(f[0, 0, 0]) for f in drawn))
    reader.start()
    reader.join(30)
    assert not reader.is_alive() and seen == list(range(8))


def test_helpers_of_frames_never_asked_for_are_killed() -> None:
    before = _children()
    drawn = forked.drawn_in_helpers(_draw, _values(8), SHAPE, 2)
    assert len(_children() - before) == 2
    drawn.close()
    assert _gone(_children() - before)

"""The stages run side by side (issue 8): speech analysis in a forked helper process while this
process analyses the portrait. The video must be the very one a serial run makes; the helper
must give back errors, stop with its caller's cancel, and hold on to nothing of the parent's."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import av
import numpy as np
import pytest

import talkies
from talkies import media
from talkies.audio import analyze_speech, background
from talkies.errors import Cancelled, EngineError
from talkies.tracks import Audio

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_concurrent_run_gives_the_same_frames_as_a_serial_run(tmp_path: Path) -> None:
    runs = {}
    for concurrent in (False, True):
        options = talkies.AnimateOptions(resolution="720p", seed=7, concurrent=concurrent)
        out = tmp_path / f"concurrent-{concurrent}.mp4"
        voice = EXAMPLES / "speech_short.wav"
        result = talkies.animate(EXAMPLES / "portrait.png", voice, options, output=out)
        runs[concurrent] = (result.motion, _frames(out))
    (serial_track, serial), (concurrent_track, concurrent) = runs[False], runs[True]
    for name, curve in serial_track.curves.items():
        assert np.array_equal(curve, concurrent_track.curves[name]), name
    assert len(serial) == len(concurrent) > 0
    assert all(np.array_equal(a, b) for a, b in zip(serial, concurrent, strict=True))


def test_helper_gives_the_same_track_as_this_process_and_is_kept_for_the_next_call() -> None:
    voice = media.load_audio(EXAMPLES / "speech_short.wav")
    here = analyze_speech(voice)
    ticks: list[float] = []
    first = background.analyse_in_background(voice)
    pid = first._helper._pid  # type: ignore[union-attr]
    there = first.result(ticks.append)
    assert ticks and ticks == sorted(ticks) and ticks[-1] == pytest.approx(1.0)
    assert there.phones == here.phones
    for name in ("loudness", "pitch_hz", "voicing", "openness", "spread", "rounding", "speech", "notes"):
        assert np.array_equal(getattr(there, name), getattr(here, name)), name
    again = background.analyse_in_background(voice)
    assert again._helper._pid == pid  # type: ignore[union-attr]  # its recogniser stays loaded
    assert again.result().phones == here.phones


def test_a_cancel_kills_the_helper_and_leaves_no_process() -> None:
    background.analyse_in_background(media.load_audio(EXAMPLES / "speech_short.wav")).result()
    pending = background.analyse_in_background(media.load_audio(EXAMPLES / "speech.wav"))
    pid = pending._helper._pid  # type: ignore[union-attr]  # the helper just used, with its aside

    def cancel(share: float) -> None:
        raise Cancelled("cancelled by the test")

    time.sleep(0.5)  # it has started: the aside helper of a reused helper is there too
    asides = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert asides
    with pytest.raises(Cancelled):
        pending.result(cancel)
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped: no such child any more
    deadline = time.monotonic() + 10
    while any(_running(int(aside)) for aside in asides) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(int(aside)) for aside in asides), "the second helper outlived its caller"
    fresh = background.analyse_in_background(media.load_audio(EXAMPLES / "speech_short.wav"))
    assert fresh._helper._pid != pid  # type: ignore[union-attr]  # a killed helper is never reused
    fresh.abandon()


def _children() -> set[int]:
    me = os.getpid()
    return {int(p) for p in Path(f"/proc/{me}/task/{me}/children").read_text().split()}


def test_a_cancel_while_rendering_leaves_no_drawing_process(tmp_path: Path) -> None:
    def cancel_at_frame_5(p: talkies.Progress) -> None:
        if p.stage == "render" and p.done == 5:
            raise Cancelled("cancelled by the test")

    before = _children()
    out = tmp_path / "cancelled.mp4"
    options = talkies.AnimateOptions(resolution="720p")
    with pytest.raises(Cancelled):
        talkies.animate(
            EXAMPLES / "portrait.png", EXAMPLES / "speech_short.wav", options, out, progress=cancel_at_frame_5
        )
    kept = {helper._pid for helper in background._idle}  # the speech helper, kept for the next call
    assert not _children() - before - kept  # the drawers were killed and reaped (no zombie either)
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_encoder_that_fails_before_its_first_frame_leaves_no_drawing_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The drawing helpers are forked before encoding starts (render/forked.py says why): they
    # must go when the encoder fails before it asked for a single frame.
    def failing_encoder(frames, *args, **kwargs) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(media, "encode_video", failing_encoder)
    before = _children()
    with pytest.raises(OSError, match="disk full") as caught:  # its traceback kept, as a caller may
        talkies.animate(
            EXAMPLES / "portrait.png",
            EXAMPLES / "speech_short.wav",
            talkies.AnimateOptions(resolution="720p"),
            tmp_path / "never.mp4",
        )
    kept = {helper._pid for helper in background._idle}
    assert not _children() - before - kept
    assert caught.traceback  # (alive until here)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_an_error_in_the_helper_comes_back_as_an_error_here() -> None:
    broken = Audio(samples=np.zeros((2, 3, 4), np.float32), sample_rate=16000)  # no such layout
    pending = background.analyse_in_background(broken)
    with pytest.raises(EngineError, match="speech analysis failed: "):
        pending.result()
    again = background.analyse_in_background(media.load_audio(EXAMPLES / "speech_short.wav"))
    assert again.result().phones  # the helper that reported the error goes on serving


def test_helper_keeps_none_of_the_parents_sockets() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    ours = os.readlink(f"/proc/self/fd/{listener.fileno()}")  # "socket:[inode]"
    try:
        pending = background.analyse_in_background(media.load_audio(EXAMPLES / "speech_short.wav"))
        pid = pending._helper._pid  # type: ignore[union-attr]
        pending.result()
        held = [
            os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir() if stat.S_ISSOCK(os.stat(fd).st_mode)
        ]
        assert ours not in held
        assert len(held) <= 2, held  # its pipes to this process and to its own second helper
    finally:
        listener.close()


def test_blas_runs_on_one_thread_while_any_caller_needs_it_and_is_restored_after() -> None:
    from threadpoolctl import threadpool_info

    from talkies import blas

    def threads() -> set[int]:
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    before = threads()
    first, second = blas.one_thread(), blas.one_thread()  # two callers that overlap
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert threads() == {1}  # the second still runs
    second.__exit__(None, None, None)
    assert threads() == before

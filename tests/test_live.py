"""The live engine (talkies.live): splicing windowed speech analysis, the fMP4 muxer, and a real
session on the sample portrait through silence and a stalled stream."""

from __future__ import annotations

import io
import itertools
import queue
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from audio_synth import as_audio, pink_noise
from motion_helpers import read_wav

from talkies.audio import analyze_speech
from talkies.audio.noise import NoiseFloor, measure_noise
from talkies.live.analysis import NOISE_MIN_S, STEP_S, NoiseHistory, SplicedSpeech, Window, window_bounds
from talkies.live.fmp4 import FragmentMuxer
from talkies.tracks import Phone, SpeechTrack, frame_count

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _track(duration_s: float, value: float, phones: tuple[Phone, ...]) -> SpeechTrack:
    n = round(duration_s / 0.01)
    full = np.full(n, value, np.float32)
    return SpeechTrack(
        duration_s, 0.01, phones, full, full * 100, full, full, full, full, np.ones(n, bool), recognised=value
    )


def test_a_new_window_wins_from_the_splice_point_and_its_phones_get_absolute_times() -> None:
    spliced = SplicedSpeech()
    spliced.add(Window(0.0, _track(0.5, 0.2, (Phone("AA", 0.0, 0.3), Phone("M", 0.3, 0.5)))))
    spliced.add(Window(0.2, _track(0.5, 0.8, (Phone("B", 0.0, 0.25), Phone("IY", 0.25, 0.5)))))
    track = spliced.track()
    assert track.duration_s == pytest.approx(0.7) and track.n_hops == 70
    assert np.all(track.loudness[:40] == pytest.approx(0.2))  # kept up to 100 ms before the old end
    assert np.all(track.loudness[40:] == pytest.approx(0.8))
    labels = [(p.label, round(p.start_s, 2), round(p.end_s, 2)) for p in track.phones]
    assert labels == [("AA", 0.0, 0.3), ("M", 0.3, 0.4), ("B", 0.4, 0.45), ("IY", 0.45, 0.7)]


def _windows(x: np.ndarray) -> Iterator[tuple[float, np.ndarray]]:
    """(start_s, samples) of the overlapping windows a live session sends its analyser, one
    every STEP_S of audio (`window_bounds`)."""
    rate, analysed_s = 16000, 0.0
    while analysed_s * rate < x.size:
        start_s, end_s = window_bounds(analysed_s, min(x.size / rate, analysed_s + STEP_S))
        yield start_s, x[round(start_s * rate) : round(end_s * rate)]
        analysed_s = end_s


def test_the_live_noise_floor_is_the_sessions_not_each_windows() -> None:
    x, _ = read_wav("speech")
    noisy = x + pink_noise(x.size, 5) * 0.3 * np.sqrt(np.mean(x**2))  # about 10 dB SNR
    for voice, noisy_expected in ((x, False), (noisy, True)):
        history, floors = NoiseHistory(), []
        for start_s, samples in _windows(voice):
            history.add(start_s, samples)
            floors.append(history.floor())
        known = round(NOISE_MIN_S / STEP_S)
        assert all(f.snr_db == np.inf for f in floors[: known - 1])  # nothing assumed yet
        assert all(f.noisy == noisy_expected for f in floors[known + 1 :]), noisy_expected
    # each window alone calls a third of this clean recording noisy (the bug this mends)
    assert sum(measure_noise(samples).noisy for _, samples in _windows(x)) >= 8


def test_a_stall_in_a_noisy_stream_does_not_switch_the_noise_off() -> None:
    x, _ = read_wav("speech")
    noisy = x + pink_noise(x.size, 5) * 0.3 * np.sqrt(np.mean(x**2))
    at = 3 * 16000  # the session inserts digital silence when its caller stalls
    stalled = np.concatenate([noisy[:at], np.zeros(8000, np.float32), noisy[at:]])
    history, floors = NoiseHistory(), []
    for start_s, samples in _windows(stalled):
        history.add(start_s, samples)
        floors.append(history.floor())
    assert all(f.noisy for f in floors[round(NOISE_MIN_S / STEP_S) + 1 :])


def test_a_live_window_is_recognised_by_the_phone_loop_and_takes_the_noise_floor_given() -> None:
    x, _ = read_wav("speech")
    window = as_audio(x[16000:24000])
    track = analyze_speech(window, words=False)
    spoken = [p for p in track.phones if p.label != "SIL"]
    assert len(spoken) >= 4 and all(p.confidence == 0.5 for p in spoken)  # the loop's own confidence
    assert not track.denoised
    noisy_floor = NoiseFloor(np.full(257, 1e-3), 5.0)
    assert analyze_speech(window, noise=noisy_floor, words=False).denoised
    for n in (0, 300):  # too short to filter: analysed as it is
        assert analyze_speech(as_audio(np.zeros(n, np.float32)), noise=noisy_floor).phones == ()


def test_the_fragmented_mp4_stream_holds_every_frame_and_the_whole_voice() -> None:
    muxer = FragmentMuxer((64, 48), 25, 16000)
    stream, done = bytearray(), 0
    voice = (0.3 * np.sin(2 * np.pi * 440 * np.arange(48000) / 16000)).astype(np.float32)
    sizes = []
    for i in range(75):
        muxer.add_frame(np.full((48, 64, 3), 3 * i, np.uint8))
        end = min(voice.size, round(((i + 1) / 25 + 0.1) * 16000))
        muxer.add_audio(voice[done:end])
        done = end
        stream += muxer.take()
        sizes.append(len(stream))
    muxer.finish()
    stream += muxer.take()
    assert muxer.init is not None and muxer.init[4:8] == b"ftyp" and stream[4:8] == b"moof"
    assert muxer.mime.startswith('video/mp4; codecs="avc1.') and muxer.mime.endswith(', mp4a.40.2"')
    assert sum(1 for a, b in itertools.pairwise(sizes) if b > a) >= 70  # a fragment per frame
    data = bytes(muxer.init + stream)
    with av.open(io.BytesIO(data)) as c:
        assert sum(1 for _ in c.decode(video=0)) == 75
    with av.open(io.BytesIO(data)) as c:
        assert sum(f.samples for f in c.decode(audio=0)) / 48000 >= 3.0


@pytest.mark.slow
def test_silence_and_a_stalled_stream_keep_the_face_alive(tmp_path: Path) -> None:
    from talkies import live

    outputs: queue.Queue = queue.Queue()
    session = live.LiveSession(str(EXAMPLES / "portrait.png"), live.LiveOptions(), outputs.put)
    try:
        silence = np.zeros(320, np.float32)  # 20 ms
        t0 = time.monotonic()
        for n in range(50):  # 1 s of silence ...
            time.sleep(max(0.0, t0 + n * 0.02 - time.monotonic()))
            session.feed(silence)
        time.sleep(1.5)  # ... then nothing for 1.5 s (the caller stalls) ...
        for _ in range(50):  # ... then 1 s more, in a burst
            session.feed(silence)
        session.finish()
        stream, done = bytearray(), None
        while done is None:
            item = outputs.get(timeout=60)
            if isinstance(item, live.Failed):
                pytest.fail(item.message)
            if isinstance(item, live.Ready):
                stream += item.init
            elif isinstance(item, live.Media):
                stream += item.data
            elif isinstance(item, live.Done):
                done = item
    finally:
        session.close()
    assert not session.running
    assert done.inserted_silence_s >= 1.0  # the stall became silence on the clock ...
    assert done.frames == frame_count(2.0 + done.inserted_silence_s, 25)  # ... and frames went on
    path = tmp_path / "silence.mp4"
    path.write_bytes(stream)
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == done.frames
    for k in (10, len(frames) // 2, len(frames) - 5):
        av.VideoFrame.from_ndarray(frames[k], format="rgb24").to_image().save(
            tmp_path / f"silence_{k:03d}.png"
        )
    print("frames in", tmp_path)
    moved = [
        np.abs(frames[i].astype(int) - frames[i + 25].astype(int)).max()
        for i in range(0, len(frames) - 25, 25)
    ]
    assert min(moved) > 10, f"the face froze in a second of silence: {moved}"

"""Acceptance (issue 11), end to end: render a sung melody and a noisy recording with
talkies.animate, re-detect the face on the decoded frames (bench/evaluation) and judge the
mouth with bench/voices.py's measures. Only numpy-made audio and the shipped examples, so it
runs where espeak-ng and Festival are not installed (bench/voices.py covers those)."""

from __future__ import annotations

import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from audio_synth import melody, pink_noise
from motion_fixtures import ALIGNED
from motion_helpers import phones_of

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # `bench` is a folder of the repository, not an installed package

import talkies  # noqa: E402
from bench.evaluation import metrics  # noqa: E402
from bench.evaluation.redetect import trace_video  # noqa: E402
from bench.evaluation.voices import Clip, read_wav  # noqa: E402
from bench.voices import Row, measure_voice  # noqa: E402

pytestmark = pytest.mark.slow
PORTRAIT = ROOT / "examples" / "portrait.png"


def _write(path: Path, x: np.ndarray) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def _render(audio: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{audio.stem}.mp4"
    talkies.animate(str(PORTRAIT), str(audio), talkies.AnimateOptions(resolution="720p"), str(out))
    return out


def test_a_sung_melody_is_sung_open_and_its_long_notes_never_shut(tmp_path: Path) -> None:
    song = _write(tmp_path / "melody.wav", melody())
    trace = trace_video(_render(song, tmp_path))
    row = Row("melody", "singing")
    measure_voice(row, Clip("melody", "singing", song), trace)
    assert row.figures["shut"] <= 0.20, row  # f0d20c1: 62%, both long notes shut
    assert row.figures["notes"] >= 2 and row.figures["notes_shut"] == 0, row


def test_speech_under_10_db_of_pink_noise_keeps_its_lip_closures(tmp_path: Path) -> None:
    clean = read_wav(ROOT / "examples" / "speech.wav")
    loud = np.sqrt(np.mean(clean[np.abs(clean) > 0.02] ** 2))
    noisy = _write(tmp_path / "noisy.wav", clean + pink_noise(clean.size, 5) * loud / 10 ** (10 / 20))
    trace = trace_video(_render(noisy, tmp_path))
    truth = phones_of(ALIGNED["speech"])  # the clean recording's forced alignment
    closed = metrics.bilabial_closure(truth, trace.times_s, trace.aperture, trace.fps)
    assert closed.value >= 0.85, closed  # f0d20c1: 5 of 7 (M 0.37 s, P 5.75 s open)

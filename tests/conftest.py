"""Shared fixtures: the sample assets and small synthetic inputs made in memory."""

from __future__ import annotations

import io
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

# name -> (container format, encoder) for make_audio
AUDIO_FORMATS = {
    "wav": ("wav", "pcm_s16le"),
    "wav_f32": ("wav", "pcm_f32le"),
    "mp3": ("mp3", "libmp3lame"),
    "ogg": ("ogg", "vorbis"),
    "opus": ("ogg", "libopus"),
    "m4a": ("mp4", "aac"),
    "aac": ("adts", "aac"),
    "flac": ("flac", "flac"),
}


@pytest.fixture
def examples() -> Path:
    """The directory of the committed sample assets (portrait.png, speech.wav, ...)."""
    return EXAMPLES


def tone(duration_s: float, rate: int = 16000, channels: int = 1, level: float = 0.3) -> np.ndarray:
    """(channels, n) float32 220 Hz sine, `level` peak."""
    t = np.arange(round(duration_s * rate)) / rate
    wave = (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    return np.tile(wave, (channels, 1))


def encode_audio(
    samples: np.ndarray, rate: int, kind: str = "wav", muxer_options: dict | None = None
) -> bytes:
    """(channels, n) float32 samples encoded as an audio file of `kind` (a key of AUDIO_FORMATS)."""
    fmt, codec = AUDIO_FORMATS[kind]
    layout = {1: "mono", 2: "stereo", 6: "5.1"}[samples.shape[0]]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=muxer_options or {}) as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        for start in range(0, samples.shape[1], 4096):
            chunk = np.ascontiguousarray(samples[:, start : start + 4096], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buf.getvalue()


@pytest.fixture
def make_audio() -> Callable[..., bytes]:
    """make_audio(duration_s=1.0, rate=16000, channels=1, level=0.3, kind="wav") -> file bytes
    of a sine tone in any format of AUDIO_FORMATS."""

    def make(duration_s=1.0, rate=16000, channels=1, level=0.3, kind="wav", muxer_options=None) -> bytes:
        return encode_audio(tone(duration_s, rate, channels, level), rate, kind, muxer_options)

    return make

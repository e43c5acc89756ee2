"""Measure one rendered clip end to end: align, re-detect, compute the four figures.

`measure_video` is all the acceptance test and the bench need; `render_clip` is the one place
that calls the engine, and only to produce the video under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import correlate

from bench.evaluation.alignment import SAMPLE_RATE, AlignedPhone, align_file, decode_speech
from bench.evaluation.metrics import Figure, all_figures
from bench.evaluation.redetect import FaceTrace, trace_video

MAX_MUX_DELAY_S = 0.2


@dataclass(frozen=True)
class ClipMeasurement:
    """Everything measured on one video.

    mux_delay_ms: how late the MP4's audio plays relative to the source audio file (+ = late),
    found by cross-correlating the two waveforms; NaN when no source was given. It explains an
    offset that the motion is not to blame for (e.g. AAC priming left in the stream).
    """

    video: Path
    phones: tuple[AlignedPhone, ...]
    trace: FaceTrace
    figures: tuple[Figure, ...]
    mux_delay_ms: float

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.figures)


def measure_video(
    video: str | Path, transcript: str, source_audio: str | Path | None = None
) -> ClipMeasurement:
    """Align `transcript` to the video's own audio, re-detect the face and score the lip sync."""
    phones = align_file(video, transcript)
    trace = trace_video(video)
    figures = all_figures(phones, trace.times_s, trace.aperture, trace.fps)
    delay = audio_delay_ms(video, source_audio) if source_audio is not None else float("nan")
    return ClipMeasurement(Path(video), tuple(phones), trace, tuple(figures), delay)


def audio_delay_ms(muxed: str | Path, source: str | Path) -> float:
    """Delay in ms of the audio in `muxed` against `source` (both decoded to 16 kHz mono),
    at the waveform cross-correlation peak within +-200 ms; + = `muxed` plays late."""
    late, late_offset_s = decode_speech(muxed)
    ref, _ = decode_speech(source)
    n = min(late.size, ref.size)
    corr = correlate(late[:n].astype(np.float64), ref[:n].astype(np.float64), mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    keep = np.abs(lags) <= MAX_MUX_DELAY_S * SAMPLE_RATE
    best = lags[keep][int(np.argmax(corr[keep]))]
    return 1000.0 * (best / SAMPLE_RATE + late_offset_s)


def render_clip(
    image: str | Path, audio: str | Path, output: str | Path, resolution: str = "720p", turbo: bool = False
):
    """Render `audio` spoken by `image` with the engine; returns talkies' Result."""
    import talkies  # imported here so the measurement modules load without the engine

    options = talkies.AnimateOptions(resolution=resolution, turbo_mode=turbo)
    return talkies.animate(str(image), str(audio), options, output=str(output))

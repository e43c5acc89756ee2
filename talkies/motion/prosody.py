"""Prosody cues shared by the liveliness planners: accents (stressed, loud or pitch-raised
moments) and a smooth "speaking" envelope.

Why: people nod, raise their brows and blink in time with the rhythm of their speech, mostly
on pitch accents and loudness peaks. A peak picker on loudness boosted by pitch above the
speaker's median finds those moments without knowing the language.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from talkies.motion import timeline
from talkies.tracks import SpeechTrack

ACCENT_STEP_S = 0.01
MIN_ACCENT_GAP_S = 0.45  # at most about two accents a second
MIN_PROMINENCE = 0.12  # ignore ripples of the loudness curve


@dataclass(frozen=True)
class Accent:
    time_s: float
    strength: float  # 0..1, 1 = the clip's most prominent


def accents(speech: SpeechTrack) -> list[Accent]:
    """Accents in time order, from loudness peaks weighted by relative pitch."""
    times = timeline.grid(speech.duration_s, ACCENT_STEP_S)
    score = _emphasis(speech, times)
    peaks, props = find_peaks(
        score, distance=max(1, int(MIN_ACCENT_GAP_S / ACCENT_STEP_S)), prominence=MIN_PROMINENCE
    )
    if peaks.size == 0:
        return []
    strength = np.clip(props["prominences"] / props["prominences"].max(), 0.0, 1.0)
    return [Accent(float(times[p]), float(s)) for p, s in zip(peaks, strength, strict=True)]


def pick(
    found: list[Accent], min_strength: float, min_gap_s: float, chance: float, rng: np.random.Generator
) -> list[Accent]:
    """A sparse subset of accents for a gesture: strong enough, each kept with `chance`, and
    never two within `min_gap_s` (a gesture on every stress looks mechanical)."""
    chosen: list[Accent] = []
    for accent in found:
        keep = rng.random() < chance  # drawn for every accent, so choices do not shift each other
        if accent.strength < min_strength or not keep:
            continue
        if chosen and accent.time_s - chosen[-1].time_s < min_gap_s:
            continue
        chosen.append(accent)
    return chosen


def _emphasis(speech: SpeechTrack, times_s: np.ndarray) -> np.ndarray:
    """(n,) loudness x (1 + pitch above the median, in octaves), zero outside speech."""
    loud = timeline.loudness_profile(speech, times_s, sigma_s=0.06)
    pitch = timeline.sample(speech.pitch_hz, speech.hop_s, times_s)
    voiced = pitch > 0
    rise = np.zeros_like(pitch)
    if voiced.sum() > 10:
        rise[voiced] = np.clip(np.log2(pitch[voiced] / np.median(pitch[voiced])), 0.0, 1.0)
    rise = timeline.smooth(rise, 0.05, ACCENT_STEP_S)
    return loud * (1.0 + rise) * timeline.speaking(speech, times_s)


def speaking_envelope(speech: SpeechTrack, times_s: np.ndarray, sigma_s: float = 0.4) -> np.ndarray:
    """(n,) 0..1, a slow 'is talking' level: 1 in the middle of phrases, easing at pauses."""
    step = float(times_s[1] - times_s[0]) if times_s.size > 1 else 0.04
    return np.clip(timeline.smooth(timeline.speaking(speech, times_s).astype(float), sigma_s, step), 0, 1)


def bump(times_s: np.ndarray, centre_s: float, width_s: float) -> np.ndarray:
    """Hann window of total `width_s` centred on `centre_s`, peak 1: a smooth gesture."""
    x = np.clip((times_s - centre_s) / width_s, -0.5, 0.5)
    return 0.5 + 0.5 * np.cos(2 * np.pi * x)


def drift(
    rng: np.random.Generator, times_s: np.ndarray, low_hz: float, high_hz: float, n: int = 5
) -> np.ndarray:
    """(n,) band-limited noise of unit standard deviation: a few sinusoids with random
    frequencies in [low_hz, high_hz] and phases, amplitudes falling as 1/f (smooth, never
    jittery, and the same at any frame rate)."""
    freqs = rng.uniform(low_hz, high_hz, n)
    phases = rng.uniform(0, 2 * np.pi, n)
    amps = 1.0 / freqs
    wave = (amps[None, :] * np.sin(2 * np.pi * times_s[:, None] * freqs[None, :] + phases[None, :])).sum(
        axis=1
    )
    return wave / np.sqrt(0.5 * (amps**2).sum())

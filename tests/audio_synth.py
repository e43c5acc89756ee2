"""Synthetic test signals for the speech stage: Klatt-style vowels and helpers."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from talkies.tracks import Audio

# (F1, F2, F3) in Hz of three corner vowels, adult male averages.
VOWELS = {"a": (750.0, 1200.0, 2500.0), "i": (300.0, 2300.0, 3000.0), "u": (300.0, 800.0, 2300.0)}


def _resonator(x: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    """Second-order all-pole resonance with unit gain at 0 Hz (one formant)."""
    r = np.exp(-np.pi * bandwidth / rate)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freq / rate), r * r
    return lfilter([1 + a1 + a2], [1, a1, a2], x)


def vowel(
    formants: tuple[float, ...], duration_s: float = 0.5, f0: float = 120.0, rate: int = 16000
) -> np.ndarray:
    """(n,) float32 vowel: an impulse train at f0 with a -12 dB/octave glottal tilt, through one
    resonator per formant, plus +6 dB/octave lip radiation; peak 0.5."""
    n = int(duration_s * rate)
    pulses = np.zeros(n)
    pulses[(np.arange(0, duration_s, 1.0 / f0) * rate).astype(int)] = 1.0
    source = lfilter([1.0], [1.0, -1.96, 0.9604], pulses)  # two poles at 0.98: glottal tilt
    out = source
    for freq, bw in zip(formants, (80.0, 100.0, 150.0), strict=False):
        out = _resonator(out, freq, bw, rate)
    out = np.diff(out, prepend=0.0)  # lip radiation
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def as_audio(x: np.ndarray, rate: int = 16000, channels: int = 1) -> Audio:
    """Wrap a (n,) signal as a talkies Audio with the given channel count."""
    return Audio(samples=np.tile(x.astype(np.float32), (channels, 1)), sample_rate=rate)


def silence(duration_s: float, rate: int = 16000, noise: float = 1e-4, seed: int = 0) -> np.ndarray:
    """(n,) float32 near-silence: faint white noise."""
    return (np.random.default_rng(seed).normal(0, noise, int(duration_s * rate))).astype(np.float32)


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    """(n,) float32 pink (1/f) noise of unit RMS (Kellett's filter on white noise)."""
    white = np.random.default_rng(seed).normal(0.0, 1.0, n)
    pink = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786],
                   [1.0, -2.494956002, 2.017265875, -0.522189400], white)  # fmt: skip
    return (pink / np.sqrt(np.mean(pink**2))).astype(np.float32)


def sung_note(
    formants: tuple[float, ...], duration_s: float, f0: float, rate: int = 16000, vibrato: float = 0.4
) -> np.ndarray:
    """(n,) float32 a sung vowel: like `vowel`, but its pitch swings +-`vibrato` semitones at
    5.5 Hz, with a 50 ms onset and an 80 ms release; peak 0.5."""
    n = int(duration_s * rate)
    t = np.arange(n) / rate
    pitch = f0 * 2 ** (vibrato * np.sin(2 * np.pi * 5.5 * t) / 12)
    pulses = np.diff(np.floor(np.cumsum(pitch / rate)), prepend=0.0)
    out = lfilter([1.0], [1.0, -1.96, 0.9604], pulses)
    for freq, bw in zip(formants, (80.0, 100.0, 150.0), strict=False):
        out = _resonator(out, freq, bw, rate)
    out = np.diff(out, prepend=0.0) * np.clip(np.minimum(t / 0.05, (duration_s - t) / 0.08), 0, 1)
    return (0.5 * out / np.max(np.abs(out))).astype(np.float32)


def melody(rate: int = 16000) -> np.ndarray:
    """(n,) float32 six sung notes (two of them over a second long), 60 ms gaps between."""
    notes = (("a", 220.0, 0.5), ("u", 247.0, 0.5), ("a", 262.0, 1.4), ("i", 247.0, 0.45),
             ("a", 220.0, 1.5), ("u", 196.0, 0.5))  # fmt: skip
    gap = np.zeros(int(0.06 * rate), np.float32)
    parts = [silence(0.3, rate)]
    for name, f0, duration in notes:
        parts += [sung_note(VOWELS[name], duration, f0, rate), gap]
    return np.concatenate([*parts, silence(0.3, rate)])

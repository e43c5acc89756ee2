"""Mouth shape from the sound alone: formants (LPC) to jaw opening, lip spreading, lip rounding.

Why it works: the first formant rises as the jaw and tongue drop (F1 ~300 Hz in "ee"/"oo",
~750 Hz in "ah"), the second rises as the tongue fronts and the lips spread (F2 ~2300 Hz in
"ee") and falls when the lips round and lengthen the tract (F2 ~800-1000 Hz in "oo", "oh").
Those are properties of the vocal tract, not of a language, so this path serves any language
and singing. Formants come from the roots of a 10th-order LPC polynomial of each 25 ms window
at 8 kHz (2 + kHz poles, the textbook rule): the narrow-band roots between 150 Hz and 3.8 kHz,
lowest first. Ranges follow Hillenbrand et al. (1995) American English vowel averages.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter, uniform_filter1d

from talkies.audio.frames import RATE_DSP, frame_signal, in_blocks

_ORDER = 10
_WIN = 200  # 25 ms at 8 kHz
_PRE_EMPHASIS = 0.9  # flattens the -6 dB/octave glottal tilt so LPC models the tract
_MAX_BANDWIDTH_HZ = 500.0  # wider roots model spectral tilt, not a resonance


def _lpc(frames: np.ndarray) -> np.ndarray:
    """(n, _ORDER + 1) LPC polynomials [1, a1, ..] of (n, _WIN) windows (Levinson-Durbin)."""
    spec = np.fft.rfft(frames, 512, axis=1)
    r = np.fft.irfft(np.abs(spec) ** 2, 512, axis=1)[:, : _ORDER + 1]
    r[:, 0] = r[:, 0] * 1.0001 + 1e-9  # white-noise floor keeps silent windows well posed
    a = np.zeros((frames.shape[0], _ORDER + 1))
    a[:, 0] = 1.0
    err = r[:, 0].copy()
    for i in range(1, _ORDER + 1):
        k = -np.einsum("nj,nj->n", a[:, :i], r[:, i:0:-1]) / err
        a[:, 1 : i + 1] = a[:, 1 : i + 1] + k[:, None] * a[:, i - 1 :: -1][:, :i]
        err = err * (1.0 - k**2)
    return a


def _roots_to_formants(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1, F2 in Hz (NaN where not found) from (n, _ORDER + 1) LPC polynomials."""
    companion = np.zeros((a.shape[0], _ORDER, _ORDER))
    companion[:, 0, :] = -a[:, 1:]
    companion[:, np.arange(1, _ORDER), np.arange(_ORDER - 1)] = 1.0
    roots = np.linalg.eigvals(companion)
    freq = np.angle(roots) * RATE_DSP / (2 * np.pi)
    bandwidth = -np.log(np.maximum(np.abs(roots), 1e-9)) * RATE_DSP / np.pi
    ok = (freq > 150.0) & (freq < 3800.0) & (bandwidth < _MAX_BANDWIDTH_HZ)
    freq = np.sort(np.where(ok, freq, np.inf), axis=1)
    f1, f2 = freq[:, 0], freq[:, 1]
    return np.where(np.isfinite(f1), f1, np.nan), np.where(np.isfinite(f2), f2, np.nan)


def _analyse_block(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1, F2 per row of (n, _WIN) pre-emphasised frames."""
    return _roots_to_formants(_lpc(frames.astype(np.float64) * np.hamming(_WIN)))


def formant_tracks(x8: np.ndarray, n_hops: int) -> tuple[np.ndarray, np.ndarray]:
    """F1 and F2 (n_hops,) float32 in Hz of the 8 kHz signal, NaN where no formant was found.
    Values are meaningful only in voiced frames; a 5-hop median removes single-frame jumps."""
    emphasised = np.append(x8[:1], x8[1:] - _PRE_EMPHASIS * x8[:-1]).astype(np.float32)
    f1, f2 = in_blocks(_analyse_block, frame_signal(emphasised, RATE_DSP, _WIN, n_hops))
    f1 = median_filter(np.nan_to_num(f1, nan=0.0), size=5, mode="nearest")
    f2 = median_filter(np.nan_to_num(f2, nan=0.0), size=5, mode="nearest")
    return np.where(f1 > 0, f1, np.nan).astype(np.float32), np.where(f2 > 0, f2, np.nan).astype(np.float32)


def _ramp(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 at lo, 1 at hi, linear between, clipped; NaN -> 0. Works for lo > hi too."""
    return np.nan_to_num(np.clip((x - lo) / (hi - lo), 0.0, 1.0), nan=0.0)


def vowel_shape(f1: np.ndarray, f2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame (open, spread, round), each (n,) float32 0..1, of the vowel the formants
    describe, before any loudness or voicing gating. /a/ (F1 750) is fully open, /i/ (F2 2300)
    fully spread, /u/ (F1 300, F2 900) fully rounded; rounding needs both a low F2 and a closed
    jaw, so an open back /a/ (F2 ~1300) does not count as rounded."""
    open_ = _ramp(f1, 300.0, 750.0)
    spread = _ramp(f2, 1500.0, 2300.0)
    rounded = _ramp(f2, 1400.0, 900.0) * _ramp(f1, 750.0, 450.0)
    return open_.astype(np.float32), spread.astype(np.float32), rounded.astype(np.float32)


def _smooth(x: np.ndarray, hops: int = 3) -> np.ndarray:
    """Centred moving average over `hops` values (edges repeat the end value)."""
    return uniform_filter1d(x.astype(np.float32), hops, mode="nearest")


def mouth_curves(
    x8: np.ndarray, loud: np.ndarray, voicing: np.ndarray, speech: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """openness, spread, rounding: (n,) float32 0..1 acoustic mouth-shape curves.

    Formants describe the shape only in voiced frames; in unvoiced speech (consonants) the
    shape falls back to a neutral, slightly open mouth. How far the jaw actually opens also
    follows vocal effort, so openness scales with the square root of the loudness (a shouted
    "ee" opens more than a whispered "ah"). Everything is 0 outside voice activity (but for
    the one hop a 30 ms smoothing spreads).
    """
    f1, f2 = formant_tracks(x8, loud.shape[0])
    open_v, spread_v, round_v = vowel_shape(f1, f2)
    w = voicing * speech
    shape_open = w * open_v + (1.0 - w) * 0.25
    openness = speech * np.sqrt(loud) * (0.3 + 0.7 * shape_open)
    return _smooth(openness), _smooth(w * spread_v), _smooth(w * round_v)

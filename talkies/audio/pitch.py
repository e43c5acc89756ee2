"""Fundamental frequency and voicing with YIN (de Cheveigné & Kawahara 2002), vectorised.

Why YIN: the cumulative-mean-normalised difference d'(tau) of a periodic window dips towards 0
at its period and stays near 1 for noise, so one number gives both the period (the first deep
dip, which avoids the octave-too-low errors of a plain autocorrelation maximum) and an honest
voicing measure (how deep the dip is). It runs at 8 kHz on 32 ms windows, which covers
60-1000 Hz: speech of any voice and most singing.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import median_filter

from talkies.audio.frames import RATE_DSP, frame_signal, in_blocks

F0_MIN_HZ = 60.0
F0_MAX_HZ = 1000.0
_WIN = 256  # 32 ms at 8 kHz: two periods of the lowest F0 we look for
_TAU_MIN = int(RATE_DSP / F0_MAX_HZ)
_TAU_MAX = int(np.ceil(RATE_DSP / F0_MIN_HZ))
_DIP = 0.15  # d' below this counts as a period (the paper's absolute threshold)


def _cmndf(frames: np.ndarray) -> np.ndarray:
    """(n, _TAU_MAX + 1) cumulative-mean-normalised difference of (n, _WIN + _TAU_MAX) frames."""
    n_fft = 1024
    head = np.fft.rfft(frames[:, :_WIN], n_fft, axis=1)
    full = np.fft.rfft(frames, n_fft, axis=1)
    cross = np.fft.irfft(np.conj(head) * full, n_fft, axis=1)[:, : _TAU_MAX + 1]
    csum = np.concatenate([np.zeros((frames.shape[0], 1)), np.cumsum(frames**2, axis=1)], axis=1)
    taus = np.arange(_TAU_MAX + 1)
    energy_lag = csum[:, taus + _WIN] - csum[:, taus]
    diff = np.maximum(csum[:, [_WIN]] + energy_lag - 2.0 * cross, 0.0)
    running = np.cumsum(diff[:, 1:], axis=1) / taus[1:]
    out = np.ones_like(diff)
    out[:, 1:] = diff[:, 1:] / np.maximum(running, 1e-12)
    return out


def _pick_period(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the lag of the deepest point of the first dip below _DIP (or of the global
    minimum when there is none) and d' there. Returns (tau float, depth) of shape (n,)."""
    taus = np.arange(d.shape[1])
    d = np.where(taus < _TAU_MIN, np.inf, d)
    below = d < _DIP
    has_dip = below.any(axis=1)
    first = np.argmax(below, axis=1)
    after = (~below) & (taus > first[:, None])
    end = np.where(after.any(axis=1), np.argmax(after, axis=1), d.shape[1])
    in_dip = (taus >= first[:, None]) & (taus < end[:, None])
    tau = np.where(has_dip, np.argmin(np.where(in_dip, d, np.inf), axis=1), np.argmin(d, axis=1))
    rows = np.arange(d.shape[0])
    return _refine(d, rows, tau), d[rows, tau]


def _refine(d: np.ndarray, rows: np.ndarray, tau: np.ndarray) -> np.ndarray:
    """Sub-sample lag by a parabola through d'(tau-1), d'(tau), d'(tau+1)."""
    lo = np.clip(tau - 1, 0, d.shape[1] - 1)
    hi = np.clip(tau + 1, 0, d.shape[1] - 1)
    a, b, c = d[rows, lo], d[rows, tau], d[rows, hi]
    a, c = np.where(np.isfinite(a), a, b), np.where(np.isfinite(c), c, b)
    den = a - 2.0 * b + c
    shift = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(den == 0, 1, den), 0.0)
    return tau + np.clip(shift, -0.5, 0.5)


def _analyse_block(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(best lag, d' there, silent) per row of (n, _WIN + _TAU_MAX) frames."""
    frames = frames.astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    silent = np.sum(frames**2, axis=1) < 1e-10 * frames.shape[1]
    tau, depth = _pick_period(_cmndf(frames))
    return tau, depth, silent


def pitch_and_voicing(x8: np.ndarray, n_hops: int) -> tuple[np.ndarray, np.ndarray]:
    """F0 and voicing of the 8 kHz signal, one value per hop.

    Returns pitch_hz (n_hops,) float32, 0 where unvoiced, and voicing (n_hops,) float32 0..1
    (1 for a clean periodic window, 0 for noise or silence; no energy gating here).
    """
    tau, depth, silent = in_blocks(_analyse_block, frame_signal(x8, RATE_DSP, _WIN + _TAU_MAX, n_hops))
    voicing = np.clip((0.45 - depth) / 0.3, 0.0, 1.0)
    # A best lag at either end of the search range is a fricative's or a hum's, not a period.
    voicing[silent | (tau < _TAU_MIN + 0.5) | (tau > _TAU_MAX - 1.5)] = 0.0
    pitch = np.where(voicing >= 0.5, np.clip(RATE_DSP / tau, F0_MIN_HZ, F0_MAX_HZ), 0.0)
    # A 5-hop median removes single-frame octave jumps; unvoiced frames stay 0.
    smooth = median_filter(pitch, size=5, mode="nearest")
    pitch = np.where(pitch > 0, np.where(smooth > 0, smooth, pitch), 0.0)
    return _drop_outliers(pitch).astype(np.float32), voicing.astype(np.float32)


def _drop_outliers(pitch: np.ndarray) -> np.ndarray:
    """Unvoice F0 values more than 3x off the clip's median F0: one voice (even singing, over
    three octaves) stays inside that band; a lone 900 Hz frame in 100 Hz speech is an error."""
    voiced = pitch[pitch > 0]
    if voiced.size == 0:
        return pitch
    median = float(np.median(voiced))
    return np.where((pitch > median / 3.0) & (pitch < median * 3.0), pitch, 0.0)

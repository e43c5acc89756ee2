"""Resampling, framing, loudness and voice activity: the shared front end of the speech stage.

Everything downstream works on two fixed rates whatever the file's own rate: 16 kHz (what the
pocketsphinx acoustic model was trained on) and 8 kHz (enough for pitch and the first three
formants, and the same analysis then works for telephone-band input). Envelopes are sampled
every HOP_S seconds, value i describing a window centred on time i * HOP_S.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.signal import resample, resample_poly

from talkies.tracks import Audio

HOP_S = 0.01
RATE_ASR = 16000
RATE_DSP = 8000

# resample_poly designs a filter whose length grows with the up / down factors; for rates that
# share no useful divisor with 16 kHz (e.g. 16001 Hz) the FFT resampler is far cheaper.
_MAX_POLY_FACTOR = 1000

# "Loud speech" quieter than -60 dB full scale (A-weighted mean square) is noise.
_MIN_REFERENCE_POWER = 1e-6
# Loudness fades to 0 at 50 dB under the loud speech: (1e-5) ** 0.3.
_LOUDNESS_GATE = 10 ** (-50 / 10 * 0.3)
# An unvoiced stretch this close to a voiced one (200 ms), and no longer than 300 ms, is its
# consonant (voice_activity).
CONSONANT_REACH_HOPS = 20
CONSONANT_HOPS = 30


def hop_count(duration_s: float) -> int:
    """Number of envelope values for a clip: one per hop from t=0 up to (not past) its end."""
    return max(1, math.ceil(duration_s / HOP_S - 1e-6))


def resample_to(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """(n,) float32 signal at rate_in Hz -> (m,) float32 at rate_out Hz (band-limited)."""
    if rate_in == rate_out:
        return x.astype(np.float32, copy=False)
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    if max(up, down) <= _MAX_POLY_FACTOR:
        return resample_poly(x, up, down).astype(np.float32)
    n_out = max(1, round(x.shape[0] * rate_out / rate_in))
    return resample(x, n_out).astype(np.float32)


def mono_16k(voice: Audio) -> np.ndarray:
    """The voice as (n,) float32 mono at 16 kHz, DC removed."""
    x = resample_to(voice.mono(), int(voice.sample_rate), RATE_ASR)
    return (x - x.mean()).astype(np.float32) if x.size else x


def frame_signal(x: np.ndarray, rate: int, win_len: int, n_hops: int) -> np.ndarray:
    """(n_hops, win_len) float32 windows of x, window i centred on sample i * hop (zero padded)."""
    hop = round(HOP_S * rate)
    need = (n_hops - 1) * hop + win_len
    half = win_len // 2
    padded = np.zeros(max(need, x.shape[0] + half), np.float32)
    padded[half : half + x.shape[0]] = x
    view = np.lib.stride_tricks.sliding_window_view(padded, win_len)
    return view[::hop][:n_hops]


def _a_weighting(freqs: np.ndarray) -> np.ndarray:
    """Power gain of the IEC 61672 A-weighting curve at freqs (Hz), 1.0 at 1 kHz."""
    f2 = np.maximum(freqs, 1.0) ** 2
    num = (12194.0**2 * f2**2) ** 2
    den = (f2 + 20.6**2) ** 2 * (f2 + 107.7**2) * (f2 + 737.9**2) * (f2 + 12194.0**2) ** 2
    gain = num / den
    return gain / np.interp(1000.0, freqs, gain)


def weighted_power(x16: np.ndarray, n_hops: int) -> np.ndarray:
    """(n_hops,) float64 A-weighted mean power of 25 ms Hann windows of the 16 kHz signal,
    scaled so that unweighted it would be the mean square (a full-scale 1 kHz sine: 0.5)."""
    window = np.hanning(400).astype(np.float32)
    weights = _a_weighting(np.fft.rfftfreq(512, 1.0 / RATE_ASR))
    weights[1:-1] *= 2.0  # the negative frequencies rfft leaves out
    weights /= 512 * np.sum(window.astype(np.float64) ** 2)

    def analyse(frames: np.ndarray) -> tuple[np.ndarray]:
        return ((np.abs(np.fft.rfft(frames * window, 512, axis=1)) ** 2) @ weights + 1e-12,)

    (power,) = in_blocks(analyse, frame_signal(x16, RATE_ASR, 400, n_hops))
    return power


def reference_power(power: np.ndarray) -> float:
    """The clip's "loud speech" level: the 90th percentile of the frames within 30 dB of the
    loudest one (a plain percentile would land in the silence of a mostly silent clip), but
    never under -60 dB full scale, so that a clip of faint noise is not taken for speech."""
    loud = power[power >= power.max() * 1e-3]
    return max(float(np.percentile(loud, 90)), _MIN_REFERENCE_POWER)


def loudness(power: np.ndarray, ref: float) -> np.ndarray:
    """(n,) float32 0..1 perceived loudness. Stevens' power law (loudness ~ intensity ** 0.3,
    i.e. twice as loud per +10 dB) relative to the clip's loud speech, which maps to 1, and
    gated to 0 at 50 dB below it."""
    stevens = (power / ref) ** 0.3
    return np.clip((stevens - _LOUDNESS_GATE) / (1.0 - _LOUDNESS_GATE), 0.0, 1.0).astype(np.float32)


def voice_activity(power: np.ndarray, ref: float, voicing: np.ndarray) -> np.ndarray:
    """(n,) bool, True where someone is speaking (or singing).

    A frame is active when it is well above the clip's noise floor and not too far below its
    loud speech, or when it is clearly voiced and within 45 dB of the loud speech. The floor is
    the 10th percentile level; in a clip that is all speech that percentile is itself speech,
    hence the threshold never goes above 18 dB under the loud level. Gaps up to 100 ms (stop
    closures) are filled and blips under 40 ms (clicks) dropped. A stretch with no voiced 30 ms
    in it is noise, not a voice (whispers are lost, steady hiss and fans no longer talk), unless
    it is short (CONSONANT_HOPS) and lies within CONSONANT_REACH_HOPS of a voiced stretch: then
    it is the unvoiced consonant that begins or ends a word ("s", "f", "t", a breathy "them"),
    where a longer one is a cough, applause or a passing car. In a noisy recording the
    threshold sits only ~18 dB under the loud speech, so such a consonant is cut off from its
    word by the quiet frames around it, and was dropped with its lips shut (LibriVox 0870 under
    10 dB pink noise lost "for them", 0.5 s at the end).
    """
    db = 10.0 * np.log10(power)
    ref_db = 10.0 * math.log10(ref)
    floor_db = float(np.percentile(db, 10))
    threshold = max(ref_db - 35.0, min(floor_db + 12.0, ref_db - 18.0))
    active = (db > threshold) | ((voicing > 0.6) & (db > ref_db - 45.0))
    active = ~_drop_short_runs(~active, 10, interior_only=True)
    active = _drop_short_runs(active, 4)
    found = runs(active)
    voiced = [np.count_nonzero(voicing[s:e] > 0.5) >= 3 for s, e in found]
    voiced_edges = [edge for (s, e), v in zip(found, voiced, strict=True) if v for edge in (s, e)]
    for (s, e), v in zip(found, voiced, strict=True):
        near = any(s - CONSONANT_REACH_HOPS <= edge <= e + CONSONANT_REACH_HOPS for edge in voiced_edges)
        if not (v or (near and e - s <= CONSONANT_HOPS)):
            active[s:e] = False
    return active


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) index pairs of the runs of True in a 1-D bool mask."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _drop_short_runs(mask: np.ndarray, max_len: int, interior_only: bool = False) -> np.ndarray:
    """Copy of the bool mask with every run of True no longer than max_len set to False
    (with interior_only, runs touching either end of the mask are kept)."""
    out = mask.copy()
    for s, e in runs(mask):
        if e - s <= max_len and not (interior_only and (s == 0 or e == mask.shape[0])):
            out[s:e] = False
    return out


def in_blocks(
    analyse: Callable[[np.ndarray], tuple[np.ndarray, ...]], frames: np.ndarray, block: int = 500
) -> tuple[np.ndarray, ...]:
    """Apply `analyse` (rows of frames -> per-row arrays) 500 rows at a time and join the
    results: the FFT work arrays of a 60 s clip would otherwise take a few hundred MB."""
    parts = [analyse(frames[i : i + block]) for i in range(0, frames.shape[0], block)]
    return tuple(np.concatenate(column) for column in zip(*parts, strict=True))

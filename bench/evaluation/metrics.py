"""The four lip-sync figures of issue 2, computed from an aperture curve and aligned phones.

Inputs are plain arrays so the figures can be checked on synthetic curves:
  times_s   (n,) float64, presentation time of each video frame, 0 = first frame
  aperture  (n,) float   inner-lip aperture in any unit, NaN where the face was not found
  phones    time-ordered AlignedPhone-like objects (label, start_s, end_s)
All percentages are of the clip's maximum aperture (its widest opening is 100%).

Conventions, stated once:
- "within the phone +-1 frame" means every frame whose time lies in [start - 1/fps, end + 1/fps].
- A vowel's "centre" is the frame nearest to the middle of its aligned interval.
- Offset sign: + means the sound is ahead of the picture (the mouth lags), as EBU R37 counts
  it; the target is [-60 ms, +40 ms].
- Pauses are SIL stretches longer than 350 ms, the silence before the first word and after the
  last one included: a mouth hanging open while nobody speaks is as visible at the edges of a
  clip as in its middle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy.ndimage import gaussian_filter1d

BILABIALS = frozenset({"P", "B", "M"})
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})
MID_VOWELS = frozenset({"EH", "ER", "EY", "OW", "OY"})
CLOSE_VOWELS = frozenset({"IH", "IY", "UH", "UW"})
LABIODENTALS = frozenset({"F", "V"})

CLOSED_BELOW = 0.15  # share of the clip's max aperture under which the lips count as closed
OPEN_ABOVE = 0.40  # share of the clip's max aperture over which an open vowel counts as open
MIN_PAUSE_S = 0.35
OFFSET_RANGE_MS = (-60.0, 40.0)
MIN_PEAK_CORRELATION = 0.2  # below this there is no sync to measure: the lag is noise


class PhoneLike(Protocol):
    label: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Figure:
    """One acceptance figure. `value` is a share 0..1 (or ms for the offset); `failures` names
    the items that missed, e.g. "M 2.33-2.43s: min 31%"."""

    name: str
    value: float
    target: str
    passed: bool
    n: int
    failures: tuple[str, ...] = ()
    note: str = ""


def relative(aperture: np.ndarray) -> np.ndarray:
    """(n,) aperture as a share of its finite maximum (NaN stays NaN)."""
    peak = np.nanmax(aperture) if np.any(np.isfinite(aperture)) else np.nan
    if not np.isfinite(peak) or peak <= 0:
        return np.full(aperture.shape, np.nan)
    return np.asarray(aperture, np.float64) / peak


def _share_figure(name: str, hits: list[bool], target: float, failures: list[str], note: str = "") -> Figure:
    n = len(hits)
    share = float(np.mean(hits)) if n else float("nan")
    return Figure(name, share, f">= {target:.0%}", n == 0 or share >= target, n, tuple(failures), note)


def bilabial_closure(
    phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray, fps: float
) -> Figure:
    """Share of P/B/M phones during which the lips close (< 15% of max) within the phone +-1 frame."""
    rel, hits, failures = relative(aperture), [], []
    slack = 1.0 / fps + 1e-6
    for p in phones:
        if p.label not in BILABIALS:
            continue
        window = rel[(times_s >= p.start_s - slack) & (times_s <= p.end_s + slack)]
        window = window[np.isfinite(window)]
        closed = window.size > 0 and float(window.min()) < CLOSED_BELOW
        hits.append(closed)
        if not closed:
            seen = f"min {window.min():.0%}" if window.size else "no face seen"
            failures.append(f"{p.label} {p.start_s:.2f}-{p.end_s:.2f}s: {seen}")
    return _share_figure("p/b/m closed", hits, 0.90, failures)


def open_vowels(phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray) -> Figure:
    """Share of open vowels whose aperture at the vowel's centre frame is over 40% of max."""
    rel, hits, failures = relative(aperture), [], []
    for p in phones:
        if p.label not in OPEN_VOWELS:
            continue
        centre = 0.5 * (p.start_s + p.end_s)
        value = rel[int(np.argmin(np.abs(times_s - centre)))]
        is_open = bool(np.isfinite(value) and value > OPEN_ABOVE)
        hits.append(is_open)
        if not is_open:
            failures.append(f"{p.label} {p.start_s:.2f}-{p.end_s:.2f}s: {value:.0%}")
    return _share_figure("open vowels", hits, 0.80, failures)


def pauses(phones: Sequence[PhoneLike], min_pause_s: float = MIN_PAUSE_S) -> list[tuple[float, float]]:
    """(start_s, end_s) of every silence longer than `min_pause_s` (neighbouring SILs joined)."""
    runs: list[list[float]] = []
    for p in phones:
        if p.label != "SIL":
            continue
        if runs and abs(runs[-1][1] - p.start_s) < 1e-6:
            runs[-1][1] = p.end_s
        else:
            runs.append([p.start_s, p.end_s])
    return [(s, e) for s, e in runs if e - s > min_pause_s]


def pause_closure(phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray) -> Figure:
    """Share of all frames inside pauses over 350 ms in which the mouth is closed (< 15% of max)."""
    rel, hits, failures = relative(aperture), [], []
    for start, end in pauses(phones):
        inside = rel[(times_s >= start) & (times_s < end)]
        closed = [bool(np.isfinite(v) and v < CLOSED_BELOW) for v in inside]
        hits += closed
        if closed and not all(closed):
            failures.append(f"pause {start:.2f}-{end:.2f}s: {sum(closed)}/{len(closed)} frames closed")
    note = "" if hits else "no pause over 350 ms in this clip"
    return _share_figure("pauses closed", hits, 0.90, failures, note)


# How open each phone class holds the mouth in the reference curve (0 closed .. 1 wide).
_OPENNESS = [(OPEN_VOWELS, 1.0), (MID_VOWELS, 0.6), (CLOSE_VOWELS, 0.4), (LABIODENTALS, 0.15)]
_OTHER_CONSONANT = 0.3
REFERENCE_RATE_HZ = 1000.0
REFERENCE_SMOOTH_S = 0.03


def phone_openness(label: str) -> float:
    """Target openness of one phone: open vowels 1, mid 0.6, close 0.4, f/v 0.15, p/b/m and
    silence 0, any other consonant 0.3."""
    if label in BILABIALS or label == "SIL":
        return 0.0
    return next((value for group, value in _OPENNESS if label in group), _OTHER_CONSONANT)


def reference_openness(phones: Sequence[PhoneLike], times_s: np.ndarray) -> np.ndarray:
    """(len(times_s),) float64 reference openness at arbitrary times (0 outside the phones).

    Why: a phone-level step curve says when the mouth should be open; smoothing it with a 30 ms
    Gaussian turns the steps into the gradual motion real lips make, so the cross-correlation
    peak is set by where the openings are, not by the exact shape of their edges.
    """
    end_s = max((p.end_s for p in phones), default=0.0)
    grid = np.arange(int(np.ceil((end_s + 1.0) * REFERENCE_RATE_HZ))) / REFERENCE_RATE_HZ
    steps = np.zeros(grid.shape)
    for p in phones:
        steps[(grid >= p.start_s) & (grid < p.end_s)] = phone_openness(p.label)
    smooth = gaussian_filter1d(steps, REFERENCE_SMOOTH_S * REFERENCE_RATE_HZ, mode="constant")
    return np.interp(times_s, grid, smooth, left=0.0, right=0.0)


def lag_correlations(
    phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray, max_lag_s: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Pearson correlation of aperture(t) with reference(t - lag) for lags in [-max, +max] s.

    Returns (lags_s, correlations), lags on a 1 ms grid: the reference is evaluated at shifted
    frame times directly, so the lag resolution is not limited to whole frames.
    """
    valid = np.isfinite(aperture)
    t, a = times_s[valid], np.asarray(aperture, np.float64)[valid]
    lags = np.round(np.arange(-max_lag_s, max_lag_s + 5e-4, 1e-3), 6)
    refs = np.stack([reference_openness(phones, t - lag) for lag in lags])
    refs -= refs.mean(axis=1, keepdims=True)
    a = a - a.mean()
    norms = np.linalg.norm(refs, axis=1) * np.linalg.norm(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(norms > 0, refs @ a / norms, 0.0)
    return lags, corr


def av_offset(phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray) -> Figure:
    """Audio-video offset in ms (+ = sound ahead, mouth lags) at the cross-correlation peak."""
    lags, corr = lag_correlations(phones, times_s, aperture)
    best = int(np.argmax(corr))
    lag_ms, peak = 1000.0 * float(lags[best]), float(corr[best])
    low, high = OFFSET_RANGE_MS
    notes = [f"peak r={peak:.2f}"]
    if best in (0, len(lags) - 1):
        notes.append("peak at the edge of the +-200 ms search")
    if peak < MIN_PEAK_CORRELATION:
        notes.append(f"r < {MIN_PEAK_CORRELATION}: mouth does not follow the speech")
    passed = low <= lag_ms <= high and peak >= MIN_PEAK_CORRELATION and len(notes) == 1
    return Figure("A/V offset ms", lag_ms, f"[{low:+.0f}, {high:+.0f}]", passed, 1, (), "; ".join(notes))


def all_figures(
    phones: Sequence[PhoneLike], times_s: np.ndarray, aperture: np.ndarray, fps: float
) -> list[Figure]:
    """The four figures of issue 2, in its order."""
    return [
        bilabial_closure(phones, times_s, aperture, fps),
        open_vowels(phones, times_s, aperture),
        av_offset(phones, times_s, aperture),
        pause_closure(phones, times_s, aperture),
    ]

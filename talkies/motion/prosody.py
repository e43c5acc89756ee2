"""Prosody cues shared by the liveliness planners: accents (stressed, loud or pitch-raised
moments), a smooth "speaking" envelope, and the voice's arousal (how animated it sounds, which
scales how much everything moves; see docs/prompt.md).

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
    step = timeline.step(times_s)
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


# --- arousal: how animated the voice sounds ---------------------------------------------------
# Loud, wide-pitched, fast speech reads as aroused and goes with more head motion and brow
# activity; quiet, monotone, slow speech with less (design.md, Expression). Each cue is
# measured over a few seconds around every moment and compared with ordinary calm read speech
# (the LibriVox reading in examples/ and the espeak-ng clips read between these references:
# see docs/prompt.md). The loudness envelope is normalised to each clip (1 = its loud speech),
# so its level says how loud a stretch is relative to the rest of the clip, not absolutely.

AROUSAL_STEP_S = 0.05
AROUSAL_SIGMA_S = 2.0  # Gaussian window: a few seconds of speech around each moment
AROUSAL_PRIOR_S = 1.5  # with less speech than this in the window, lean on the whole clip
AROUSAL_CLIP_SHARE = 0.5  # the clip's overall arousal weighs this much against the local one
VOWELS = frozenset(("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"))
# Cue: (calm read speech, one unit of arousal above it, weight). Units: loudness 0..1 (mean and
# std over speech), pitch spread in semitones (std of F0 around the clip's median), rate in
# vowel nuclei per second of speech.
AROUSAL_CUES = {
    "level": (0.50, 0.20, 0.25),
    "variability": (0.30, 0.10, 0.15),
    "pitch_st": (2.0, 1.5, 0.3),
    "rate_hz": (4.3, 1.5, 0.3),
}
# How strongly arousal (+-1) drives each kind of motion, as exp(depth * arousal): head drift and
# nods about x0.74..x1.35, brow flashes x0.67..x1.5, blink rate x0.86..x1.16 (so talking's 26 a
# minute stays inside the human 10-32), torso sway x0.82..x1.22.
HEAD_DEPTH, BROW_DEPTH, BLINK_DEPTH, SWAY_DEPTH = 0.3, 0.4, 0.15, 0.2
MOTION_SCALE = (0.35, 2.0)  # bounds of mood scale x arousal gain
MAX_PITCH_ST = 9.0  # semitones from the median beyond this are octave errors, not intonation


def arousal_cues(speech: SpeechTrack, times_s: np.ndarray) -> dict[str, np.ndarray]:
    """{cue: (n,) float64} at `times_s`, each a blend of the few seconds around that moment
    and the whole clip (see AROUSAL_CUES for the units)."""
    grid = timeline.grid(speech.duration_s, AROUSAL_STEP_S)
    talk = timeline.speaking(speech, grid).astype(np.float64)
    loud = timeline.sample(speech.loudness, speech.hop_s, grid)
    hops = np.clip(np.round(grid / speech.hop_s).astype(int), 0, max(speech.n_hops - 1, 0))
    pitch = np.asarray(speech.pitch_hz, np.float64)[hops] if speech.n_hops else np.zeros(grid.size)
    voiced = (pitch > 0) & (talk > 0)
    semis = np.zeros(grid.size)
    if voiced.sum() > 10:
        semis[voiced] = 12 * np.log2(pitch[voiced] / np.median(pitch[voiced]))
    semis = np.clip(semis, -MAX_PITCH_ST, MAX_PITCH_ST)
    nuclei = np.zeros(grid.size)
    for t in _nuclei(speech):
        nuclei[min(round(t / AROUSAL_STEP_S), grid.size - 1)] += 1.0 / AROUSAL_STEP_S
    level, level_var = _moments(loud, talk)
    _, pitch_var = _moments(semis, voiced.astype(np.float64))
    cues = {
        "level": level,
        "variability": np.sqrt(np.maximum(level_var, 0.0)),
        "pitch_st": np.sqrt(np.maximum(pitch_var, 0.0)),
        "rate_hz": _moments(nuclei, talk)[0],
    }
    return {name: np.interp(times_s, grid, values) for name, values in cues.items()}


def arousal(speech: SpeechTrack, times_s: np.ndarray) -> np.ndarray:
    """(n,) float64 in [-1, 1] at `times_s`: 0 for ordinary calm read speech, + livelier, -
    calmer; smooth in time (a few seconds' window) and a pure function of the track."""
    cues = arousal_cues(speech, times_s)
    total = np.zeros(times_s.size)
    for name, (calm, unit, weight) in AROUSAL_CUES.items():
        total += weight * np.clip((cues[name] - calm) / unit, -1.5, 1.5)
    return np.tanh(total / sum(w for _, _, w in AROUSAL_CUES.values()))


def motion_scale(mood_scale: float, level: np.ndarray, depth: float) -> np.ndarray:
    """(n,) multiplier of a motion's amplitude: the prompt's mood scale times the voice's
    exp(depth * arousal) (so +1 and -1 arousal scale by reciprocal amounts), the product kept
    within MOTION_SCALE (a calm prompt on an excited voice still moves, an energetic one on a
    shouting voice stays human)."""
    gain = np.exp(depth * np.asarray(level, dtype=np.float64))
    return np.clip(mood_scale * gain, *MOTION_SCALE)


def _moments(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of `values` under `weights`, Gaussian-windowed (AROUSAL_SIGMA_S) and
    shrunk towards the whole clip's where the window holds little weight."""
    mass = timeline.smooth(weights, AROUSAL_SIGMA_S, AROUSAL_STEP_S)
    sum1 = timeline.smooth(weights * values, AROUSAL_SIGMA_S, AROUSAL_STEP_S)
    sum2 = timeline.smooth(weights * values**2, AROUSAL_SIGMA_S, AROUSAL_STEP_S)
    total = float(weights.sum())
    clip1 = float((weights * values).sum()) / total if total > 0 else 0.0
    clip2 = float((weights * values**2).sum()) / total if total > 0 else 0.0
    # `mass` is the share of the window that is speech; its window spans ~2.5 sigma of time.
    seconds = mass * np.sqrt(2 * np.pi) * AROUSAL_SIGMA_S
    trust = seconds / (seconds + AROUSAL_PRIOR_S)
    local1 = np.where(mass > 1e-9, sum1 / np.maximum(mass, 1e-9), clip1)
    local2 = np.where(mass > 1e-9, sum2 / np.maximum(mass, 1e-9), clip2)
    share = (1 - AROUSAL_CLIP_SHARE) * trust
    mean = share * local1 + (1 - share) * clip1
    second = share * local2 + (1 - share) * clip2
    return mean, second - mean**2


def _nuclei(speech: SpeechTrack) -> list[float]:
    """Times of syllable nuclei: the middle of each vowel phone, or without phones the peaks
    of voiced loudness (one per syllable, at most ~10 a second)."""
    if speech.phones:
        return [
            0.5 * (p.start_s + p.end_s) for p in speech.phones if timeline.normalise_label(p.label) in VOWELS
        ]
    times = timeline.grid(speech.duration_s, ACCENT_STEP_S)
    voiced = timeline.sample(speech.voicing, speech.hop_s, times)
    loud = timeline.smooth(timeline.sample(speech.loudness, speech.hop_s, times), 0.02, ACCENT_STEP_S)
    score = loud * voiced * timeline.speaking(speech, times)
    peaks, _ = find_peaks(score, height=0.15, distance=int(0.1 / ACCENT_STEP_S), prominence=0.1)
    return [float(times[p]) for p in peaks]

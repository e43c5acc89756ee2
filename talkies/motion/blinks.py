"""Blink planner -> blink_left, blink_right (0 open .. 1 closed).

Why it works this way. Spontaneous blinking is a renewal process: intervals are irregular but
rarely very short, which a gamma distribution (shape > 1) captures; its mean follows the rate
(about 17 a minute at rest, 26 while talking). People also blink at the end of phrases, so we
add a likely blink in the pause after each phrase. A blink closes faster than it opens. Video
samples a blink only a few times, so each blink's peak is put on a frame and a full blink holds
the lids shut for two frames: measured on re-detected renders, blinks of 100-150 ms with half
of them partial (the textbook figures for the eyelid itself) read as a lid twitch with the
iris showing, closed for one frame at 25 fps or not at all. Blinks here last 160-340 ms
(median 200 ms), and six in seven close fully. Both eyes blink together, with small occasional differences.
The other, silent faces of a photo (`blink_others`) blink on their own, at the resting rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.curves import ramp
from talkies.motion import prosody, timeline
from talkies.motion.prompt import Modifiers
from talkies.tracks import SpeechTrack

REST_PER_MIN = 17.0
TALKING_PER_MIN = 26.0
GAMMA_SHAPE = 3.0  # >1: intervals cluster around the mean, few very short ones
MIN_GAP_S = 0.8  # no two blinks closer than this
PHRASE_END_CHANCE = 0.6  # chance of a blink in the pause after a phrase
PHRASE_PAUSE_S = 0.3  # a pause this long ends a phrase
CLOSING_SHARE = 0.35  # share of the moving part of a blink spent closing (closing is faster)
DURATION_S = (0.16, 0.2, 0.34)  # shortest, median, longest blink
PARTIAL_CHANCE = 0.15
HOLD_FRAMES = 2  # a full blink is shut on this many frames


@dataclass(frozen=True)
class Blink:
    peak_s: float  # moment the lids reach their greatest closure
    duration_s: float
    depth: float  # 1 = fully closed
    right_depth: float  # the right eye's depth (mostly equal)
    hold_s: float = 0.0  # how long the lids stay at `depth` after the peak


def plan_blinks(
    speech: SpeechTrack,
    times_s: np.ndarray,
    fps: float,
    rng: np.random.Generator,
    mods: Modifiers,
    arousal: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """{"blink_left", "blink_right", "blink_others"}: (len(times_s),) float64 0..1 at the frame
    times; blink_others is for the silent faces (drawn last, so the speaker's blinks do not
    depend on it). The speaker's rate follows the mood and the voice's `arousal` at `times_s`
    (none: 0); the silent faces' only the mood."""
    talking = timeline.speaking(speech, times_s)
    aroused = np.zeros(times_s.size) if arousal is None else arousal
    rate = prosody.motion_scale(mods.blink_rate_scale, aroused, prosody.BLINK_DEPTH)
    peaks = _blink_times(speech, times_s, talking, rng, rate)
    peaks = np.round(np.asarray(peaks) * fps) / fps  # land every peak on a frame
    blinks = [_draw_blink(rng, t, fps) for t in peaks]
    left = np.zeros(times_s.size)
    right = np.zeros(times_s.size)
    for blink in blinks:
        shape = _shape(times_s, blink)
        left = np.maximum(left, blink.depth * shape)
        right = np.maximum(right, blink.right_depth * shape)
    others = np.zeros(times_s.size)
    silent = np.zeros(times_s.size, bool)
    for t in (
        np.round(
            np.asarray(_blink_times(None, times_s, silent, rng, np.full(times_s.size, mods.blink_rate_scale)))
            * fps
        )
        / fps
    ):
        blink = _draw_blink(rng, t, fps)
        others = np.maximum(others, blink.depth * _shape(times_s, blink))
    return {"blink_left": left, "blink_right": right, "blink_others": others}


def _blink_times(
    speech: SpeechTrack | None,
    times_s: np.ndarray,
    talking: np.ndarray,
    rng: np.random.Generator,
    rate_scale: np.ndarray,
) -> list[float]:
    """Peak times: a gamma renewal process whose rate follows talking/rest times `rate_scale`
    (each (n,) at `times_s`), plus phrase ends (none without `speech`: a silent face)."""
    end_s = float(times_s[-1]) if times_s.size else 0.0
    found: list[float] = []
    t = rng.uniform(0.3, 60.0 / REST_PER_MIN)
    while t < end_s:
        found.append(t)
        here = min(int(np.searchsorted(times_s, t)), talking.size - 1)
        per_min = (TALKING_PER_MIN if talking[here] else REST_PER_MIN) * max(float(rate_scale[here]), 1e-3)
        t += max(MIN_GAP_S, rng.gamma(GAMMA_SHAPE, 60.0 / per_min / GAMMA_SHAPE))
    for pause in timeline.pauses(speech) if speech is not None else []:
        if pause.start_s > 0 and pause.duration_s >= PHRASE_PAUSE_S and rng.random() < PHRASE_END_CHANCE:
            candidate = pause.start_s + rng.uniform(0.05, 0.25)
            found = [b for b in found if abs(b - candidate) >= MIN_GAP_S]
            found.append(candidate)
    return sorted(b for b in found if b < end_s)


def _draw_blink(rng: np.random.Generator, peak_s: float, fps: float) -> Blink:
    shortest, median, longest = DURATION_S
    duration = float(np.clip(rng.lognormal(np.log(median), 0.22), shortest, longest))
    partial = rng.random() < PARTIAL_CHANCE
    depth = float(rng.uniform(0.55, 0.85)) if partial else 1.0
    right = depth
    if rng.random() < 0.15:  # an occasional, barely visible difference between the eyes
        right = depth * float(rng.uniform(0.9, 1.0))
    # the peak sits on a frame: holding a little over (HOLD_FRAMES - 1) frame periods shuts
    # HOLD_FRAMES frames
    hold = 0.0 if partial else (HOLD_FRAMES - 1) / fps + 0.004
    return Blink(float(peak_s), duration, depth, right, min(hold, 0.5 * duration))


def _shape(times_s: np.ndarray, blink: Blink) -> np.ndarray:
    """(n,) 0..1 closure profile: raised-cosine close, the hold, then a slower raised-cosine
    open; `duration_s` covers all three."""
    moving = blink.duration_s - blink.hold_s
    closing = CLOSING_SHARE * moving
    opening = moving - closing
    reopen_s = blink.peak_s + blink.hold_s
    closed = ramp(times_s, blink.peak_s - closing, closing)
    return np.minimum(closed, 1.0 - ramp(times_s, reopen_s, opening))

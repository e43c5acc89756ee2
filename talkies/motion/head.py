"""Head planner -> head_yaw_deg, head_pitch_deg, head_roll_deg.

Why it works this way. A still head looks dead, a jittery one looks broken. So the head is a
sum of smooth, band-limited parts: a slow idle drift (a few sinusoids under 0.35 Hz, about
1-2 degrees), livelier drift while speaking, short nods on the stronger accents (chin down and
back, a squared-Hann gesture of ~0.6 s, smooth in speed and acceleration), and a postural
shift when speech resumes after a long pause. Everything is a smooth function of time, so it
is the same at any frame rate, and a soft limit keeps the total within the few degrees that
people actually move.
"""

from __future__ import annotations

import numpy as np

from talkies.motion import prosody, timeline
from talkies.motion.prompt import Modifiers
from talkies.tracks import SpeechTrack

IDLE_DEG = {"head_yaw_deg": 1.5, "head_pitch_deg": 1.0, "head_roll_deg": 0.8}  # std of the idle drift
TALK_GAIN = 1.6  # drift grows this much while speaking
NOD_DEG = 2.5  # chin-down of a nod on the strongest accent
NOD_WIDTH_S = 0.6
NOD_MIN_STRENGTH = 0.45  # weaker accents do not nod
NOD_CHANCE = 0.7  # and not every strong one does
NOD_GAP_S = 0.9  # nor two within this time
SHIFT_PAUSE_S = 0.8  # pauses longer than this may end in a postural shift
SHIFT_DEG = 1.5  # std of a postural shift per axis
SHIFT_S = 0.8  # how long a shift takes
SETTLE_S = 1.0  # the first frame shows the photo's own pose; motion fades in over this
LIMIT_DEG = {"head_yaw_deg": 7.0, "head_pitch_deg": 6.0, "head_roll_deg": 5.0}


def plan_head(
    speech: SpeechTrack,
    times_s: np.ndarray,
    accents: list[prosody.Accent],
    rng: np.random.Generator,
    mods: Modifiers,
) -> dict[str, np.ndarray]:
    """Head angles in degrees at `times_s`: {name: (n,) float64}."""
    talk = prosody.speaking_envelope(speech, times_s)
    shifts = _postural_shifts(speech, times_s, rng)
    curves = {}
    for axis, (name, idle) in enumerate(IDLE_DEG.items()):
        slow = prosody.drift(rng, times_s, 0.04, 0.3)
        lively = prosody.drift(rng, times_s, 0.3, 0.9)
        angle = idle * (slow * (1 + (TALK_GAIN - 1) * talk) + 0.35 * talk * lively)
        curves[name] = mods.head_scale * (angle + shifts[:, axis])
    curves["head_pitch_deg"] = curves["head_pitch_deg"] - mods.nod_scale * _nods(times_s, accents, rng)
    settle = timeline.ramp(times_s, 0.0, SETTLE_S)
    return {name: _soft_limit(settle * values, LIMIT_DEG[name]) for name, values in curves.items()}


def _nods(times_s: np.ndarray, accents: list[prosody.Accent], rng: np.random.Generator) -> np.ndarray:
    """(n,) chin-down degrees: nods on a sparse choice of the strong accents, peaking just
    after each (the head lands on the stressed syllable)."""
    nods = np.zeros(times_s.size)
    for accent in prosody.pick(accents, NOD_MIN_STRENGTH, NOD_GAP_S, NOD_CHANCE, rng):
        size = NOD_DEG * accent.strength * rng.uniform(0.6, 1.0)
        nods = np.maximum(nods, size * prosody.bump(times_s, accent.time_s + 0.05, NOD_WIDTH_S) ** 2)
    return nods


def _postural_shifts(speech: SpeechTrack, times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) degrees: a new resting pose, eased in as speech resumes after a long pause."""
    offset = np.zeros((times_s.size, 3))
    pose = np.zeros(3)
    for pause in timeline.pauses(speech):
        if pause.start_s <= 0 or pause.duration_s < SHIFT_PAUSE_S or pause.end_s >= speech.duration_s:
            continue
        new_pose = rng.normal(0.0, SHIFT_DEG, 3) * np.array(list(IDLE_DEG.values())) / 1.5
        x = np.clip((times_s - (pause.end_s - 0.5 * SHIFT_S)) / SHIFT_S, 0.0, 1.0)
        ease = (0.5 - 0.5 * np.cos(np.pi * x))[:, None]
        offset += ease * (new_pose - pose)[None, :]
        pose = new_pose
    return offset


def _soft_limit(values: np.ndarray, limit: float) -> np.ndarray:
    """Smoothly squash values into (-limit, limit): linear near zero, never a hard clip."""
    return limit * np.tanh(values / limit)

"""Head planner -> head_yaw_deg, head_pitch_deg, head_roll_deg (and gaze_x_deg, gaze_y_deg).

Why it works this way. A still head looks dead, a jittery one looks broken. So the head is a
sum of smooth, band-limited parts: a slow idle drift (a few sinusoids under 0.35 Hz, about
1-2 degrees), livelier drift while speaking (most in pitch, where speech-timed head motion
is), short nods on the stronger accents (chin down and back, a squared-Hann gesture of ~0.7 s,
smooth in speed and acceleration), and a postural
shift when speech resumes after a long pause. Everything is a smooth function of time, so it
is the same at any frame rate, and a soft limit keeps the total within the few degrees that
people actually move. How much of all this there is follows the prompt's mood times the voice's
arousal (prosody.arousal: an animated voice moves the head more, a flat one less).

The prompt's actions come on top, each in its time window (prompt.windows): a nod is a few
chin-down cycles, a head shake a few yaw swings under a smooth envelope, a look or a tilt eases
to a held pose and back (the eyes lead the head into a look). The eyes also make small gaze
shifts on their own: a new resting direction every couple of seconds, reached in a quick
saccade-like move, a few degrees at most.
"""

from __future__ import annotations

import numpy as np

from talkies.curves import ramp
from talkies.motion import prompt, prosody, timeline
from talkies.motion.prompt import Modifiers
from talkies.tracks import SpeechTrack

IDLE_DEG = {"head_yaw_deg": 1.5, "head_pitch_deg": 1.9, "head_roll_deg": 0.8}  # std of the idle drift
TALK_GAIN = 1.6  # drift grows this much while speaking
# While speaking a livelier (0.3-0.9 Hz) part joins the drift, this share of the idle size: most
# of all in pitch, where speech-timed head motion mostly is.
TALK_LIVELY = {"head_yaw_deg": 0.5, "head_pitch_deg": 0.8, "head_roll_deg": 0.35}
NOD_DEG = 3.0  # chin-down of a nod on the strongest accent
NOD_WIDTH_S = 0.7
NOD_MIN_STRENGTH = 0.35  # weaker accents do not nod
NOD_CHANCE = 0.85  # and not every strong one does
NOD_GAP_S = 0.9  # nor two within this time
SHIFT_PAUSE_S = 0.8  # pauses longer than this may end in a postural shift
SHIFT_DEG = 1.5  # std of a postural shift per axis
SHIFT_S = 0.8  # how long a shift takes
STEADY_S = 10.0  # from this clip length on, each drift is scaled to its nominal size exactly
SETTLE_S = 1.0  # the first frame shows the photo's own pose; motion fades in over this
LIMIT_DEG = {"head_yaw_deg": 7.0, "head_pitch_deg": 6.0, "head_roll_deg": 5.0}
# Prompt actions (degrees at strength 1) and the limits of head pose with actions added.
ACTION_NOD_DEG, ACTION_NOD_HZ, ACTION_NODS = 4.0, 1.6, 3
ACTION_SHAKE_DEG, ACTION_SHAKE_HZ, ACTION_SHAKES = 6.0, 2.0, 2.5
LOOK_DEG = {"left": (-9.0, 0.0), "right": (9.0, 0.0), "up": (0.0, 5.0), "down": (0.0, -6.0)}  # yaw, pitch
LOOK_GAZE = 1.4  # the eyes turn this much further than the head
TILT_DEG = 6.0
POSE_EASE_S = 0.45  # time to reach (or leave) a held look or tilt
ACTION_LIMIT_DEG = {"head_yaw_deg": 12.0, "head_pitch_deg": 10.0, "head_roll_deg": 10.0}
# Spontaneous gaze shifts: std of each resting direction, how long each is held, saccade time.
GAZE_DEG = (2.0, 1.2)  # x, y
GAZE_HOLD_S = (1.2, 3.5)
SACCADE_S = 0.06


def plan_head(
    speech: SpeechTrack,
    times_s: np.ndarray,
    accents: list[prosody.Accent],
    rng: np.random.Generator,
    mods: Modifiers,
    arousal: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Head angles and gaze in degrees at `times_s`: {name: (n,) float64} for head_yaw_deg,
    head_pitch_deg, head_roll_deg, gaze_x_deg, gaze_y_deg. Drift, shifts and nods are scaled
    by the mood and by the voice's `arousal` (prosody.arousal at `times_s`; computed when
    None)."""
    talk = prosody.speaking_envelope(speech, times_s)
    shifts = _postural_shifts(speech, times_s, rng)
    aroused = prosody.arousal(speech, times_s) if arousal is None else arousal
    scale = prosody.motion_scale(mods.head_scale, aroused, prosody.HEAD_DEPTH)
    curves = {}
    for axis, (name, idle) in enumerate(IDLE_DEG.items()):
        slow = _steady(prosody.drift(rng, times_s, 0.04, 0.3), times_s)
        lively = _steady(prosody.drift(rng, times_s, 0.3, 0.9), times_s)
        angle = idle * (slow * (1 + (TALK_GAIN - 1) * talk) + TALK_LIVELY[name] * talk * lively)
        curves[name] = scale * (angle + shifts[:, axis])
    nod_scale = prosody.motion_scale(mods.nod_scale, aroused, prosody.HEAD_DEPTH)
    curves["head_pitch_deg"] = curves["head_pitch_deg"] - nod_scale * _nods(times_s, accents, rng)
    settle = ramp(times_s, 0.0, SETTLE_S)
    head = {name: _soft_limit(settle * values, LIMIT_DEG[name]) for name, values in curves.items()}
    acted, gaze = _actions(times_s, speech.duration_s, mods)
    head["head_pitch_deg"] = (
        head["head_pitch_deg"] + prompt.mood_curves(mods, times_s, speech.duration_s)["pitch_deg"]
    )
    if mods.of_kind("action") or mods.of_kind("mood"):
        head = {name: _soft_knee(head[name] + acted[name], ACTION_LIMIT_DEG[name]) for name in head}
    saccades = _gaze_shifts(times_s, rng)  # drawn last: the head's draws stay as they were
    return head | {name: saccades[name] + gaze[name] for name in saccades}


def _actions(
    times_s: np.ndarray, duration_s: float, mods: Modifiers
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(head offsets, gaze offsets) in degrees from the prompt's actions, each (n,) float64."""
    head = {name: np.zeros(times_s.size) for name in LIMIT_DEG}
    gaze = {"gaze_x_deg": np.zeros(times_s.size), "gaze_y_deg": np.zeros(times_s.size)}
    for cue in mods.of_kind("action"):
        start, end = prompt.window_of(cue, mods, duration_s)
        held = _held(times_s, start, end, duration_s)
        k = cue.strength
        if cue.name == "nod":
            head["head_pitch_deg"] -= (
                k * ACTION_NOD_DEG * _cycles(times_s, start + 0.15, end, ACTION_NOD_HZ, ACTION_NODS)[0]
            )
        elif cue.name == "shake":
            head["head_yaw_deg"] += (
                k * ACTION_SHAKE_DEG * _cycles(times_s, start + 0.15, end, ACTION_SHAKE_HZ, ACTION_SHAKES)[1]
            )
        elif cue.name.startswith("look_") and cue.name[5:] in LOOK_DEG:
            yaw, pitch = LOOK_DEG[cue.name[5:]]
            head["head_yaw_deg"] += k * yaw * held
            head["head_pitch_deg"] += k * pitch * held
            gaze["gaze_x_deg"] += k * LOOK_GAZE * yaw * _held(times_s, start - 0.1, end, duration_s)
            gaze["gaze_y_deg"] += k * LOOK_GAZE * pitch * _held(times_s, start - 0.1, end, duration_s)
        elif cue.name.startswith("tilt"):
            side = -1.0 if cue.name == "tilt_left" else 1.0  # tilting to the image's left is anticlockwise
            head["head_roll_deg"] += k * side * TILT_DEG * held
    return head, gaze


def _held(times_s: np.ndarray, start_s: float, end_s: float, duration_s: float) -> np.ndarray:
    """(n,) 0..1: eases in at start_s, holds, eases out before end_s (held to the end of the
    clip when the window reaches it)."""
    length = min(POSE_EASE_S, max(end_s - start_s, 1e-3) / 2)
    rise = ramp(times_s, start_s, length)
    if end_s >= duration_s - 1e-6:
        return rise
    return rise * (1.0 - ramp(times_s, end_s - length, length))


def _cycles(
    times_s: np.ndarray, start_s: float, end_s: float, hz: float, count: float
) -> tuple[np.ndarray, np.ndarray]:
    """(bobs 0..1, swings -1..1), each (n,): `count` cycles at `hz` from start_s, fewer and faster
    if the window is short. Bobs go down and back each cycle; swings go side to side under a
    Hann envelope. Both are smooth at their ends."""
    length = max(min(count / hz, end_s - start_s), 0.3)
    hz = count / length
    x = np.clip((times_s - start_s) / length, 0.0, 1.0)
    inside = (times_s >= start_s) & (times_s <= start_s + length)
    bobs = np.where(inside, 0.5 - 0.5 * np.cos(2 * np.pi * hz * (times_s - start_s)), 0.0)
    swings = np.where(inside, np.sin(2 * np.pi * hz * (times_s - start_s)) * np.sin(np.pi * x) ** 2, 0.0)
    return bobs, swings


def _gaze_shifts(times_s: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """{"gaze_x_deg", "gaze_y_deg"}: (n,) float64, a resting direction held for a while, then a
    quick move to the next (the first one is straight ahead, as in the photo)."""
    end_s = float(times_s[-1]) if times_s.size else 0.0
    x, y = np.zeros(times_s.size), np.zeros(times_s.size)
    t, here = rng.uniform(*GAZE_HOLD_S), np.zeros(2)
    while t < end_s:
        there = rng.normal(0.0, GAZE_DEG) if rng.random() < 0.7 else np.zeros(2)  # often back to centre
        step = ramp(times_s, t, SACCADE_S)
        x += step * (there[0] - here[0])
        y += step * (there[1] - here[1])
        here = there
        t += rng.uniform(*GAZE_HOLD_S)
    return {"gaze_x_deg": x, "gaze_y_deg": y}


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
        ease = ramp(times_s, pause.end_s - 0.5 * SHIFT_S, SHIFT_S)[:, None]
        offset += ease * (new_pose - pose)[None, :]
        pose = new_pose
    return offset


def _steady(wave: np.ndarray, times_s: np.ndarray) -> np.ndarray:
    """A drift of exactly unit standard deviation over clips of STEADY_S or more: a handful of
    random sinusoids can, by chance, nearly cancel over 30 s (a dead head for some seeds) or
    pile up. Shorter clips keep the drift's nominal size (there a slow wave is a ramp)."""
    if times_s.size < 2 or times_s[-1] - times_s[0] < STEADY_S:
        return wave
    std = float(np.std(wave))
    return wave / std if std > 1e-9 else wave


def _soft_knee(values: np.ndarray, limit: float, knee: float = 0.6) -> np.ndarray:
    """Identity up to knee * limit, then smoothly squashed into (-limit, limit): a prompt's
    look keeps its size, only the sum of a look and a large drift is tamed."""
    start = knee * limit
    room = limit - start
    over = np.maximum(np.abs(values) - start, 0.0)
    return np.where(over > 0, np.sign(values) * (start + room * np.tanh(over / room)), values)


def _soft_limit(values: np.ndarray, limit: float) -> np.ndarray:
    """Smoothly squash values into (-limit, limit): linear near zero, never a hard clip."""
    return limit * np.tanh(values / limit)

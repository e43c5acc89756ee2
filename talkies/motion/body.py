"""Body planner -> breath (0..1), torso_sway_px.

Why it works this way. Breathing is a slow cycle (about 15 a minute) at rest; while talking
people exhale slowly through a phrase and inhale quickly in the pauses before the next one,
so the chest rises in pauses and sinks during speech. Torso sway is a very slow band-limited
drift. Both only make sense when the photo shows shoulders or more: the person mask tells us
whether there is body below the chin; a face-only crop gets no sway and a faint breath.

The camera moves the prompt asks for ("slowly pushes in", "pulls out") are planned here too,
as the `zoom` curve: like the body, they move the whole picture, not the face. A push eases in
over its time window (over the rest of the clip when "slowly", in about a second when
"quickly"); a pull out starts pushed in and eases back to the photo's framing.
"""

from __future__ import annotations

import numpy as np

from talkies.curves import ramp
from talkies.motion import prompt, prosody, timeline
from talkies.motion.prompt import Modifiers
from talkies.tracks import PortraitRig, SpeechTrack

REST_BREATH_S = 4.0  # one breath every 4 s at rest
INHALE_S = 1.0  # a full inhale takes this long (pauses before phrases are shorter)
EXHALE_S = 5.0  # a full lung empties over this much speech
SWAY_PX = 4.0  # std of torso sway, pixels at 1080p
FACE_ONLY_BREATH = 0.3  # breath depth when no shoulders are visible
CHIN, FOREHEAD = 152, 10  # face-mesh landmark indices
PUSH_ZOOM = 0.12  # a camera push in at strength 1 ends this much closer (scale - 1)
FAST_CAMERA_S = 1.2  # a quick push or pull takes this long
MIN_CAMERA_S = 1.5  # an ordinary one at least this long


def body_visible(rig: PortraitRig) -> bool:
    """True when the person mask covers at least half a face's area below the chin."""
    mask = np.asarray(rig.person_mask, dtype=np.float32)
    landmarks = np.asarray(rig.landmarks)
    if mask.ndim != 2 or landmarks.shape[0] <= CHIN:
        return False
    face_h = float(landmarks[CHIN, 1] - landmarks[FOREHEAD, 1])
    face_w = float(np.ptp(landmarks[:, 0]))
    below = int(np.clip(landmarks[CHIN, 1] + 0.25 * face_h, 0, mask.shape[0]))
    return float(mask[below:].sum()) >= 0.5 * max(face_h * face_w, 1.0)


def plan_body(
    speech: SpeechTrack,
    rig: PortraitRig,
    times_s: np.ndarray,
    rng: np.random.Generator,
    mods: Modifiers,
    arousal: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """{"breath", "torso_sway_px", "zoom"}: (n,) float64 at `times_s`. Sway follows the mood
    and the voice's `arousal` at `times_s` (none: 0); breathing only the mood."""
    visible = body_visible(rig)
    depth = mods.body_scale * (1.0 if visible else FACE_ONLY_BREATH)
    breath = np.clip(depth * _breath(speech, times_s, rng), 0.0, 1.0)
    sway = (
        SWAY_PX
        * prosody.motion_scale(
            mods.body_scale, np.zeros(times_s.size) if arousal is None else arousal, prosody.SWAY_DEPTH
        )
        * prosody.drift(rng, times_s, 0.03, 0.2)
        * ramp(times_s, 0.0, 1.0)
        if visible
        else np.zeros(times_s.size)
    )
    return {"breath": breath, "torso_sway_px": sway, "zoom": _camera(times_s, speech.duration_s, mods)}


def _camera(times_s: np.ndarray, duration_s: float, mods: Modifiers) -> np.ndarray:
    """(n,) zoom (scale - 1) from the prompt's camera cues; zeros without any."""
    zoom = np.zeros(times_s.size)
    for cue in mods.of_kind("camera"):
        if cue.name not in ("push_in", "pull_out"):
            continue  # "static": nothing moves, which is the default
        start, end = prompt.window_of(cue, mods, duration_s)
        if cue.speed < 1:
            length = duration_s - start
        elif cue.speed > 1:
            length = FAST_CAMERA_S
        else:
            length = max(MIN_CAMERA_S, end - start)
        amount = PUSH_ZOOM * min(cue.strength, 2.0)
        move = amount * ramp(times_s, start, min(length, duration_s - start))
        zoom = zoom + (move if cue.name == "push_in" else amount - move)
    return zoom


def _breath(speech: SpeechTrack, times_s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n,) 0..1 lung level, simulated frame by frame: exhale while talking, a quick inhale
    just before each phrase, and in other silence a drift towards the idle breathing cycle."""
    rest = 0.5 - 0.5 * np.cos(2 * np.pi * times_s / REST_BREATH_S + rng.uniform(0, 2 * np.pi))
    mode = _breath_modes(speech, times_s)
    level = np.empty(times_s.size)
    lung = float(rest[0]) if times_s.size else 0.0
    steps = np.diff(times_s, prepend=times_s[0] if times_s.size else 0.0)
    for i, dt in enumerate(steps):
        if mode[i] == _TALK:
            lung = max(0.0, lung - dt / EXHALE_S)
        elif mode[i] == _INHALE:
            lung = min(1.0, lung + dt / INHALE_S)
        else:
            lung += (rest[i] - lung) * min(1.0, dt / 0.5)
        level[i] = lung
    return timeline.smooth(level, 0.12, timeline.step(times_s))


_IDLE, _TALK, _INHALE = 0, 1, 2


def _breath_modes(speech: SpeechTrack, times_s: np.ndarray) -> np.ndarray:
    """(n,) per frame: _TALK while speaking, _INHALE in the last INHALE_S of a pause before
    speech, _IDLE otherwise."""
    mode = np.where(timeline.speaking(speech, times_s), _TALK, _IDLE)
    for pause in timeline.pauses(speech):
        if pause.end_s < speech.duration_s - 1e-6:
            mode[(times_s >= max(pause.start_s, pause.end_s - INHALE_S)) & (times_s < pause.end_s)] = _INHALE
    return mode

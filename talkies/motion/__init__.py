"""Motion planning stage: SpeechTrack (+ what the portrait shows, + the prompt) -> MotionTrack.

`plan` builds every curve of tracks.CURVES that this engine drives, one float32 value per
output frame; `check_track` validates a track (planned or user-supplied) against the video.

The mouth is computed in continuous time on a fine grid and sampled at each frame's time plus
MOUTH_LEAD_S: the picture leads the sound slightly, as broadcasters prefer (design.md: keep
the offset within [-60, +40] ms; a video frame otherwise shows, on average, what was said half
a frame earlier). Liveliness planners (blinks, head, body, expression) each get their own
random stream from `options.seed`, so the same inputs and seed always give the same curves.
"""

from __future__ import annotations

import numpy as np

from talkies.errors import EngineError
from talkies.motion import blinks, body, expression, head, mouth, prosody, timeline
from talkies.motion.check import LIMITS, check_track
from talkies.motion.prompt import Modifiers, modifiers
from talkies.options import AnimateOptions
from talkies.tracks import CURVE_RANGES, CURVES, MotionTrack, PortraitRig, SpeechTrack

__all__ = ["LIMITS", "MOUTH_LEAD_S", "Modifiers", "check_track", "modifiers", "plan"]

MOUTH_LEAD_S = 0.02

# One random stream per planner (see timeline.rng).
_BLINK_STREAM, _HEAD_STREAM, _BODY_STREAM, _FACE_STREAM = 1, 2, 3, 4


def plan(speech: SpeechTrack, rig: PortraitRig, n_frames: int, options: AnimateOptions) -> MotionTrack:
    """Per-frame curves for `n_frames` frames at `options.fps` (frame i shows time i / fps).

    Returns a MotionTrack whose curves are (n_frames,) float32, named and scaled as in
    tracks.CURVES; curves this engine does not drive yet (gaze, frown, zoom ...) are zeros.
    """
    if n_frames < 1:
        raise EngineError(f"motion.plan needs at least 1 frame, got n_frames={n_frames}")
    mods = modifiers(options.prompt)
    fps = float(options.fps)
    times = np.arange(n_frames, dtype=np.float64) / fps
    accents = prosody.accents(speech)
    aroused = prosody.arousal(speech, times)  # how animated the voice is: scales the liveliness
    curves: dict[str, np.ndarray] = {}
    curves |= mouth.plan_mouth(speech, times, fps, MOUTH_LEAD_S)
    curves |= blinks.plan_blinks(speech, times, fps, timeline.rng(options.seed, _BLINK_STREAM), mods, aroused)
    curves |= head.plan_head(speech, times, accents, timeline.rng(options.seed, _HEAD_STREAM), mods, aroused)
    curves |= body.plan_body(speech, rig, times, timeline.rng(options.seed, _BODY_STREAM), mods, aroused)
    curves |= expression.plan_expression(
        times, accents, timeline.rng(options.seed, _FACE_STREAM), mods, aroused
    )
    # The planners' own curves are held inside what the renderer draws (a strong prompt may ask
    # for more head turn than a 2.5D warp of one photo shows); a caller's track is refused.
    full = {name: np.clip(curves.get(name, np.zeros(n_frames)), *CURVE_RANGES[name]) for name in CURVES}
    full = {name: curve.astype(np.float32) for name, curve in full.items()}
    return MotionTrack(fps=fps, curves=full)

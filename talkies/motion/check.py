"""Validation of a motion track against the video it is to drive (user-supplied tracks, and
our own as a last guard). Every message names the value and what was expected."""

from __future__ import annotations

import numpy as np

from talkies.errors import InvalidMotionError
from talkies.tracks import CURVES, MotionTrack

# Allowed range of each curve. 0..1 curves get a little slack for rounding and hand edits;
# angles and offsets are bounded by what a 2.5D warp of one photo can show.
SLACK = 0.05
_UNIT = (-SLACK, 1.0 + SLACK)
LIMITS: dict[str, tuple[float, float]] = {
    **{name: _UNIT for name, unit in CURVES.items() if unit.startswith("0..1")},
    "gaze_x_deg": (-40.0, 40.0),
    "gaze_y_deg": (-40.0, 40.0),
    "head_yaw_deg": (-45.0, 45.0),
    "head_pitch_deg": (-45.0, 45.0),
    "head_roll_deg": (-45.0, 45.0),
    "torso_sway_px": (-200.0, 200.0),
    "zoom": (-0.5, 1.0),
}


def check_track(track: MotionTrack, n_frames: int, fps: int) -> None:
    """Raise InvalidMotionError unless `track` has `n_frames` frames at `fps`, only known curve
    names, and every value finite and inside LIMITS."""
    if abs(float(track.fps) - float(fps)) > 1e-6:
        raise InvalidMotionError(f"motion track is at {track.fps:g} fps; the video is {fps} fps")
    if not track.curves:
        raise InvalidMotionError(f"motion track has no curves; expected some of: {', '.join(CURVES)}")
    for name, values in track.curves.items():
        _check_curve(name, np.asarray(values), n_frames, fps)


def _check_curve(name: str, values: np.ndarray, n_frames: int, fps: int) -> None:
    if name not in CURVES:
        raise InvalidMotionError(f"motion curve {name!r} is unknown; known curves: {', '.join(CURVES)}")
    if values.shape != (n_frames,):
        raise InvalidMotionError(
            f"motion curve {name!r} has shape {values.shape}; the audio needs {n_frames} frames "
            f"({n_frames / fps:.2f} s at {fps} fps)"
        )
    if not np.issubdtype(values.dtype, np.number) or not np.all(np.isfinite(values)):
        raise InvalidMotionError(f"motion curve {name!r} holds NaN, infinite or non-numeric values")
    low, high = LIMITS.get(name, (-np.inf, np.inf))
    worst = int(np.argmax(np.maximum(low - values, values - high)))
    if not low <= values[worst] <= high:
        raise InvalidMotionError(
            f"motion curve {name!r} is {values[worst]:g} at frame {worst}; "
            f"it must stay within [{low:g}, {high:g}] ({CURVES[name]})"
        )

"""Validation of a motion track against the video it is to drive (user-supplied tracks, and
our own as a last guard). Every message names the value and what was expected."""

from __future__ import annotations

import numpy as np

from talkies.errors import InvalidMotionError
from talkies.tracks import CURVE_RANGES, CURVES, MotionTrack, range_error

# Allowed range of each curve: what the renderer draws (the contracts' one table).
LIMITS = CURVE_RANGES


def check_track(track: MotionTrack, n_frames: int, fps: int) -> None:
    """Raise InvalidMotionError unless `track` has `n_frames` frames at `fps`, only known curve
    names, and every value finite and inside LIMITS (tracks.CURVE_RANGES)."""
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
    low, high = LIMITS[name]
    worst = int(np.argmax(np.maximum(low - values, values - high)))
    message = range_error(name, float(values[worst]), f" at frame {worst}")
    if message:
        raise InvalidMotionError(message)

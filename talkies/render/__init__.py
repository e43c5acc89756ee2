"""The renderer: warp the portrait frame by frame from its motion curves.

    for frame in frames(rig, track, turbo=False): ...   # (H, W, 3) uint8 RGB each

How it works (a landmark-driven 2.5D puppet, no neural network): the face mesh plus rings of
extra vertices round the head form a warp mesh. Each frame, the curve values weight a few
precomputed expression fields (lips, jaw, lids, gaze, brows), the head is turned in 3-D using
the mesh depth, the torso sways and breathes, and the camera may push in. The moved mesh gives a
backward map from output pixels to the photo (coarse over the head, exact around lips and
eyes), the photo is resampled with cv2.remap only where something moves, and the inside of the
mouth is painted wherever the lips part. See the modules for why each step works as it does.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import numpy as np

from talkies.render.forked import drawn_in_helpers, helper_count
from talkies.render.frame import render_frame
from talkies.render.puppet import Puppet, build_puppet, close_silent_eyes, puppet_for
from talkies.tracks import MotionTrack, PortraitRig

__all__ = ["Puppet", "frame_at", "frames", "frames_of", "is_drawing", "prepare"]


def prepare(rig: PortraitRig, turbo: bool = False) -> Puppet:
    """The rig's per-portrait precomputation for `frames_of` and `frame_at`, owned by the
    caller (not kept in the renderer's cache of recent rigs): lets a caller build it while
    something else is under way elsewhere, and free it when done (a live session)."""
    return build_puppet(rig, turbo)


def is_drawing(puppet: Puppet) -> bool:
    """Whether the portrait is a drawing (ink over flat colour; render/look.py), not a photo."""
    return puppet.mouth.look.drawn


def frames(rig: PortraitRig, track: MotionTrack, turbo: bool = False) -> Iterator[np.ndarray]:
    """Yield one (H, W, 3) uint8 RGB frame per track frame, each from the photo and that frame's
    curve values alone. Missing curves count as zeros; unknown names are ignored. `turbo` uses a
    coarser warp grid (faster, slightly softer head and torso motion)."""
    yield from frames_of(puppet_for(rig, turbo), track)


def frames_of(
    puppet: Puppet, track: MotionTrack, parallel: bool = False
) -> Generator[np.ndarray, None, None]:
    """`frames`, from a puppet made by `prepare`. `parallel`: drawn by forked helper
    processes, one per core (render/forked.py), where there is more than one; the same
    frames. The helpers are forked by this call, in this thread (render/forked.py says why)."""
    curves = {name: np.asarray(curve, np.float64) for name, curve in track.curves.items()}
    values = [{name: float(curve[i]) for name, curve in curves.items()} for i in range(track.n_frames)]
    helpers = helper_count() if parallel else 0
    if helpers:
        draw = lambda v: frame_at(puppet, v)  # noqa: E731
        height, width = puppet.image.shape[:2]
        return drawn_in_helpers(draw, values, (height, width), helpers)
    return (frame_at(puppet, v) for v in values)


def frame_at(puppet: Puppet, values: dict[str, float]) -> np.ndarray:
    """One (H, W, 3) uint8 RGB frame from one frame's curve values (name -> value; missing
    curves count as zeros), exactly as `frames` draws it: for callers whose curves arrive a few
    frames at a time (live mode)."""
    return close_silent_eyes(puppet, render_frame(puppet, values), values)  # other faces blink

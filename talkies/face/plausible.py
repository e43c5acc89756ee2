"""Is a detection a face? Checks on what the face mesh measured, before anything is animated.

Why: mediapipe's detector, run over many small windows (detect.py), also fires on round things
with two darker spots - a jacket button, a silver ice bucket, a printed mask - and its face mesh
then fits a perfectly face-shaped set of landmarks to them: the mesh is a regression, it never
says "no". So the landmark geometry alone cannot tell; what the pixels under it show can. In
every face, photographed or drawn, the eye openings are markedly darker than the cheeks and
forehead (iris, pupil, lashes, the shadow of the lid), measured against the face's own spread
of brightness. On 23 faces from package test images (photos, grey, drawn, 45-600 px) that
contrast was 2.4-4.1 face spreads; on the five phantoms found in the same images 0.2-1.1.
A detection smaller than `MIN_OTHER_FACE_PX` is dropped too: its eyes are two pixels across,
nothing visible can be done with it, and at that size the false detections outnumber the real.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkies.face import topology
from talkies.face.regions import contour, polygon_mask

# Smallest face (larger side of its landmark box, px) kept as a face at all.
MIN_OTHER_FACE_PX = 24
# Least eye contrast (cheeks minus the darker quarter of the eye openings, in standard
# deviations of the face's brightness) of a face; see the module docstring for the figures.
MIN_EYE_CONTRAST = 1.5
# Skin samples: discs round the cheek centres and the forehead, radius as a share of the face.
_SKIN_POINTS = (50, 280, 151)
_SKIN_RADIUS = 0.06


def eye_contrast(image: np.ndarray, landmarks: np.ndarray) -> float:
    """How much darker the eye openings are than the skin, in standard deviations of the face's
    brightness. image: (H, W, 3) uint8 RGB; landmarks: (478, 3) pixels. 0 when the face has no
    measurable skin or eyes (e.g. it lies almost entirely outside the picture)."""
    box = _box(landmarks, image.shape)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1].astype(np.float32)
    luma = crop[..., 0] * 0.2126 + crop[..., 1] * 0.7152 + crop[..., 2] * 0.0722
    local: np.ndarray = landmarks[:, :2] - np.array([x0, y0], np.float32)
    size = (x1 - x0, y1 - y0)
    oval = polygon_mask(size, local[list(topology.face_oval())]) > 127
    eyes = (
        np.maximum(
            polygon_mask(size, contour(local, topology.RIGHT_EYE_UPPER, topology.RIGHT_EYE_LOWER)),
            polygon_mask(size, contour(local, topology.LEFT_EYE_UPPER, topology.LEFT_EYE_LOWER)),
        )
        > 127
    )
    skin = _skin(local, size, float(np.ptp(landmarks[:, :2], axis=0).max())) & oval
    if eyes.sum() < 2 or skin.sum() < 3 or oval.sum() < 16:
        return 0.0
    spread = float(luma[oval].std()) + 1.0
    return float((np.median(luma[skin]) - np.percentile(luma[eyes], 25)) / spread)


def is_face(image: np.ndarray, landmarks: np.ndarray) -> tuple[bool, str]:
    """(whether a measured detection is a face worth keeping, and why not when it is not)."""
    size = float(np.ptp(landmarks[:, :2], axis=0).max())
    if size < MIN_OTHER_FACE_PX:
        return False, f"{size:.0f} px across, below {MIN_OTHER_FACE_PX} px"
    contrast = eye_contrast(image, landmarks)
    if contrast < MIN_EYE_CONTRAST:
        return False, f"its eyes are not darker than its skin (contrast {contrast:.2f} < {MIN_EYE_CONTRAST})"
    return True, ""


def _box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    lo = np.floor(landmarks[:, :2].min(axis=0)).astype(int)
    hi = np.ceil(landmarks[:, :2].max(axis=0)).astype(int) + 1
    x0, y0 = max(int(lo[0]), 0), max(int(lo[1]), 0)
    x1, y1 = min(int(hi[0]), shape[1]), min(int(hi[1]), shape[0])
    return (x0, y0, x1, y1) if x1 - x0 >= 4 and y1 - y0 >= 4 else None


def _skin(local: np.ndarray, size: tuple[int, int], face_px: float) -> np.ndarray:
    """(h, w) bool discs round the cheek centres and the forehead."""
    skin = np.zeros((size[1], size[0]), np.uint8)
    radius = max(1, round(_SKIN_RADIUS * face_px))
    for i in _SKIN_POINTS:
        cv2.circle(skin, (int(local[i, 0]), int(local[i, 1])), radius, (1,), -1)
    return skin.astype(bool)

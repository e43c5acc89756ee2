"""Region masks of one face and what the photo shows of its mouth.

Masks are (H, W) uint8 0..255 at the image size (uint8 keeps a 1080p rig small). Teeth are told
apart from lips and skin by being brighter and less saturated than the face's typical skin,
measured on the face itself so that dim or warm photos work alike.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkies.face import topology
from talkies.tracks import MouthFacts

# The mouth counts as showing teeth when this fraction of its opening looks like teeth...
_TEETH_FRACTION = 0.3
# ... and the opening is at least this many pixels tall at its centre.
_MIN_TEETH_APERTURE_PX = 2.0


def polygon_mask(size: tuple[int, int], polygon: np.ndarray) -> np.ndarray:
    """(H, W) uint8 mask of a filled polygon ((n, 2) pixels); size is (W, H)."""
    mask = np.zeros((size[1], size[0]), np.uint8)
    cv2.fillPoly(mask, [np.round(polygon * 16).astype(np.int32)], (255,), cv2.LINE_AA, shift=4)
    return mask


def contour(landmarks: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    """(n, 2) closed outline: the upper contour then the lower one back (corners once)."""
    return landmarks[list(upper) + list(lower[-2:0:-1]), :2]


def region_masks(image: np.ndarray, landmarks: np.ndarray, person: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the speaking face: face, lips, inner_mouth, eyes, head (face and hair), teeth."""
    size = (image.shape[1], image.shape[0])
    oval = landmarks[list(topology.face_oval()), :2]
    inner = polygon_mask(size, contour(landmarks, topology.LIP_UPPER[3], topology.LIP_LOWER[3]))
    outer = polygon_mask(size, contour(landmarks, topology.LIP_UPPER[0], topology.LIP_LOWER[0]))
    eyes = np.maximum(
        polygon_mask(size, contour(landmarks, topology.RIGHT_EYE_UPPER, topology.RIGHT_EYE_LOWER)),
        polygon_mask(size, contour(landmarks, topology.LEFT_EYE_UPPER, topology.LEFT_EYE_LOWER)),
    )
    face = polygon_mask(size, oval)
    centre = oval.mean(axis=0)
    near_head = polygon_mask(size, centre + 1.4 * (oval - centre))
    head = np.maximum(face, (near_head.astype(np.float32) * person).astype(np.uint8))
    teeth = (teeth_score(image, face) * inner.astype(np.float32)).astype(np.uint8)
    return {
        "face": face,
        "lips": np.clip(outer.astype(np.int16) - inner, 0, 255).astype(np.uint8),
        "inner_mouth": inner,
        "eyes": eyes,
        "head": head,
        "teeth": teeth,
    }


def teeth_score(image: np.ndarray, face: np.ndarray) -> np.ndarray:
    """(H, W) float32 0..1: how much each pixel looks like teeth (bright and pale for this face)."""
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.float32)
    value, saturation = hsv[..., 2], hsv[..., 1]
    skin = face > 127
    skin_value = float(np.median(value[skin])) if skin.any() else 180.0
    skin_saturation = float(np.median(saturation[skin])) if skin.any() else 80.0
    bright = np.clip((value - (skin_value - 5)) / 30.0, 0, 1)
    pale = np.clip(((skin_saturation + 10) - saturation) / 35.0, 0, 1)
    return bright * pale


def mouth_facts(landmarks: np.ndarray, masks: dict[str, np.ndarray]) -> MouthFacts:
    """aperture_px: inner-lip gap at the mouth centre; width_px: corner to corner; teeth_visible."""
    left, right = landmarks[list(topology.MOUTH_CORNERS), :2]
    axis = (right - left) / max(float(np.linalg.norm(right - left)), 1e-6)
    normal = np.array([-axis[1], axis[0]])
    upper, lower = landmarks[13, :2], landmarks[14, :2]
    aperture = max(0.0, float((lower - upper) @ normal))
    inner = masks["inner_mouth"].astype(np.float32).sum()
    fraction = float(masks["teeth"].astype(np.float32).sum() / inner) if inner > 0 else 0.0
    return MouthFacts(
        aperture_px=aperture,
        width_px=float(np.linalg.norm(right - left)),
        teeth_fraction=fraction,
        teeth_visible=bool(aperture >= _MIN_TEETH_APERTURE_PX and fraction >= _TEETH_FRACTION),
    )


def interocular_px(landmarks: np.ndarray) -> float:
    """Distance between the iris centres in pixels (the face's scale unit)."""
    return float(np.linalg.norm(landmarks[topology.RIGHT_IRIS[0], :2] - landmarks[topology.LEFT_IRIS[0], :2]))

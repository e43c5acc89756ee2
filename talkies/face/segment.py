"""Who is in the picture: the person mask (selfie segmentation) and which face speaks.

The person mask decides what may move with the body and what is background (which must stay
still). Selfie segmentation sometimes drops hair or an ear at the edge of a head, so the
speaker's head region is added to it.
"""

from __future__ import annotations

import cv2
import mediapipe as mp
import numpy as np

from talkies.errors import InvalidMaskError
from talkies.face.quiet import native_stderr_quiet

# A face counts as marked by the speaker mask when this fraction of its area is white.
_MIN_MASK_COVERAGE = 0.25


def person_mask(image: np.ndarray) -> np.ndarray:
    """(H, W) float32 0..1, the people in `image` ((H, W, 3) uint8 RGB)."""
    with (
        native_stderr_quiet(),
        mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter,
    ):
        result = segmenter.process(image)
    mask = result.segmentation_mask
    if mask is None:
        return np.zeros(image.shape[:2], np.float32)
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def face_polygon(landmarks: np.ndarray, oval: tuple[int, ...]) -> np.ndarray:
    """(36, 2) float32 outline of a face in image pixels."""
    return landmarks[list(oval), :2].astype(np.float32)


def pick_speaker(
    faces: list[np.ndarray], speaker_mask: np.ndarray | None, size: tuple[int, int], oval: tuple[int, ...]
) -> int:
    """Index in `faces` of the face that speaks: the one the mask covers most, or the largest
    (faces come largest first). `speaker_mask`: (h, w) float 0..1 at any size; `size`: (W, H).

    Raises InvalidMaskError when a mask is given but covers none of the faces.
    """
    if speaker_mask is None:
        return 0
    mask = cv2.resize(np.asarray(speaker_mask, np.float32), size, interpolation=cv2.INTER_LINEAR)
    coverage = [_coverage(mask, face_polygon(f, oval)) for f in faces]
    best = int(np.argmax(coverage))
    if coverage[best] < _MIN_MASK_COVERAGE:
        raise InvalidMaskError(
            f"the mask covers at most {coverage[best]:.0%} of any face ({len(faces)} found); "
            f"at least {_MIN_MASK_COVERAGE:.0%} of the speaking face must be white"
        )
    return best


def _coverage(mask: np.ndarray, polygon: np.ndarray) -> float:
    """Mean mask value over a polygon."""
    inside = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(polygon).astype(np.int32)], (1,))
    area = int(inside.sum())
    return float(mask[inside > 0].mean()) if area else 0.0

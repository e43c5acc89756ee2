"""Find every face in a photo and measure its 478 face-mesh landmarks at full resolution.

Why it works this way: mediapipe's face mesh runs its own short-range detector on a 128 px
copy of whatever it is given, so a face that fills less than about a fifth of the picture is
missed, and a face that is found is measured on a coarse copy. We therefore look for faces in
passes over square windows (the whole picture, then halves, then thirds, each window resized
to the detector's input), and measure each face found on its own crop, a square about 2.3
face-widths across resized to `_MESH_CROP_PX`. The crop's landmarks are mapped back to pixels
of the full image. Faces found twice (in overlapping windows) are merged by overlap. When
nothing is found, a last pass over fifths of the picture looks for faces too small to measure,
so that the caller can say "too small" rather than "no face".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import mediapipe as mp
import numpy as np

from talkies.face.quiet import native_stderr_quiet

# Side in pixels of the square crop on which one face is measured by the face mesh.
_MESH_CROP_PX = 384
# Crop side as a multiple of the detector's face box side.
_CROP_SCALE = 2.3
# Window sizes, as fractions of the picture's short side, searched from coarse to fine.
_WINDOW_FRACTIONS = (1.0, 0.5, 0.34)
# Window size of the last pass, which only looks for (too) small faces.
_TINY_FRACTION = 0.2
# Side in pixels a window is resized to before detection (the detector works at 128-192 px).
_DETECT_PX = 256
# A detection the face mesh cannot measure counts as a (too small) face only above this score:
# noise and textures reach about 0.65, real tiny faces 0.7-0.9.
_UNMEASURED_MIN_SCORE = 0.7
# Faces whose landmark boxes overlap more than this (intersection over union) are one face.
_SAME_FACE_IOU = 0.3


@dataclass(frozen=True)
class Search:
    """faces: landmarks of every face measured, each (478, 3) float32 (x, y in pixels of the
    image, z in the same pixel scale, negative = nearer), largest first. unmeasured: (x0, y0,
    x1, y1) boxes of faces the detector saw but the face mesh could not measure (too small)."""

    faces: list[np.ndarray]
    unmeasured: list[np.ndarray]


def find_faces(image: np.ndarray, search_all: bool = False) -> Search:
    """Find and measure the faces in `image` ((H, W, 3) uint8 RGB). With `search_all` False the
    finest window pass is skipped once a face has been found (it only finds faces smaller than a
    third of the picture)."""
    faces: list[np.ndarray] = []
    unmeasured: list[np.ndarray] = []
    with (
        native_stderr_quiet(),
        mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.5) as far,
        mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as near,
        mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, refine_landmarks=True, max_num_faces=1, min_detection_confidence=0.3
        ) as mesh,
    ):
        for i, fraction in enumerate(_WINDOW_FRACTIONS):
            if i == len(_WINDOW_FRACTIONS) - 1 and faces and not search_all:
                break
            _measure_new(image, _detect_boxes(image, fraction, (far, near)), mesh, faces, unmeasured)
        if not faces:
            _measure_new(image, _detect_boxes(image, _TINY_FRACTION, (far,)), mesh, faces, unmeasured)
    faces.sort(key=lambda f: -face_size_px(f))
    return Search(faces, unmeasured)


def _measure_new(image, boxes, mesh, faces: list[np.ndarray], unmeasured: list[np.ndarray]) -> None:
    """Measure each (box, score) that is not a face already found; append to `faces`, or to
    `unmeasured` when the mesh fails on a confident detection."""
    for box, score in boxes:
        if any(_iou(box, _landmark_box(f)) > _SAME_FACE_IOU for f in faces):
            continue
        landmarks = _measure_face(image, box, mesh)
        if landmarks is None:
            if score >= _UNMEASURED_MIN_SCORE:
                unmeasured.append(box)
        elif all(_iou(_landmark_box(landmarks), _landmark_box(f)) <= _SAME_FACE_IOU for f in faces):
            faces.append(landmarks)


def face_size_px(landmarks: np.ndarray) -> float:
    """Size of a face in pixels: the larger side of its landmark bounding box."""
    x0, y0, x1, y1 = _landmark_box(landmarks)
    return float(max(x1 - x0, y1 - y0))


def _windows(width: int, height: int, fraction: float) -> Iterator[tuple[int, int, int]]:
    """Square windows (x, y, side) covering the picture with half-window overlap."""
    side = max(1, round(min(width, height) * fraction))
    step = max(1, side // 2)
    xs = sorted({*range(0, max(1, width - side + 1), step), max(0, width - side)})
    ys = sorted({*range(0, max(1, height - side + 1), step), max(0, height - side)})
    for y in ys:
        for x in xs:
            yield x, y, side


def _detect_boxes(image: np.ndarray, fraction: float, detectors: tuple) -> list[tuple[np.ndarray, float]]:
    """(box, score) of every face found in every window of one size; box = (x0, y0, x1, y1) in
    image pixels, score 0..1."""
    height, width = image.shape[:2]
    boxes = []
    for x, y, side in _windows(width, height, fraction):
        window = image[y : y + side, x : x + side]
        scale = _DETECT_PX / max(window.shape[:2])
        small = cv2.resize(window, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        for detector in detectors:
            for det in detector.process(small).detections or []:
                b = det.location_data.relative_bounding_box
                h, w = window.shape[:2]
                x0, y0 = x + b.xmin * w, y + b.ymin * h
                box = np.array([x0, y0, x0 + b.width * w, y0 + b.height * h])
                boxes.append((box, float(det.score[0])))
    return boxes


def _measure_face(image: np.ndarray, box: np.ndarray, mesh) -> np.ndarray | None:
    """Run the face mesh on a square crop around `box`; landmarks in image pixels or None."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    side = _CROP_SCALE * max(box[2] - box[0], box[3] - box[1])
    scale = _MESH_CROP_PX / side
    # Affine crop: pads with edge pixels where the crop leaves the picture.
    to_crop = np.array(
        [[scale, 0, _MESH_CROP_PX / 2 - scale * cx], [0, scale, _MESH_CROP_PX / 2 - scale * cy]]
    )
    crop = cv2.warpAffine(
        image,
        to_crop,
        (_MESH_CROP_PX, _MESH_CROP_PX),
        flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )
    result = mesh.process(crop)
    if not result.multi_face_landmarks:
        return None
    points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float64)
    points *= _MESH_CROP_PX
    points[:, 0] = (points[:, 0] - to_crop[0, 2]) / scale
    points[:, 1] = (points[:, 1] - to_crop[1, 2]) / scale
    points[:, 2] /= scale
    return points.astype(np.float32)


def _landmark_box(landmarks: np.ndarray) -> np.ndarray:
    return np.array([*landmarks[:, :2].min(0), *landmarks[:, :2].max(0)])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0

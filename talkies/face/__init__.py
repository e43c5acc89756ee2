"""Portrait analysis: find the speaking face once and precompute everything the renderer needs.

    rig = analyze_portrait(image, speaker_mask=None)

The result is a `PortraitRig` (tracks.py): the speaker's 478 face-mesh landmarks in pixels of
`image`, the other faces, the person mask, and typed fields for the renderer: the warp mesh
(landmarks + rings of extra vertices, triangles, head weights, pivot), the region masks, what
the photo's mouth shows, the landmark groups, the face's scale (iod_px, face_size_px), the box
motion never leaves (roi), and a one-line note for the user about the faces found.
"""

from __future__ import annotations

import logging

import numpy as np

from talkies.errors import FaceTooSmallError, InvalidImageError, NoFaceError
from talkies.face import topology
from talkies.face.detect import face_size_px, find_faces
from talkies.face.mesh import build_mesh
from talkies.face.plausible import is_face
from talkies.face.regions import interocular_px, mouth_facts, region_masks
from talkies.face.segment import person_mask, pick_speaker
from talkies.tracks import PortraitRig, WarpMesh

__all__ = ["MIN_FACE_PX", "WarpMesh", "analyze_portrait"]

log = logging.getLogger(__name__)

# Smallest face (larger side of its landmark box, in output pixels) that can be animated: below
# it the mouth is a dozen pixels wide and the face mesh is no longer reliable.
MIN_FACE_PX = 48


def analyze_portrait(image: np.ndarray, speaker_mask: np.ndarray | None = None) -> PortraitRig:
    """Analyse a portrait at output size. image: (H, W, 3) uint8 RGB. speaker_mask: optional
    (h, w) float 0..1 at any size, white over the person who speaks (default: the largest face).

    Raises NoFaceError, FaceTooSmallError, InvalidMaskError (mask covers no face).
    """
    _check_image(image)
    height, width = image.shape[:2]
    search = find_faces(image, search_all=speaker_mask is not None)
    faces, rejected = _faces_only(image, search.faces)
    if not faces:
        tiny = [max(b[2] - b[0], b[3] - b[1]) for b in search.unmeasured]
        tiny += [face_size_px(f) for f in search.faces]  # too small to tell a face from a button
        if tiny and max(tiny) < MIN_FACE_PX:
            _too_small(max(tiny), width, height)
        why = f"; {len(rejected)} face-like detection(s) rejected: {'; '.join(rejected)}" if rejected else ""
        raise NoFaceError(f"no face found in the image ({width}x{height}){why}")
    speaker = pick_speaker(faces, speaker_mask, (width, height), topology.face_oval())
    landmarks = faces[speaker]
    size = face_size_px(landmarks)
    if size < MIN_FACE_PX:
        _too_small(size, width, height)
    person = person_mask(image)
    masks = region_masks(image, landmarks, person)
    mesh = build_mesh(landmarks)
    note = _faces_note(faces, speaker, speaker_mask is not None, rejected)
    log.info("%s", note)
    return PortraitRig(
        image=image,
        landmarks=landmarks,
        other_faces=tuple(f for i, f in enumerate(faces) if i != speaker),
        person_mask=np.maximum(person, masks["head"].astype(np.float32) / 255.0),
        mesh=mesh,
        masks=masks,
        mouth=mouth_facts(landmarks, masks),
        groups=topology.named_groups(),
        iod_px=interocular_px(landmarks),
        face_size_px=float(size),
        roi=_roi(mesh, width, height),
        faces_note=note,
    )


def _faces_only(image: np.ndarray, found: list[np.ndarray]) -> tuple[list[np.ndarray], list[str]]:
    """The detections that are faces (order kept), and for each rejected one why."""
    faces, rejected = [], []
    for landmarks in found:
        ok, why = is_face(image, landmarks)
        if ok:
            faces.append(landmarks)
        else:
            x0, y0 = landmarks[:, :2].min(axis=0)
            x1, y1 = landmarks[:, :2].max(axis=0)
            rejected.append(f"at ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}): {why}")
    return faces, rejected


def _faces_note(faces: list[np.ndarray], speaker: int, masked: bool, rejected: list[str]) -> str:
    """One line: how many faces, which one speaks (box in output pixels), how to pick another."""
    x0, y0 = faces[speaker][:, :2].min(axis=0)
    x1, y1 = faces[speaker][:, :2].max(axis=0)
    box = f"({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f})"
    if len(faces) == 1:
        note = f"1 face found; it speaks, box {box}"
    else:
        chosen = "picked by the mask" if masked else "the largest; a mask (--mask or mask_url) picks another"
        note = f"{len(faces)} faces found; the one at {box} speaks ({chosen}), the others only blink"
    if rejected:
        note += f"; not taken for faces: {'; '.join(rejected)}"
    return note


def _too_small(size: float, width: int, height: int) -> None:
    raise FaceTooSmallError(
        f"the face is {size:.0f} px across in the {width}x{height} frame; at least {MIN_FACE_PX} px "
        "is needed (use a photo where the face is larger, or a higher resolution)"
    )


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        shape = getattr(image, "shape", None)
        raise InvalidImageError(f"portrait must be an (H, W, 3) uint8 RGB array, got {shape}")
    if min(image.shape[:2]) < 16:
        raise InvalidImageError(f"portrait is {image.shape[1]}x{image.shape[0]} px; at least 16x16 is needed")


def _roi(mesh: WarpMesh, width: int, height: int) -> tuple[int, int, int, int]:
    """Pixel box (x0, y0, x1, y1), x1/y1 exclusive, around the outermost ring, inside the image."""
    outer = mesh.points[mesh.outer_ring, :2]
    x0, y0 = np.floor(outer.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outer.max(axis=0)).astype(int) + 1
    return max(0, x0), max(0, y0), min(width, x1), min(height, y1)

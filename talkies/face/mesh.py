"""The warp mesh: the face landmarks plus rings of extra vertices around the face.

Why: the renderer moves the face by moving mesh vertices and warping the picture piecewise
affinely between them. The face mesh alone ends at the face outline, but hair, ears and neck
must follow the head, and the motion must fade out smoothly before it reaches the background.
So the face outline is copied outwards as `RING_SCALES` concentric rings (scaled about the face
centre) and the annuli between consecutive rings are triangulated as strips; the outermost ring
never moves, which bounds the region that moves. Each ring vertex also gets a depth (so that
head turns give parallax that fades from the face into the hair) and a head weight (1 = moves
rigidly with the head, 0 = stays), which decays quickly towards the shoulders and slowly into
the hair.

Eyes: the lids must slide over the eyeball, not squash it (a half blink covers the top of the
iris, it does not flatten it). So the eye openings are triangulated over copies of the lid
contour points ("eyeball" vertices, ring -1) that stay put when the lids move; the lid skin
triangles, drawn after the openings, then cover the eyeball as the real contour points move.
"""

from __future__ import annotations

import itertools

import numpy as np

from talkies.curves import smoothstep
from talkies.face import topology
from talkies.tracks import WarpMesh

# Scales of the rings of extra vertices about the face centre, as multiples of the face outline.
RING_SCALES = (1.18, 1.4, 1.7, 2.05, 2.5)
# How far ring depth has moved from the face outline's depth to the head's pivot depth.
_RING_DEPTH_BLEND = (0.45, 0.75, 1.0, 1.0, 1.0)


def build_mesh(landmarks: np.ndarray) -> WarpMesh:
    """The warp mesh around one face. landmarks: (478, 3) float32 in image pixels."""
    oval = list(topology.face_oval())
    outline = landmarks[oval].astype(np.float64)
    centre = outline[:, :2].mean(axis=0)
    down = landmarks[topology.CHIN, :2] - landmarks[topology.FOREHEAD_TOP, :2]
    down = down / np.linalg.norm(down)
    pivot = _pivot(landmarks)
    rings, weights, ring_ids = [], [], []
    for k, (scale, blend) in enumerate(zip(RING_SCALES, _RING_DEPTH_BLEND, strict=True), start=1):
        xy = centre + scale * (outline[:, :2] - centre)
        z = (1 - blend) * outline[:, 2] + blend * pivot[2]
        rings.append(np.column_stack([xy, z]))
        weights.append(_ring_head_weight(outline[:, :2] - centre, down, scale))
        ring_ids.append(np.full(len(oval), k, np.int8))
    holes = {k: np.array(v, np.int32) for k, v in topology.hole_triangles(landmarks).items()}
    copies_at = topology.N_LANDMARKS + len(RING_SCALES) * len(oval)
    copies_of = np.unique(np.concatenate([holes["right_eye"], holes["left_eye"]]))
    copies_of = copies_of[~np.isin(copies_of, topology.RIGHT_IRIS + topology.LEFT_IRIS)]
    copy_index = {int(v): copies_at + i for i, v in enumerate(copies_of)}
    for eye in ("right_eye", "left_eye"):
        holes[eye] = np.vectorize(lambda v: copy_index.get(int(v), int(v)))(holes[eye]).astype(np.int32)
    points = np.vstack([landmarks.astype(np.float64), *rings, landmarks[copies_of]]).astype(np.float32)
    triangles = np.vstack([*holes.values(), topology.mesh_triangles(), _ring_strips(oval)]).astype(np.int32)
    return WarpMesh(
        points=points,
        triangles=triangles,
        holes=holes,
        head_weight=np.concatenate([np.ones(topology.N_LANDMARKS), *weights, np.ones(len(copies_of))]).astype(
            np.float32
        ),
        ring=np.concatenate(
            [np.zeros(topology.N_LANDMARKS, np.int8), *ring_ids, -np.ones(len(copies_of), np.int8)]
        ),
        pivot=pivot.astype(np.float32),
        face_centre=centre.astype(np.float32),
        down=down.astype(np.float32),
        copies_of=copies_of.astype(np.int32),
        copies_at=copies_at,
        rings=len(RING_SCALES),
    )


def _pivot(landmarks: np.ndarray) -> np.ndarray:
    """Head rotation centre: between the ears (the face's side edges at ear level), at their depth."""
    sides = landmarks[[topology.FACE_LEFT_EDGE, topology.FACE_RIGHT_EDGE]].astype(np.float64)
    return sides.mean(axis=0)


def _ring_head_weight(offsets: np.ndarray, down: np.ndarray, scale: float) -> np.ndarray:
    """Head weight of ring vertices: 1 near the head, fading out by ring scale; faster below the
    chin (neck, then shoulders that must stay) than above and beside the face (hair)."""
    direction = offsets / np.linalg.norm(offsets, axis=1, keepdims=True)
    downness = np.clip(direction @ down, 0.0, 1.0) ** 2
    start = 1.3 - 0.25 * downness
    end = 2.3 - 0.75 * downness
    return 1.0 - smoothstep(np.asarray(scale, np.float64), start, end)


def _ring_strips(oval: list[int]) -> np.ndarray:
    """Triangles between consecutive rings (ring 0 is the face outline itself)."""
    n = len(oval)
    index = [np.array(oval)] + [topology.N_LANDMARKS + k * n + np.arange(n) for k in range(len(RING_SCALES))]
    tris = []
    for inner, outer in itertools.pairwise(index):
        for i in range(n):
            j = (i + 1) % n
            tris += [(inner[i], inner[j], outer[j]), (inner[i], outer[j], outer[i])]
    return np.array(tris, np.int32)

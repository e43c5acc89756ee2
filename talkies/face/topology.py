"""Named landmark index sets of mediapipe's 478-point face mesh, and its triangles.

The face mesh's own triangulation (`FACEMESH_TESSELATION`, shipped as edges) leaves three holes:
the mouth opening and the two eye openings. A warp needs triangles there too (they are what
opens and closes), so `hole_triangles` fills them with strips between the two lip (or lid)
contours, and with a fan around the iris centre inside each eye so that gaze can move it.

"Left" and "right" are the subject's, as in mediapipe: the subject's right eye (landmark 33,
iris 468) is on the image's left in a photo that is not mirrored.
"""

from __future__ import annotations

import functools

import numpy as np
from mediapipe.python.solutions.face_mesh_connections import FACEMESH_FACE_OVAL, FACEMESH_TESSELATION

N_LANDMARKS = 478

# Lip rings, outer (0) to inner (3), each listed from the image-left corner to the image-right.
# Upper and lower rings share their two corner points.
LIP_UPPER = (
    (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291),
    (76, 184, 74, 73, 72, 11, 302, 303, 304, 408, 306),
    (62, 183, 42, 41, 38, 12, 268, 271, 272, 407, 292),
    (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308),
)
LIP_LOWER = (
    (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291),
    (76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306),
    (62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292),
    (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308),
)
MOUTH_CORNERS = (61, 291)

# Eye lid contours, from the image-left corner to the image-right corner (corners shared), and
# the rings of lid skin around them (above: crease then brow side; below: then cheek side).
RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
RIGHT_EYE_ABOVE = ((130, 247, 30, 29, 27, 28, 56, 190, 243), (226, 113, 225, 224, 223, 222, 221, 189, 244))
RIGHT_EYE_BELOW = ((130, 25, 110, 24, 23, 22, 26, 112, 243), (226, 31, 228, 229, 230, 231, 232, 233, 244))
LEFT_EYE_UPPER = (362, 398, 384, 385, 386, 387, 388, 466, 263)
LEFT_EYE_LOWER = (362, 382, 381, 380, 374, 373, 390, 249, 263)
LEFT_EYE_ABOVE = (
    (463, 414, 286, 258, 257, 259, 260, 467, 359),
    (464, 413, 441, 442, 443, 444, 445, 342, 446),
)
LEFT_EYE_BELOW = (
    (463, 341, 256, 252, 253, 254, 339, 255, 359),
    (464, 453, 452, 451, 450, 449, 448, 261, 446),
)
RIGHT_IRIS = (468, 469, 470, 471, 472)  # centre first, then the rim
LEFT_IRIS = (473, 474, 475, 476, 477)

# Brows: the upper and lower edge, from the image-left end; the inner ends are the ones nearest
# the nose (right brow: last points; left brow: first points).
RIGHT_BROW = (70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
LEFT_BROW = (336, 296, 334, 293, 300, 285, 295, 282, 283, 276)
RIGHT_BROW_INNER = (107, 66, 55, 65)
LEFT_BROW_INNER = (336, 296, 285, 295)

NOSE = (1, 2, 4, 5, 6, 19, 94, 97, 98, 326, 327, 168, 197, 195, 129, 358, 64, 294, 240, 460, 48, 278)
NOSE_TIP = 1
CHIN = 152
FOREHEAD_TOP = 10
FACE_LEFT_EDGE = 234  # image-left side of the face, at ear level
FACE_RIGHT_EDGE = 454
# Jaw line (on the face oval) from the image-left jaw angle round the chin to the right one.
JAW_LINE = (58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288)


@functools.cache
def face_oval() -> tuple[int, ...]:
    """The 36 face-oval landmarks in order around the face (clockwise in the image, from the top)."""
    nxt = {}
    for a, b in FACEMESH_FACE_OVAL:
        nxt[a] = b
    loop = [10]
    while len(loop) < len(nxt):
        loop.append(nxt[loop[-1]])
    return tuple(loop)


@functools.cache
def mesh_triangles() -> np.ndarray:
    """(852, 3) int32 triangles of mediapipe's face tessellation (3-cliques of its edge graph,
    less the two cliques around the nose wings that are not faces)."""
    edges = {tuple(sorted(e)) for e in FACEMESH_TESSELATION}
    neighbours: dict[int, set[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    cliques = {tuple(sorted((a, b, c))) for a, b in edges for c in neighbours[a] & neighbours[b]}
    uses: dict[tuple[int, int], int] = {}
    for t in cliques:
        for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])):
            uses[e] = uses.get(e, 0) + 1
    # A clique whose three edges each border more than two cliques encloses other faces.
    faces = [t for t in cliques if not all(uses[e] > 2 for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))]
    return np.array(sorted(faces), np.int32)


def strip_triangles(upper: tuple[int, ...], lower: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Triangles filling the gap between two contours that share their end points."""
    tris = []
    for i in range(len(upper) - 1):
        a, b, c, d = upper[i], upper[i + 1], lower[i + 1], lower[i]
        if a == d:
            tris.append((a, b, c))
        elif b == c:
            tris.append((a, b, d))
        else:
            tris += [(a, b, c), (a, c, d)]
    return tris


def fan_triangles(centre: int, upper: tuple[int, ...], lower: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """Triangles from `centre` to every edge of the closed contour upper + reversed lower."""
    ring = list(upper) + list(lower[-2:0:-1])
    return [(centre, ring[i], ring[(i + 1) % len(ring)]) for i in range(len(ring))]


def hole_triangles(landmarks: np.ndarray) -> dict[str, list[tuple[int, int, int]]]:
    """Triangles filling the mouth and eye openings, by region ("mouth", "right_eye", "left_eye").

    The eye holes are fans around the iris centre when it lies inside the eye opening (so that it
    can be moved for gaze), strips otherwise (eyes closed in the photo).
    """
    holes = {"mouth": strip_triangles(LIP_UPPER[3], LIP_LOWER[3])}
    for name, upper, lower, iris in (
        ("right_eye", RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
        ("left_eye", LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
    ):
        if _inside(landmarks[iris[0], :2], landmarks[list(upper) + list(lower[-2:0:-1]), :2]):
            holes[name] = fan_triangles(iris[0], upper, lower)
        else:
            holes[name] = strip_triangles(upper, lower)
    return holes


def _inside(point: np.ndarray, polygon: np.ndarray) -> bool:
    """Point strictly inside a polygon, with a margin of a tenth of the polygon's height."""
    import cv2

    margin = 0.1 * float(np.ptp(polygon[:, 1]))
    return cv2.pointPolygonTest(polygon.astype(np.float32), (float(point[0]), float(point[1])), True) > margin


def named_groups() -> dict[str, tuple]:
    """The index sets above by name, for consumers that may not import this module (the
    renderer reads them from `PortraitRig.groups`)."""
    return {
        "lip_upper": LIP_UPPER,
        "lip_lower": LIP_LOWER,
        "mouth_corners": MOUTH_CORNERS,
        "right_eye_upper": RIGHT_EYE_UPPER,
        "right_eye_lower": RIGHT_EYE_LOWER,
        "right_eye_above": RIGHT_EYE_ABOVE,
        "right_eye_below": RIGHT_EYE_BELOW,
        "left_eye_upper": LEFT_EYE_UPPER,
        "left_eye_lower": LEFT_EYE_LOWER,
        "left_eye_above": LEFT_EYE_ABOVE,
        "left_eye_below": LEFT_EYE_BELOW,
        "right_iris": RIGHT_IRIS,
        "left_iris": LEFT_IRIS,
        "right_brow": RIGHT_BROW,
        "left_brow": LEFT_BROW,
        "right_brow_inner": RIGHT_BROW_INNER,
        "left_brow_inner": LEFT_BROW_INNER,
        "nose": NOSE,
        "nose_tip": (NOSE_TIP,),
        "chin": (CHIN,),
        "forehead_top": (FOREHEAD_TOP,),
        "jaw_line": JAW_LINE,
        "face_oval": face_oval(),
    }

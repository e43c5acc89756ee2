"""Everything the renderer precomputes once per portrait (and per turbo setting).

The `Puppet` is built by `prepare` (or on the first `frames()` call) and kept by the renderer
for the last few rigs it drew, so the per-frame work is only: weights -> vertex positions ->
warp map -> remap -> mouth painting. Nothing is written into the rig: it is a frozen contract.

The other, silent faces of a photo get no mesh, only their eyes (`SilentEye`): they blink
(the `blink_others` curve) by a column-wise vertical warp of a small box round each eye. Per
column, the skin above the upper lid stretches down as the lid margin moves to where the lids
meet, the visible eye is squeezed between the moving margins, the skin below the lower lid
stretches up. The map is monotonic (nothing folds) and is the identity at the eye corners,
where the margins already meet, and at the box's edges, so no seam can show. It reads the
frame already rendered, after the eye's share of the torso motion and zoom is applied to the
lid geometry, so the blink rides on the breathing body.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from talkies.curves import smoothstep
from talkies.errors import EngineError
from talkies.render import body
from talkies.render.expressions import BASES, expression_bases
from talkies.render.mouth import MouthKit, prepare_mouth
from talkies.render.warp import Grid
from talkies.tracks import PortraitRig, curve_value

# Warp grid step in pixels (normal, turbo): the map is built every `step` pixels and upsampled.
_STEP = (2, 4)
# Samples per pixel and axis where lips and lids are re-rendered exactly (normal, turbo).
_SUPERSAMPLE = (3, 2)
# Head turns to these yaws (deg) must not fold the mesh (see `_unfolded_depth`); pitch is left
# alone: the nose that covers the nostrils and the upper lip as the head bows is real.
# a triangle folds when a turn flips it over by more than _FOLD_PX2 (smaller flips, of slivers
# whose corners nearly coincide in the picture, cover no visible pixel). At most
# _UNFOLD_PASSES passes of depth smoothing are made.
_TURN_TEST_DEG = (-12.0, -6.0, 6.0, 12.0)
_FOLD_PX2 = 1.0
_UNFOLD_PASSES = 48
# A face cut by the frame's edge: head and face motion fade out towards the edge, over this
# share of the face's size at the mesh's vertices (so the lips, lids and the map agree), and
# then over the last `_EDGE_PIN_PX` share at every pixel of the map, so that nothing at the
# edge moves. Without it the map reads beyond the edge and the remap repeats the edge's
# pixels into streaks as the head turns. The fade must exceed 1.5 x the largest head motion
# near the edge (about a tenth of the face) for every read to stay inside the picture.
_EDGE_FADE = 0.25
_EDGE_PIN = 0.06
# Puppets of the rigs drawn last, newest last: (rig, turbo, puppet); a rig is matched by
# identity (a frozen rig never changes, and numpy arrays have no cheap equality).
_RECENT: list[tuple[PortraitRig, bool, Puppet]] = []
_RECENT_SIZE = 4
_RECENT_LOCK = threading.Lock()


@dataclass(frozen=True)
class Field:
    """A lattice grid over pixel box `box` (plus a margin, for upsampling) with its points'
    pixel coordinates (h, w, 2) and the torso sway and breath weights there (h, w, 2), ready for
    a frame's backward map. `windows`: boxes (r0, c0, r1, c1) of grid points outside which no
    frame ever moves a pixel of this field (warp.warp_into); None: it may move anywhere."""

    box: tuple[int, int, int, int]
    grid: Grid
    points: np.ndarray
    body: np.ndarray
    windows: tuple[tuple[int, int, int, int], ...] | None = None


@dataclass(frozen=True)
class Puppet:
    """image: (H, W, 3) uint8 source; rest: (n, 3) float32 mesh; source: (n, 2) float32 where
    each vertex reads the photo (its rest position, but for the inner lips of a photo whose
    mouth is open, see `_lip_source`); triangles: (m, 3) int32 in draw
    order (openings first, so lips and lids win on shared edges);
    bases: (len(BASES), n, 2) float32; head_weight: (n,); pivot / neck: (3,) rotation centres;
    head: Field over the region head and face motion reach; torso: Field over the person and
    the head (None if no person); vertex_body: (n, 2) sway and breath weights at the vertices;
    body_maps: full-size (H, W) sway and breath weights (for the zoom's whole-frame field);
    mouth_tris / eye_tris: triangles re-rendered supersampled; opening_tris: the triangles
    of the mouth opening, which read the photo at `opening_source` (n, 2) instead of the rest
    positions: just inside the lips, never the photo's teeth; groups: landmark index sets;
    mouth: MouthKit; vertex_pin: (n,) float32 0..1 share of head and face motion each vertex
    keeps near the frame's edge, head_pin: (h, w) float32 the same at the head field's grid
    points (both None when the face is far from every edge); cache: fields built on demand
    (the whole-frame field for zoom)."""

    image: np.ndarray
    rest: np.ndarray
    source: np.ndarray
    triangles: np.ndarray
    bases: np.ndarray
    head_weight: np.ndarray
    pivot: np.ndarray
    neck: np.ndarray
    face_centre: np.ndarray
    head: Field
    torso: Field | None
    vertex_body: np.ndarray
    body_maps: tuple[np.ndarray, np.ndarray]
    step: int
    supersample: int
    mouth_tris: np.ndarray
    opening_tris: np.ndarray
    opening_source: np.ndarray
    eye_tris: tuple[np.ndarray, np.ndarray]
    groups: Mapping[str, tuple]
    mouth: MouthKit
    iod: float
    silent_eyes: tuple[SilentEye, ...] = ()
    vertex_pin: np.ndarray | None = None
    head_pin: np.ndarray | None = None
    cache: dict = field(default_factory=dict, compare=False)


# Where a silent face's closed lids meet, as a fraction of the opening from the upper lid down.
_SILENT_LID_MEET = 0.8


@dataclass(frozen=True)
class SilentEye:
    """One eye of a silent face. xs: (k,) float32 pixel columns along the eye (corner to
    corner, a margin beyond each); upper / lower: (k,) lid margin rows there (equal outside the
    corners); top / bottom: rows of the box the blink may touch; body: (2,) the torso sway and
    breath weights at the eye."""

    xs: np.ndarray
    upper: np.ndarray
    lower: np.ndarray
    top: float
    bottom: float
    body: np.ndarray


def puppet_for(rig: PortraitRig, turbo: bool) -> Puppet:
    """The rig's puppet: the one built for it before (among the last _RECENT_SIZE), or a new
    one, which is then kept."""
    with _RECENT_LOCK:
        for kept, kept_turbo, puppet in _RECENT:
            if kept is rig and kept_turbo == turbo:
                return puppet
    puppet = build_puppet(rig, turbo)
    with _RECENT_LOCK:
        _RECENT.append((rig, turbo, puppet))
        del _RECENT[:-_RECENT_SIZE]
    return puppet


def build_puppet(rig: PortraitRig, turbo: bool) -> Puppet:
    """Everything per portrait the frames need. Raises EngineError for a rig that
    face.analyze_portrait did not make (no mesh, no mouth facts)."""
    if rig.mesh is None or rig.mouth is None or not rig.groups or not rig.masks:
        raise EngineError("the portrait rig has no warp mesh: make it with face.analyze_portrait")
    mesh, groups = rig.mesh, rig.groups
    iod = float(rig.iod_px)
    holes = list(mesh.holes.values())
    bases = expression_bases(
        mesh.points, mesh.triangles, holes, mesh.ring, groups, iod, mesh.down, mesh.copies, mesh.copies_of
    )
    chin = rig.landmarks[groups["chin"][0]].astype(np.float64)
    face_h = float(np.linalg.norm(chin[:2] - rig.landmarks[groups["forehead_top"][0], :2]))
    neck = chin + np.r_[0.25 * face_h * mesh.down, 0.0]
    neck[2] = mesh.pivot[2]
    sway_w, breath_w = body.body_weights(rig.person_mask, float(chin[1]), face_h)
    step = _STEP[turbo]
    roi = rig.roi
    head = field_over(roi, step, (sway_w, breath_w))
    size = float(rig.face_size_px)
    height, width = rig.image.shape[:2]
    vertex_pin = _edge_weight(mesh.points[:, 0], mesh.points[:, 1], width, height, _EDGE_FADE * size)
    head_pin = _edge_weight(head.points[..., 0], head.points[..., 1], width, height, _EDGE_PIN * size)
    pinned = vertex_pin.min() < 1.0
    solid = mesh.triangles[sum(len(h) for h in holes) :]
    rest = _unfolded_depth(_paired_lip_depth(mesh.points, groups), solid, mesh.head_weight, mesh.pivot, neck)
    return Puppet(
        image=np.ascontiguousarray(rig.image),
        rest=rest,
        source=_lip_source(rest, groups, float(rig.mouth.aperture_px)),
        triangles=mesh.triangles,
        bases=bases,
        head_weight=mesh.head_weight,
        pivot=mesh.pivot.astype(np.float64),
        neck=neck,
        face_centre=mesh.face_centre,
        head=head,
        torso=_torso_field(roi, step, (sway_w, breath_w)),
        vertex_body=_weights_at(sway_w, breath_w, mesh.points[:, 0], mesh.points[:, 1]),
        body_maps=(sway_w, breath_w),
        step=step,
        supersample=_SUPERSAMPLE[turbo],
        mouth_tris=_triangles_touching(mesh.triangles, _mouth_vertices(groups)),
        opening_tris=np.arange(len(mesh.holes["mouth"])),  # the mesh lists the mouth opening first
        opening_source=_opening_source(mesh.points, groups),
        eye_tris=(
            _triangles_touching(mesh.triangles, _eye_vertices(groups, "right")),
            _triangles_touching(mesh.triangles, _eye_vertices(groups, "left")),
        ),
        groups=groups,
        mouth=prepare_mouth(rig.image, rig.landmarks, groups, rig.masks, rig.mouth, mesh.down),
        iod=iod,
        silent_eyes=tuple(
            eye for other in rig.other_faces for eye in _silent_eyes(other, groups, sway_w, breath_w)
        ),
        vertex_pin=vertex_pin if pinned else None,
        head_pin=head_pin if pinned else None,
    )


def _unfolded_depth(
    points: np.ndarray, solid: np.ndarray, weight: np.ndarray, pivot: np.ndarray, neck: np.ndarray
) -> np.ndarray:
    """The mesh (n, 3) with its depths smoothed where a head turn would fold it.

    Why: each vertex turns by its own depth, so where the surface is seen nearly edge-on - the
    far cheek of a three-quarter face, whose landmarks lie a few pixels apart in the picture but
    far apart in depth - a turn of a few degrees makes the nearer points overtake the farther
    ones and flips triangles over. A flipped triangle is not drawn and the overlap of its
    neighbours leaves a crease from the eye's far corner down the cheek. Smoothing the depth of
    the folding triangles' vertices towards their neighbours' (once per portrait, tested at the
    largest turns the renderer allows) makes the cheek compress instead, and the depth, which
    only drives the turn's parallax, changes nowhere else."""
    points = points.astype(np.float64).copy()
    area = _signed_areas(points[:, :2], solid)
    front = np.sign(np.sum(np.sign(area)))  # the orientation of triangles that face the camera
    solid = solid[area * front > 0]  # those already turned away in the photo may turn back
    for _ in range(_UNFOLD_PASSES):
        folding = np.zeros(len(solid), bool)
        for yaw in _TURN_TEST_DEG:
            moved = points[:, :2] + body.head_displacement(points, weight, pivot, neck, (yaw, 0.0, 0.0))
            folding |= _signed_areas(moved, solid) * front < -_FOLD_PX2
        if not folding.any():
            break
        # Each folding triangle pulls its corners to their mean depth (a flat triangle cannot
        # flip under a turn); a vertex in several takes the mean of their means.
        z = points[:, 2]
        corners = solid[folding]
        means = np.repeat(z[corners].mean(axis=1), 3)
        count = np.bincount(corners.ravel(), minlength=len(z))
        pulled = np.bincount(corners.ravel(), means, len(z))
        moved_z = count > 0
        z[moved_z] = pulled[moved_z] / count[moved_z]
    return points.astype(np.float32)


def _signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    a, b, c = points[triangles[:, 0]], points[triangles[:, 1]], points[triangles[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))


def _edge_weight(xs: np.ndarray, ys: np.ndarray, width: int, height: int, fade_px: float) -> np.ndarray:
    """0..1 (shape of xs) share of motion kept at pixel positions: 0 on and beyond the frame's
    edge, rising smoothly to 1 at `fade_px` inside it."""
    inside = np.minimum(np.minimum(xs + 0.5, width - 0.5 - xs), np.minimum(ys + 0.5, height - 0.5 - ys))
    return smoothstep(inside, 0.0, max(fade_px, 1.0)).astype(np.float32)


def _silent_eyes(
    landmarks: np.ndarray, groups: Mapping[str, tuple], sway_w: np.ndarray, breath_w: np.ndarray
):
    """The two SilentEyes of a face's (478, 3) landmarks."""
    eyes = []
    for side in ("right", "left"):
        upper = landmarks[list(groups[f"{side}_eye_upper"]), :2].astype(np.float64)
        lower = landmarks[list(groups[f"{side}_eye_lower"]), :2].astype(np.float64)
        width = float(np.ptp(upper[:, 0]))
        height = float(np.max(lower[:, 1]) - np.min(upper[:, 1]))
        if width < 4 or height <= 0:
            continue  # too small or degenerate to blink visibly
        xs = np.arange(
            np.floor(upper[:, 0].min() - 0.3 * width), np.ceil(upper[:, 0].max() + 0.3 * width) + 1
        )
        up = np.interp(xs, *upper[np.argsort(upper[:, 0])].T)
        lo = np.interp(xs, *lower[np.argsort(lower[:, 0])].T)
        centre = (upper.mean(axis=0) + lower.mean(axis=0)) / 2
        eyes.append(
            SilentEye(
                xs=xs.astype(np.float32),
                upper=up.astype(np.float32),
                lower=np.maximum(lo, up).astype(np.float32),
                top=float(up.min() - 1.5 * height),
                bottom=float(lo.max() + 0.8 * height),
                body=_weights_at(sway_w, breath_w, centre[:1], centre[1:]).reshape(2),
            )
        )
    return eyes


def close_silent_eyes(p: Puppet, frame: np.ndarray, values: dict[str, float]) -> np.ndarray:
    """Blink the silent faces' eyes in `frame` (in place, and returned) by `blink_others`
    (0 open .. 1 closed), following the torso motion and zoom of the frame's `values`."""
    closure = curve_value(values, "blink_others")
    if closure <= 0 or not p.silent_eyes:
        return frame
    height, width = frame.shape[:2]
    sway = curve_value(values, "torso_sway_px")
    breath = curve_value(values, "breath")
    zoom = curve_value(values, "zoom")
    centre = p.face_centre.astype(np.float64)
    for eye in p.silent_eyes:
        shift = body.body_displacement(sway, breath, height, eye.body[:1], eye.body[1:]).reshape(2)

        def place(x, y, shift=shift):  # where a photo point is in this frame
            return centre[0] + (1 + zoom) * (x + shift[0] - centre[0]), centre[1] + (1 + zoom) * (
                y + shift[1] - centre[1]
            )

        x0, top = place(eye.xs[0], eye.top)
        x1, bottom = place(eye.xs[-1], eye.bottom)
        x0, x1 = max(0, int(np.floor(x0))), min(width, int(np.ceil(x1)) + 1)
        y0, y1 = max(0, int(np.floor(top))), min(height, int(np.ceil(bottom)) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        cols = np.arange(x0, x1, dtype=np.float64)
        photo_x = (cols - centre[0]) / (1 + zoom) + centre[0] - shift[0]
        _, upper = place(photo_x, np.interp(photo_x, eye.xs, eye.upper))
        _, lower = place(photo_x, np.interp(photo_x, eye.xs, eye.lower))
        patch = frame[y0:y1, x0:x1].astype(np.float32)
        map_y = _lid_map(np.arange(y0, y1, dtype=np.float64), upper, lower, closure, y0, y1 - 1)
        map_x = np.ascontiguousarray(np.broadcast_to(np.arange(x1 - x0, dtype=np.float32), map_y.shape))
        moved = cv2.remap(patch, map_x, map_y - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        frame[y0:y1, x0:x1] = np.clip(moved + 0.5, 0, 255).astype(np.uint8)
    return frame


def _lid_map(
    rows: np.ndarray, upper: np.ndarray, lower: np.ndarray, closure: float, top: float, bottom: float
):
    """(len(rows), len(upper)) source row of each output pixel: the column-wise lid warp (see
    module docstring). rows: output rows; upper / lower: lid rows per column at rest."""
    meet = upper + _SILENT_LID_MEET * (lower - upper)
    new_upper = upper + closure * (meet - upper)
    new_lower = lower - closure * (lower - meet)
    y = rows[:, None]
    above = top + (y - top) * (upper - top) / np.maximum(new_upper - top, 1e-6)
    gap = np.maximum(new_lower - new_upper, 1e-6)
    inside = upper + (y - new_upper) * (lower - upper) / gap
    below = lower + (y - new_lower) * (bottom - lower) / np.maximum(bottom - new_lower, 1e-6)
    return np.where(y <= new_upper, above, np.where(y >= new_lower, below, inside)).astype(np.float32)


# Where the photo's lips are parted, the lips read the photo this far (px, at most this share of
# the lip's thickness) inside their inner edge.
_LIP_INSET_PX = 1.5
_LIP_INSET_SHARE = 0.2
# ... once the photo's lips are parted by more than this (px).
_PARTED_PHOTO_PX = 1.0


def _lip_source(points: np.ndarray, groups: Mapping[str, tuple], aperture_px: float) -> np.ndarray:
    """(n, 2) float32 source positions of all vertices: the rest positions, but with the inner
    lip points moved `_LIP_INSET_PX` into their lips when the photo's lips are parted.

    Why: the lips are warped from the photo right up to their inner edge, and bilinear
    sampling there (plus the pixel of margin every triangle may read) takes in what lies
    between the photo's lips: its teeth, or the dark of its mouth. When the lips then close,
    that shows as a pale or greenish smear along the seam. Reading a pixel or so inside the
    lip keeps the seam lip-coloured; a photo with closed lips has nothing to avoid there."""
    source = points[:, :2].astype(np.float64).copy()
    if aperture_px <= _PARTED_PHOTO_PX:
        return source.astype(np.float32)
    for inner, outer in (
        (groups["lip_upper"][3], groups["lip_upper"][0]),
        (groups["lip_lower"][3], groups["lip_lower"][0]),
    ):
        inner, outer = np.array(inner[1:-1]), np.array(outer[1:-1])
        towards = source[outer] - source[inner]
        thickness = np.maximum(np.linalg.norm(towards, axis=1, keepdims=True), 1e-6)
        inset = np.minimum(_LIP_INSET_PX, _LIP_INSET_SHARE * thickness)
        source[inner] += towards / thickness * inset
    return source.astype(np.float32)


def _opening_source(points: np.ndarray, groups: Mapping[str, tuple]) -> np.ndarray:
    """(n, 2) source positions for the mouth opening's triangles: the inner lip points moved a
    third of the way into their lips. Whatever shows between lips that have barely parted is
    then lip (the painted inside covers the rest), never a squeezed copy of the photo's teeth."""
    source = points[:, :2].astype(np.float64).copy()
    for inner, outer in (
        (groups["lip_upper"][3], groups["lip_upper"][0]),
        (groups["lip_lower"][3], groups["lip_lower"][0]),
    ):
        inner, outer = np.array(inner[1:-1]), np.array(outer[1:-1])
        source[inner] += (source[outer] - source[inner]) / 3
    return source.astype(np.float32)


def _paired_lip_depth(points: np.ndarray, groups: Mapping[str, tuple]) -> np.ndarray:
    """The mesh with each inner-lip column's two points at their mean depth: closed lips meet at
    one point, and a head turn (which moves points by their depth) must not pull them apart."""
    points = points.copy()
    upper, lower = np.array(groups["lip_upper"][3]), np.array(groups["lip_lower"][3])
    depth = (points[upper, 2] + points[lower, 2]) / 2
    points[upper, 2] = depth
    points[lower, 2] = depth
    return points


def _weights_at(sway_w: np.ndarray, breath_w: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(..., 2) sway and breath weights sampled (bilinear) at pixel coordinates."""
    xs, ys = np.asarray(xs, np.float32), np.asarray(ys, np.float32)
    shape = xs.shape
    # remap wants 2-D maps (each side below 32767): keep grids as they are, lay vertex lists flat.
    mx, my = (xs, ys) if xs.ndim == 2 else (xs.reshape(1, -1), ys.reshape(1, -1))
    both = np.dstack([sway_w, breath_w])
    out = cv2.remap(both, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(*shape, 2).astype(np.float32)


def field_over(box: tuple[int, int, int, int], step: int, body_maps: tuple[np.ndarray, np.ndarray]) -> Field:
    """A Field on the lattice grid over pixel box `box`."""
    grid = Grid.lattice(box, step)
    xs, ys = grid.points()
    return Field(box, grid, np.dstack([xs, ys]).astype(np.float32), _weights_at(*body_maps, xs, ys))


def _torso_field(roi, step: int, body_maps: tuple[np.ndarray, np.ndarray]) -> Field | None:
    """Field over the part of the frame where torso motion is not zero, and the head region;
    its windows leave out the background around the person, where no frame moves a pixel."""
    sway_w, breath_w = body_maps
    moving = (sway_w > 0) | (breath_w > 0)
    if not moving.any():
        return None
    rows, cols = np.flatnonzero(moving.any(axis=1)), np.flatnonzero(moving.any(axis=0))
    box = (min(roi[0], cols[0]), min(roi[1], rows[0]), max(roi[2], cols[-1] + 1), max(roi[3], rows[-1] + 1))
    whole = field_over(box, step, body_maps)
    head_rows, head_cols = whole.grid.window(Grid.lattice(roi, step))
    moves = (whole.body != 0).any(axis=2)  # torso motion reaches these points ...
    moves[head_rows, head_cols] = True  # ... and the head's mesh these
    return replace(whole, windows=_windows(moves))


# Side of the square blocks of grid points that `_windows` keeps or leaves out whole.
_WINDOW_POINTS = 16


def _windows(moves: np.ndarray) -> tuple[tuple[int, int, int, int], ...]:
    """Boxes (r0, c0, r1, c1) of grid points covering every point that `moves` and its
    neighbours (a pixel between grid points interpolates both): blocks of _WINDOW_POINTS
    square, joined along each row of blocks, and rows of blocks with the same runs joined."""
    near = cv2.dilate(moves.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    h, w = near.shape
    n = _WINDOW_POINTS
    blocks = np.zeros((-(-h // n) * n, -(-w // n) * n), bool)
    blocks[:h, :w] = near
    used = blocks.reshape(blocks.shape[0] // n, n, blocks.shape[1] // n, n).any(axis=(1, 3))
    windows: list[list[int]] = []
    previous: list[tuple[int, int]] = []
    for i, row in enumerate(used):
        edges = np.diff(np.concatenate([[0], row.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()
        runs = list(zip(starts, ends, strict=True))
        if runs and runs == previous:
            for box in windows[-len(runs) :]:
                box[2] = min((i + 1) * n, h)
        else:
            windows += [[i * n, a * n, min((i + 1) * n, h), min(b * n, w)] for a, b in runs]
        previous = runs
    return tuple((r0, c0, r1, c1) for r0, c0, r1, c1 in windows)


def _mouth_vertices(groups: Mapping[str, tuple]) -> np.ndarray:
    return np.unique(np.concatenate([np.array(r) for r in (*groups["lip_upper"], *groups["lip_lower"])]))


def _eye_vertices(groups: Mapping[str, tuple], side: str) -> np.ndarray:
    names = (f"{side}_eye_upper", f"{side}_eye_lower", f"{side}_iris")
    return np.unique(
        np.concatenate([np.array(groups[n]) for n in names] + [np.array(groups[f"{side}_eye_above"][0])])
    )


def _triangles_touching(triangles: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Ids of the triangles with at least one vertex in `vertices`."""
    return np.flatnonzero(np.isin(triangles, vertices).any(axis=1))


__all__ = ["BASES", "Puppet", "SilentEye", "close_silent_eyes", "puppet_for"]

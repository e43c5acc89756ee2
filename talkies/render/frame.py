"""One frame: curve values -> vertex positions -> backward warp map -> remap -> mouth painting.

Every frame is computed from the source photo and its own curve values only, so frames can be
rendered in any order (or alone) and nothing drifts over a long video.

The backward map (for each output pixel, where to read the photo) is built on a lattice grid
over the region that moves this frame - the head region, or the whole person when the torso
moves, or the whole frame for a zoom: first the torso and zoom field everywhere, then the moved
mesh's exact piecewise-affine map wherever its triangles lie. It is upsampled linearly and
applied with cv2.remap; pixels outside the region, and the background round the person inside
it (the torso field's windows, where no frame moves anything), are the photo's own. Lips and
lids are then re-rendered supersampled from the exact map, and the mouth's inside is painted.
"""

from __future__ import annotations

import cv2
import numpy as np

from talkies.curves import smoothstep
from talkies.render import body
from talkies.render.expressions import BASES
from talkies.render.mouth import paint_mouth
from talkies.render.puppet import Field, Puppet, field_over
from talkies.render.warp import (
    Grid,
    clip_box,
    points_box,
    rasterize,
    remap_linear,
    sample_affines,
    source_bounds,
    triangle_affines,
    warp_into,
)
from talkies.tracks import curve_value

# A mouth at rest (jaw_open 0) has its lips together and lightly pressed: without it, lips that
# merely touch (the "close" basis) still read as parted a hair on a photo that smiles with
# teeth showing. The light press fades out as the jaw opens to _SEAL_JAW.
_REST_SEAL = 0.3
_SEAL_JAW = 0.05
# The jaw basis opens by jaw_open ** _JAW_GAMMA: a reduced vowel at a fifth of the widest
# opening still shows the lips clearly parted (the face mesh, and the eye, read small openings
# as smaller than they are and the widest ones as saturating), while 0 and 1 stay put.
_JAW_GAMMA = 0.8


def basis_weights(values: dict[str, float]) -> np.ndarray:
    """(len(BASES),) float32 weight of each expression basis for one frame's curve values."""

    def unit(name: str) -> float:
        return curve_value(values, name)

    press, tuck, jaw = unit("lip_press"), unit("lip_tuck"), unit("jaw_open")
    seal = _REST_SEAL * (1.0 - smoothstep(jaw / _SEAL_JAW))
    blink = {"right": unit("blink_right"), "left": unit("blink_left")}
    gaze_x, gaze_y = _limited(values, "gaze_x_deg"), _limited(values, "gaze_y_deg")
    weights = {
        "close": 1.0,
        "jaw": jaw**_JAW_GAMMA * (1 - press) * (1 - 0.7 * tuck),
        "press": max(press, seal),
        "round": unit("lip_round"),
        "wide": unit("lip_wide"),
        "tuck": tuck * (1 - press),
        "smile": unit("smile"),
        "frown": unit("frown"),
        "brow_raise": unit("brow_raise"),
        "brow_furrow": unit("brow_furrow"),
        **{f"blink_{s}": b for s, b in blink.items()},
        # A closing lid takes the iris with it; gaze only moves what is open.
        **{f"gaze_x_{s}": gaze_x * (1 - b) for s, b in blink.items()},
        **{f"gaze_y_{s}": gaze_y * (1 - b) for s, b in blink.items()},
    }
    return np.array([weights[name] for name in BASES], np.float32)


def _limited(values: dict[str, float], name: str) -> float:
    """The frame's value of `name`, refused (never clamped) outside what the warp renders."""
    return curve_value(values, name)


def _torso(values: dict[str, float]) -> tuple[float, float, float]:
    """(sway px at 1080p, breath, zoom) of one frame, within what the renderer takes."""
    return _limited(values, "torso_sway_px"), _limited(values, "breath"), _limited(values, "zoom")


def target_positions(p: Puppet, values: dict[str, float], height: int) -> np.ndarray:
    """(n, 2) float32 pixel positions of all mesh vertices in this frame."""
    shape = p.rest[:, :2] + np.tensordot(basis_weights(values), p.bases, axes=1)
    _keep_apart(shape, p.groups["lip_upper"][3], p.groups["lip_lower"][3])
    for side in ("right", "left"):
        _keep_apart(shape, p.groups[f"{side}_eye_upper"], p.groups[f"{side}_eye_lower"])
    angles = (
        _limited(values, "head_yaw_deg"),
        _limited(values, "head_pitch_deg"),
        _limited(values, "head_roll_deg"),
    )
    points = np.column_stack([shape, p.rest[:, 2]]).astype(np.float64)
    turn = body.head_displacement(points, p.head_weight, p.pivot, p.neck, angles)
    if p.vertex_pin is not None:  # a face cut by the frame: the head does not move at the edge
        turn = turn * p.vertex_pin[:, None]
    target = shape + turn
    sway, breath, zoom = _torso(values)
    if sway or breath:
        target = target + body.body_displacement(
            sway, breath, height, p.vertex_body[:, 0], p.vertex_body[:, 1]
        )
    if zoom:
        target = p.face_centre + (1 + zoom) * (target - p.face_centre)
    return target.astype(np.float32)


def _keep_apart(points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> None:
    """Where a lower contour point has crossed above its upper partner, meet in the middle (in
    place), so that the opening's triangles never fold over."""
    up, lo = np.array(upper[1:-1]), np.array(lower[1:-1])
    axis = points[upper[-1]] - points[upper[0]]
    normal = np.array([-axis[1], axis[0]]) / max(float(np.linalg.norm(axis)), 1e-6)
    normal = normal if normal[1] >= 0 else -normal
    crossed = (points[lo] - points[up]) @ normal < 0
    if crossed.any():
        middle = (points[up[crossed]] + points[lo[crossed]]) / 2
        points[up[crossed]] = middle
        points[lo[crossed]] = middle


def render_frame(p: Puppet, values: dict[str, float]) -> np.ndarray:
    """(H, W, 3) uint8 RGB frame for one frame's curve values (missing names = 0)."""
    target, affines, bounds, drawable, field, source = backward_map(p, values)
    frame = p.image.copy()
    region = clip_box(field.box, frame.shape[1], frame.shape[0])
    warp_into(frame, p.image, field.grid, source, region, field.windows)
    for tris in (p.mouth_tris, *p.eye_tris):
        drawn = tris[drawable[tris]]
        _refine(frame, p, field.grid, source, target, drawn, affines, bounds)
    paint_mouth(frame, p.mouth, target, curve_value(values, "jaw_open"))
    return frame


def backward_map(p: Puppet, values: dict[str, float]):
    """One frame's moved mesh and coarse backward map: (target (n, 2) vertex positions, affines
    (m, 2, 3), source bounds (m, 2, 2), drawable (m,) bool, the Field moved, and its (h, w, 2)
    float32 source coordinates at the field's grid points)."""
    height, width = p.image.shape[:2]
    target = target_positions(p, values, height)
    affines, drawable = triangle_affines(target, p.source, p.triangles)
    opening = p.opening_tris
    affines[opening], drawable[opening] = triangle_affines(target, p.opening_source, p.triangles[opening])
    bounds = _source_bounds(p)
    field = _moving_field(p, values, width, height)
    source = _outside_source(p, field, values)
    rows, cols = field.grid.window(p.head.grid)
    ids = rasterize(p.head.grid, target, p.triangles, np.flatnonzero(drawable))
    still = source[rows, cols].copy() if p.head_pin is not None else None
    sample_affines(p.head.grid, ids, affines, source[rows, cols], bounds)
    if still is not None and p.head_pin is not None:  # the pixels at the frame's edge stay put
        head = source[rows, cols]
        head[...] = still + p.head_pin[..., None] * (head - still)
    return target, affines, bounds, drawable, field, source


def _source_bounds(p: Puppet) -> np.ndarray:
    """Per triangle the box its pixels may read (warp.source_bounds): the same every frame."""
    if "bounds" not in p.cache:
        bounds = source_bounds(p.source, p.triangles)
        bounds[p.opening_tris] = source_bounds(p.opening_source, p.triangles[p.opening_tris])
        bounds.setflags(write=False)
        p.cache["bounds"] = bounds
    return p.cache["bounds"]


def _moving_field(p: Puppet, values: dict[str, float], width: int, height: int) -> Field:
    """The field over the region that moves in this frame."""
    sway, breath, zoom = _torso(values)
    if zoom:
        if "frame" not in p.cache:
            p.cache["frame"] = field_over((0, 0, width, height), p.step, p.body_maps)
        return p.cache["frame"]
    if (sway or breath) and p.torso is not None:
        return p.torso
    return p.head


def _outside_source(p: Puppet, field: Field, values: dict[str, float]) -> np.ndarray:
    """(h, w, 2) float32 source coordinates on the field's grid from torso motion and zoom."""
    sway, breath, zoom = _torso(values)
    source = field.points.copy()
    height = p.image.shape[0]
    if sway or breath:
        body.subtract_body_displacement(source, sway, breath, height, field.body[..., 0], field.body[..., 1])
    if zoom:
        source += (p.face_centre - field.points) * (zoom / (1 + zoom))
    return source


def _refine(frame, p: Puppet, coarse: Grid, source, target, tris, affines, bounds) -> None:
    """Re-render where `tris` lie (lips, lids) from the exact map, supersampled `p.supersample`
    times per axis: there the map jumps (lips and lids meet) and must be antialiased. Blended in
    by triangle coverage, so the patch has no visible border."""
    image, triangles = p.image, p.triangles
    if tris.size == 0:
        return
    box = clip_box(points_box(target[np.unique(triangles[tris])], 1.0), frame.shape[1], frame.shape[0])
    if box[2] <= box[0] or box[3] <= box[1]:
        return
    grid = Grid.covering(box, 1.0 / p.supersample)
    ids = rasterize(grid, target, triangles, tris)
    # Where the patch's triangles do not reach, read where the coarse map says.
    at_x, at_y = coarse.grid_coordinates(grid)
    fine = cv2.remap(source, at_x, at_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    covered = sample_affines(grid, ids, affines, fine, bounds)
    if not covered.any():
        return
    size = (box[2] - box[0], box[3] - box[1])
    pixels = cv2.resize(remap_linear(image, fine).astype(np.float32), size, interpolation=cv2.INTER_AREA)
    weight = cv2.resize(covered.astype(np.float32), size, interpolation=cv2.INTER_AREA)[..., None]
    dst = frame[box[1] : box[3], box[0] : box[2]]
    dst[...] = np.clip(dst * (1 - weight) + pixels * weight + 0.5, 0, 255).astype(np.uint8)

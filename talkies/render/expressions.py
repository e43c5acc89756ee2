"""Expression bases: how each face curve moves the mesh vertices, one displacement per unit.

Why: a frame's face shape is a weighted sum of a few fixed displacement fields (lips apart, jaw
down, lids shut, brows up ...), so rendering a frame costs one small matrix product, every
frame depends on its own curve values only, and nothing can drift. Each field is designed where
its meaning is precise (lip rings in a mouth-aligned frame, lid margins in an eye-aligned frame,
brows along the face's vertical) and filled smoothly elsewhere by `harmonic_fill`.

The first basis, "close", is always applied in full: it brings the photo's lips together, so
that jaw_open = 0 means lips together whatever the photo shows (e.g. a smile showing teeth).
Opening is then measured from closed lips, in `MAX_APERTURE_IOD` interocular distances.

Units: displacements in pixels of the rig's image; jaw/lip/brow/blink bases per unit of their
0..1 curve; gaze bases per degree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from talkies.render.harmonic import edge_graph, harmonic_fill

# Inner-lip gap at the mouth centre at jaw_open = 1, in interocular distances (~20 mm).
MAX_APERTURE_IOD = 0.34
# Share of the opening made by the lower lip / jaw (the rest by the upper lip rising).
_LOWER_SHARE = 0.82
# Share of the photo's lip gap closed by the upper lip when the lips are brought together.
_UPPER_CLOSE_SHARE = 0.5
# Eye radius in interocular distances (12 mm / 63 mm): iris shift per degree of gaze.
_EYE_RADIUS_IOD = 0.19
# Where closed lids meet, as a fraction of the opening from the upper lid down.
_LID_MEET = 0.8

BASES = (
    "close", "jaw", "press", "round", "wide", "tuck", "smile", "frown", "brow_raise", "brow_furrow",
    "blink_right", "blink_left", "gaze_x_right", "gaze_x_left", "gaze_y_right", "gaze_y_left",
)  # fmt: skip


@dataclass(frozen=True)
class _Frame:
    """An oriented 2-D frame: origin, unit axis `u` and its normal `v` (pointing down the face)."""

    origin: np.ndarray
    u_axis: np.ndarray
    v_axis: np.ndarray

    @classmethod
    def through(cls, a: np.ndarray, b: np.ndarray, down: np.ndarray) -> _Frame:
        axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
        normal = np.array([-axis[1], axis[0]])
        return cls((a + b) / 2, axis, normal if normal @ down >= 0 else -normal)

    def local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = points[:, :2] - self.origin
        return d @ self.u_axis, d @ self.v_axis

    def vector(self, du: np.ndarray | float, dv: np.ndarray | float) -> np.ndarray:
        du, dv = np.broadcast_arrays(np.asarray(du, float), np.asarray(dv, float))
        return du[..., None] * self.u_axis + dv[..., None] * self.v_axis


@dataclass
class _Spec:
    """Prescribed displacements of one basis: `known` vertices take `values`, others are filled."""

    known: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _Spec:
        return cls(np.zeros(n, bool), np.zeros((n, 2)))

    def set(self, index, displacement: np.ndarray) -> None:
        self.known[index] = True
        self.values[index] = displacement

    def fix(self, index) -> None:
        """Pin vertices that are not already prescribed."""
        index = np.asarray(index, int)
        free = index[~self.known[index]]
        self.known[free] = True
        self.values[free] = 0.0


def expression_bases(
    points: np.ndarray,
    triangles: np.ndarray,
    holes: list[np.ndarray],
    ring: np.ndarray,
    groups: Mapping[str, tuple],
    iod: float,
    down: np.ndarray,
    copies: np.ndarray,
    copies_of: np.ndarray,
) -> np.ndarray:
    """(len(BASES), n, 2) float32 displacement fields, in the order of `BASES`.

    points: (n, 3) rest mesh; triangles: (m, 3) all triangles; holes: triangles of the openings
    (left out of the smoothing graph); ring: (n,) ring index (0 = landmark); groups: landmark
    index sets by name (face.topology.named_groups); iod: interocular distance px; down: unit
    vector from forehead to chin; copies: eyeball vertices duplicating landmarks copies_of. They
    stay still (lids slide over them) except that the eye's rim follows the lids when gaze
    lifts or lowers them.
    """
    hole_set = {tuple(sorted(t)) for h in holes for t in h}
    solid = np.array([t for t in triangles if tuple(sorted(t)) not in hole_set])
    graph = edge_graph(points, solid)
    specs = {
        **_mouth_specs(points, ring, groups, iod, down),
        **_eye_specs(points, ring, groups, iod, down),
        **_brow_specs(points, ring, groups, iod, down),
    }
    outer = np.flatnonzero(ring == ring.max())
    fields = []
    for name in BASES:
        spec = specs[name]
        spec.fix(outer)
        field = harmonic_fill(graph, spec.known, spec.values)
        field[copies] = field[copies_of] if name.startswith("gaze_y") else 0.0
        fields.append(field)
    return np.asarray(fields, np.float32)


def _lips(points: np.ndarray, groups: Mapping[str, tuple], down: np.ndarray):
    """Mouth frame, half width, and the lip rings as (4, 11) index arrays (upper, lower; ring 0
    outer to 3 inner; columns from corner to corner, aligned across rings and lips)."""
    left, right = (points[i, :2] for i in groups["mouth_corners"])
    frame = _Frame.through(left, right, down)
    half = max(float(np.linalg.norm(right - left)) / 2, 1.0)
    return frame, half, np.array(groups["lip_upper"]), np.array(groups["lip_lower"])


def _profile(u: np.ndarray) -> np.ndarray:
    """0..1 opening profile across the mouth: 1 at the centre, 0 at the corners."""
    return np.clip(1.0 - np.asarray(u) ** 2, 0.0, 1.0) ** 0.6


def _at(u_query: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    order = np.argsort(u)
    return np.interp(u_query, u[order], v[order])


def _mouth_specs(points, ring, groups, iod, down) -> dict[str, _Spec]:
    """Lip ring handles of the mouth bases. Lips are handled column by column (the rings' points
    line up across the mouth), so the upper and lower point of a column meet exactly when closed."""
    n = len(points)
    frame, half, upper, lower = _lips(points, groups, down)
    xy = points[:, :2].astype(np.float64)
    gap = xy[lower[3]] - xy[upper[3]]  # (11, 2) inner-lip gap vector per column
    column_u = frame.local((xy[upper[3]] + xy[lower[3]]) / 2)[0] / half
    column_u[[0, -1]] = np.sign(column_u[[0, -1]])
    thick_up = np.maximum(frame.local(xy[upper[3]])[1] - frame.local(xy[upper[0]])[1], 1.0)
    thick_lo = np.maximum(frame.local(xy[lower[0]])[1] - frame.local(xy[lower[3]])[1], 1.0)
    opening = MAX_APERTURE_IOD * iod
    profile = _profile(column_u)
    corner_weight = np.abs(column_u) ** 1.6
    names = ("close", "jaw", "press", "round", "wide", "tuck", "smile", "frown")
    specs = {name: _Spec.empty(n) for name in names}
    for r in range(4):
        for side, idx, thick in (("upper", upper[r], thick_up), ("lower", lower[r], thick_lo)):
            sign = -1.0 if side == "upper" else 1.0  # towards the outside of the mouth
            follow = (0.45, 0.65, 0.85, 1.0)[r] if side == "upper" else (0.5, 0.7, 0.85, 1.0)[r]
            share = _UPPER_CLOSE_SHARE if side == "upper" else _UPPER_CLOSE_SHARE - 1
            specs["close"].set(idx, share * follow * gap)
            if side == "upper":
                jaw_dv = -(1 - _LOWER_SHARE) * opening * profile * (0.5, 0.7, 0.85, 1.0)[r]
                tuck_dv = -0.09 * iod * profile * (0.25, 0.45, 0.7, 1.0)[r]
            else:
                rigid = (0.55, 0.35, 0.15, 0.0)[r]
                jaw_dv = _LOWER_SHARE * opening * (profile * (1 - rigid) + rigid * (1 - 0.4 * column_u**2))
                tuck_dv = -(0.35, 0.25, 0.12, 0.05)[r] * thick
            specs["jaw"].set(idx, frame.vector(0, jaw_dv))
            specs["tuck"].set(idx, frame.vector(0, tuck_dv))
            specs["press"].set(
                idx, frame.vector(-0.03 * half * column_u, -sign * (0.35, 0.22, 0.1, 0.0)[r] * thick)
            )
            specs["round"].set(
                idx, frame.vector(-0.3 * half * column_u, sign * (0.14, 0.07, 0.0, 0.0)[r] * thick)
            )
            specs["wide"].set(
                idx, frame.vector(0.14 * half * column_u, -sign * (0.1, 0.05, 0.0, 0.0)[r] * thick)
            )
            specs["smile"].set(
                idx, frame.vector(0.1 * half * column_u * corner_weight, -0.16 * half * corner_weight)
            )
            specs["frown"].set(
                idx, frame.vector(-0.03 * half * column_u * corner_weight, 0.13 * half * corner_weight)
            )
    # Corners are shared by all rings: they drop a little and come in as the jaw opens.
    corners = np.concatenate([upper[:, 0], upper[:, -1]])
    corner_u = np.repeat([-1.0, 1.0], 4)
    specs["jaw"].set(corners, frame.vector(-0.04 * half * corner_u, 0.2 * opening))
    _mouth_surroundings(specs, points, ring, groups, iod, down, opening, float(np.linalg.norm(gap[5])))
    return specs


def _mouth_surroundings(specs, points, ring, groups, iod, down, opening, photo_gap) -> None:
    """Jaw line handles (the chin drops with the jaw) and what stays still around the mouth."""
    jaw = np.array(groups["jaw_line"])
    centre_x = points[groups["chin"][0], :2]
    half_face = 0.5 * float(np.linalg.norm(points[jaw[0], :2] - points[jaw[-1], :2]))
    across = np.abs((points[jaw, :2] - centre_x) @ np.array([-down[1], down[0]])) / max(half_face, 1.0)
    lateral = 1.0 - 0.7 * np.clip((across - 0.15) / 0.85, 0, 1) ** 2
    specs["jaw"].set(jaw, lateral[:, None] * 0.7 * opening * down)
    # A photo with the jaw open (more than teeth showing) closes partly by raising the chin.
    raise_px = (1 - _UPPER_CLOSE_SHARE) * max(0.0, photo_gap - 0.15 * iod) * 0.8
    specs["close"].set(jaw, -lateral[:, None] * raise_px * down)
    depth = (points[:, :2] - points[groups["nose_tip"][0], :2]) @ down
    still = np.flatnonzero((ring == 0) & (depth < -0.05 * iod))
    eyes_brows_nose = _indices(
        groups,
        "nose",
        "right_iris",
        "left_iris",
        "right_brow",
        "left_brow",
        "right_eye_upper",
        "right_eye_lower",
        "left_eye_upper",
        "left_eye_lower",
    )
    oval_above_jaw = np.setdiff1d(np.array(groups["face_oval"]), jaw)
    for name, spec in specs.items():
        spec.fix(still)
        spec.fix(eyes_brows_nose)
        spec.fix(oval_above_jaw)
        # Of the rings round the face only the neck (below the mouth) follows the jaw.
        spec.fix(np.flatnonzero((ring >= 4) | ((ring > 0) & (depth < 0.5 * iod))))
        if name not in ("close", "jaw"):
            spec.fix(jaw)


def _indices(groups: Mapping[str, tuple], *names: str) -> np.ndarray:
    out: list[int] = []
    for name in names:
        for item in groups[name]:
            out.extend(item if isinstance(item, tuple) else [item])
    return np.array(sorted(set(out)), int)


def _eye_specs(points, ring, groups, iod, down) -> dict[str, _Spec]:
    n = len(points)
    specs = {}
    step = _EYE_RADIUS_IOD * iod * np.sin(np.radians(1.0))
    for side in ("right", "left"):
        upper, lower = np.array(groups[f"{side}_eye_upper"]), np.array(groups[f"{side}_eye_lower"])
        iris = np.array(groups[f"{side}_iris"])
        frame = _Frame.through(points[upper[0], :2], points[upper[-1], :2], down)
        uu, vu = frame.local(points[upper])
        ul, vl = frame.local(points[lower])
        ui, vi = frame.local(points[iris])
        meet_u = vu + _LID_MEET * (_at(uu, ul, vl) - vu)
        upper_over_lower = _at(ul, uu, vu)
        meet_l = upper_over_lower + _LID_MEET * (vl - upper_over_lower)
        meet_i = _at(ui, uu, vu) + _LID_MEET * (_at(ui, ul, vl) - _at(ui, uu, vu))
        half = max(float(np.ptp(uu)) / 2, 1.0)
        lid = _profile(uu / half)
        blink, gaze_x, gaze_y = _Spec.empty(n), _Spec.empty(n), _Spec.empty(n)
        blink.set(upper, frame.vector(0, meet_u - vu))
        blink.set(lower, frame.vector(0, meet_l - vl))
        blink.set(iris, frame.vector(0, meet_i - vi))
        gaze_x.set(np.concatenate([upper, lower]), np.zeros((len(upper) + len(lower), 2)))
        gaze_x.set(iris, np.tile(step * frame.u_axis, (len(iris), 1)))
        up = -step * down
        gaze_y.set(upper, 0.4 * lid[:, None] * up)
        gaze_y.set(lower, 0.15 * _profile(frame.local(points[lower])[0] / half)[:, None] * up)
        gaze_y.set(iris, np.tile(up, (len(iris), 1)))
        free = _indices(groups, f"{side}_eye_above", f"{side}_eye_below")
        for spec in (blink, gaze_x, gaze_y):
            spec.fix(np.setdiff1d(np.flatnonzero(ring >= 0), free))
        specs[f"blink_{side}"], specs[f"gaze_x_{side}"], specs[f"gaze_y_{side}"] = blink, gaze_x, gaze_y
    return specs


def _brow_specs(points, ring, groups, iod, down) -> dict[str, _Spec]:
    n = len(points)
    raise_, furrow = _Spec.empty(n), _Spec.empty(n)
    brows = _indices(groups, "right_brow", "left_brow")
    raise_.set(brows, np.tile(-0.09 * iod * down, (len(brows), 1)))
    midline = points[groups["nose_tip"][0], :2]
    across = np.array([-down[1], down[0]])
    inner = _indices(groups, "right_brow_inner", "left_brow_inner")
    toward_mid = -np.sign((points[brows, :2] - midline) @ across)[:, None] * across
    is_inner = np.isin(brows, inner)[:, None]
    furrow.set(brows, np.where(is_inner, 0.035 * iod * (toward_mid + down), 0.02 * iod * down))
    eye_level = float(np.mean((points[_indices(groups, "right_iris", "left_iris"), :2] - midline) @ down))
    height = (points[:, :2] - midline) @ down
    free = np.flatnonzero((ring == 0) & (height < eye_level))
    free = np.union1d(free, _indices(groups, "right_eye_above", "left_eye_above"))
    free = np.setdiff1d(
        free,
        _indices(
            groups,
            "face_oval",
            "right_eye_upper",
            "left_eye_upper",
            "right_eye_lower",
            "left_eye_lower",
            "right_iris",
            "left_iris",
        ),
    )
    for spec in (raise_, furrow):
        spec.fix(np.setdiff1d(np.arange(n), free))
    return {"brow_raise": raise_, "brow_furrow": furrow}

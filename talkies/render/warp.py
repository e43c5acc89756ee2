"""Backward warp maps from a moved triangle mesh: for every output pixel, where to sample the photo.

Why this way: the face moves by moving mesh vertices; the photo must then be resampled with a
map from each output pixel back to the photo. A piecewise-affine inverse is exact and cheap to
get: rasterise the moved (target) triangles into an id image with OpenCV's polygon filler, then
apply each pixel's triangle affine (target -> source). Collapsing triangles (lips closing, lids
shutting) are simply not drawn, so what was inside them disappears instead of being smeared.

The map is built on a coarse grid (every `scale` pixels) over the moving region, its source
coordinates upsampled linearly to every pixel (the identity at the region's border, so no seam)
where something can move (`warp_into`), and rebuilt at full resolution only in small boxes
around the mouth and eyes, where closing lids and lips make the map jump.
Grid point (i, j) of a box (x0, y0) at `scale` s sits at pixel (x0 + j*s + (s-1)/2, y0 + i*s + ...),
which is exactly where cv2.resize's linear upsampling expects it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SUBPIXEL_BITS = 4
# Triangles whose target area is below this (px^2) have collapsed and are not drawn.
_MIN_AREA_PX2 = 1e-3
# A grid point may read at most this far (px) outside its triangle's source box (see
# `source_bounds`).
_SOURCE_MARGIN_PX = 1.0


@dataclass(frozen=True)
class Grid:
    """A sampling grid over the pixel box [x0, x0 + w*scale) x [y0, y0 + h*scale). A scale of
    1/k samples every pixel k x k times (supersampling)."""

    x0: int
    y0: int
    width: int
    height: int
    scale: float

    @classmethod
    def covering(cls, box: tuple[int, int, int, int], scale: float) -> Grid:
        x0, y0, x1, y1 = box
        w, h = int(np.ceil((x1 - x0) / scale - 1e-6)), int(np.ceil((y1 - y0) / scale - 1e-6))
        return cls(x0, y0, max(1, w), max(1, h), scale)

    @classmethod
    def lattice(cls, box: tuple[int, int, int, int], step: int) -> Grid:
        """Grid of step `step` over `box` plus one point of margin all round, with its origin on
        multiples of `step`, so that all lattice grids of one step share their points (one can be
        a window of another) and linear upsampling is exact up to the box's edges."""
        x0 = (box[0] // step - 1) * step
        y0 = (box[1] // step - 1) * step
        x1 = (-(-box[2] // step) + 1) * step
        y1 = (-(-box[3] // step) + 1) * step
        return cls(x0, y0, (x1 - x0) // step, (y1 - y0) // step, step)

    def window(self, inner: Grid) -> tuple[slice, slice]:
        """Rows and columns of this grid that hold lattice grid `inner` (same step, inside)."""
        step = int(self.scale)
        r0, c0 = (inner.y0 - self.y0) // step, (inner.x0 - self.x0) // step
        return slice(r0, r0 + inner.height), slice(c0, c0 + inner.width)

    @property
    def box(self) -> tuple[int, int, int, int]:
        w, h = round(self.width * self.scale), round(self.height * self.scale)
        return self.x0, self.y0, self.x0 + w, self.y0 + h

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """(h, w) float32 x and y pixel coordinates of the grid points."""
        off = (self.scale - 1) / 2
        xs = self.x0 + off + self.scale * np.arange(self.width, dtype=np.float32)
        ys = self.y0 + off + self.scale * np.arange(self.height, dtype=np.float32)
        gx, gy = np.meshgrid(xs, ys)
        return gx, gy

    def grid_coordinates(self, other: Grid) -> tuple[np.ndarray, np.ndarray]:
        """(h, w) float32 x and y coordinates, on this grid, of the points of grid `other`:
        the same numbers as `to_grid` of `other.points()`, built per row and column."""
        off, other_off = (self.scale - 1) / 2, (other.scale - 1) / 2
        xs = other.x0 + other_off + other.scale * np.arange(other.width, dtype=np.float32)
        ys = other.y0 + other_off + other.scale * np.arange(other.height, dtype=np.float32)
        gx = (xs - np.float32(self.x0 + off)) / self.scale
        gy = (ys - np.float32(self.y0 + off)) / self.scale
        return np.tile(gx, (other.height, 1)), np.repeat(gy[:, None], other.width, axis=1)

    def to_grid(self, xy: np.ndarray) -> np.ndarray:
        """Pixel coordinates -> grid coordinates (same shape)."""
        off = (self.scale - 1) / 2
        return np.asarray((xy - np.array([self.x0 + off, self.y0 + off], np.float32)) / self.scale)


def triangle_affines(
    target: np.ndarray, source: np.ndarray, triangles: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle the affine map target -> source: (m, 2, 3) float32, and (m,) bool drawable
    (target area large enough and not flipped against the source orientation)."""
    t = target[triangles].astype(np.float64)
    s = source[triangles].astype(np.float64)
    # Edge vectors (columns of 2x2 matrices), inverted in closed form (much faster than linalg).
    ta, tb = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    sa, sb = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    det_t = ta[:, 0] * tb[:, 1] - tb[:, 0] * ta[:, 1]
    det_s = sa[:, 0] * sb[:, 1] - sb[:, 0] * sa[:, 1]
    ok = (np.abs(det_t) > 2 * _MIN_AREA_PX2) & (det_t * det_s > 0)
    inv_det = np.where(ok, 1.0 / np.where(ok, det_t, 1.0), 0.0)
    # inverse of [[ta_x, tb_x], [ta_y, tb_y]] is [[tb_y, -tb_x], [-ta_y, ta_x]] / det
    i00, i01 = tb[:, 1] * inv_det, -tb[:, 0] * inv_det
    i10, i11 = -ta[:, 1] * inv_det, ta[:, 0] * inv_det
    out = np.empty((len(triangles), 2, 3))
    for row in range(2):
        a, b = sa[:, row], sb[:, row]
        out[:, row, 0] = a * i00 + b * i10
        out[:, row, 1] = a * i01 + b * i11
        out[:, row, 2] = s[:, 0, row] - out[:, row, 0] * t[:, 0, 0] - out[:, row, 1] * t[:, 0, 1]
    return out.astype(np.float32), ok


def source_bounds(source: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(m, 2, 2) float32 per triangle the box [[x0, y0], [x1, y1]] its pixels may read from: its
    source triangle's box grown by `_SOURCE_MARGIN_PX`.

    Why: the rasteriser also fills grid points just outside a triangle's exact outline, where its
    affine extrapolates. For a well-shaped triangle that reads a pixel or so beyond its edge, as
    the neighbour would; but a sliver squeezed nearly flat in the target (three almost collinear
    landmarks of different depth when the head turns, e.g. along a nostril's rim) has an affine
    that magnifies tens of times, and one such point would read the photo 20 px away: a lone
    bright or dark speck. Clamping to the box keeps every read local."""
    s = source[triangles].astype(np.float32)
    return np.stack([s.min(axis=1) - _SOURCE_MARGIN_PX, s.max(axis=1) + _SOURCE_MARGIN_PX], axis=1)


def rasterize(grid: Grid, target: np.ndarray, triangles: np.ndarray, order: np.ndarray) -> np.ndarray:
    """(h, w) int32 image of triangle ids (-1 where none) on `grid`; triangles are drawn in the
    given `order` (later ones win on shared edges), only those listed."""
    ids = np.full((grid.height, grid.width), -1, np.int32)
    corners = np.round(grid.to_grid(target) * (1 << _SUBPIXEL_BITS)).astype(np.int32)
    polys = corners[triangles[order]]
    lo = polys.min(axis=1)
    hi = polys.max(axis=1)
    limit = np.array([grid.width, grid.height]) << _SUBPIXEL_BITS
    visible = (hi >= 0).all(axis=1) & (lo < limit).all(axis=1)
    for k, poly in zip(order[visible].tolist(), polys[visible], strict=True):
        cv2.fillConvexPoly(ids, poly, k, cv2.LINE_8, _SUBPIXEL_BITS)
    return ids


def sample_affines(
    grid: Grid, ids: np.ndarray, affines: np.ndarray, out: np.ndarray, bounds: np.ndarray | None = None
) -> np.ndarray:
    """Write the source coordinates of every covered grid point into `out` ((h, w, 2) float32,
    left as it is where ids < 0), each clamped to its triangle's `bounds` (`source_bounds`) when
    given; returns the covered mask.

    (One gather of a per-triangle row of coefficients and bounds, on flat indices: this runs on
    some 10^5 points a frame, where fancy indexing by rows and columns cost twice as much.)"""
    covered = ids >= 0
    at = np.flatnonzero(covered)
    rows, cols = np.divmod(at, ids.shape[1])
    off = (grid.scale - 1) / 2
    px = (grid.x0 + off + grid.scale * cols).astype(np.float32)
    py = (grid.y0 + off + grid.scale * rows).astype(np.float32)
    table = affines.reshape(len(affines), 6)
    if bounds is not None:
        table = np.concatenate([table, bounds.reshape(len(bounds), 4)], axis=1)
    a = np.take(np.ascontiguousarray(table.T), ids.ravel()[at], axis=1)  # rows: contiguous per coefficient
    sx = a[0] * px + a[1] * py + a[2]
    sy = a[3] * px + a[4] * py + a[5]
    if bounds is not None:
        np.clip(sx, a[6], a[8], out=sx)
        np.clip(sy, a[7], a[9], out=sy)
    out[rows, cols, 0] = sx
    out[rows, cols, 1] = sy
    return covered


def warp_into(
    frame: np.ndarray,
    image: np.ndarray,
    grid: Grid,
    source: np.ndarray,
    region: tuple[int, int, int, int],
    windows: tuple[tuple[int, int, int, int], ...] | None = None,
) -> None:
    """Resample `image` into pixel box `region` of `frame` (which holds `image` already) from
    (h, w, 2) float32 source coordinates at the grid points, upsampled linearly to every pixel,
    computing it only inside `windows`: boxes (r0, c0, r1, c1) of grid points
    outside which the caller knows the map to be the identity (None: everywhere).

    The very same pixels as the whole warp: each window is upsampled with one grid point of
    margin, so every pixel inside it interpolates the same neighbours with the same weights,
    and a remap is per pixel. Outside the windows the upsampled map is the pixel's own
    position (grid points sit where linear upsampling expects them, see the module's
    docstring), well within the remap's 1/32 px rounding, so the remap would copy the photo's
    pixel there, which the frame already holds."""
    step = int(grid.scale)
    assert step == grid.scale >= 1, "warp_into takes lattice grids (whole pixel steps)"
    for r0, c0, r1, c1 in windows if windows is not None else ((0, 0, grid.height, grid.width),):
        top, left = max(r0 - 1, 0), max(c0 - 1, 0)
        part = source[top : min(r1 + 1, grid.height), left : min(c1 + 1, grid.width)]
        ox, oy = grid.x0 + left * step, grid.y0 + top * step  # pixel of the part's corner
        inner = (grid.x0 + c0 * step, grid.y0 + r0 * step, grid.x0 + c1 * step, grid.y0 + r1 * step)
        x0, y0, x1, y1 = _intersect(inner, region)
        if x1 <= x0 or y1 <= y0:
            continue
        full = (
            part
            if step == 1
            else cv2.resize(
                part, (part.shape[1] * step, part.shape[0] * step), interpolation=cv2.INTER_LINEAR
            )
        )
        frame[y0:y1, x0:x1] = remap_linear(image, full[y0 - oy : y1 - oy, x0 - ox : x1 - ox])


def remap_linear(image: np.ndarray, coordinates: np.ndarray) -> np.ndarray:
    """cv2.remap of `image` (bilinear, edges replicated) at (h, w, 2) float32 pixel
    coordinates, through the fixed-point maps that cv2.remap makes of float ones anyway: the
    same pixels (checked bit for bit), 15-30% quicker when converted up front (1080p maps)."""
    # (cv2's stubs do not know that map2 may be None when map1 holds both coordinates)
    xy, weights = cv2.convertMaps(coordinates, None, cv2.CV_16SC2)  # type: ignore[call-overload]
    return cv2.remap(image, xy, weights, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _intersect(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def clip_box(box: tuple[int, int, int, int], width: int, height: int) -> tuple[int, int, int, int]:
    return _intersect(box, (0, 0, width, height))


def points_box(points: np.ndarray, margin: float) -> tuple[int, int, int, int]:
    """Integer pixel box (x1, y1 exclusive) around (n, 2) points, grown by `margin` px."""
    lo = np.floor(points.min(axis=0) - margin).astype(int)
    hi = np.ceil(points.max(axis=0) + margin).astype(int) + 1
    return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])

"""The renderer: frames from a portrait rig and motion curves."""

from __future__ import annotations

import dataclasses
import sys
import types
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from talkies import face, render
from talkies.render.expressions import BASES
from talkies.render.frame import backward_map, basis_weights, render_frame, target_positions
from talkies.render.harmonic import edge_graph, harmonic_fill
from talkies.render.look import _noise, sharpness
from talkies.render.mouth import _MouthCoords, paint_mouth
from talkies.render.puppet import puppet_for
from talkies.render.warp import (
    Grid,
    rasterize,
    remap_linear,
    sample_affines,
    source_bounds,
    triangle_affines,
    warp_into,
)
from talkies.tracks import MotionTrack, PortraitRig

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def portrait(size: int) -> np.ndarray:
    img = Image.open(EXAMPLES / "portrait.png").convert("RGB")
    return np.asarray(img.resize((size, size), Image.LANCZOS))


@pytest.fixture(scope="module")
def rig() -> PortraitRig:
    return face.analyze_portrait(portrait(384))


def track(*frames: dict[str, float]) -> MotionTrack:
    """A track with one frame per dict (curves missing from a dict are 0 in that frame)."""
    names = sorted({name for f in frames for name in f}) or ["jaw_open"]
    return MotionTrack(25.0, {n: np.array([f.get(n, 0.0) for f in frames], np.float32) for n in names})


def render_one(rig: PortraitRig, turbo: bool = False, **curves: float) -> np.ndarray:
    return next(render.frames(rig, track(curves), turbo))


def far_background(rig: PortraitRig, margin_px: int) -> np.ndarray:
    """(H, W) bool: pixels more than `margin_px` from the person."""
    person = (rig.person_mask > 0.05).astype(np.uint8)
    near = cv2.dilate(person, np.ones((2 * margin_px + 1, 2 * margin_px + 1), np.uint8))
    return near == 0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def mouth_box(rig: PortraitRig) -> tuple[slice, slice]:
    lips = rig.landmarks[[61, 291, 0, 17], :2]
    x0, y0 = lips.min(axis=0).astype(int) - 4
    x1, y1 = lips.max(axis=0).astype(int) + 12
    return slice(y0, y1), slice(x0, x1)


def dark_pixels(image: np.ndarray, box: tuple[slice, slice]) -> int:
    return int((image[box].max(axis=2) < 80).sum())


def test_frames_is_a_generator_of_rgb_frames(rig: PortraitRig) -> None:
    frames = render.frames(rig, track({}, {"jaw_open": 1.0}, {"blink_left": 1.0}), False)
    assert isinstance(frames, types.GeneratorType)
    out = list(frames)
    assert len(out) == 3
    for frame in out:
        assert frame.shape == rig.image.shape and frame.dtype == np.uint8


def test_each_frame_depends_only_on_its_curves(rig: PortraitRig) -> None:
    values = [
        {"jaw_open": 0.7, "head_yaw_deg": 4.0, "blink_right": 0.5},
        {"lip_round": 1.0, "head_pitch_deg": -3.0, "torso_sway_px": 12.0, "breath": 0.8},
        {"jaw_open": 0.3, "smile": 1.0, "gaze_x_deg": 10.0, "zoom": 0.05},
        {"lip_press": 1.0, "head_roll_deg": 3.0, "brow_raise": 1.0},
    ]
    in_sequence = list(render.frames(rig, track(*values), False))
    for i in (3, 1, 2, 0):
        alone = render_one(rig, **values[i])
        np.testing.assert_array_equal(alone, in_sequence[i])


def test_missing_curves_are_zero_and_unknown_names_ignored(rig: PortraitRig) -> None:
    neutral = render_one(rig, jaw_open=0.0)
    unknown = next(render.frames(rig, MotionTrack(25.0, {"not_a_curve": np.ones(1, np.float32)}), False))
    np.testing.assert_array_equal(neutral, unknown)


def lip_gap_px(image: np.ndarray) -> float:
    """Inner-lip aperture that mediapipe measures on `image` (mean of three columns), pixels."""
    landmarks = face.detect.find_faces(image).faces[0]
    return float(np.mean([np.linalg.norm(landmarks[a, :2] - landmarks[b, :2]) for a, b in LIP_COLUMNS]))


LIP_COLUMNS = ((13, 14), (82, 87), (312, 317))


def test_neutral_frame_closes_the_photo_smile_and_keeps_the_rest(rig: PortraitRig) -> None:
    """The photo smiles showing teeth; jaw_open = 0 means lips together, as a re-detector sees."""
    neutral = render_one(rig)
    photo_gap = lip_gap_px(rig.image)
    assert photo_gap > 3
    assert lip_gap_px(neutral) < 0.15 * photo_gap
    assert lip_gap_px(render_one(rig, jaw_open=1.0)) > 1.5 * photo_gap
    far = far_background(rig, 20)
    np.testing.assert_array_equal(neutral[far], rig.image[far])


def test_resting_lips_meet_over_the_teeth_and_small_openings_show(rig: PortraitRig) -> None:
    """jaw_open = 0: the lips rest lightly pressed together (lips that merely touch read as
    parted a hair once the video is compressed), with no teeth or dark seam between them; the
    press lets go as soon as the jaw opens, and a fifth of the widest opening is clearly open."""
    press = BASES.index("press")
    assert 0.2 <= basis_weights({})[press] <= 0.5
    assert basis_weights({"jaw_open": 0.1})[press] == 0.0
    assert basis_weights({"jaw_open": 0.5, "lip_press": 1.0})[press] == 1.0
    box = mouth_box(rig)
    neutral = render_one(rig)
    teeth = lambda img: int((img[box].min(axis=2) > 200).sum())  # noqa: E731
    assert teeth(neutral) <= teeth(render_one(rig, lip_press=1.0)) + 2
    assert dark_pixels(neutral, box) == 0
    widest = lip_gap_px(render_one(rig, jaw_open=1.0))
    assert lip_gap_px(neutral) < 0.05 * widest
    assert lip_gap_px(render_one(rig, jaw_open=0.2)) > 0.4 * widest
    assert lip_gap_px(render_one(rig, jaw_open=0.6)) < 0.85 * widest  # and still grows after


def test_background_far_from_the_person_stays_still(rig: PortraitRig) -> None:
    moving = render_one(rig, head_yaw_deg=8, head_pitch_deg=5, head_roll_deg=-5, torso_sway_px=30, breath=1.0)
    far = far_background(rig, 20)
    assert far.sum() > 0.1 * far.size
    assert psnr(moving[far], rig.image[far]) > 40
    assert psnr(moving, rig.image) < 40  # while the person did move


def test_jaw_opens_the_mouth_and_draws_its_inside(rig: PortraitRig) -> None:
    box = mouth_box(rig)
    closed, half, open_ = (render_one(rig, jaw_open=j) for j in (0.0, 0.5, 1.0))
    assert dark_pixels(closed, box) < dark_pixels(half, box) < dark_pixels(open_, box)
    assert dark_pixels(render_one(rig, jaw_open=1.0, lip_press=1.0), box) == dark_pixels(closed, box)


def band_under_lip(image: np.ndarray, lip: np.ndarray, s: np.ndarray, below_px: tuple[float, ...]):
    """Grey level (0..255) just under an inner upper lip ((k, 2) px, any order), at fractions `s`
    of the way from one mouth corner to the other, averaged over the depths `below_px`."""
    lip = lip[np.argsort(lip[:, 0])]
    x = (lip[0, 0] + s * (lip[-1, 0] - lip[0, 0])).astype(np.float32)
    y = np.interp(x, lip[:, 0], lip[:, 1])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    at = [cv2.remap(grey, x[None], (y + d).astype(np.float32)[None], cv2.INTER_LINEAR)[0] for d in below_px]
    return np.mean(at, axis=0)


def test_opened_mouth_keeps_the_photos_row_of_teeth_whole(rig: PortraitRig) -> None:
    """The photo shows its upper teeth, some in shade (beside the canine, receding into the
    corners) where the teeth mask misses them. With the jaw open the same row hangs from the
    lip: wherever the photo has teeth under the lip, the opened mouth is about as bright there,
    with no tooth replaced by the dark cavity (no comb with holes)."""
    values = {"jaw_open": 1.0}
    opened = render_one(rig, **values)
    p = puppet_for(rig, False)
    lip = list(p.mouth.upper)
    s = np.linspace(0.05, 0.95, 181)
    below = (0.75, 1.5, 2.25)
    photo = band_under_lip(rig.image, rig.landmarks[lip, :2], s, below)
    drawn = band_under_lip(opened, target_positions(p, values, opened.shape[0])[lip], s, below)
    teeth = photo >= 0.7 * np.percentile(photo, 90)
    assert teeth.mean() > 0.4  # the photo does show a row of teeth
    # The row's last pixel or so may fade into the mouth's corner; inside it nothing may.
    ends = s[teeth].min() + 0.03, s[teeth].max() - 0.03
    inside = teeth & (s > ends[0]) & (s < ends[1])
    assert (drawn / photo)[inside].min() > 0.8
    assert dark_pixels(opened, mouth_box(rig)) > 50  # and the cavity is still drawn around them


def test_blink_hides_the_iris(rig: PortraitRig) -> None:
    iris = rig.landmarks[473, :2].astype(int)  # the subject's left eye
    box = (slice(iris[1] - 5, iris[1] + 6), slice(iris[0] - 6, iris[0] + 7))
    dark = lambda img: int((img[box].max(axis=2) < 90).sum())  # noqa: E731
    opened, closed = render_one(rig), render_one(rig, blink_left=1.0)
    assert dark(opened) > 10 and dark(closed) < dark(opened) / 3
    other = rig.landmarks[468, :2].astype(int)  # the right eye stays open
    right = (slice(other[1] - 5, other[1] + 6), slice(other[0] - 6, other[0] + 7))
    np.testing.assert_array_equal(closed[right], opened[right])


def test_head_turn_follows_the_sign_of_the_curves(rig: PortraitRig) -> None:
    """+yaw moves the near face (nose) to the image's right; +pitch (chin up) moves it up."""
    nose = rig.landmarks[1, :2].astype(int)
    patch = (slice(nose[1] - 12, nose[1] + 12), slice(nose[0] - 12, nose[0] + 12))

    def shift(frame: np.ndarray) -> np.ndarray:
        grey = lambda img: cv2.cvtColor(img[patch], cv2.COLOR_RGB2GRAY).astype(np.float32)  # noqa: E731
        (dx, dy), _ = cv2.phaseCorrelate(grey(render_one(rig)), grey(frame))
        return np.array([dx, dy])

    assert shift(render_one(rig, head_yaw_deg=8))[0] > 1
    assert shift(render_one(rig, head_yaw_deg=-8))[0] < -1
    assert shift(render_one(rig, head_pitch_deg=8))[1] < -1


def test_turbo_is_close_to_normal(rig: PortraitRig) -> None:
    values = {"jaw_open": 0.6, "head_yaw_deg": 5.0, "torso_sway_px": 10.0}
    assert psnr(render_one(rig, True, **values), render_one(rig, False, **values)) > 32


@pytest.mark.parametrize("turbo", [False, True])
def test_the_warp_skips_only_what_no_frame_moves(rig: PortraitRig, turbo: bool) -> None:
    """The torso field warps only its windows (the background round the person is left out),
    and the frame is the very one the whole field's warp gives."""
    p = puppet_for(rig, turbo)
    assert p.torso is not None and p.torso.windows is not None
    grid = p.torso.grid
    inside = sum((r1 - r0) * (c1 - c0) for r0, c0, r1, c1 in p.torso.windows)
    assert inside < 0.9 * grid.width * grid.height  # something is left out
    values = {"head_yaw_deg": 7.0, "head_roll_deg": -4.0, "torso_sway_px": 40.0, "breath": 1.0}
    field, source = backward_map(p, values)[4:]
    assert field is p.torso
    region = (0, 0, rig.image.shape[1], rig.image.shape[0])
    windowed, whole = p.image.copy(), p.image.copy()
    warp_into(windowed, p.image, grid, source, region, field.windows)
    warp_into(whole, p.image, grid, source, region, None)
    assert not np.array_equal(whole, p.image)
    assert np.array_equal(windowed, whole)


def plain_warp(frame: np.ndarray, image: np.ndarray, grid: Grid, source: np.ndarray, region) -> None:
    """The warp as it reads on paper: upsample the whole map over the grid's box, remap with
    float maps, paste the region (an independent reference for warp_into)."""
    x0, y0, x1, y1 = grid.box
    size = (x1 - x0, y1 - y0)
    full = source if grid.scale == 1 else cv2.resize(source, size, interpolation=cv2.INTER_LINEAR)
    patch = cv2.remap(image, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]
    rx0, ry0, rx1, ry1 = region
    frame[ry0:ry1, rx0:rx1] = patch[ry0 - y0 : ry1 - y0, rx0 - x0 : rx1 - x0]


@pytest.mark.parametrize("step", [1, 2, 4])
@pytest.mark.parametrize(
    "moving, window",
    [((slice(3, 9), slice(4, 11)), (2, 3, 10, 12)), ((slice(0, 5), slice(-6, None)), (0, -7, 6, None))],
    ids=["inside", "at the grid's corner"],
)
def test_windowed_warp_is_the_plain_warp(step: int, moving, window) -> None:
    """A map that moves inside one box only, on a grid that starts left of and above the frame
    (as lattice grids do) and a region that cuts it: warping a window round the box (one grid
    point of margin beyond it) gives the plain warp's pixels, edges included; so does the whole
    grid."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (90, 120, 3), np.uint8)
    grid = Grid.lattice((0, 0, 120, 90), step)
    assert grid.x0 < 0 and grid.y0 < 0
    xs, ys = grid.points()
    source = np.dstack([xs, ys]).astype(np.float32)
    moves = np.zeros(xs.shape, bool)
    moves[moving] = True
    source[moves] += rng.uniform(-2.5, 2.5, (int(moves.sum()), 2)).astype(np.float32)
    r0, c0, r1, c1 = window
    box = (r0, c0 % grid.width, r1, grid.width if c1 is None else c1)
    region = (0, 0, 117, 90)  # cuts the grid's last columns off
    reference = image.copy()
    plain_warp(reference, image, grid, source, region)
    assert not np.array_equal(reference, image)
    for windows in ((box,), None):
        warped = image.copy()
        warp_into(warped, image, grid, source, region, windows)
        assert np.array_equal(warped, reference), windows


def test_remap_through_fixed_point_maps_is_cv2_remap() -> None:
    """Bit for bit, in and far outside the image, at the 1/32 px rounding's edges, and where
    a map holds NaN or infinities (cv2.remap's own conversion is what the renderer relies on:
    an OpenCV that changed it must fail here)."""
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (60, 80, 3), np.uint8)
    ys, xs = np.mgrid[0:50, 0:70].astype(np.float32)
    at = np.dstack([xs, ys]) + rng.uniform(-4, 4, (50, 70, 2)).astype(np.float32)
    at[0, :10] = [
        [1e6, -1e6],
        [-4e4, 4e4],
        [np.nan, 3.0],
        [np.inf, -np.inf],
        [5.0 + 1 / 64, 7.0 - 1 / 64],
        [-30.0, 20.0],
        [200.0, 90.0],
        [3e9, -3e9],
        [0.5 / 32, 1.5 / 32],
        [79.99, 59.99],
    ]
    plain = cv2.remap(image, at, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # type: ignore[call-overload]
    assert np.array_equal(remap_linear(image, at), plain)


def test_head_turn_keeps_the_nose_free_of_specks() -> None:
    """At 720p the nostril rims' landmarks are almost collinear and of different depth, so a yaw
    of a few degrees squeezes their triangles nearly flat; a grid point just outside such a
    sliver once read the photo 20-100 px away (a speck like a nose ring, e.g. at yaw -3, 3.5,
    4.5). Across the nose, neighbouring grid points must read nearby photo points."""
    p = puppet_for(face.analyze_portrait(portrait(720)), False)
    lm = p.rest[:, :2]
    nostrils = lm[[1, 2, 98, 327]]
    x0, y0 = nostrils.min(axis=0) - 10
    x1, y1 = nostrils.max(axis=0)[0] + 10, lm[0, 1] - 3  # down to just above the upper lip
    worst = {}
    for yaw in np.arange(-12.0, 12.01, 0.5):
        *_, field, source = backward_map(p, {"head_yaw_deg": float(yaw)})
        xs, ys = field.points[..., 0], field.points[..., 1]
        nose = (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
        jump = 0.0
        for axis in (0, 1):
            step = np.abs(np.diff(source, axis=axis)).max(axis=-1)
            both = nose[1:] & nose[:-1] if axis == 0 else nose[:, 1:] & nose[:, :-1]
            jump = max(jump, float(step[both].max()))
        worst[float(yaw)] = round(jump, 1)
    # A grid step is 2 px; a squeezed nostril rim legitimately spans up to ~4 steps.
    limit = 6 * p.step
    assert max(worst.values()) < limit, worst


def test_sliver_triangle_reads_only_near_its_source() -> None:
    grid = Grid.lattice((0, 0, 40, 40), 2)
    source = np.array([[10, 10], [30, 12], [20, 30]], np.float32)
    # Squeezed to a sliver 0.04 px high: its affine magnifies ~500x in area.
    target = np.array([[10, 20], [30, 20.02], [20, 20.05]], np.float32)
    tris = np.array([[0, 1, 2]], np.int32)
    affines, drawable = triangle_affines(target, source, tris)
    assert drawable.all()
    ids = rasterize(grid, target, tris, np.array([0]))
    out = np.zeros((grid.height, grid.width, 2), np.float32)
    covered = sample_affines(grid, ids, affines, out, source_bounds(source, tris))
    assert covered.any()
    reads = out[covered]
    assert (reads >= source.min(axis=0) - 1.0).all() and (reads <= source.max(axis=0) + 1.0).all()
    unclamped = np.zeros_like(out)
    sample_affines(grid, ids, affines, unclamped)
    assert np.abs(unclamped[covered] - reads).max() > 20  # without bounds it reads far away


def test_harmonic_fill_interpolates_between_known_vertices() -> None:
    points = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [0, 1], [1, 1], [2, 1], [3, 1]], np.float32)
    triangles = np.array([[0, 1, 5], [0, 5, 4], [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6]])
    known = np.array([True, False, False, True, True, False, False, True])
    values = np.zeros((8, 1))
    values[[3, 7]] = 3.0
    filled = harmonic_fill(edge_graph(points, triangles), known, values)
    np.testing.assert_array_equal(filled[known], values[known])
    for row in (filled[:4, 0], filled[4:, 0]):
        assert np.all(np.diff(row) > 0.5)  # rises steadily from 0 to 3 along both rows


def cut_by_the_frame(size: int) -> np.ndarray:
    """The portrait cropped so that the frame's left and top edges cut through the face."""
    img = portrait(size)
    lm = face.analyze_portrait(img).landmarks[:, :2]
    x0, y0 = lm.min(axis=0)
    x1, y1 = lm.max(axis=0)
    return np.ascontiguousarray(img[int(y0 + 0.1 * (y1 - y0)) :, int(x0 + 0.25 * (x1 - x0)) :])


def flattened_share(frame: np.ndarray, photo: np.ndarray, band_px: int = 10) -> float:
    """Share of pixel steps along the rows of the first `band_px` columns that the photo has
    (a step of 4 or more) and the frame flattened to nothing: edge pixels repeated as streaks."""
    step_frame = np.abs(np.diff(frame[:, :band_px].astype(int), axis=1)).max(axis=2)
    step_photo = np.abs(np.diff(photo[:, :band_px].astype(int), axis=1)).max(axis=2)
    return float(((step_frame <= 1) & (step_photo >= 4)).mean())


@pytest.mark.parametrize(
    "curves",
    [{"head_yaw_deg": 12.0}, {"head_yaw_deg": -12.0}, {"head_roll_deg": 12.0, "head_pitch_deg": 10.0}],
)
def test_face_cut_by_the_frame_does_not_streak(curves: dict[str, float]) -> None:
    # Before the edge was pinned, the yaw and roll turns read beyond the left edge: 14-16% of
    # the edge band's steps flattened into streaks, and the edge column moved by 7-34 levels.
    photo = cut_by_the_frame(480)
    frame = render_one(face.analyze_portrait(photo), **curves)
    for f, p in ((frame, photo), (frame.transpose(1, 0, 2), photo.transpose(1, 0, 2))):  # left, top
        assert flattened_share(f, p) < 0.05
        assert np.abs(f[:, 0].astype(int) - p[:, 0].astype(int)).mean() < 1.5


def test_grey_photo_gets_a_grey_mouth() -> None:
    # The drawn inside used to be tinted red in a grey photo (chroma up to 12/255).
    grey = np.repeat(np.asarray(Image.fromarray(portrait(384)).convert("L"))[..., None], 3, axis=2)
    grey_rig = face.analyze_portrait(np.ascontiguousarray(grey))
    for curves in ({"jaw_open": 1.0}, {"jaw_open": 0.4, "smile": 1.0}):
        frame = render_one(grey_rig, **curves).astype(int)
        assert int((frame.max(axis=2) - frame.min(axis=2))[mouth_box(grey_rig)].max()) <= 2


def squeezed_to_three_quarter(size: int) -> np.ndarray:
    """The portrait with its image-left side squeezed, as a face seen turned a little."""
    img = portrait(size)
    columns = ((np.linspace(0.0, 1.0, size) ** 0.6) * (size - 1)).astype(np.float32)
    map_x = np.ascontiguousarray(np.broadcast_to(columns, (size, size)))
    map_y = np.ascontiguousarray(np.broadcast_to(np.arange(size, dtype=np.float32)[:, None], (size, size)))
    return cv2.remap(img, map_x, map_y, cv2.INTER_LINEAR)


def flipped_face_triangles(rig: PortraitRig, yaw: float) -> list[tuple[int, int, int]]:
    """Triangles of the face and head (not the openings) that face the camera in the photo and
    that a head turn of `yaw` degrees flips over by more than 1 px^2: a fold, which shows as a
    crease (the flipped triangle is not drawn, its neighbours overlap)."""
    p = puppet_for(rig, False)
    mesh = rig.mesh
    assert mesh is not None
    solid = mesh.triangles[sum(len(h) for h in mesh.holes.values()) :]

    def areas(points: np.ndarray) -> np.ndarray:
        a, b, c = (points[solid[:, k], :2].astype(np.float64) for k in range(3))
        return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1]))

    rest = areas(target_positions(p, {}, rig.image.shape[0]))
    front = np.sign(np.sign(rest).sum())
    turned = areas(target_positions(p, {"head_yaw_deg": yaw}, rig.image.shape[0]))
    return [tuple(t) for t in solid[(rest * front > 0) & (turned * front < -1.0)].tolist()]


@pytest.mark.parametrize("photo", ["portrait", "three_quarter"])
def test_head_turn_does_not_fold_the_far_cheek(photo: str) -> None:
    # On f0d20c1 the far eye corner's triangles against the face's outline (landmarks 34, 127,
    # 139 / 264, 356, 368 and their neighbours) flipped at the largest turns; on a three-quarter
    # photo that opened a crease from the eye's far corner down the cheek.
    image = portrait(384) if photo == "portrait" else squeezed_to_three_quarter(384)
    rig = face.analyze_portrait(np.ascontiguousarray(image))
    for yaw in (-12.0, -6.0, 6.0, 12.0):
        assert flipped_face_triangles(rig, yaw) == []


@pytest.fixture(scope="module")
def closed_mouth_rig() -> PortraitRig:
    """A 720 px portrait whose mouth is closed (the sample's smile closed by the renderer), so
    its teeth are drawn."""
    smiling = face.analyze_portrait(portrait(720))
    return face.analyze_portrait(render_one(smiling, jaw_open=0.0))


@pytest.mark.parametrize(
    "curves", [{"jaw_open": 1.0}, {"jaw_open": 1.0, "lip_wide": 1.0}, {"jaw_open": 0.5, "smile": 1.0}]
)
def test_teeth_and_cavity_stay_out_of_the_mouths_corners(closed_mouth_rig: PortraitRig, curves) -> None:
    # On f0d20c1 the drawn teeth ran into the narrow corners, where the lower lip cut the last
    # tooth into a pale point (4-8 teeth pixels where the gap is under 30% of the centre's),
    # and the cavity was darkest there: a black spike (12% of the lips' brightness).
    p = puppet_for(closed_mouth_rig, False)
    kit, target = p.mouth, target_positions(p, curves, closed_mouth_rig.image.shape[0])
    toothless = dataclasses.replace(kit, upper_teeth=0 * kit.upper_teeth, lower_teeth=0 * kit.lower_teeth)
    painted = []
    for k in (kit, toothless):
        frame = np.empty(closed_mouth_rig.image.shape, np.uint8)
        frame[:] = np.round(kit.lip_rgb).astype(np.uint8)  # on plain lip colour, paint is all that differs
        paint_mouth(frame, k, target, curves["jaw_open"])
        painted.append(frame.astype(np.float32))
    ys, xs = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]].astype(np.float32)
    m = _MouthCoords(kit, target[kit.upper], target[kit.lower], xs, ys)
    thin = (m.gap < 0.3 * m.centre_gap) & (m.v > m.top + 0.5) & (m.v < m.bottom - 0.5)
    teeth = np.abs(painted[0] - painted[1]).max(axis=2) > 12
    assert int((teeth & thin).sum()) == 0
    luma = painted[1] @ np.float32([0.2126, 0.7152, 0.0722])
    assert luma[thin].min() >= 0.25 * float(kit.lip_rgb @ np.float32([0.2126, 0.7152, 0.0722]))


def test_grain_is_measured_as_it_was_added() -> None:
    rng = np.random.default_rng(0)
    for std in (2.0, 5.0, 10.0):
        flat = (128 + std * rng.standard_normal((200, 200))).astype(np.float32)
        assert _noise(flat, np.ones(flat.shape, bool)) == pytest.approx(std, rel=0.05)


def test_drawn_inside_of_an_upscaled_small_face_is_as_soft_as_the_face() -> None:
    # On f0d20c1 the drawn teeth and cavity were pixel-sharp in a face upscaled 6x ("sticker
    # teeth"): the inside measured 4.6 times as sharp as the lips and skin round it (now 1.2).
    small = np.asarray(Image.fromarray(portrait(720)).resize((120, 120), Image.LANCZOS))
    soft_rig = face.analyze_portrait(cv2.resize(small, (720, 720), interpolation=cv2.INTER_CUBIC))
    p = puppet_for(soft_rig, False)
    frame = render_one(soft_rig, jaw_open=1.0)
    target = target_positions(p, {"jaw_open": 1.0}, 720)
    opening = np.zeros((720, 720), np.uint8)
    ring = np.vstack([target[p.mouth.upper], target[p.mouth.lower][-2:0:-1]])
    cv2.fillPoly(opening, [np.round(ring * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    inside = cv2.erode(opening, np.ones((5, 5), np.uint8)) > 0
    around = (cv2.dilate(opening, np.ones((41, 41), np.uint8)) > 0) & (
        cv2.dilate(opening, np.ones((5, 5), np.uint8)) == 0
    )
    luma = frame.astype(np.float32) @ np.float32([0.2126, 0.7152, 0.0722])
    assert 0.7 <= sharpness(luma, inside) / sharpness(luma, around) <= 1.4


def test_render_refuses_a_curve_outside_its_range_instead_of_clamping_it(rig: PortraitRig) -> None:
    from talkies.errors import InvalidMotionError

    with pytest.raises(InvalidMotionError, match=r"'head_yaw_deg' is 30; it must stay within \[-12, 12\]"):
        render_one(rig, head_yaw_deg=30.0)
    with pytest.raises(InvalidMotionError, match=r"'breath' is -0.5"):
        render_one(rig, breath=-0.5)


# ---- drawings -----------------------------------------------------------------------------


def _inked(image: np.ndarray) -> np.ndarray:
    """bench/photos.py's drawing of a photo (ink over flat colour)."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from bench.photos import cartoon

    return cartoon(image)


@pytest.fixture(scope="module")
def drawn_rig() -> PortraitRig:
    image = np.asarray(Image.open(EXAMPLES / "portrait.png").convert("RGB").resize((720, 720)))
    return face.analyze_portrait(_inked(image), None)


def test_a_drawing_is_told_from_photos(rig: PortraitRig, drawn_rig: PortraitRig) -> None:
    assert puppet_for(drawn_rig, False).mouth.look.drawn
    assert not puppet_for(rig, False).mouth.look.drawn
    two = face.analyze_portrait(np.asarray(Image.open(EXAMPLES / "two_faces.png").convert("RGB")), None)
    assert not puppet_for(two, False).mouth.look.drawn


def test_a_drawings_mouth_is_an_ink_line_at_rest_and_round_the_opening(drawn_rig: PortraitRig) -> None:
    """The mouth of a drawing stays drawn: at rest the lips meet in an ink line (not a pale seam
    between two thin lines), open it is outlined in ink and its cavity is one flat tone."""
    p = puppet_for(drawn_rig, False)
    picture = cv2.cvtColor(drawn_rig.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ink = float(np.percentile(picture[drawn_rig.masks["face"] > 127], 2))  # the picture's ink
    for jaw in (0.0, 0.8):
        values = {"jaw_open": jaw}
        luma = cv2.cvtColor(render_frame(p, values), cv2.COLOR_RGB2GRAY).astype(np.float32)
        target = target_positions(p, values, luma.shape[0])
        upper, lower = target[p.mouth.upper], target[p.mouth.lower]
        if jaw == 0.0:
            seam = np.round((upper + lower) / 2).astype(int)[2:-2]
            assert np.median(luma[seam[:, 1], seam[:, 0]]) < ink + 25
            continue
        outline = np.round(np.vstack([upper, lower])).astype(int)[1:-1]
        assert np.median(luma[outline[:, 1], outline[:, 0]]) < ink + 40
        opening = np.zeros(luma.shape, np.uint8)
        cv2.fillPoly(opening, [np.round(np.vstack([upper, lower[::-1]])).astype(np.int32)], (1,))
        inside = luma[cv2.erode(opening, np.ones((9, 9), np.uint8)) > 0]
        cavity = inside[inside < np.median(inside)]
        assert cavity.size > 20 and np.std(cavity) < 8.0, np.std(cavity)


def test_a_drawing_is_encoded_finer_than_a_photo(tmp_path: Path) -> None:
    """Ink lines ring at a photo's quality (bench/photos.py: 35.7-37.0 dB at CRF 18): a drawing
    is encoded at CRF_DRAWING, a photo at CRF; x264 writes its settings into the stream."""
    import io

    import talkies
    from talkies.media import video

    photo = Image.open(EXAMPLES / "portrait.png").convert("RGB")
    drawing = Image.fromarray(_inked(np.asarray(photo)))
    for picture, crf in ((photo, video.CRF), (drawing, video.CRF_DRAWING)):
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        out = tmp_path / f"crf{crf}.mp4"
        options = talkies.AnimateOptions(resolution="720p", turbo_mode=True)
        talkies.animate(buffer.getvalue(), EXAMPLES / "speech_short.wav", options, output=out)
        assert f" crf={crf}.0 ".encode() in out.read_bytes(), crf

"""The inside of the mouth, drawn wherever the warped lips part.

Why: the photo has nothing to show between lips that open wider than they were (and a smile
showing teeth has the wrong thing: stretched teeth). So the opening between the warped inner
lip contours is repainted every frame from a small model in mouth coordinates: s (0..1 from one
inner lip corner to the other), t_up (pixels below the upper lip) and t_lo (pixels above the
lower lip). In it: a dark oral cavity, darker at the back and in the corners; a tongue hint
rising from the lower lip; the lower teeth when the jaw is well open; and the upper teeth
hanging from the upper lip - the photo's own teeth, rectified once along the upper lip and made
one whole row (teeth in shade included), when it shows them, otherwise drawn teeth lit like the
face. Upper teeth hang from the upper lip (the skull), lower teeth and tongue ride on the
lower lip (the jaw). Pixels inside the opening are replaced outright (whatever the warp put
there, e.g. stretched teeth, never shows); its rim is antialiased and a soft shadow falls a
pixel onto the lips.

The painted patch is then graded to the photo (look.py): blurred to the photo's sharpness round
the lips, given its grain, its colour balance and no more colour than it has. Teeth recede into
the corners and never reach the lower lip there, and the corners fade to a soft shadow, so a
wide opening ends neither in a pale tooth point nor in a black spike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import cv2
import numpy as np

from talkies.curves import smoothstep
from talkies.render.look import Look, grade_patch, match_blur, measure_look, sharpness
from talkies.tracks import MouthFacts

# Columns of the rectified teeth textures (along the mouth) and their row step in pixels.
_TEXTURE_COLUMNS = 96
_ROW_PX = 0.5
# Visible length of upper / lower front teeth, as a fraction of the mouth's width.
_UPPER_TEETH = 0.11
_LOWER_TEETH = 0.05
# Relative widths of the teeth from the middle out (incisors, laterals, canines, premolars).
_TOOTH_WIDTHS = (1.0, 0.78, 0.74, 0.66, 0.62)
# Widest gap in the photo's row of teeth (a fraction of the mouth's width, about half a canine)
# that is taken for shadow between teeth rather than a gap into the mouth.
_ROW_GAP = 0.06
# A tooth in shade: its brightness as a share of the photo's lit teeth (none .. fully a tooth),
# and how much more saturated than them it may be (fully .. not at all).
_SHADED_VALUE = (0.6, 0.72)
_SHADED_SATURATION = (30.0, 60.0)
# Gap (px) over which parted lips go from a shadowed seam to a dark cavity, and the gap (as a
# fraction of the mouth's width) over which the teeth between them come into view.
_PARTED_PX = (0.5, 3.0)
_TEETH_EMERGE = (0.02, 0.09)
# The mouth's inside is the lips' colour, darker and redder (in a colour photo; the tints are
# scaled by the photo's saturation, so a grey photo gets a grey inside).
_CAVITY_TINT = np.array([1.0, 0.75, 0.75], np.float32)
_TONGUE_TINT = np.array([1.0, 0.7, 0.7], np.float32)
# Drawn teeth: their brightness as a share of the skin's, at most _TEETH_MAX (0..255).
_TEETH_WHITE = 1.08
_TEETH_MAX = 236.0
# The teeth recede into the mouth's corners: over this share of the mouth's width at each end
# they shorten to nothing (so the last tooth is never cut into a point by the lower lip) and
# fall into shadow; and no tooth hangs lower than this share of the lips' gap where it is, so
# a dark band of cavity always parts it from the lower lip, however narrow the corner.
_TEETH_TAPER = 0.16
_TEETH_MAX_GAP = 0.72
# Over this share of the width at each end the inside fades to the dim seam colour: the
# mouth's corners are a soft shadow, not a black spike or a pale wedge.
_CORNER_SHADE = 0.1
# The skin round the lips that the photo's look is measured on, as a share of the mouth width.
_LOOK_RING = 0.25
# A drawing's cavity: one tone, as lit as the photographic cavity half-way in.
_FLAT_LIT = 0.35


@dataclass(frozen=True)
class MouthKit:
    """What the mouth painter needs, prepared once per portrait.

    upper, lower: (11,) landmark indices of the inner lip contours (corner to corner); lip_rgb:
    (3,) float32 typical lip colour; upper_teeth / lower_teeth: (rows, 96, 4) float32 RGBA in
    rectified mouth coordinates (row k at t = k * 0.5 px from the lip); width_px: mouth width.
    """

    upper: np.ndarray
    lower: np.ndarray
    lip_rgb: np.ndarray
    upper_teeth: np.ndarray
    lower_teeth: np.ndarray
    width_px: float
    down: np.ndarray
    look: Look


def prepare_mouth(
    image: np.ndarray,
    landmarks: np.ndarray,
    groups: Mapping[str, tuple],
    masks: Mapping[str, np.ndarray],
    facts: MouthFacts,
    down: np.ndarray,
) -> MouthKit:
    """Measure the lips' colour and build the teeth textures (the photo's own when it shows them)."""
    upper = np.array(groups["lip_upper"][3])
    lower = np.array(groups["lip_lower"][3])
    lips = masks["lips"] > 127
    lip_rgb = (
        np.median(image[lips], axis=0).astype(np.float32)
        if lips.any()
        else np.array([170, 90, 90], np.float32)
    )
    face = masks["face"] > 127
    skin = float(np.median(image[face].max(axis=1))) if face.any() else 200.0
    width = max(float(facts.width_px), 8.0)
    look = _measure_look(image, masks, width)
    drawn = _drawn_teeth(width * _UPPER_TEETH, skin, 1.0, look.white, flat=look.drawn)
    if facts.teeth_visible:
        upper_teeth = _photo_teeth(image, landmarks, upper, lower, masks["teeth"], down, drawn.shape[0])
    else:
        upper_teeth = drawn
    kit = MouthKit(
        upper=upper,
        lower=lower,
        lip_rgb=lip_rgb,
        upper_teeth=upper_teeth,
        lower_teeth=_drawn_teeth(width * _LOWER_TEETH, skin * 0.85, -1.0, look.white, flat=look.drawn),
        width_px=width,
        down=down.astype(np.float32),
        look=look,
    )
    return replace(kit, look=match_blur(look, lambda trial: _trial_sharpness(image, landmarks, kit, trial)))


# The trial opening on which the patch's blur is matched to the photo: its gap at the mouth's
# centre as a share of the mouth's width (a wide vowel) and the jaw value painted.
_TRIAL_GAP = 0.3
_TRIAL_JAW = 0.8


def _trial_sharpness(image: np.ndarray, landmarks: np.ndarray, kit: MouthKit, look: Look) -> float:
    """Sharpness (look.sharpness) of the inside painted with `look` into a wide trial opening
    made from the photo's lips: the upper inner lip where it is, the lower one dropped."""
    upper = landmarks[kit.upper, :2].astype(np.float32)
    s = np.linspace(0.0, 1.0, len(upper))
    drop = _TRIAL_GAP * kit.width_px * np.clip(1 - (2 * s - 1) ** 2, 0, 1) ** 0.6
    lower = upper + drop[:, None] * kit.down[None, :]
    target = np.zeros((int(max(kit.upper.max(), kit.lower.max())) + 1, 2), np.float32)
    target[kit.upper], target[kit.lower] = upper, lower
    frame = image.copy()
    paint_mouth(frame, replace(kit, look=look), target, _TRIAL_JAW)
    polygon = np.vstack([upper, lower[-2:0:-1]])
    filled = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(filled, [np.round(polygon * 16).astype(np.int32)], (255,), cv2.LINE_8, shift=4)
    inside = cv2.erode(filled, np.ones((5, 5), np.uint8)) > 0
    if look.drawn:  # a drawing: the sharpness of the ink outline's edges, as measured on the picture
        line = np.zeros(image.shape[:2], np.uint8)
        cv2.polylines(line, [np.round(polygon * 16).astype(np.int32)], True, (1,), 1, cv2.LINE_8, shift=4)
        reach = 2 * int(np.ceil(look.ink_px)) + 3
        inside = cv2.dilate(line, np.ones((reach, reach), np.uint8)) > 0
    rgb = frame.astype(np.float32)
    return sharpness(rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722, inside)


def _measure_look(image: np.ndarray, masks: Mapping[str, np.ndarray], width_px: float) -> Look:
    """The photo's look on the lips and the skin round them (the painted patch's neighbours)."""
    lips_and_inside = np.maximum(masks["lips"], masks["inner_mouth"])
    ring = max(3, round(_LOOK_RING * width_px))
    around = cv2.dilate(lips_and_inside, np.ones((2 * ring + 1, 2 * ring + 1), np.uint8)) > 127
    around &= masks["inner_mouth"] < 64  # the photo's own teeth are not its look
    skin = (masks["face"] > 127) & (lips_and_inside < 64) & (masks["eyes"] < 64)
    return measure_look(image, around & (masks["face"] > 127), skin)


def _frame(a: np.ndarray, b: np.ndarray, down: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    normal = np.array([-axis[1], axis[0]], np.float32)
    return (a + b) / 2, axis, normal if normal @ down >= 0 else -normal


def _contour_profile(points: np.ndarray, origin, axis, normal) -> tuple[np.ndarray, np.ndarray]:
    d = points - origin
    u, v = d @ axis, d @ normal
    order = np.argsort(u)
    return u[order], v[order]


def _photo_teeth(image, landmarks, upper, lower, teeth_mask, down, rows_min: int) -> np.ndarray:
    """The photo's upper teeth rectified along the upper inner lip: (rows, 96, 4) RGBA."""
    pts_u, pts_l = landmarks[upper, :2], landmarks[lower, :2]
    origin, axis, normal = _frame(pts_u[0], pts_u[-1], down)
    uu, vu = _contour_profile(pts_u, origin, axis, normal)
    ul, vl = _contour_profile(pts_l, origin, axis, normal)
    gap = np.interp(uu, ul, vl) - vu
    rows = max(rows_min, int(np.ceil(max(float(gap.max()), 1.0) / _ROW_PX)) + 2)
    s = (np.arange(_TEXTURE_COLUMNS) + 0.5) / _TEXTURE_COLUMNS
    u = uu[0] + s * (uu[-1] - uu[0])
    top = np.interp(u, uu, vu)
    depth = np.interp(u, ul, vl) - top
    t = np.arange(rows)[:, None] * _ROW_PX
    where = origin + (u[None, :, None] * axis) + ((top[None, :] + t)[..., None] * normal)
    map_x, map_y = where[..., 0].astype(np.float32), where[..., 1].astype(np.float32)
    rgb = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    alpha = cv2.remap(teeth_mask, map_x, map_y, cv2.INTER_LINEAR).astype(np.float32) / 255.0
    alpha = np.maximum(np.clip(alpha * 1.6, 0, 1), _shaded_teeth(rgb, alpha * 1.6))
    # Lone bright specks in the corners are not teeth.
    alpha = cv2.morphologyEx(alpha, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    alpha = alpha * np.clip(depth[None, :] - t + 0.5, 0, 1)
    _hang_from_lip(rgb, alpha)
    # Again after filling the row: a filled gap must not reach below the lower lip there.
    alpha = _tooth_row(alpha) * np.clip(depth[None, :] - t + 0.5, 0, 1)
    # Recede into the corners, as drawn teeth do (the photo's corner teeth end in points there).
    alpha = alpha * np.clip(rows * _ROW_PX * _corner_taper(s)[None, :] - t + 0.5, 0, 1)
    return np.dstack([rgb, alpha]).astype(np.float32)


def _corner_taper(s: np.ndarray) -> np.ndarray:
    """(n,) 0..1 share of the teeth's length shown at s (0..1 corner to corner): 1 over the
    middle, falling like a rounded tooth end to 0 over the last _TEETH_TAPER of each side."""
    return np.sqrt(smoothstep(np.minimum(s, 1 - s), 0.0, _TEETH_TAPER))


def _shaded_teeth(rgb: np.ndarray, lit: np.ndarray) -> np.ndarray:
    """(rows, 96) float32 0..1: the teeth in shade that the face's teeth mask misses.

    Why: the mask wants pixels brighter than the skin, so teeth receding into the mouth's
    corners, or shaded by the lip or a neighbour, drop out of it and would be painted over as
    dark cavity (a missing tooth). Measured against the photo's own lit teeth instead (lit: the
    mask's alpha, >= 1 where surely teeth), a tooth in shade is as pale as they are and not much
    darker, while the cavity and the mouth's corners are dark and the lips red. Only down to the
    lit teeth's typical length: below them lies the lower lip, which can be as pale.
    """
    solid = lit >= 1.0
    if solid.sum() < 10:
        return np.zeros(lit.shape, np.float32)
    hsv = cv2.cvtColor(np.clip(rgb, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    value, saturation = hsv[..., 2], hsv[..., 1]
    value_ref, saturation_ref = float(np.median(value[solid])), float(np.median(saturation[solid]))
    shaded = _linear(value / value_ref, *_SHADED_VALUE)
    pale = 1.0 - _linear(saturation - saturation_ref, *_SHADED_SATURATION)
    columns = solid.any(axis=0)
    length = np.median(solid.shape[0] - np.argmax(solid[::-1, columns], axis=0))
    return (shaded * pale * (np.arange(lit.shape[0])[:, None] < length)).astype(np.float32)


def _tooth_row(alpha: np.ndarray) -> np.ndarray:
    """The teeth alpha made a row of whole teeth: (rows, 96) float32 in, same out.

    Why: where the photo's shading darkens part of a tooth (under the lip, beside a canine),
    the alpha has a hole and the painted dark cavity would show through it as a missing tooth.
    Upper teeth hang from the lip, so nothing behind them shows above a tooth: each column is
    teeth from the lip down to its lowest tooth pixel. A gap in the row narrower than _ROW_GAP
    is the photo's shadow between teeth, not a way into the mouth, so it is filled too (the
    photo's own pixels show there, as dark as the photo has them, never the deeper cavity).
    Partial alpha at the row's ends is kept, so the row still fades into the mouth's corners.
    """
    hanging = np.maximum.accumulate(alpha[::-1], axis=0)[::-1]
    width = 2 * round(_ROW_GAP * _TEXTURE_COLUMNS / 2) + 1
    padded = np.pad(hanging, ((0, 0), (width, width)))  # zeros: the row's ends stay where they are
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, np.ones((1, width), np.uint8))
    return np.ascontiguousarray(closed[:, width:-width])


def _hang_from_lip(rgb: np.ndarray, alpha: np.ndarray, reach_px: float = 3.0) -> None:
    """Teeth start right under the lip: the photo's soft lip edge makes their first rows look
    like lip, so copy each column's first clearly-teeth row upwards (in place)."""
    reach = int(reach_px / _ROW_PX)
    for col in range(alpha.shape[1]):
        solid = np.flatnonzero(alpha[:reach, col] > 0.5)
        if solid.size:
            first = solid[0]
            rgb[:first, col] = rgb[first, col]
            alpha[:first, col] = alpha[first, col]


def _drawn_teeth(
    length_px: float, brightness: float, direction: float, white: np.ndarray, flat: bool = False
) -> np.ndarray:
    """Teeth drawn in rectified mouth coordinates: (rows, 96, 4) RGBA. direction 1 = hanging from
    the upper lip, -1 = standing on the lower lip (only the shading differs); white: (3,) the
    photo's colour balance (max 1); flat: one tone, no shading (for a drawing)."""
    rows = max(2, int(np.ceil(length_px / _ROW_PX)) + 2)
    s = (np.arange(_TEXTURE_COLUMNS) + 0.5) / _TEXTURE_COLUMNS
    t = np.arange(rows)[:, None] * _ROW_PX
    # Tooth edges, symmetric about the middle; each tooth is a little shorter than the previous.
    edges = np.cumsum((0.0, *_TOOTH_WIDTHS)) / (2 * sum(_TOOTH_WIDTHS) * 0.92)
    side = np.abs(s - 0.5)
    tooth = np.clip(np.searchsorted(edges, side) - 1, 0, len(_TOOTH_WIDTHS) - 1)
    frac = (side - edges[tooth]) / np.diff(edges)[tooth]
    tip = length_px * (1.0 - 0.12 * tooth) * (1.0 - 0.25 * (2 * frac - 1) ** 4) * _corner_taper(s)
    alpha = np.clip(tip[None, :] - t + 0.5, 0, 1)
    if direction < 0:  # only the front lower teeth show over the lower lip
        alpha = alpha * np.clip(1 - ((2 * s - 1) / 0.5) ** 2, 0, 1) * 0.85
    gaps = 1.0 - 0.25 * np.exp(-((frac * 7) ** 2)) - 0.25 * np.exp(-(((frac - 1.0) * 7) ** 2))
    shade = gaps * (1.0 - 0.55 * (2 * side) ** 2) * (0.82 + 0.18 * np.clip(t / max(length_px * 0.4, 1), 0, 1))
    if flat:
        shade = np.ones_like(shade)
    ivory = white * min(_TEETH_MAX, _TEETH_WHITE * brightness)
    rgb = ivory * shade[..., None] * (1.0 if direction > 0 else 0.85)
    return np.dstack([np.broadcast_to(rgb, (rows, _TEXTURE_COLUMNS, 3)), alpha]).astype(np.float32)


def paint_mouth(frame: np.ndarray, kit: MouthKit, target: np.ndarray, jaw: float) -> None:
    """Paint the mouth's inside into `frame` ((H, W, 3) uint8, in place) between the target inner
    lip contours (target: (n, 2) positions of all mesh vertices). jaw: 0..1 opening."""
    upper, lower = target[kit.upper], target[kit.lower]
    widest = float(np.max(np.linalg.norm(lower - upper, axis=1)))
    if widest < 0.05:
        if kit.look.drawn:
            _ink_line(frame, kit, upper, lower, widest)
        return
    corners = np.vstack([upper, lower])
    margin = 2 + int(np.ceil(3 * kit.look.blur_px + kit.look.ink_px))  # room for the blur and ink
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + margin + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    mouth = _MouthCoords(kit, upper, lower, xs, ys)
    # Share of each pixel (a unit step across the lips) that lies between the two lips.
    alpha = np.clip(np.minimum(mouth.v + 0.5, mouth.bottom) - np.maximum(mouth.v - 0.5, mouth.top), 0, 1)
    if alpha.max() <= 0:
        return
    layer, alpha = grade_patch(_inside_colours(kit, mouth, jaw), alpha, kit.look, (int(x0), int(y0)))
    shadow = (
        np.clip(cv2.GaussianBlur(alpha, (0, 0), 0.9) - alpha, 0, 1) * 0.5 * smoothstep(widest, *_PARTED_PX)
    )
    box = frame[y0:y1, x0:x1].astype(np.float32)
    box = _over(box, kit.lip_rgb * 0.35, shadow)
    frame[y0:y1, x0:x1] = np.clip(_over(box, layer, alpha) + 0.5, 0, 255).astype(np.uint8)
    if kit.look.drawn:
        _ink_line(frame, kit, upper, lower, widest)


def _ink_line(frame: np.ndarray, kit: MouthKit, upper: np.ndarray, lower: np.ndarray, widest: float) -> None:
    """A drawing's mouth is an ink line: round the opening where the lips part (wider than a
    line), along the seam between them where they meet, in the picture's ink colour and line
    width, as soft as the picture (in place)."""
    width = kit.look.ink_px
    if widest > width:
        outline, closed = np.vstack([upper, lower[::-1]]), True
    else:
        outline, closed = (upper + lower) / 2, False
    margin = int(np.ceil(width + 3 * kit.look.blur_px)) + 2
    x0, y0 = np.floor(outline.min(axis=0)).astype(int) - margin
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + margin + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    points = np.round((outline - (x0, y0)) * 16).astype(np.int32)
    cv2.polylines(mask, [points], closed, (255,), max(1, round(width)), cv2.LINE_AA, shift=4)
    alpha = mask.astype(np.float32) / np.float32(255.0)
    if kit.look.blur_px > 0.05:
        alpha = np.asarray(cv2.GaussianBlur(alpha, (0, 0), kit.look.blur_px), np.float32)
    box = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = np.clip(_over(box, kit.look.ink, alpha) + 0.5, 0, 255).astype(np.uint8)


class _MouthCoords:
    """Per pixel of a box: v (across the mouth, px, down), top / bottom (v of the upper / lower
    inner lip there), s (0..1 corner to corner), t_up / t_lo (px below the upper lip / above the
    lower lip, >= 0), gap (px between the lips there) and the gap at the mouth's centre."""

    def __init__(self, kit: MouthKit, upper: np.ndarray, lower: np.ndarray, xs: np.ndarray, ys: np.ndarray):
        origin, axis, normal = _frame(upper[0], upper[-1], kit.down)
        uu, vu = _contour_profile(upper, origin, axis, normal)
        ul, vl = _contour_profile(lower, origin, axis, normal)
        u = (xs - origin[0]) * axis[0] + (ys - origin[1]) * axis[1]
        self.v = (xs - origin[0]) * normal[0] + (ys - origin[1]) * normal[1]
        self.top, self.bottom = np.interp(u, uu, vu), np.interp(u, ul, vl)
        self.s = np.clip((u - uu[0]) / max(uu[-1] - uu[0], 1e-3), 0, 1)
        self.t_up, self.t_lo = np.maximum(self.v - self.top, 0), np.maximum(self.bottom - self.v, 0)
        self.gap = np.maximum(self.bottom - self.top, 1e-3)
        self.centre_gap = float(np.interp(0.5 * (uu[0] + uu[-1]), uu, np.interp(uu, ul, vl) - vu))


def _inside_colours(kit: MouthKit, m: _MouthCoords, jaw: float) -> np.ndarray:
    """(h, w, 3) float32 colour of the mouth's inside at every pixel of the box."""
    s, t_up, t_lo, gap = m.s, m.t_up, m.t_lo, m.gap
    drawn = kit.look.drawn  # a drawing's mouth is flat colours: no depth, no corner shading
    # Cavity: lit near the lips, dark deep inside and towards the corners.
    depth = np.clip(np.minimum(t_up, t_lo) / np.maximum(gap / 2, 1.0), 0, 1)
    lit = np.full_like(s, _FLAT_LIT) if drawn else (1 - 0.75 * depth) * (1 - 0.6 * (2 * s - 1) ** 2)
    colour = kit.lip_rgb * _tint(_CAVITY_TINT, kit.look) * (0.1 + 0.32 * lit[..., None])
    # Barely parted lips show a shadowed seam, not a black slit: the cavity's darkness (and the
    # teeth, below) come in as the gap grows, so a small jaw_open looks (and measures) small.
    colour = _over(kit.lip_rgb * 0.55, colour, smoothstep(gap, *_PARTED_PX))
    # Tongue: a low mound on the lower lip, visible once the mouth is a few pixels open.
    mound = 0.4 * m.centre_gap * np.sqrt(np.clip(1 - ((s - 0.5) / 0.3) ** 2, 0, 1))
    tongue = np.clip((mound - t_lo) / 1.5, 0, 1) * smoothstep(m.centre_gap, 2.0, 7.0)
    # Lit at its front (near the lower lip), in shadow at its top / back.
    shade = np.full_like(s, 0.6) if drawn else 0.72 - 0.35 * np.clip(t_lo / np.maximum(mound, 1), 0, 1)
    colour = _over(colour, kit.lip_rgb * _tint(_TONGUE_TINT, kit.look) * shade[..., None], tongue)
    # Lower teeth stand on the lower lip when the jaw is well open.
    lower_rgba = _sample(kit.lower_teeth, s, t_lo)
    colour = _over(colour, lower_rgba[..., :3], lower_rgba[..., 3] * smoothstep(jaw, 0.45, 0.95))
    upper_rgba = _sample(kit.upper_teeth, s, t_up)
    teeth_show = smoothstep(gap, *(f * kit.width_px for f in _TEETH_EMERGE))
    teeth_show = teeth_show * np.clip(_TEETH_MAX_GAP * gap - t_up + 0.5, 0, 1)
    colour = _over(colour, upper_rgba[..., :3], upper_rgba[..., 3] * teeth_show)
    if drawn:
        return colour
    corner = 1.0 - smoothstep(np.minimum(s, 1 - s), 0.0, _CORNER_SHADE)
    return _over(colour, kit.lip_rgb * _tint(_CAVITY_TINT, kit.look) * 0.45, corner)


def _tint(tint: np.ndarray, look: Look) -> np.ndarray:
    """A colour tint (3,) as strong as the photo is colourful: none in a grey photo."""
    return (1.0 - look.saturation * (1.0 - tint)).astype(np.float32)


def _linear(x: np.ndarray, edge0: float, edge1: float) -> np.ndarray:
    return np.clip((x - edge0) / (edge1 - edge0), 0.0, 1.0)


def _sample(texture: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Bilinear lookup of a rectified texture at (s 0..1, t px); transparent beyond its rows."""
    map_x = (s * _TEXTURE_COLUMNS - 0.5).astype(np.float32)
    map_y = (t / _ROW_PX).astype(np.float32)
    return cv2.remap(
        texture, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0)
    )


def _over(base: np.ndarray, top: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return base + (top - base) * alpha[..., None]

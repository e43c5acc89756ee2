"""How the photo looks around the mouth, so that what is drawn there looks like part of it.

Why: the inside of an opening mouth is painted, not warped, and a painted patch that is sharper,
cleaner or more colourful than the photo around it reads as a sticker: razor-sharp teeth in an
upscaled 112 px face, a red cavity in a black-and-white photo. So the photo is measured once, on
the lips and the skin round them (the pixels the painted patch will sit among), and the patch is
graded to it every frame:

- sharpness: how much of the gradient energy a 1 px Gaussian blur takes away, 0 (already soft)
  .. 1 (pixel-sharp), measured on the lips and the skin round them. It is a statistic of what
  the eye sees there at pixel scale (edges, pores, stubble, JPEG grain alike), independent of
  contrast, so the same statistic can be asked of the painted patch: the patch is blurred by
  whatever Gaussian makes its sharpness match the photo's (`match_blur`), found once per
  portrait on a trial opening. An edge model (sigma from energy ratios) was tried first and
  failed on small faces, where lips and teeth are a few pixels and every feature is a line.
- noise: the grain's standard deviation, robustly (median absolute deviation) from the residual
  of a small blur over the skin, where edges are few. The patch gets the same grain, luma only,
  from a fixed pattern in frame coordinates (static, like the photo's own grain).
- saturation: how colourful the skin is, 0 (a grey photo) .. 1 (ordinary colour); the patch's
  tints (red cavity, warm tongue) are scaled by it, and the whole patch's chroma is held to it,
  so that grey in is grey out.
- white: the skin's hue as a multiplier (3,), the photo's colour balance; drawn teeth take a
  little of it instead of a fixed ivory, so a warm scan gets warm teeth and a cool one cool teeth.
- drawn: whether the picture is a drawing (inked lines over flat colour, a comic or cartoon
  filter) rather than a photo, with its ink colour and line width. A drawing's face holds many
  near-black ink pixels, and few tones between them and the skin (a line ends in a pixel or
  two); a photo's dark pixels on the face (nostrils, a shadow, stubble) fade through mid-tones.
  On the face's skin of the 16 pictures of bench/photos.py at 720p: ink (darker than 0.35 of
  the median) 24.5-24.9% on the two inked drawings, 0.4-6.3% on 13 photos and a painted
  (uninked) comic, but 16.5% on a photo half in deep shadow; mid-tones (0.35-0.6) per ink pixel
  0.16-0.19 on the drawings (0.35 on OpenCV's stylization filter), 0.72 on the shadowed photo,
  1.3-11.7 on the rest. The mouth of a drawing is drawn in its style: flat colours and an ink
  line (mouth.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

# The probe blur (px) of the sharpness statistic, and the patch blurs tried to match it.
_PROBE_PX = 1.0
_BLUR_STEPS_PX = (0.0, 0.3, 0.5, 0.7, 0.9, 1.1, 1.4, 1.7, 2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
# Skin chroma (Cb/Cr distance from grey, 0..255) of an ordinary colour photo; a face with
# this much or more gets tints in full.
_FULL_CHROMA = 12.0
# Chroma below this (0..255) is grey: JPEG and scanning leave a trace in a grey photo.
_GREY_CHROMA = 2.5
# How much of the skin's hue the drawn teeth take (0 = neutral white, 1 = skin coloured).
_TEETH_HUE = 0.35
# Grain std per median absolute deviation of the 1 px blur's residual: measured on flat images
# with Gaussian grain of std 2, 5 and 10 (1.48 turns a MAD into a std; the residual keeps 87%).
_GRAIN_PER_MAD = 1.7
# Side of the fixed grain pattern (px); tiled over the frame.
_GRAIN_TILE = 128
# A drawing (see the module docstring): ink pixels on the skin, darker than _INK_LEVEL of its
# median luma, at least _DRAWN_INK of it, with at most _DRAWN_MID mid-tone pixels
# (_INK_LEVEL.._MID_LEVEL) per ink pixel.
_INK_LEVEL, _MID_LEVEL = 0.35, 0.6
_DRAWN_INK, _DRAWN_MID = 0.10, 0.5


@dataclass(frozen=True)
class Look:
    """blur_px: Gaussian sigma (px) the painted patch is blurred by; sharpness: the photo's round
    the mouth (see the module docstring); noise: grain std (0..255);
    saturation: 0 (grey) .. 1 (full colour); white: (3,) float32 colour balance multiplier
    (max 1) from the skin's hue; grain: (_GRAIN_TILE, _GRAIN_TILE) float32 unit-variance pattern;
    drawn: a drawing, not a photo; ink: (3,) float32 its ink colour; ink_px: its line width."""

    blur_px: float
    sharpness: float
    noise: float
    saturation: float
    white: np.ndarray
    grain: np.ndarray
    drawn: bool = False
    ink: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))
    ink_px: float = 1.5


def measure_look(image: np.ndarray, around_mouth: np.ndarray, skin: np.ndarray) -> Look:
    """Measure the photo. image: (H, W, 3) uint8 RGB; around_mouth: (H, W) bool, the lips and
    the skin round them; skin: (H, W) bool, the face's skin (for colour and grain). The patch
    blur is 0 until `match_blur` sets it."""
    luma = _luma(image.astype(np.float32))
    chroma = _chroma(image.astype(np.float32))
    skin_chroma = float(np.median(chroma[skin])) if skin.any() else _FULL_CHROMA
    saturation = float(np.clip((skin_chroma - _GREY_CHROMA) / (_FULL_CHROMA - _GREY_CHROMA), 0.0, 1.0))
    skin_rgb = (
        np.median(image[skin], axis=0).astype(np.float32) if skin.any() else np.array([1, 1, 1], np.float32)
    )
    hue = skin_rgb / max(float(skin_rgb.max()), 1.0)
    white = (hue**_TEETH_HUE) ** saturation  # a grey photo has a neutral white
    rng = np.random.default_rng(12)
    ink = _ink(image, luma, skin)
    # A drawing's sharpness is that of its ink edges (its flat colours have no gradient to
    # measure): the painted mouth's ink outline is matched to them.
    where = _ink_edges(ink.pop("mask"), around_mouth) if ink else around_mouth
    return Look(
        blur_px=0.0,
        sharpness=sharpness(luma, where),
        noise=_noise(luma, skin),
        saturation=saturation,
        white=(white / white.max()).astype(np.float32),
        grain=rng.standard_normal((_GRAIN_TILE, _GRAIN_TILE)).astype(np.float32),
        **ink,
    )


def _ink_edges(ink: np.ndarray, around_mouth: np.ndarray) -> np.ndarray:
    """The band of pixels where ink meets colour, round the mouth (or on the whole face where
    too little of it lies there)."""
    kernel = np.ones((3, 3), np.uint8)
    mask = ink.astype(np.uint8)
    band = (cv2.dilate(mask, kernel) > 0) & (cv2.erode(mask, kernel) == 0)
    near = band & (cv2.dilate(around_mouth.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0)
    return near if near.sum() >= 64 else band


def _ink(image: np.ndarray, luma: np.ndarray, skin: np.ndarray) -> dict:
    """drawn, ink and ink_px of a Look (see the module docstring), and the ink's mask; empty
    for a photo."""
    if skin.sum() < 64:
        return {}
    level = float(np.median(luma[skin]))
    ink = skin & (luma < _INK_LEVEL * level)
    mid = skin & (luma >= _INK_LEVEL * level) & (luma < _MID_LEVEL * level)
    n_skin, n_ink = float(skin.sum()), float(ink.sum())
    if n_ink / n_skin < _DRAWN_INK or float(mid.sum()) > _DRAWN_MID * n_ink:
        return {}
    # A line of width w has distances to its edge of up to w / 2, about w / 4 on average.
    depth = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)[ink]
    width = float(np.clip(4.0 * float(np.mean(depth)), 1.0, 4.0))
    colour = np.median(image[ink], axis=0).astype(np.float32)
    return {"drawn": True, "ink": colour, "ink_px": width, "mask": ink}


def sharpness(luma: np.ndarray, where: np.ndarray) -> float:
    """Share (0..1) of the gradient energy of `luma` ((H, W) float32) inside `where` ((H, W)
    bool) that a 1 px Gaussian blur removes; 0 where there is no gradient at all."""
    if where.sum() < 16:
        return 0.0
    ys, xs = np.nonzero(where)
    pad = int(4 * _PROBE_PX) + 2
    y0, y1 = max(ys.min() - pad, 0), min(ys.max() + pad + 1, luma.shape[0])
    x0, x1 = max(xs.min() - pad, 0), min(xs.max() + pad + 1, luma.shape[1])
    crop, inside = luma[y0:y1, x0:x1], where[y0:y1, x0:x1]
    energy = _gradient_energy(crop, inside)
    if energy <= 1e-6:
        return 0.0
    return float(1.0 - _gradient_energy(cv2.GaussianBlur(crop, (0, 0), _PROBE_PX), inside) / energy)


def match_blur(look: Look, sharpness_at: Callable[[Look], float]) -> Look:
    """`look` with the patch blur whose patch sharpness (`sharpness_at(look)`, the sharpness of
    a trial patch graded with that look) comes closest to the photo's, in ratio."""

    def miss(blur_px: float) -> float:
        got = sharpness_at(replace(look, blur_px=blur_px))
        return abs(np.log(max(got, 1e-3) / max(look.sharpness, 1e-3)))

    return replace(look, blur_px=min(_BLUR_STEPS_PX, key=miss))


def _gradient_energy(luma: np.ndarray, where: np.ndarray) -> float:
    gx = cv2.Sobel(luma, cv2.CV_32F, 1, 0, ksize=1)
    gy = cv2.Sobel(luma, cv2.CV_32F, 0, 1, ksize=1)
    return float(np.mean((gx * gx + gy * gy)[where]))


def _noise(luma: np.ndarray, skin: np.ndarray) -> float:
    """Grain std (0..255): _GRAIN_PER_MAD x the median absolute deviation of the residual of a
    1 px blur over the skin (the median ignores the few edges there)."""
    if skin.sum() < 64:
        return 0.0
    residual = luma - cv2.GaussianBlur(luma, (0, 0), 1.0)
    values = residual[skin]
    mad = float(np.median(np.abs(values - np.median(values))))
    return _GRAIN_PER_MAD * mad


def grade_patch(
    patch: np.ndarray, alpha: np.ndarray, look: Look, origin: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Grade a painted patch to the photo: (h, w, 3) float32 colour and (h, w) float32 alpha
    0..1 over the frame box whose top-left pixel is `origin` (x, y). Returns them blurred to the
    photo's softness (colour premultiplied, so the patch's edge fades, it does not darken),
    with the photo's grain added and its chroma held to the photo's saturation."""
    sigma = look.blur_px
    if sigma > 0.05:
        premultiplied = cv2.GaussianBlur(patch * alpha[..., None], (0, 0), sigma)
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
        patch = premultiplied / np.maximum(alpha, 1e-4)[..., None]
    luma = _luma(patch)
    patch = luma[..., None] + look.saturation * (patch - luma[..., None])
    if look.noise > 0.2:
        patch = patch + look.noise * _grain(look, origin, (alpha.shape[0], alpha.shape[1]))[..., None]
    return patch, alpha


def _grain(look: Look, origin: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """(h, w) float32 slice of the fixed grain pattern tiled over the frame from `origin`."""
    tile = look.grain
    rows = (origin[1] + np.arange(shape[0])) % tile.shape[0]
    cols = (origin[0] + np.arange(shape[1])) % tile.shape[1]
    return tile[np.ix_(rows, cols)]


def _luma(rgb: np.ndarray) -> np.ndarray:
    """BT.709 luma of (..., 3) float32 RGB."""
    return rgb[..., 0] * 0.2126 + rgb[..., 1] * 0.7152 + rgb[..., 2] * 0.0722


def _chroma(rgb: np.ndarray) -> np.ndarray:
    """Distance from grey (0..255 units) of (..., 3) float32 RGB: the BT.709 Cb/Cr magnitude."""
    luma = _luma(rgb)
    cb = (rgb[..., 2] - luma) / 1.8556
    cr = (rgb[..., 0] - luma) / 1.5748
    return np.sqrt(cb * cb + cr * cr)

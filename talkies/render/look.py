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
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

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


@dataclass(frozen=True)
class Look:
    """blur_px: Gaussian sigma (px) the painted patch is blurred by; sharpness: the photo's round
    the mouth (see the module docstring); noise: grain std (0..255);
    saturation: 0 (grey) .. 1 (full colour); white: (3,) float32 colour balance multiplier
    (max 1) from the skin's hue; grain: (_GRAIN_TILE, _GRAIN_TILE) float32 unit-variance pattern."""

    blur_px: float
    sharpness: float
    noise: float
    saturation: float
    white: np.ndarray
    grain: np.ndarray


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
    return Look(
        blur_px=0.0,
        sharpness=sharpness(luma, around_mouth),
        noise=_noise(luma, skin),
        saturation=saturation,
        white=(white / white.max()).astype(np.float32),
        grain=rng.standard_normal((_GRAIN_TILE, _GRAIN_TILE)).astype(np.float32),
    )


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

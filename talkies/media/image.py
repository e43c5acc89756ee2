"""Decoding the portrait and the optional speaker mask, and sizing the output frame.

Pillow decodes every accepted format (formats.ACCEPTED_IMAGES) natively. Decoding is forced
in full (`load()`) so that a truncated or corrupt file fails here, with a message, instead of
turning into grey bands later; Pillow's LOAD_TRUNCATED_IMAGES stays False for the same reason.
One damage Pillow cannot see: a JPEG whose entropy data ends (with a proper end marker) before
the rows its header claims. libjpeg only *warns* and fills the rest with flat grey, and Pillow
drops its warnings; so JPEGs are also run through libjpeg-turbo in strict mode (simplejpeg, at
1/8 scale: cheap), and "premature end" there is a rejection.
The header is checked before the pixels are decoded, so an absurdly large image (a
decompression bomb) costs nothing. Transparency is flattened onto white: a cut-out portrait
then looks like a studio shot, which is what the renderer's still background expects.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import simplejpeg
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from talkies.errors import InputError, InvalidImageError, InvalidMaskError, InvalidOptionError
from talkies.formats import ACCEPTED_IMAGES, identify
from talkies.media._source import Source, describe, read_bytes
from talkies.options import SHORT_SIDE_PX

# Pillow plugins we open (its JPEG plugin also opens the MPO variant many phone cameras write).
# (formats.ACCEPTED_IMAGES says the same to users, and the service accepts the same.)
_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "BMP", "TIFF")

MAX_MEGAPIXELS = 50.0  # larger images are rejected before decoding (decompression bombs)
MIN_SIDE_PX = 64  # a smaller photo cannot hold a face worth animating
MAX_ASPECT = 3.0  # long side / short side: portraits, not panoramas
BACKGROUND_RGB = (255, 255, 255)  # what transparent pixels become

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def load_image(src: Source) -> np.ndarray:
    """The portrait as (H, W, 3) uint8 RGB, EXIF orientation applied, colours in sRGB,
    transparency flattened onto white. Raises InvalidImageError for anything else."""
    im = _decode(read_bytes(src, "image", InvalidImageError), "image", InvalidImageError)
    w, h = im.size
    if min(w, h) < MIN_SIDE_PX:
        raise InvalidImageError(f"image is {w}x{h} pixels; each side must be at least {MIN_SIDE_PX}")
    return np.ascontiguousarray(_flatten(im, BACKGROUND_RGB), dtype=np.uint8)


def load_mask(src: Source) -> np.ndarray:
    """The speaker mask as (h, w) float32 in 0..1, 1 = the person who speaks.

    Any image works: its brightness is the mask (white = speaking person); an image with
    transparency uses its alpha instead (opaque = speaking person), which is what a cut-out
    means. Raises InvalidMaskError when it is not an image or marks nothing."""
    im = _decode(read_bytes(src, "mask", InvalidMaskError), "mask", InvalidMaskError)
    im = _to_8bit(im)
    if im.has_transparency_data:
        alpha = np.asarray(im.convert("RGBA"))[..., 3]
        mask = alpha if alpha.min() < alpha.max() else np.asarray(im.convert("L"))
    else:
        mask = np.asarray(im.convert("L"))
    mask = mask.astype(np.float32) / 255.0
    if mask.max() < 0.5:
        raise InvalidMaskError(
            f"mask marks nothing: its brightest value is {mask.max():.2f}; "
            "white (1.0) marks the speaking person and at least 0.5 is needed"
        )
    return mask


def output_size(width: int, height: int, resolution: str) -> tuple[int, int]:
    """(W, H) of the video: the short side is the resolution's (720 or 1080), the photo's aspect
    ratio is kept and both sides are even (yuv420p needs it)."""
    short = SHORT_SIDE_PX.get(resolution)
    if short is None:
        allowed = ", ".join(map(repr, SHORT_SIDE_PX))
        raise InvalidOptionError(f"resolution is {resolution!r}; allowed: {allowed}", field="resolution")
    ratio = max(width, height) / min(width, height)
    if ratio > MAX_ASPECT + 1e-9:
        raise InvalidImageError(
            f"image is {width}x{height}, an aspect ratio of {ratio:.2f}:1; "
            f"at most {MAX_ASPECT:g}:1 is accepted (a portrait, not a panorama)"
        )
    long = 2 * round(short * ratio / 2)
    return (long, short) if width >= height else (short, long)


def resize_image(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`img` (H, W, 3) uint8 resized to `size` = (W, H): area averaging when it shrinks (no
    aliasing), Lanczos when it grows (sharp edges without blockiness)."""
    width, height = size
    if img.shape[1] == width and img.shape[0] == height:
        return img
    shrinking = width * height < img.shape[0] * img.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LANCZOS4
    return cv2.resize(img, (width, height), interpolation=interpolation)


def _decode(data: bytes, what: str, error: type[InputError]) -> Image.Image:
    """Open, size-check, fully decode and orient an image; colours converted to sRGB."""
    im = _open(data, what, error)
    w, h = im.size
    if w * h > MAX_MEGAPIXELS * 1e6:
        raise error(
            f"{what} is {w}x{h} ({w * h / 1e6:.1f} megapixels); "
            f"at most {MAX_MEGAPIXELS:g} megapixels are accepted"
        )
    file_format = im.format
    try:
        im.load()
        im = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise error(f"{what} is truncated or corrupt ({im.format}): {e}") from e
    if file_format in ("JPEG", "MPO"):
        _check_jpeg_complete(data, what, error)
    return _to_srgb(im)


def _check_jpeg_complete(data: bytes, what: str, error: type[InputError]) -> None:
    """Raise `error` when libjpeg runs out of data before the last row the header promises.
    Other libjpeg warnings (stray bytes before a marker, common in camera files) are harmless."""
    try:
        simplejpeg.decode_jpeg(data, colorspace="GRAY", min_factor=8, strict=True)
    except ValueError as e:
        if "premature end" in str(e).lower():
            raise error(
                f"{what} is truncated or corrupt (JPEG): its data ends before the rows its header "
                f"declares ({e})"
            ) from e


def _open(data: bytes, what: str, error: type[InputError]) -> Image.Image:
    """Read the header only; say what the bytes look like when Pillow cannot identify them."""
    try:
        return Image.open(io.BytesIO(data), formats=_FORMATS)
    except Image.DecompressionBombError as e:
        raise error(f"{what} is too large ({e}); at most {MAX_MEGAPIXELS:g} megapixels are accepted") from e
    except UnidentifiedImageError as e:
        kind, found = describe(data[:32]), identify(data[:32])
        if found is not None and found.kind == "image" and found.accepted:
            raise error(f"{what} is truncated or corrupt: {kind}, but its header cannot be read") from e
        raise error(f"{what} is not an image talkies can read: {kind}; accepted: {ACCEPTED_IMAGES}") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise error(f"{what} is truncated or corrupt: {e}") from e


def _to_srgb(im: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (phone photos are often Display P3 or Adobe RGB)."""
    icc = im.info.get("icc_profile")
    if not icc or im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "sRGB" in ImageCms.getProfileDescription(profile):
            return im
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, profile, _SRGB, outputMode=out_mode)
        return converted if converted is not None else im
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken embedded profile is common and harmless: show the pixels as they are.
        return im


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit greyscale (PNG) scaled to 8 bits; Pillow's own conversion would clip it."""
    if im.mode not in ("I;16", "I;16B", "I;16L", "I"):
        return im
    grey = np.asarray(im, dtype=np.float32) / 257.0
    return Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L")


def _flatten(im: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """RGB, with transparent pixels composited over `background`."""
    im = _to_8bit(im)
    if not im.has_transparency_data:
        return im.convert("RGB")
    base = Image.new("RGBA", im.size, (*background, 255))
    return Image.alpha_composite(base, im.convert("RGBA")).convert("RGB")

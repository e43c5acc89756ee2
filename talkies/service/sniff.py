"""Content sniffing: decide from the first bytes whether an input is an image or audio.

Declared content types (a URL's Content-Type, a data URI's media type) are often wrong or
generic, and an HTML error page served with status 200 is the most common bad "image". So the
bytes decide: each supported container starts with a fixed signature. Anything else is refused
before it reaches a decoder, with a message saying what was found.
"""

from __future__ import annotations

from talkies.errors import InputError, InvalidAudioError, InvalidImageError, InvalidMaskError

# (signature test, content type) in the order they are tried.
_IMAGES: list[tuple[tuple[int, bytes], str]] = [
    ((0, b"\x89PNG\r\n\x1a\n"), "image/png"),
    ((0, b"\xff\xd8\xff"), "image/jpeg"),
    ((0, b"GIF87a"), "image/gif"),
    ((0, b"GIF89a"), "image/gif"),
    ((0, b"BM"), "image/bmp"),
    ((0, b"II*\x00"), "image/tiff"),
    ((0, b"MM\x00*"), "image/tiff"),
]
_AUDIO: list[tuple[tuple[int, bytes], str]] = [
    ((0, b"ID3"), "audio/mpeg"),
    ((0, b"OggS"), "audio/ogg"),
    ((0, b"fLaC"), "audio/flac"),
    ((0, b"\x1a\x45\xdf\xa3"), "audio/webm"),
    ((0, b"#!AMR"), "audio/amr"),
    ((0, b"caff"), "audio/x-caf"),
]
_IMAGE_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1")


def image_type(head: bytes) -> str | None:
    """Content type of an image signature, or None."""
    for (offset, magic), content_type in _IMAGES:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
        return "image/avif" if head[8:12].startswith(b"avi") else "image/heic"
    return None


def audio_type(head: bytes) -> str | None:
    """Content type of an audio (or audio-carrying video) signature, or None."""
    for (offset, magic), content_type in _AUDIO:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        return "audio/mp4"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG / ADTS frame sync
        return "audio/mpeg"
    return None


def check(field: str, data: bytes) -> str:
    """The sniffed content type of input `field` ("image_url", "audio_url", "mask_url");
    raises the field's InputError if the bytes are not of the expected kind."""
    if field == "audio_url":
        found = audio_type(data[:64])
        error: type[InputError] = InvalidAudioError
        expected = "audio (WAV, MP3, AAC/M4A, OGG/Opus, FLAC, WebM, AIFF)"
    else:
        found = image_type(data[:64])
        error = InvalidMaskError if field == "mask_url" else InvalidImageError
        expected = "an image (PNG, JPEG, WebP, GIF, AVIF, BMP, TIFF)"
    if found is None:
        raise error(
            f"{field} is {len(data)} bytes starting with {_describe(data)}; expected {expected}", field
        )
    return found


def _describe(data: bytes) -> str:
    head = data[:16]
    if not head:
        return "nothing"
    text = head.decode("ascii", "replace")
    if text.isprintable():
        return repr(text)
    return head.hex(" ")

"""What the inputs may be, said once: the file signatures talkies knows, the accepted-format
sentences every message uses, and the one audio-length probe.

The engine (media) names what a bad file looks like ("it looks like MP3 audio"); the service
refuses a wrong kind of file before queueing it and a too-long one before decoding it. Both read
this module, so the command line and the API accept, and tell users, the same formats. It is a
contract-level module: no heavy imports (PyAV loads only when a length is probed).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import av.container
    import av.stream

Kind = Literal["image", "audio", "video", "other"]

ACCEPTED_IMAGES = "JPEG, PNG, WebP, GIF, AVIF, BMP or TIFF"
ACCEPTED_AUDIO = (
    "WAV, MP3, AAC/M4A, Ogg Vorbis/Opus, FLAC, AIFF, CAF, AMR, or the sound of an MP4/MOV, WebM or AVI video"
)


@dataclass(frozen=True)
class Format:
    """A known kind of file: its content type (None: not media), what a user calls it, its
    kind, and whether talkies decodes it (a HEIC image is recognised but not decoded)."""

    content_type: str | None
    name: str
    kind: Kind
    accepted: bool = True


_PNG = Format("image/png", "a PNG image", "image")
_JPEG = Format("image/jpeg", "a JPEG image", "image")
_GIF = Format("image/gif", "a GIF image", "image")
_WEBP = Format("image/webp", "a WebP image", "image")
_BMP = Format("image/bmp", "a BMP image", "image")
_TIFF = Format("image/tiff", "a TIFF image", "image")
_AVIF = Format("image/avif", "an AVIF image", "image")
_HEIC = Format("image/heic", "a HEIC image", "image", accepted=False)
_WAV = Format("audio/wav", "WAV audio", "audio")
_AIFF = Format("audio/aiff", "AIFF audio", "audio")
_MP3 = Format("audio/mpeg", "MP3 audio", "audio")
_AAC = Format("audio/aac", "AAC audio (ADTS)", "audio")
_OGG = Format("audio/ogg", "Ogg audio", "audio")
_FLAC = Format("audio/flac", "FLAC audio", "audio")
_AMR = Format("audio/amr", "AMR audio", "audio")
_CAF = Format("audio/x-caf", "CAF audio", "audio")
_M4A = Format("audio/mp4", "M4A audio", "audio")
_MP4 = Format("audio/mp4", "an MP4/MOV file", "video")
_MKV = Format("audio/webm", "a Matroska/WebM file", "video")
_AVI = Format("video/x-msvideo", "an AVI video", "video")

# (offset, magic bytes, format), checked in order; the first match wins.
SIGNATURES: tuple[tuple[int, bytes, Format], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", _PNG),
    (0, b"\xff\xd8\xff", _JPEG),
    (0, b"GIF8", _GIF),
    (8, b"WEBP", _WEBP),
    (8, b"WAVE", _WAV),
    (8, b"AIFF", _AIFF),
    (8, b"AIFC", _AIFF),
    (8, b"AVI ", _AVI),
    (0, b"ID3", _MP3),
    (0, b"OggS", _OGG),
    (0, b"fLaC", _FLAC),
    (0, b"#!AMR", _AMR),
    (0, b"caff", _CAF),
    (0, b"\xff\xf1", _AAC),
    (0, b"\xff\xf9", _AAC),
    (4, b"ftypavif", _AVIF),
    (4, b"ftypavis", _AVIF),
    (4, b"ftypheic", _HEIC),
    (4, b"ftypheix", _HEIC),
    (4, b"ftypmif1", _HEIC),
    (4, b"ftypmsf1", _HEIC),
    (4, b"ftypM4A", _M4A),
    (4, b"ftyp", _MP4),
    (0, b"\x1aE\xdf\xa3", _MKV),
    (0, b"BM", _BMP),
    (0, b"II*\x00", _TIFF),
    (0, b"MM\x00*", _TIFF),
    (0, b"%PDF", Format(None, "a PDF document", "other")),
    (0, b"PK\x03\x04", Format(None, "a ZIP archive", "other")),
)
_TEXT = ((b"<", Format(None, "HTML or XML text", "other")), (b"{", Format(None, "JSON text", "other")))


def identify(head: bytes) -> Format | None:
    """The format whose signature `head` (a file's first bytes, 64 are plenty) starts with."""
    for offset, magic, found in SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return found
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame
        return _MP3
    stripped = head.lstrip()
    return next((found for magic, found in _TEXT if stripped.startswith(magic)), None)


def describe(head: bytes) -> str:
    """A short phrase naming what `head` looks like, e.g. "it looks like MP3 audio (starts with
    b'ID3\\x04...')"; just the leading bytes when the kind is unknown; "it is empty (0 bytes)"."""
    if not head:
        return "it is empty (0 bytes)"
    found = identify(head)
    start = f"starts with {head[:12]!r}"
    return f"it looks like {found.name} ({start})" if found else f"it {start}"


def declared_duration_s(
    container: av.container.InputContainer, stream: av.stream.Stream | None
) -> float | None:
    """The length in seconds a container says it has (its audio stream's, else its own), or
    None when it says nothing. An estimate for some formats (MP3 without a length header)."""
    if stream is not None and stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None


def probe_duration_s(source: str | Path | bytes) -> float | None:
    """The declared length of an audio file (a path or its bytes) without decoding it; None
    when unknown or unreadable (the decoder then has the last word)."""
    import av

    try:
        with av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r") as container:
            return declared_duration_s(container, next(iter(container.streams.audio), None))
    except (av.FFmpegError, OSError, StopIteration, ValueError):
        return None

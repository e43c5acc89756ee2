"""Reading an input (a path or the bytes themselves) and naming what it holds when it is not
what we asked for, so that an error message can say "it looks like MP3 audio" instead of just
"cannot identify"."""

from __future__ import annotations

import os
from pathlib import Path

from talkies.errors import InputError

Source = str | Path | bytes

# (offset, magic bytes, what a user would call the file). Checked in order; first match wins.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF8", "a GIF image"),
    (8, b"WEBP", "a WebP image"),
    (8, b"WAVE", "WAV audio"),
    (8, b"AVI ", "an AVI video"),
    (0, b"ID3", "MP3 audio"),
    (0, b"OggS", "Ogg audio"),
    (0, b"fLaC", "FLAC audio"),
    (0, b"\xff\xf1", "AAC audio (ADTS)"),
    (0, b"\xff\xf9", "AAC audio (ADTS)"),
    (0, b"\xff\xfb", "MP3 audio"),
    (0, b"\xff\xf3", "MP3 audio"),
    (4, b"ftypavif", "an AVIF image"),
    (4, b"ftypheic", "a HEIC image"),
    (4, b"ftypheix", "a HEIC image"),
    (4, b"ftypmif1", "a HEIF image"),
    (4, b"ftypM4A", "M4A audio"),
    (4, b"ftyp", "an MP4/MOV file"),
    (0, b"\x1aE\xdf\xa3", "a Matroska/WebM file"),
    (0, b"BM", "a BMP image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (0, b"%PDF", "a PDF document"),
    (0, b"PK\x03\x04", "a ZIP archive"),
    (0, b"<", "HTML or XML text"),
    (0, b"{", "JSON text"),
)

# Kinds of file that are audio or video: failing to open one means it is damaged.
MEDIA_KINDS = ("audio", "video", "MP4/MOV", "Matroska")


def read_bytes(src: Source, what: str, error: type[InputError]) -> bytes:
    """The whole input as bytes. A missing or unreadable path raises `error` naming it."""
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src)
    try:
        return Path(src).read_bytes()
    except OSError as e:
        raise error(f"cannot read {what} file {str(src)!r}: {e.strerror or e}") from e


def read_ends(src: Source, what: str, error: type[InputError], n: int) -> tuple[bytes, bytes, int]:
    """The first and the last `n` bytes of the input and its size, without reading it all."""
    if isinstance(src, bytes | bytearray | memoryview):
        return bytes(src[:n]), bytes(src[-n:]), len(src)
    try:
        with open(src, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(n)
            f.seek(max(0, size - n))
            return head, f.read(n), size
    except OSError as e:
        raise error(f"cannot read {what} file {str(src)!r}: {e.strerror or e}") from e


def describe(head: bytes) -> str:
    """A short phrase naming what `head` (the first bytes of a file) looks like, e.g.
    "it looks like MP3 audio (starts with b'ID3\\x04\\x00...')"; just the leading bytes when the
    kind is unknown; "it is empty (0 bytes)" for nothing."""
    if not head:
        return "it is empty (0 bytes)"
    start = f"starts with {head[:12]!r}"
    stripped = head.lstrip()
    for offset, magic, kind in _MAGIC:
        data = stripped if magic in (b"<", b"{") else head
        if data[offset : offset + len(magic)] == magic:
            return f"it looks like {kind} ({start})"
    return f"it {start}"

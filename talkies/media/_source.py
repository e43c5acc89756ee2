"""Reading an input (a path or the bytes themselves) and naming what it holds when it is not
what we asked for, so that an error message can say "it looks like MP3 audio" instead of just
"cannot identify"."""

from __future__ import annotations

import os
from pathlib import Path

from talkies.errors import InputError
from talkies.formats import describe

__all__ = ["Source", "describe", "read_bytes", "read_ends"]

Source = str | Path | bytes


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

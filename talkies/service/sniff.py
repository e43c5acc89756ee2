"""Content sniffing: decide from the first bytes whether an input is an image or audio.

Declared content types (a URL's Content-Type, a data URI's media type) are often wrong or
generic, and an HTML error page served with status 200 is the most common bad "image". So the
bytes decide: each supported container starts with a fixed signature (talkies.formats, the one
table the engine's messages use too). Anything else is refused before it reaches a decoder,
with a message saying what was found and what is accepted.
"""

from __future__ import annotations

from talkies.errors import InputError, InvalidAudioError, InvalidImageError, InvalidMaskError
from talkies.formats import ACCEPTED_AUDIO, ACCEPTED_IMAGES, identify


def image_type(head: bytes) -> str | None:
    """Content type of an accepted image signature (formats.SIGNATURES), or None."""
    found = identify(head)
    return found.content_type if found and found.kind == "image" and found.accepted else None


def audio_type(head: bytes) -> str | None:
    """Content type of an accepted audio (or audio-carrying video) signature, or None."""
    found = identify(head)
    return found.content_type if found and found.kind in ("audio", "video") and found.accepted else None


def check(field: str, data: bytes) -> str:
    """The sniffed content type of input `field` ("image_url", "audio_url", "mask_url");
    raises the field's InputError if the bytes are not of the expected kind."""
    if field == "audio_url":
        found = audio_type(data[:64])
        error: type[InputError] = InvalidAudioError
        expected = f"audio ({ACCEPTED_AUDIO})"
    else:
        found = image_type(data[:64])
        error = InvalidMaskError if field == "mask_url" else InvalidImageError
        expected = f"an image ({ACCEPTED_IMAGES})"
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

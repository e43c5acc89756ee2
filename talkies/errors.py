"""The one exception tree of talkies.

Every error a user can cause is an `InputError` carrying the name of the input it is about
(`field`, using the reference API's names: "image_url", "audio_url", "mask_url", "prompt",
"resolution", ...) and a message that names the offending value and the limit. The HTTP service
turns `InputError` into 422 and everything else into 500; the CLI turns them into exit codes.
Nothing below the adapters maps errors to codes.
"""

from __future__ import annotations


class TalkiesError(Exception):
    """Base of every error talkies raises on purpose."""


class InputError(TalkiesError):
    """The caller gave something we cannot use. `field` names the input."""

    field: str = "body"
    error_type: str = "value_error"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class InvalidImageError(InputError):
    """Not an image, an unsupported format, or a corrupt / truncated image file."""

    field = "image_url"
    error_type = "image_load_error"


class NoFaceError(InputError):
    """The image decodes, but no face was found in it."""

    field = "image_url"
    error_type = "face_detection_error"


class FaceTooSmallError(InputError):
    """A face was found but it is too small to animate."""

    field = "image_url"
    error_type = "face_detection_error"


class InvalidMaskError(InputError):
    """The mask image is unusable (not an image, empty, or marks no face)."""

    field = "mask_url"
    error_type = "image_load_error"


class InvalidAudioError(InputError):
    """Not audio, an unsupported codec, or a corrupt / truncated audio file."""

    field = "audio_url"
    error_type = "audio_load_error"


class EmptyAudioError(InputError):
    """The audio decodes to (almost) no samples."""

    field = "audio_url"
    error_type = "audio_load_error"


class SilentAudioError(InputError):
    """The audio holds nothing above the noise floor: there is nothing to lip-sync."""

    field = "audio_url"
    error_type = "audio_load_error"


class AudioTooLongError(InputError):
    """The audio is longer than the chosen resolution allows."""

    field = "audio_url"
    error_type = "audio_duration_error"


class InvalidOptionError(InputError):
    """An option has a value outside its allowed set or range."""

    error_type = "value_error"


class InvalidMotionError(InputError):
    """A supplied motion track (JSON) is malformed or does not fit the audio."""

    field = "motion"
    error_type = "value_error"


class Cancelled(TalkiesError):
    """Raised from a progress callback to stop a render between frames."""


class EngineError(TalkiesError):
    """Something inside the engine failed that is not the caller's fault."""


class LiveStreamError(InputError):
    """Live mode: a message of the stream is unusable (not audio, too large, arriving faster
    than real time, past the session's length). The session may go on without it."""

    field = "audio"
    error_type = "live_stream_error"


class LiveLimitError(LiveStreamError):
    """Live mode: the stream went past a bound of the session (its length, or audio too far
    ahead of real time); the session cannot go on."""

    error_type = "live_limit_error"

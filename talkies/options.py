"""Options of `talkies.animate`, their limits, and the one place they are validated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from talkies.errors import AudioTooLongError, InvalidOptionError
from talkies.tracks import MotionTrack

Resolution = Literal["720p", "1080p"]

# Short side of the output frame, in pixels.
SHORT_SIDE_PX: dict[str, int] = {"720p": 720, "1080p": 1080}

# Longest audio each resolution accepts, as the reference API (OmniHuman v1.5).
MAX_AUDIO_S: dict[str, float] = {"720p": 60.0, "1080p": 30.0}

MAX_PROMPT_CHARS = 2000


@dataclass(frozen=True)
class AnimateOptions:
    # "720p" or "1080p": the short side of the video; the photo's aspect ratio is kept.
    resolution: Resolution = "1080p"
    # Faster render and encode at slightly lower quality (reference API's name).
    turbo_mode: bool = False
    # Free text describing mood, actions and camera; passed to the motion stage.
    prompt: str = ""
    # Same inputs and seed give the same video.
    seed: int = 0
    # Output frame rate.
    fps: int = 25
    # Longest audio accepted, in seconds; None means the resolution's limit (MAX_AUDIO_S).
    max_audio_s: float | None = None
    # Curves to render instead of planning them from the audio (edited or scripted motion).
    motion: MotionTrack | None = None
    # Analyse the speech in a helper process beside the portrait (the same video either way;
    # False runs every stage in the calling thread).
    concurrent: bool = True

    def validate(self) -> None:
        """Raise InvalidOptionError naming the first bad value and what is allowed."""
        if self.resolution not in SHORT_SIDE_PX:
            raise InvalidOptionError(
                f"resolution is {self.resolution!r}; allowed: {', '.join(map(repr, SHORT_SIDE_PX))}",
                field="resolution",
            )
        if not isinstance(self.fps, int) or not 1 <= self.fps <= 60:
            raise InvalidOptionError(f"fps is {self.fps!r}; it must be an integer from 1 to 60", field="fps")
        if len(self.prompt) > MAX_PROMPT_CHARS:
            raise InvalidOptionError(
                f"prompt is {len(self.prompt)} characters; at most {MAX_PROMPT_CHARS} are allowed",
                field="prompt",
            )
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise InvalidOptionError(
                f"seed is {self.seed!r}; it must be an integer in [0, 2**32)", field="seed"
            )

    def audio_limit_s(self) -> float:
        return self.max_audio_s if self.max_audio_s is not None else MAX_AUDIO_S[self.resolution]

    def audio_limit_note(self) -> str:
        """How the limit reads in a message: "1080p allows at most 30 s (720p allows 60 s)"."""
        limit = self.audio_limit_s()
        more = " (720p allows 60 s)" if self.resolution == "1080p" and self.max_audio_s is None else ""
        return f"{self.resolution} allows at most {limit:g} s{more}"

    def check_audio_duration(self, duration_s: float) -> None:
        if duration_s > self.audio_limit_s() + 1e-3:
            raise AudioTooLongError(f"audio is {duration_s:.1f} s; {self.audio_limit_note()}")

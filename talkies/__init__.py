"""talkies: make a photo talk. One image of a person plus an audio file in, an MP4 out.

import talkies
result = talkies.animate("portrait.png", "speech.wav", talkies.AnimateOptions(resolution="720p"),
                         output="talking.mp4")

The engine (mediapipe, pocketsphinx, scipy, PyAV) loads on first use of `animate`, `Progress`
or `Result`, not at `import talkies`: the command line answers `--help` and `--version`, and
the service starts, without paying for it.
"""

from typing import TYPE_CHECKING, Any

from talkies.options import AnimateOptions

if TYPE_CHECKING:
    from talkies.pipeline import Progress, Result, animate

__all__ = ["AnimateOptions", "Progress", "Result", "animate"]
__version__ = "0.1.0"

_FROM_PIPELINE = frozenset({"Progress", "Result", "animate"})


def __getattr__(name: str) -> Any:
    if name in _FROM_PIPELINE:
        from talkies import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'talkies' has no attribute {name!r}")

"""Live mode: a photo that talks while the audio is still arriving.

    session = LiveSession("portrait.png", LiveOptions(resolution="720p"), on_output)
    session.feed_pcm(chunk)   # as the audio comes (PCM s16le mono at options.sample_rate)
    session.finish()          # end of audio; on_output then gets the rest and Done
    session.close()

`on_output` receives Ready (the fMP4 init segment and its MediaSource type), then Media
fragments (H.264 + AAC, one per packet, a browser plays them through Media Source Extensions;
concatenated after the init segment they are a playable MP4), Progress now and then, and Done
with the latency figures, or Failed. The look-ahead the mouth needs, LOOKAHEAD_S of analysed
audio beyond each frame, plus the analysis step and its compute, is the floor of the latency.

The engine loads on first use of a name here, not at import (as `import talkies` does): the
service starts without it, and the speech-analysis child process never loads the renderer.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from talkies.live.analysis import CONTEXT_S, STEP_S
    from talkies.live.session import (
        LOOKAHEAD_S,
        Done,
        Failed,
        LiveOptions,
        LiveSession,
        Media,
        Output,
        Progress,
        Ready,
    )
    from talkies.live.stream import Recording, record_file

__all__ = [
    "CONTEXT_S",
    "LOOKAHEAD_S",
    "STEP_S",
    "Done",
    "Failed",
    "LiveOptions",
    "LiveSession",
    "Media",
    "Output",
    "Progress",
    "Ready",
    "Recording",
    "record_file",
]
_FROM = {
    "CONTEXT_S": "analysis",
    "STEP_S": "analysis",
    "Recording": "stream",
    "record_file": "stream",
    **{
        name: "session" for name in __all__ if name not in ("CONTEXT_S", "STEP_S", "Recording", "record_file")
    },
}


def __getattr__(name: str) -> Any:
    if name in _FROM:
        import importlib

        return getattr(importlib.import_module(f"talkies.live.{_FROM[name]}"), name)
    raise AttributeError(f"module 'talkies.live' has no attribute {name!r}")

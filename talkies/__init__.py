"""talkies: make a photo talk. One image of a person plus an audio file in, an MP4 out.

import talkies
result = talkies.animate("portrait.png", "speech.wav", talkies.AnimateOptions(resolution="720p"),
                         output="talking.mp4")
"""

from talkies.options import AnimateOptions
from talkies.pipeline import Progress, Result, animate

__all__ = ["AnimateOptions", "Progress", "Result", "animate"]
__version__ = "0.1.0"

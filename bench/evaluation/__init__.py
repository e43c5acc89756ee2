"""Independent lip-sync measurement of rendered talkies videos.

Nothing here uses the engine's curves or its speech analysis: the reference is a forced alignment
of the known transcript (`alignment`), the measurement is the face re-detected on the decoded
frames (`redetect`), and `metrics` compares the two with the acceptance criteria of issue 2.
"""

from __future__ import annotations


class MeasurementError(RuntimeError):
    """The measurement itself could not be made (unalignable transcript, no face in the video).

    Deliberately not part of `talkies.errors`: the bench is a tool outside the library, its
    failures never reach the CLI or the service, and it must import without the engine.
    """

"""Frames drawn by forked helper processes, one per core, handed back in order.

    for frame in drawn_in_helpers(draw, values, (height, width)): ...

Why: drawing a frame is Python and small numpy and OpenCV calls (a few thousand a frame), so a
second thread gains nothing (the GIL; measured: 2.82 s against 2.98 s for 178 frames at 720p),
while the encoder waits for frames. Forked processes draw side by side: each inherits the
prepared puppet and the curves at fork time (nothing is pickled) and writes its frames into a
ring of shared memory slots, which this process copies out in order; the next frame to draw
in a slot is asked for once it was copied. Helper k draws frames k, k + n, k + 2n, ...

Each frame is a pure function of the puppet and its curve values (render.frame_at), so which
process draws it does not change it: the video is the one a single process makes
(tests/test_pipelining.py). A helper's error comes back as an error here; when the caller stops
early (a cancel, an error downstream) the helpers are killed and reaped.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection

import cv2
import numpy as np

from talkies.forking import Helper, available, sendable

__all__ = ["drawn_in_helpers", "helper_count"]

_SLOTS_PER_HELPER = 4  # how far ahead each helper may draw
_MAX_HELPERS = 8

Values = dict[str, float]


def helper_count() -> int:
    """How many drawing helpers pay here: one per core this process may run on (at most
    _MAX_HELPERS), none on one core or where helpers cannot be forked."""
    if not available():
        return 0
    cores = len(os.sched_getaffinity(0))
    return min(cores, _MAX_HELPERS) if cores > 1 else 0


def drawn_in_helpers(
    draw: Callable[[Values], np.ndarray], values: Sequence[Values], shape: tuple[int, int], helpers: int
) -> Iterator[np.ndarray]:
    """Yield draw(v) for each v in `values`, in order, each an (h, w, 3) uint8 array of
    `shape` (h, w), drawn by `helpers` (>= 1) forked processes."""
    slots = helpers * _SLOTS_PER_HELPER
    ring = mmap.mmap(-1, slots * shape[0] * shape[1] * 3)  # anonymous and shared with the children

    def serve(conn: Connection) -> None:
        frames = _slots(ring, slots, shape)
        while True:
            try:
                i = conn.recv()
            except (EOFError, OSError):
                return
            try:
                frames[i % slots] = draw(values[i])
                conn.send(("done", i))
            except (EOFError, OSError):
                return
            except Exception as e:  # every failure goes back to the caller
                conn.send(("error", sendable(e, "rendering")))

    started: list[Helper] = []
    frames = _slots(ring, slots, shape)
    try:
        started += _forked(serve, helpers)
        for i in range(min(slots, len(values))):
            started[i % helpers].start(i)
        for i in range(len(values)):
            started[i % helpers].wait()
            frame = frames[i % slots].copy()
            if i + slots < len(values):
                started[(i + slots) % helpers].start(i + slots)
            yield frame
    finally:
        for helper in started:
            helper.kill()
        del frames  # the ring's buffer is exported until then
        ring.close()


def _slots(ring: mmap.mmap, slots: int, shape: tuple[int, int]) -> np.ndarray:
    return np.frombuffer(ring, np.uint8).reshape(slots, *shape, 3)


def _forked(serve: Callable[[Connection], None], helpers: int) -> list[Helper]:
    """`helpers` Helper(serve)s, forked while OpenCV's thread pool is stopped.

    Why: a forked child has none of the pool's threads but inherits their state; were one of
    them holding its lock at that moment, the child's first parallel OpenCV call would wait for
    it forever (and changing the thread count in the child joins threads it does not have:
    measured, it hangs). With one thread OpenCV stops the pool's workers, so the children start
    with none and run OpenCV in their own thread; the pool comes back here after."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        return [Helper(serve, "a rendering process") for _ in range(helpers)]
    finally:
        cv2.setNumThreads(threads)

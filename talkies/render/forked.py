"""Frames drawn by forked helper processes, one per core, handed back in order.

    for frame in drawn_in_helpers(draw, values, (height, width), helper_count()): ...

Why: drawing a frame is Python and small numpy and OpenCV calls (a few thousand a frame), so a
second thread gains nothing (the GIL; measured: 2.82 s against 2.98 s for 178 frames at 720p),
while the encoder waits for frames. Forked processes draw side by side: each inherits the
prepared puppet and the curves at fork time (nothing is pickled) and writes its frames into a
ring of shared memory slots, which this process copies out in order; the next frame to draw
in a slot is asked for once it was copied. Helper k draws frames k, k + n, k + 2n, ...

Each frame is a pure function of the puppet and its curve values (render.frame_at), so which
process draws it does not change it: the video is the one a single process makes
(tests/test_pipelining.py). A helper's error comes back as an error here; when the caller stops
early (a cancel, an error downstream) the helpers are killed and reaped. Each helper runs
OpenCV on its own thread (`_serial_opencv`); this process's OpenCV is left as it is. Where no
helper can be forked (no processes or memory left), this process draws the frames itself.
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Callable, Generator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

import cv2
import numpy as np

from talkies.forking import Helper, available, sendable

__all__ = ["drawn_in_helpers", "helper_count"]

_SLOTS_PER_HELPER = 4  # how far ahead each helper may draw
_MAX_HELPERS = 8

Values = dict[str, float]


def helper_count() -> int:
    """How many drawing helpers pay here: one per core this process may use (its CPU
    affinity, and a container's CPU quota where cgroup v2 sets one; at most _MAX_HELPERS),
    none on one core or where helpers cannot be forked."""
    if not available():
        return 0
    cores = min(len(os.sched_getaffinity(0)), _quota_cores(Path("/sys/fs/cgroup/cpu.max")))
    return min(cores, _MAX_HELPERS) if cores > 1 else 0


def _quota_cores(cpu_max: Path) -> int:
    """Cores a cgroup v2 `cpu.max` ("QUOTA PERIOD" in microseconds, or "max PERIOD") allows,
    rounded up; a large number where it sets no quota or cannot be read."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError):  # no cgroup v2 here, or "max": no quota
        return 1 << 16


def drawn_in_helpers(
    draw: Callable[[Values], np.ndarray], values: Sequence[Values], shape: tuple[int, int], helpers: int
) -> Generator[np.ndarray, None, None]:
    """A generator of draw(v) for each v in `values`, in order, each an (h, w, 3) uint8 array of
    `shape` (h, w), drawn by `helpers` (>= 1) forked processes; closing it (or dropping it)
    kills them.

    The helpers are forked here, in the calling thread, not when the first frame is asked for
    (the encoder asks from its producer thread): a forked child keeps only the thread that
    forked it, and frees what the other threads held. PyAV keeps a frame converter per thread,
    whose destructor waits for FFmpeg threads that the child does not have; freed in a child
    forked from the producer thread, the caller's converter hung every helper."""
    drawn = _drawn(draw, values, shape, helpers)
    next(drawn)  # forks the helpers
    return cast(Generator[np.ndarray, None, None], drawn)


def _drawn(
    draw: Callable[[Values], np.ndarray], values: Sequence[Values], shape: tuple[int, int], helpers: int
) -> Generator[np.ndarray | None, None, None]:
    """`drawn_in_helpers`' generator: its first item (None) comes once the helpers are forked."""
    slots = helpers * _SLOTS_PER_HELPER
    ring = mmap.mmap(-1, slots * shape[0] * shape[1] * 3)  # anonymous and shared with the children

    def serve(conn: Connection) -> None:
        _serial_opencv()
        frames = _slots(ring, slots, shape)
        while True:
            try:
                i = conn.recv()
            except (EOFError, OSError):
                return
            try:
                frames[i % slots] = draw(values[i])
                reply = ("done", i)
            except Exception as e:  # every failure goes back to the caller
                reply = ("error", sendable(e, "rendering"))
            try:
                conn.send(reply)
            except (EOFError, OSError):
                return

    started: list[Helper] = []
    frames = _slots(ring, slots, shape)
    try:
        for _ in range(helpers):
            try:
                started.append(Helper(serve, "a rendering process"))
            except OSError:  # no more processes or memory for one: go on with those there are
                break
        yield None  # (drawn_in_helpers)
        if not started:
            yield from (draw(v) for v in values)
            return
        for i in range(min(slots, len(values))):
            started[i % len(started)].start(i)
        for i in range(len(values)):
            started[i % len(started)].wait()
            frame = frames[i % slots].copy()
            if i + slots < len(values):
                started[(i + slots) % len(started)].start(i + slots)
            yield frame
    finally:
        for helper in started:
            helper.kill()
        del frames  # the ring's buffer is exported until then
        ring.close()


def _slots(ring: mmap.mmap, slots: int, shape: tuple[int, int]) -> np.ndarray:
    return np.frombuffer(ring, np.uint8).reshape(slots, *shape, 3)


def _serial_opencv() -> None:
    """In a helper: OpenCV on this thread alone, its thread pool never touched.

    Why: a forked child inherits the pool's state but none of its threads. Handing work to it
    would wait on a worker's lock should that worker have held it at the fork, and asking for
    one thread joins the threads that are not there: measured, cv2.setNumThreads(1) in a child
    hangs. Zero threads only sets the count, and every OpenCV call then runs in the caller."""
    cv2.setNumThreads(0)

"""BLAS on one thread while the engine works.

The engine spreads its own work over the cores (speech helpers, the encoder thread beside the
renderer). numpy's OpenBLAS woke its own threads for every small product of the renderer (the
shape basis: a few dozen weights over the mesh) and spun between them, taking the core the
encoder needed: rendering speech.wav's 178 frames at 720p took 2.53 s of CPU for 1.28 s of wall
time, and 1.42 s for 1.42 s on one BLAS thread; end to end (bench/speed.py) 720p went from 59
to 65 frames/s and 1080p from 36 to 43.

threadpoolctl's limit is process-wide, so overlapping users (two `animate` calls in threads of
one program, the sessions of a live server) share one limit: the first to enter sets it, the
last to leave restores what was there.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits


class _Shared:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.limit: threadpool_limits | None = None


_SHARED = _Shared()


@contextmanager
def one_thread() -> Iterator[None]:
    """BLAS (numpy's and scipy's) on one thread for the duration of the block."""
    with _SHARED.lock:
        if _SHARED.users == 0:
            _SHARED.limit = threadpool_limits(limits=1, user_api="blas")
        _SHARED.users += 1
    try:
        yield
    finally:
        with _SHARED.lock:
            _SHARED.users -= 1
            if _SHARED.users == 0 and _SHARED.limit is not None:
                _SHARED.limit.restore_original_limits()
                _SHARED.limit = None

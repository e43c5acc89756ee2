"""Quiet mediapipe: its C++ code (absl logging, TensorFlow Lite) writes INFO and WARNING lines
("Created TensorFlow Lite XNNPACK delegate for CPU.", "W0000 ... Feedback manager requires a
model with a single signature inference") straight to file descriptor 2 while its graphs are
built and run, where no Python logging setting reaches them. The face stages build and close
their graphs inside `native_stderr_quiet()`, which points descriptor 2 at /dev/null for that
time (nested and concurrent uses share one redirection)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_saved = -1


@contextlib.contextmanager
def native_stderr_quiet() -> Iterator[None]:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            try:
                _saved = os.dup(2)
                sink = os.open(os.devnull, os.O_WRONLY)
                os.dup2(sink, 2)
                os.close(sink)
            except OSError:  # no descriptor 2 to redirect: nothing to quiet
                _saved = -1
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved >= 0:
                os.dup2(_saved, 2)
                os.close(_saved)
                _saved = -1

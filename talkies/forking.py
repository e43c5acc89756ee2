"""Helper processes forked by hand: the engine's way of using the other core.

    helper = Helper(serve, "the speech analysis process")   # serve(conn) runs in the child
    helper.start(request)                                   # conn.recv() there
    value = helper.wait(tick)                               # its ("done", value) here
    helper.kill()                                           # and reaped

Why fork, and by hand: a forked child starts in milliseconds with everything this process
has built (a loaded recogniser, a prepared puppet), nothing pickled; and the service's workers
are daemonic multiprocessing children, which may not start multiprocessing children of their
own. The child answers ("tick", share), ("done", value) or ("error", exception) messages; it
closes its copies of the parent's sockets, leaves Ctrl-C to the parent, and leaves with
os._exit, never running the parent's exit code, and never collects the garbage it inherited
(below). A helper that says nothing, not even a tick, for STALL_S is taken for stuck. Linux only
(`available()`): fork is unsafe on macOS and absent on Windows.

Why the child freezes what it inherits (gc.freeze): the parent's garbage, copied into the child,
may hold objects whose destructor waits for the parent's threads, which a forked child does not
have. PyAV's audio resampler leaves its filter graph in a reference cycle, and freeing that graph
joins FFmpeg's slice threads: collected in the child, it waits for them forever (a second
animate() in one process hung in its speech analysis that way). Inherited garbage is left to the
parent to collect; what the child makes itself is collected as usual. What the freeze cannot
cover: CPython frees the state of every other thread inside the fork itself, so an object that
only another thread held (PyAV's per-thread frame converter, with FFmpeg threads of its own) is
freed in the child and can hang it. So fork from the thread that did the work (render/forked.py
forks in the calling thread, not the encoder's), and a hang left is an error after STALL_S.

Used by audio/background.py (speech analysis) and render/forked.py (the frames, one helper per
core).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from talkies.errors import EngineError, TalkiesError

__all__ = ["STALL_S", "Helper", "available", "sendable"]

_POLL_S = 0.25  # how often a waiting caller checks that its helper is still alive
# A helper that has answered nothing for this long is stuck: a frame takes well under a
# second, a decoder pass of the speech analysis a few.
STALL_S = 120.0
# One fork at a time: the collector's on/off state is the process's, saved and restored around it.
_fork_lock = threading.Lock()


def available() -> bool:
    """Whether helpers can be forked here (Linux)."""
    return sys.platform.startswith("linux")


class Helper:
    """One forked process running `serve(conn)` until it returns or its pipe closes (this
    process exited or dropped it). `what` names it in errors ("the speech analysis
    process")."""

    def __init__(self, serve: Callable[[Connection], None], what: str) -> None:
        ours, theirs = socket.socketpair()
        self._what = what
        self._exit_code: int | None = None
        self._pid = _fork()
        if self._pid == 0:  # the child: serve, then leave without running the parent's exit code
            code = 1
            try:
                ours.close()
                _close_inherited_sockets(keep=theirs.fileno())
                serve(Connection(theirs.detach()))
                code = 0
            finally:
                os._exit(code)
        theirs.close()
        self._conn = Connection(ours.detach())

    @property
    def pid(self) -> int:
        return self._pid

    def alive(self) -> bool:
        if self._exit_code is None:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self._pid, os.WNOHANG)
                if pid == 0:
                    return True
                self._exit_code = os.waitstatus_to_exitcode(status)
        return False

    def start(self, request: Any) -> None:
        """Send `request` to the child (its conn.recv())."""
        try:
            self._conn.send(request)
        except (OSError, ValueError) as e:
            self.kill()
            raise EngineError(f"cannot reach {self._what}: {e}") from e

    def wait(self, tick: Callable[[float], None] = lambda share: None) -> Any:
        """The value of the child's next ("done", value), calling `tick` on its ticks; its
        ("error", e) is raised here, and its death is an EngineError; so is STALL_S without
        any message from it, ticks included (the child is stuck)."""
        limit_s = STALL_S
        deadline = time.monotonic() + limit_s
        while True:
            if not self._conn.poll(_POLL_S):
                if not self.alive():
                    raise self._died()
                if time.monotonic() > deadline:
                    raise EngineError(f"{self._what} answered nothing for {limit_s:g} s")
                continue
            try:
                kind, value = self._conn.recv()
            except (EOFError, OSError) as e:
                self.alive()
                raise self._died() from e
            if kind == "tick":
                tick(value)
                deadline = time.monotonic() + limit_s  # it answered: the silence counts from here
            elif kind == "done":
                return value
            else:
                raise value

    def _died(self) -> EngineError:
        return EngineError(f"{self._what} died (exit code {self._exit_code})")

    def kill(self) -> None:
        """Stop the process (if it still runs) and reap it."""
        with contextlib.suppress(OSError):
            self._conn.close()
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            self._exit_code = -signal.SIGKILL


_STOPPING = {signal.SIGINT, signal.SIGTERM}


def _fork() -> int:
    """os.fork(), the child's copies of everything this process holds frozen: never collected
    there (module docstring), and its Ctrl-C ignored (the parent's to handle) and SIGTERM
    default before either can be delivered to it: both are blocked across the fork, so that a
    Ctrl-C arriving just then cannot raise KeyboardInterrupt in the child, outside the
    helper's try, and unwind the parent's stack there."""
    with _fork_lock:
        collecting = gc.isenabled()
        # The mask as it is (a Ctrl-C already pending raises here, with nothing changed yet).
        # pthread_sigmask acts on a pending Ctrl-C after each change, hence the order below:
        # the collector back on first, the mask restored last, and a child forked just before
        # a Ctrl-C that the restore raises in the parent is not left behind.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        pid = -1
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
            gc.disable()  # no collection between the fork and the freeze
            pid = os.fork()
            if pid == 0:
                gc.freeze()
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
        finally:
            if collecting:
                gc.enable()
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            except BaseException:
                if pid > 0:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                raise
    return pid


def sendable(error: Exception, doing: str) -> Exception:
    """The error itself where it survives pickling with its message, else an EngineError
    saying what failed while `doing` ("speech analysis")."""
    import pickle

    try:
        copy: Any = pickle.loads(pickle.dumps(error))
        if isinstance(copy, TalkiesError) and str(copy) == str(error):
            return error
    except Exception:  # anything unpicklable is described instead
        pass
    return EngineError(f"{doing} failed: {type(error).__name__}: {error}")


def _close_inherited_sockets(keep: int) -> None:
    """Close the child's copies of the parent's sockets (a server's listening socket, its
    client connections): the helper uses none, and must not keep a port bound or a connection
    open after the parent let go of it. Closing a copy does not touch the parent's."""
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd <= 2 or fd == keep:
                continue
            with contextlib.suppress(OSError):
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)

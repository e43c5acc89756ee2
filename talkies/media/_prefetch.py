"""Pulling items from an iterator in a background thread, a few ahead of the consumer.

Used to overlap rendering with encoding. Everything the producer meets is handed to the
consumer: items in order, then either the end or the exception the iterator raised (re-raised
in the consumer's thread). When the consumer leaves early (it failed, was cancelled, or has
what it needs) the producer is told to stop, the queue is drained so it cannot block, and the
iterator is closed in the thread that ran it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from talkies.errors import EngineError

_ITEM, _END, _ERROR = range(3)
_POLL_S = 0.1  # how often a blocked side checks whether the other gave up
_JOIN_S = 10.0  # how long to wait for the producer to finish its current item on exit


class Prefetch:
    """`with Prefetch(items, convert, depth) as feed: for x in feed: ...` yields
    `convert(item)` for each item, computed in a producer thread at most `depth` ahead."""

    def __init__(self, items: Iterable[Any], convert: Callable[[Any], Any], depth: int) -> None:
        self._items = items
        self._convert = convert
        self._queue: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="talkies-render", daemon=True)

    def __enter__(self) -> Prefetch:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._drain()
        self._thread.join(_JOIN_S)

    def __iter__(self) -> Iterator[Any]:
        while True:
            kind, value = self._get()
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value

    def _get(self) -> tuple[int, Any]:
        while True:
            try:
                return self._queue.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    raise EngineError("the render thread ended without a result") from None

    def _produce(self) -> None:
        iterator = iter(self._items)
        try:
            for item in iterator:
                if self._stop.is_set() or not self._put((_ITEM, self._convert(item))):
                    return
            self._put((_END, None))
        except Exception as e:  # handed over to the consumer, which re-raises it
            self._put((_ERROR, e))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def _put(self, message: tuple[int, Any]) -> bool:
        """Queue `message` unless the consumer stops listening first; False if it did."""
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

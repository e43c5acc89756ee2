"""What every part of the service works with: settings, job store, files, queue, fetch guard."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from talkies.service.fetch import Guard
from talkies.service.files import FileStore
from talkies.service.queue import JobQueue, open_huey
from talkies.service.s3files import open_files
from talkies.service.settings import Settings
from talkies.service.store import JobStore, open_store


@dataclass
class Context:
    settings: Settings
    store: JobStore
    files: FileStore
    queue: JobQueue
    guard: Guard

    @classmethod
    def open(cls, settings: Settings, handler: Callable[[str], None] | None = None) -> Context:
        """Open (creating if needed) the data directory's stores; `handler` runs jobs in workers."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            store=open_store(settings.queue, settings.data_dir),
            files=open_files(settings.storage_url, settings.storage_root),
            queue=JobQueue(open_huey(settings.queue), handler),
            guard=Guard(settings.fetch_allow_private, settings.fetch_allow),
        )

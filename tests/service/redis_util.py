"""Redis for the service tests: the shared server (TALKIES_TEST_REDIS, default
redis://127.0.0.1:6379/0) under a per-test name, and throwaway redis-server processes for
tests that stop Redis (never the shared one)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import redis

BASE = os.environ.get("TALKIES_TEST_REDIS", "redis://127.0.0.1:6379/0")


def redis_url(name: str, base: str = BASE) -> str:
    """The queue URL of a test: the shared Redis, with everything under `name`."""
    return f"{base}{'&' if '?' in base else '?'}name={name}"


def flush_name(name: str, base: str = BASE) -> int:
    """Delete every key a test's deployment left under `name` (job store and Huey queue)."""
    client = redis.Redis.from_url(base)
    keys = [*client.scan_iter(match=f"talkies:{name}:*"), *client.scan_iter(match=f"huey.*talkies.{name}*")]
    if keys:
        client.delete(*keys)
    client.close()
    return len(keys)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisProcess:
    """A private redis-server without persistence, on its own port: stoppable and restartable."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10) -> RedisProcess:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        command = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(command, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise TimeoutError(f"redis-server on port {self.port} did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

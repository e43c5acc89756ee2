"""Test servers: a test certificate authority and `talkies serve` subprocesses.

Servers run as real subprocesses (`python -m talkies serve`, the real CLI) with the real HTTP stack,
Huey/SQLite queue and worker processes; only the engine is fake unless a test says otherwise.
Timing knobs are turned down (heartbeats, polling) through TALKIES_* environment variables so
failure paths take seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from talkies.service.tls import TlsFiles, self_signed

REPO = Path(__file__).resolve().parents[2]
FAKE_ENGINE = "tests.service.fakes:dispatch"

# Knobs that make failure paths fast (the defaults are for production).
FAST = {
    "TALKIES_HEARTBEAT_S": "0.2",
    "TALKIES_STALE_AFTER_S": "1.5",
    "TALKIES_MAINTENANCE_INTERVAL_S": "0.2",
    "TALKIES_POLL_INTERVAL_S": "0.1",
    "TALKIES_MAX_ATTEMPTS": "2",
    "TALKIES_WEBHOOK_BACKOFF_S": "0.2",
    "TALKIES_WEBHOOK_ATTEMPTS": "4",
    "TALKIES_PROGRESS_LOG_INTERVAL_S": "0.1",
    "TALKIES_CANCEL_CHECK_INTERVAL_S": "0.05",
}


Pki = TlsFiles  # the test CA: made by the service's own --self-signed-tls code


def make_pki(folder: Path) -> Pki:
    return self_signed(folder)


class Server:
    """One `talkies serve` subprocess on a data directory (restartable on the same one)."""

    def __init__(
        self,
        data_dir: Path,
        pki: Pki | None = None,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir, self.pki, self.args = data_dir, pki, args
        self.env = {**os.environ, **FAST, "TALKIES_ENGINE": FAKE_ENGINE, **(env or {})}
        self.env["PYTHONPATH"] = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(REPO)) if p)
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout_s: float = 60) -> Server:
        state = self.data_dir / "server.json"
        state.unlink(missing_ok=True)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tls = ["--tls-certfile", str(self.pki.cert), "--tls-keyfile", str(self.pki.key)] if self.pki else []
        command = [
            sys.executable,
            "-m",
            "talkies",
            "serve",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            *tls,
            *self.args,
        ]
        log = (self.data_dir / "server.log").open("ab")
        self.proc = subprocess.Popen(
            command, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready(state, time.monotonic() + timeout_s)
        return self

    def _wait_ready(self, state: Path, deadline: float) -> None:
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"talkies serve exited with {self.proc.returncode}:\n{self.log_tail()}")
            if state.exists():
                info = json.loads(state.read_text())
                self.port, self.queue_port = info["port"], info["queue_port"]
                try:
                    if self.client().get("/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise TimeoutError(f"talkies serve did not come up:\n{self.log_tail()}")

    @property
    def url(self) -> str:
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self, **kwargs: object) -> httpx.Client:
        verify = str(self.pki.ca) if self.pki else True
        return httpx.Client(base_url=self.url, verify=verify, timeout=30, trust_env=False, **kwargs)

    def stop(self) -> int:
        """SIGTERM (the orderly stop); returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._kill_group()
        return self.proc.returncode

    def close(self) -> None:
        """Teardown: SIGKILL (its workers die with it; orderly stops are tested on their own)."""
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        if self.proc is not None:
            self._kill_group()

    def kill(self) -> None:
        """SIGKILL the server process only: its consumer and workers must die with it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def _kill_group(self) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 60) -> str:
        path = self.data_dir / "server.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

"""`talkies serve`: the HTTP API in this process, the queue consumer in a child process.

The consumer (Huey, `settings.workers` forked worker processes) runs in its own process group,
so Ctrl-C reaches only the API; when the API stops it interrupts the consumer, whose workers
put their running jobs back in the queue. If this process is killed outright, its children die
with it (Linux parent-death signal) and everything queued is still on disk for the next start.
The bound ports are written to `{data_dir}/server.json` (useful with port 0).

The consumer is supervised: if it dies (killed, or a native crash), a watcher thread of the API
starts a new one within CHECK_S (backing off up to MAX_BACKOFF_S if it keeps dying), and until
it runs `/health` answers 503 with Retry-After. Its workers die with it (parent-death signal);
their jobs stop sending heartbeats and are queued again by the maintenance loop.
"""

from __future__ import annotations

import errno
import json
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from talkies.errors import InvalidOptionError
from talkies.service.settings import Settings

log = logging.getLogger("talkies.service")
CONSUMER_STOP_S = 10.0
Process = multiprocessing.process.BaseProcess


def serve(settings: Settings) -> None:
    """Run the service until interrupted."""
    import uvicorn

    from talkies.service import logs
    from talkies.service.app import create_app

    settings.require_safe_bind()
    logs.configure(settings.log_format)
    settings = settings.replace(data_dir=settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.tls_self_signed and settings.tls_certfile is None:
        settings = _use_self_signed(settings)
    sockets = [_bind(settings.host, settings.port)]
    if settings.queue_port is not None:
        sockets.append(_bind(settings.host, settings.queue_port))
    ports = [s.getsockname()[1] for s in sockets]
    settings = settings.replace(port=ports[0], queue_port=ports[1] if len(ports) > 1 else None)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; as an exception (instead
    # of the default "terminate now") it lets the `finally` below stop the workers in order.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    supervisor = None
    if settings.workers > 0:
        supervisor = Supervisor(lambda: start_consumer(settings), lambda p: _write_state(settings, p))
    try:
        config = uvicorn.Config(
            create_app(settings, workers_running=supervisor.running if supervisor else None),
            ssl_certfile=settings.tls_certfile,
            ssl_keyfile=settings.tls_keyfile,
            log_level="info",
            log_config=None,  # our handler (logs.configure): one format for every line
            access_log=False,  # logs.RequestLog writes the request lines, with the fal request id
            timeout_graceful_shutdown=3,
        )
        _announce(settings)
        if supervisor is not None:
            supervisor.start()
        else:
            _write_state(settings, None)
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        if supervisor is not None:
            supervisor.stop()


class Supervisor:
    """Keeps one consumer process running: starts it, and starts a new one when it dies."""

    CHECK_S = 0.5
    MIN_UPTIME_S = 10.0
    MAX_BACKOFF_S = 30.0

    def __init__(self, start: Callable[[], Process], on_start: Callable[[Process], None]) -> None:
        self._start, self._on_start = start, on_start
        self.process: Process | None = None
        self._started_at = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="consumer-supervisor", daemon=True)

    def start(self) -> None:
        self._launch()
        self._thread.start()

    def running(self) -> bool:
        """True while a consumer process is alive and a worker of it has warmed up (what
        /health reports)."""
        process = self.process
        return process is not None and process.is_alive() and process.ready.is_set()  # type: ignore[attr-defined]

    def alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        stop_consumer(self.process)

    def _launch(self) -> None:
        self.process, self._started_at = self._start(), time.monotonic()
        self._on_start(self.process)

    def _watch(self) -> None:
        delay = 0.0
        while not self._stop.wait(self.CHECK_S):
            if self.alive():
                continue
            assert self.process is not None
            # One that dies soon after starting (a broken engine import) is restarted ever slower.
            quick = time.monotonic() - self._started_at < self.MIN_UPTIME_S
            delay = min(max(delay * 2, self.CHECK_S), self.MAX_BACKOFF_S) if quick else 0.0
            log.error(
                "the worker consumer (pid %s) died with exit code %s; starting a new one in %.1f s",
                self.process.pid,
                self.process.exitcode,
                delay,
            )
            if self._stop.wait(delay):
                return
            self._launch()


def _use_self_signed(settings: Settings) -> Settings:
    from talkies.service.tls import self_signed

    files = self_signed(settings.data_dir / "tls")
    log.info(
        "https with a local CA; clients trust it with SSL_CERT_FILE=%s or NODE_EXTRA_CA_CERTS=%s",
        files.bundle,
        files.ca,
    )
    return settings.replace(tls_certfile=files.cert, tls_keyfile=files.key)


def start_consumer(settings: Settings) -> Process:
    """The consumer process; its `ready` event is set once a worker has warmed up."""
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(
        target=_consumer_main, args=(settings, os.getpid(), ready), name="talkies-workers"
    )
    process.start()
    process.ready = ready  # type: ignore[attr-defined]
    return process


def stop_consumer(process: Process | None) -> None:
    """SIGTERM: Huey interrupts its workers, which re-queue their jobs, then exits."""
    if process is None or not process.is_alive():
        return
    log.info("stopping the workers (running jobs go back to the queue)")
    process.terminate()
    process.join(CONSUMER_STOP_S)
    log.info("workers stopped")
    if process.is_alive():
        log.warning("worker consumer did not stop in %.0f s; killing it", CONSUMER_STOP_S)
        process.kill()
        process.join()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def _consumer_main(settings: Settings, parent_pid: int, ready: Any) -> None:
    from talkies.service.worker import run_workers

    os.setpgid(0, 0)  # Ctrl-C in a terminal goes to the API only; it stops us in order
    run_workers(settings, parent_pid, ready=ready)


def _announce(settings: Settings) -> None:
    """The served URL and the exact client environment, once the ports are bound."""
    from talkies.service.clients import python_env, served_url

    url = served_url(settings)
    log.info("serving %s (playground %s/, API docs %s/docs)", url, url, url)
    log.info("Python client (fal-client): %s", " ".join(python_env(settings, url)))
    if not settings.tls_certfile:
        log.info(
            "fal-client speaks only https: start with --self-signed-tls for it; "
            "the JS client works over http with requestMiddleware (README)"
        )
    log.info(
        "JS client (@fal-ai/client): requestMiddleware rewriting https://queue.fal.run/ to %s/queue/", url
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every keep-alive response waited ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise InvalidOptionError(
                f"port {port} on {host} is already in use (another talkies serve?); "
                "stop it or choose another with --port (0 picks a free one)",
                field="port",
            ) from e
        raise InvalidOptionError(f"cannot listen on {host}:{port}: {e.strerror}", field="host") from e
    sock.listen(2048)
    return sock


def _write_state(settings: Settings, consumer: Process | None) -> None:
    scheme = "https" if settings.tls_certfile else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    state = {
        "pid": os.getpid(),
        "consumer_pid": consumer.pid if consumer else None,
        "url": f"{scheme}://{host}:{settings.port}",
        "port": settings.port,
        "queue_port": settings.queue_port,
    }
    path = Path(settings.data_dir) / "server.json"
    path.with_suffix(".tmp").write_text(json.dumps(state))
    path.with_suffix(".tmp").replace(path)

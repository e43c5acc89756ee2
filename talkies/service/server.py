"""`talkies serve`: the HTTP API in this process, the queue consumer in a child process.

The consumer (Huey, `settings.workers` forked worker processes) runs in its own process group,
so Ctrl-C reaches only the API; when the API stops it interrupts the consumer, whose workers
put their running jobs back in the queue. If this process is killed outright, its children die
with it (Linux parent-death signal) and everything queued is still on disk for the next start.
The bound ports are written to `{data_dir}/server.json` (useful with port 0).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import signal
import socket
from pathlib import Path

from talkies.service.settings import Settings

log = logging.getLogger("talkies.service")
CONSUMER_STOP_S = 10.0


def serve(settings: Settings) -> None:
    """Run the service until interrupted."""
    import uvicorn

    from talkies.service.app import create_app

    settings.require_safe_bind()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    settings = dataclasses.replace(settings, data_dir=settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if settings.tls_self_signed and settings.tls_certfile is None:
        settings = _use_self_signed(settings)
    sockets = [_bind(settings.host, settings.port)]
    if settings.queue_port is not None:
        sockets.append(_bind(settings.host, settings.queue_port))
    ports = [s.getsockname()[1] for s in sockets]
    settings = dataclasses.replace(settings, port=ports[0], queue_port=ports[1] if len(ports) > 1 else None)
    # uvicorn re-raises the SIGTERM it caught once it has shut down; as an exception (instead
    # of the default "terminate now") it lets the `finally` below stop the workers in order.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    consumer = start_consumer(settings) if settings.workers > 0 else None
    try:
        config = uvicorn.Config(
            create_app(settings),
            ssl_certfile=settings.tls_certfile,
            ssl_keyfile=settings.tls_keyfile,
            log_level="info",
            timeout_graceful_shutdown=3,
        )
        _write_state(settings, consumer)
        uvicorn.Server(config).run(sockets=sockets)
    finally:
        stop_consumer(consumer)


def _use_self_signed(settings: Settings) -> Settings:
    from talkies.service.tls import self_signed

    files = self_signed(settings.data_dir / "tls")
    log.info(
        "https with a local CA; clients trust it with SSL_CERT_FILE=%s or NODE_EXTRA_CA_CERTS=%s",
        files.bundle,
        files.ca,
    )
    return dataclasses.replace(settings, tls_certfile=files.cert, tls_keyfile=files.key)


def start_consumer(settings: Settings) -> multiprocessing.process.BaseProcess:
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_consumer_main, args=(settings, os.getpid()), name="talkies-workers")
    process.start()
    return process


def stop_consumer(process: multiprocessing.process.BaseProcess | None) -> None:
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


def _consumer_main(settings: Settings, parent_pid: int) -> None:
    from talkies.service.worker import run_workers

    os.setpgid(0, 0)  # Ctrl-C in a terminal goes to the API only; it stops us in order
    run_workers(settings, parent_pid)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every keep-alive response waited ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def _write_state(settings: Settings, consumer: multiprocessing.process.BaseProcess | None) -> None:
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

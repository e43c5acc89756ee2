"""`talkies serve` and `talkies worker`: the command-line entries of the service (registered by
talkies.cli).

Importing this module is cheap: FastAPI, uvicorn and Huey are imported when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `serve` subcommand to the CLI's subparsers."""
    p = subparsers.add_parser(
        "serve",
        help="run the fal-compatible OmniHuman HTTP service",
        description="Serve fal-ai/bytedance/omnihuman[/v1.5] for the official fal clients. Every option "
        "can also be set as an environment variable TALKIES_<OPTION> (e.g. TALKIES_API_KEYS=k1,k2).",
    )
    p.add_argument("--host", help="address to bind (default 127.0.0.1; others need --api-key)")
    p.add_argument("--port", type=int, help="API port (default 8080; 0 picks a free one)")
    p.add_argument("--queue-port", type=int, help="second port serving the queue API at its root")
    p.add_argument("--workers", type=int, help="rendering worker processes (default 1; 0: API only)")
    p.add_argument("--data-dir", type=Path, help="queue, jobs and files (default ~/.local/share/talkies)")
    p.add_argument(
        "--queue",
        dest="queue_url",
        help="queue URL: sqlite:///DATA_DIR/queue.db (default) or redis://host:port/db",
    )
    p.add_argument(
        "--storage", dest="storage_url", help="file storage: file:///shared/dir (default: DATA_DIR)"
    )
    p.add_argument("--api-key", dest="api_keys", action="append", help="accepted API key (repeatable)")
    p.add_argument("--public-url", help="base URL clients reach this server at (for returned URLs)")
    p.add_argument("--retention", dest="retention_s", help="keep finished jobs and files this long (e.g. 7d)")
    p.add_argument("--tls-certfile", type=Path, help="TLS certificate (PEM); the Python client needs https")
    p.add_argument("--tls-keyfile", type=Path, help="TLS private key (PEM)")
    p.add_argument(
        "--self-signed-tls",
        dest="tls_self_signed",
        action="store_true",
        default=None,
        help="serve https with a local CA made in DATA_DIR/tls (trust DATA_DIR/tls/bundle.pem)",
    )
    p.add_argument("--live-sessions", type=int, help="live (realtime WebSocket) sessions at once (default 2)")
    p.add_argument("--live-max", dest="live_max_s", help="longest live session (default: the resolution's)")
    _add_rendering_options(p)
    p.set_defaults(func=run_serve)
    _register_worker(subparsers)


def _add_rendering_options(p: argparse.ArgumentParser) -> None:
    """Options of whatever process renders (a server with workers, or `talkies worker`)."""
    p.add_argument("--engine", help="rendering function as module:function (default talkies:animate)")
    p.add_argument(
        "--allow-private-urls",
        dest="fetch_allow_private",
        action="store_true",
        default=None,
        help="let input URLs reach loopback and private networks (SSRF guard off)",
    )


def _register_worker(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run rendering workers only, for a shared redis:// queue",
        description="Render jobs from a Redis queue shared with `talkies serve --queue redis://... "
        "--workers 0` API nodes. Uploads and results go to the shared --storage directory. Options "
        "can also be set as TALKIES_<OPTION> environment variables.",
    )
    p.add_argument("--queue", dest="queue_url", help="queue URL, redis://host:port/db[?name=NAME] (required)")
    p.add_argument("--storage", dest="storage_url", help="file storage shared with the API: file:///dir")
    p.add_argument("--workers", type=int, help="rendering worker processes (default 1)")
    p.add_argument("--data-dir", type=Path, help="local scratch directory (default ~/.local/share/talkies)")
    _add_rendering_options(p)
    p.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    import dataclasses
    import logging

    from talkies.errors import InvalidOptionError
    from talkies.service.settings import Settings
    from talkies.service.worker import run_workers

    names = ("queue_url", "storage_url", "workers", "data_dir", "engine", "fetch_allow_private")
    settings = Settings.load(**{name: getattr(args, name, None) for name in names})
    if not settings.queue_url.startswith(("redis:", "rediss:", "unix:")):
        raise InvalidOptionError(
            f"queue URL is {settings.queue_url!r}; `talkies worker` needs a shared redis://host:port/db "
            "queue (with the embedded SQLite queue, `talkies serve` runs its own workers)",
            field="queue_url",
        )
    if settings.workers < 1:
        raise InvalidOptionError(f"workers is {settings.workers}; it must be at least 1", field="workers")
    settings = dataclasses.replace(settings, data_dir=settings.data_dir.resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    logging.getLogger("talkies.service").info("workers for %s", settings.queue_url)
    run_workers(settings, standalone=True)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from talkies.service.server import serve
    from talkies.service.settings import Settings, parse_duration

    overrides = {
        name: getattr(args, name, None)
        for name in (
            "host",
            "port",
            "queue_port",
            "workers",
            "data_dir",
            "queue_url",
            "storage_url",
            "public_url",
            "tls_certfile",
            "tls_keyfile",
            "tls_self_signed",
            "engine",
            "fetch_allow_private",
            "live_sessions",
        )
    }
    overrides["live_max_s"] = parse_duration(args.live_max_s) if args.live_max_s else None
    overrides["api_keys"] = tuple(args.api_keys) if args.api_keys else None
    overrides["retention_s"] = parse_duration(args.retention_s) if args.retention_s else None
    serve(Settings.load(**overrides))
    return 0

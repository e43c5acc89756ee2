"""`talkies serve`: the command-line entry of the service (registered by talkies.cli).

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
    p.add_argument("--queue", dest="queue_url", help="queue URL (default sqlite:///DATA_DIR/queue.db)")
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
    p.add_argument("--engine", help="rendering function as module:function (default talkies:animate)")
    p.add_argument(
        "--allow-private-urls",
        dest="fetch_allow_private",
        action="store_true",
        default=None,
        help="let input URLs reach loopback and private networks (SSRF guard off)",
    )
    p.set_defaults(func=run_serve)


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
            "public_url",
            "tls_certfile",
            "tls_keyfile",
            "tls_self_signed",
            "engine",
            "fetch_allow_private",
        )
    }
    overrides["api_keys"] = tuple(args.api_keys) if args.api_keys else None
    overrides["retention_s"] = parse_duration(args.retention_s) if args.retention_s else None
    serve(Settings.load(**overrides))
    return 0

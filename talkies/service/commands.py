"""`talkies serve` and `talkies worker`: the command-line entries of the service (registered by
talkies.cli).

Their options are generated from the Settings fields, so every setting has an option, and its
help shows the default and the TALKIES_* variable. Importing this module is cheap: FastAPI,
uvicorn and Huey are imported when the command runs (pydantic-settings is small).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

# Settings a `talkies worker` has no use for: they belong to the API process.
API_ONLY = frozenset(
    {
        "host",
        "port",
        "queue_port",
        "api_keys",
        "public_url",
        "tls_certfile",
        "tls_keyfile",
        "tls_self_signed",
        "retention_s",
        "maintenance_interval_s",
        "webhook_attempts",
        "webhook_backoff_s",
        "webhook_timeout_s",
        "max_upload_bytes",
        "max_data_uri_bytes",
        "live_sessions",
        "live_max_s",
        "live_buffer_s",
        "live_max_message_bytes",
        "live_unsent_s",
    }
)
_DAY_S, _HOUR_S, _MINUTE_S = 86400.0, 3600.0, 60.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `serve` and `worker` subcommands to the CLI's subparsers."""
    p = _settings_parser(
        subparsers,
        "serve",
        frozenset(),
        help="run the fal-compatible OmniHuman HTTP service (and its playground at /)",
        description="Serve fal-ai/bytedance/omnihuman[/v1.5] for the official fal clients, with a "
        "playground page at / and API docs at /docs. Every option can also be set as the environment "
        "variable shown with it; an unknown TALKIES_* variable is an error.",
    )
    p.set_defaults(func=run_serve)
    w = _settings_parser(
        subparsers,
        "worker",
        API_ONLY,
        help="run rendering workers only, for a shared redis:// queue",
        description="Render jobs from a Redis queue shared with `talkies serve --queue redis://... "
        "--workers 0` API nodes. Uploads and results go to the shared --storage directory. Options "
        "can also be set as the TALKIES_* environment variables shown with them.",
    )
    w.set_defaults(func=run_worker)


class _SettingOptions:
    """A subcommand whose options are made from the Settings fields when it is used (parsed or
    asked for help), not when the CLI is built: pydantic-settings and the model cost ~0.3 s that
    `talkies animate` should not pay."""

    exclude: frozenset[str] = frozenset()
    _added = False

    def _add_options(self) -> None:
        if not self._added:
            self._added = True
            _add_setting_options(self, self.exclude)  # type: ignore[arg-type]

    def parse_known_args(self, *args: Any, **kwargs: Any) -> Any:
        self._add_options()
        return super().parse_known_args(*args, **kwargs)  # type: ignore[misc]

    def format_help(self) -> str:
        self._add_options()
        return super().format_help()  # type: ignore[misc]

    def format_usage(self) -> str:
        self._add_options()
        return super().format_usage()  # type: ignore[misc]


def _settings_parser(
    subparsers: argparse._SubParsersAction, name: str, exclude: frozenset[str], **kwargs: Any
) -> argparse.ArgumentParser:
    base = subparsers._parser_class  # the CLI's parser class (one-line usage errors)
    subparsers._parser_class = type(f"{name.title()}Parser", (_SettingOptions, base), {"exclude": exclude})
    try:
        return subparsers.add_parser(name, **kwargs)
    finally:
        subparsers._parser_class = base


def _add_setting_options(p: argparse.ArgumentParser, exclude: frozenset[str]) -> None:
    from talkies.service.settings import Settings, option_name

    for name, info in Settings.model_fields.items():
        if name in exclude:
            continue
        default = info.get_default(call_default_factory=False)
        shown = "~/.local/share/talkies" if name == "data_dir" else _shown(name, default)
        text = f"{info.description} (default: {shown}; env {Settings.env_name(name)})"
        text = " ".join(text.split()).replace("%", "%%")
        flag = option_name(name)
        if info.annotation is bool:
            p.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif name in ("api_keys", "fetch_allow"):
            p.add_argument(flag, dest=name, action="append", metavar="VALUE", help=text + " [repeatable]")
        else:
            p.add_argument(flag, dest=name, metavar=_metavar(name), help=text)


def _metavar(name: str) -> str:
    if name.endswith("_s"):
        return "DURATION"
    if name.endswith(("_dir", "file")):
        return "PATH"
    if name.endswith("_url"):
        return "URL"
    return "BYTES" if name.endswith("_bytes") else name.upper()


def _shown(name: str, value: Any) -> str:
    if value in ("", (), None):
        return "none"
    if name.endswith("_s") and isinstance(value, float):
        for unit, size in (("d", _DAY_S), ("h", _HOUR_S), ("m", _MINUTE_S)):
            if value >= size and value % size == 0:
                return f"{value / size:g}{unit}"
        return f"{value:g}s"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_from(args: argparse.Namespace, environ: Any = None) -> Any:
    """Settings from the environment and the options given on the command line."""
    from talkies.service.settings import Settings

    overrides: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(args, name, None)
        if isinstance(value, list):  # a repeated option: each value as given (an empty key is refused)
            value = tuple(value)
        overrides[name] = value
    return Settings.load(environ, **overrides)


def run_worker(args: argparse.Namespace) -> int:
    import logging

    from talkies.errors import InvalidOptionError
    from talkies.service.worker import run_workers

    settings = settings_from(args)
    if not settings.queue_url.startswith(("redis:", "rediss:", "unix:")):
        raise InvalidOptionError(
            f"queue URL is {settings.queue_url!r}; `talkies worker` needs a shared redis://host:port/db "
            "queue (with the embedded SQLite queue, `talkies serve` runs its own workers)",
            field="queue_url",
        )
    if settings.workers < 1:
        raise InvalidOptionError(f"workers is {settings.workers}; it must be at least 1", field="workers")
    settings = settings.replace(data_dir=Path(settings.data_dir).resolve())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.storage_root.mkdir(parents=True, exist_ok=True)
    logging.getLogger("talkies.service").info("workers for %s", settings.queue_url)
    run_workers(settings, standalone=True)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from talkies.service.server import serve

    serve(settings_from(args))
    return 0

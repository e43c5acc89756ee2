"""Service settings: one typed source (pydantic-settings), the only place in the service that
reads the environment.

Every field can be set three ways, later ones winning: its default here, an environment
variable `TALKIES_<FIELD>` (e.g. `TALKIES_API_KEYS=k1,k2`, `TALKIES_RETENTION_S=7d`), and the
`talkies serve` command line, whose options are generated from these fields (commands.py), so
`talkies serve --help` lists every one with its default and its variable. Durations accept plain
seconds or a unit suffix (`90s`, `15m`, `12h`, `7d`); lists are comma-separated; booleans are
1/0, true/false, yes/no. A `TALKIES_*` variable that names no setting stops start-up with the
closest name: a misspelt `TALKIES_API_KEY` must not start a server without authentication.
"""

from __future__ import annotations

import contextvars
import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict
from pydantic_settings.sources import PydanticBaseSettingsSource

from talkies.errors import InvalidOptionError

ENV_PREFIX = "TALKIES_"
# TALKIES_* names read by the test and fuzz harnesses, not by the server: not settings, not typos.
FOREIGN_PREFIXES = ("TALKIES_TEST_", "TALKIES_FUZZ_")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
# The environment Settings reads (os.environ unless Settings.load was given another mapping).
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("environ", default=None)


def parse_duration(text: str) -> float:
    """ "90" -> 90.0, "15m" -> 900.0, "7d" -> 604800.0 (seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidOptionError(f"duration is {text!r}; use seconds or a number with s, m, h or d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError("use seconds or a number with s, m, h or d (e.g. 90, 15m, 7d)")
        return float(match.group(1)) * _UNIT_S[match.group(2)]
    return value


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _blank_is_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _default_data_dir() -> Path:
    base = _environ().get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "talkies"


Seconds = Annotated[float, BeforeValidator(_duration)]
Csv = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_csv)]
OptionalInt = Annotated[int | None, BeforeValidator(_blank_is_none)]
OptionalPath = Annotated[Path | None, BeforeValidator(_blank_is_none)]


class Settings(BaseSettings):
    """Everything an operator can set. Each field's docstring is its `--help` text."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", use_attribute_docstrings=True
    )

    host: str = "127.0.0.1"
    """Address the HTTP API binds to. Anything but loopback requires API keys."""
    port: int = 8080
    """Port of the API (sync run, queue under /queue, storage, files, playground); 0 picks a free one."""
    queue_port: OptionalInt = None
    """Optional second port that serves the queue API at the root (like queue.fal.run)."""
    workers: int = 1
    """Worker processes rendering jobs (0: API only, the workers run elsewhere)."""
    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where the queue, job records, uploads and results live."""
    queue_url: str = ""
    """Queue backend URL; empty means SQLite in data_dir (sqlite:///DATA_DIR/queue.db). With
    redis://host:6379/0?name=NAME API nodes and `talkies worker` machines share one queue and job
    store (`name`, default "talkies", separates deployments on one Redis)."""
    storage_url: str = ""
    """Where uploads, inputs and results live: file:///shared/path (a directory every API node and
    worker mounts at the same path), s3://bucket/prefix[?endpoint_url=...&region=...] (credentials
    from the AWS_* variables); empty: data_dir."""
    api_keys: Csv = ()
    """Accepted API keys (`Authorization: Key <key>`), comma-separated; empty disables authentication."""
    public_url: str = ""
    """Public base URL of this server (e.g. https://talkies.example.com), used in the URLs it hands
    out; empty means the scheme and host the request came in on."""
    engine: str = "talkies:animate"
    """The rendering engine: "module:function" with the signature of talkies.animate."""
    tls_certfile: OptionalPath = None
    """TLS certificate (PEM). The official Python client only speaks https."""
    tls_keyfile: OptionalPath = None
    """TLS private key (PEM)."""
    tls_self_signed: bool = False
    """Without a certificate: make (once) a local CA and certificate in DATA_DIR/tls and serve https."""
    retention_s: Seconds = 7 * 86400.0
    """Finished jobs, their inputs and results are deleted this long after they finish."""
    scratch_max_age_s: Seconds = 6 * 3600.0
    """Scratch files (renders, uploads in flight) untouched this long are removed (a dead process's
    at once)."""
    max_fetch_bytes: int = 100 * 1024 * 1024
    """Largest input file fetched from a URL, in bytes."""
    max_upload_bytes: int = 1024 * 1024 * 1024
    """Largest file accepted by the upload endpoints, in bytes."""
    max_data_uri_bytes: int = 50 * 1024 * 1024
    """Largest inline data: URI accepted in a request body, in bytes (decoded)."""
    fetch_timeout_s: Seconds = 30.0
    """Timeout of each network step of an input fetch, and of the whole fetch."""
    fetch_allow_private: bool = False
    """Let input URLs and webhooks reach loopback, private, link-local and metadata addresses
    (SSRF guard off)."""
    fetch_allow: Csv = ()
    """Hosts or networks exempt from the SSRF guard, comma-separated (10.1.2.0/24,media.internal)."""
    max_attempts: int = 3
    """A job is tried at most this many times when its worker dies under it."""
    heartbeat_s: Seconds = 1.0
    """How often a running worker writes a heartbeat."""
    stale_after_s: Seconds = 120.0
    """A job whose heartbeat is older than this is considered orphaned. The heartbeat is a thread
    of the worker, and pocketsphinx holds the GIL for its whole decode (9.7 s for 19.7 s of speech
    on 2 cores): anything shorter re-runs healthy long jobs as if their worker had died."""
    poll_interval_s: Seconds = 0.5
    """Longest pause of an idle worker between queue polls."""
    maintenance_interval_s: Seconds = 1.0
    """How often the API process looks for orphaned jobs, missed start deadlines and due webhooks."""
    progress_log_interval_s: Seconds = 1.0
    """How often progress lines are added to a job's logs while rendering."""
    cancel_check_interval_s: Seconds = 0.2
    """How often a render checks whether it was cancelled."""
    webhook_attempts: int = 10
    """Webhook delivery attempts in all (fal: 10 over about 2 hours)."""
    webhook_backoff_s: Seconds = 15.0
    """Delay before the first webhook retry; it doubles for each one after (see webhooks.py)."""
    webhook_timeout_s: Seconds = 15.0
    """Timeout of one webhook delivery try (fal: 15 s)."""
    log_format: Literal["plain", "json"] = "plain"
    """Server log format: plain lines, or json (one JSON object a line)."""
    live_sessions: int = 2
    """Live (realtime WebSocket) sessions at once; one more is refused with a reason."""
    live_max_s: Seconds = 0.0
    """Longest live session, in seconds of audio (0: the resolution's limit, as for a file)."""
    live_buffer_s: Seconds = 2.0
    """How far a live client's audio may run ahead of real time before it is refused."""
    live_max_message_bytes: int = 1024 * 1024
    """Largest live message after the first (the first carries the image)."""
    live_unsent_s: Seconds = 10.0
    """Video a live client may leave unread before its session is ended."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # No .env or secrets directory: what a server runs with is its environment and its argv.
        return init_settings, _EnvironSource(settings_cls)

    @classmethod
    def env_name(cls, field: str) -> str:
        return ENV_PREFIX + field.upper()

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `TALKIES_*` variables from `environ` (default os.environ), then
        `overrides` (None values are ignored, so argparse results can be passed as they are).
        InvalidOptionError names the variable or option of a bad value, and the closest setting
        of an unknown `TALKIES_*` variable."""
        environ = os.environ if environ is None else environ
        check_names(environ)
        given = {k: v for k, v in overrides.items() if v is not None}
        token = _ENVIRON.set(environ)
        try:
            return cls(**given)
        except ValidationError as e:
            error = e.errors()[0]
            name = str(error["loc"][0]) if error["loc"] else ""
            where = option_name(name) if name in given else cls.env_name(name)
            raw = given.get(name, environ.get(cls.env_name(name)))
            message = error["msg"].removeprefix("Value error, ")
            raise InvalidOptionError(f"{where} is {raw!r}: {message}", field=name) from e
        finally:
            _ENVIRON.reset(token)

    @property
    def queue(self) -> str:
        """The queue backend URL, with the SQLite default filled in."""
        return self.queue_url or f"sqlite:///{self.data_dir / 'queue.db'}"

    @property
    def storage_root(self) -> Path:
        """The directory of the file storage (from storage_url, default data_dir); with an
        s3:// storage URL, the local directory of its scratch files and read cache."""
        if not self.storage_url or self.storage_url.startswith("s3://"):
            return self.data_dir
        if not self.storage_url.startswith("file:///"):
            raise InvalidOptionError(
                f"storage URL is {self.storage_url!r}; use file:///absolute/path (a directory shared "
                "by every API node and worker) or s3://bucket[/prefix]",
                field="storage_url",
            )
        return Path(self.storage_url.removeprefix("file://"))

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` (validated like any other value)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    def require_safe_bind(self) -> None:
        """Refuse to expose an unauthenticated server beyond this machine, and keys no client
        can send (an empty key would let `Authorization: Key` with no value in)."""
        for key in self.api_keys:
            if not key or not key.isascii() or not key.isprintable() or " " in key:
                raise InvalidOptionError(
                    f"API key {key!r} cannot be used: a key must be printable ASCII without spaces, "
                    "and not empty",
                    field="api_keys",
                )
        if not self.api_keys and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise InvalidOptionError(
                f"host is {self.host!r} but no API keys are configured; an unauthenticated server "
                "binds to 127.0.0.1 only (set TALKIES_API_KEYS or --api-key)",
                field="host",
            )


# Command-line spellings that differ from `--field-name` (kept from earlier releases).
_OPTION_NAMES = {
    "queue_url": "--queue",
    "storage_url": "--storage",
    "api_keys": "--api-key",
    "tls_self_signed": "--self-signed-tls",
    "fetch_allow_private": "--allow-private-urls",
}


def option_name(field: str) -> str:
    """The `talkies serve` option of a setting: --field-name, without a `_s` unit suffix."""
    return _OPTION_NAMES.get(field) or "--" + field.removesuffix("_s").replace("_", "-")


def check_names(environ: Mapping[str, str]) -> None:
    """InvalidOptionError for the first `TALKIES_*` variable that names no setting."""
    known = [Settings.env_name(name) for name in Settings.model_fields]
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(FOREIGN_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; `talkies serve --help` lists every setting"
        raise InvalidOptionError(f"environment variable {name} is not a talkies setting{hint}", field=name)


def _environ() -> Mapping[str, str]:
    environ = _ENVIRON.get()
    return os.environ if environ is None else environ


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the mapping Settings.load was given."""

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {k.lower(): v for k, v in _environ().items()}

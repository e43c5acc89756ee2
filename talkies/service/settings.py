"""Service settings: the only place in the service that reads the environment.

Every field can be set three ways, later ones winning: its default here, an environment
variable `TALKIES_<FIELD>` (e.g. `TALKIES_API_KEYS=k1,k2`, `TALKIES_RETENTION_S=7d`), and the
`talkies serve` command line. Durations accept plain seconds or a unit suffix (`90s`, `15m`,
`12h`, `7d`); lists are comma-separated; booleans are 1/0, true/false, yes/no.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from talkies.errors import InvalidOptionError

ENV_PREFIX = "TALKIES_"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "talkies"


@dataclass(frozen=True)
class Settings:
    # Address the HTTP API binds to. Anything but loopback requires api_keys.
    host: str = "127.0.0.1"
    # Port of the API (sync run, queue under /queue, storage, files).
    port: int = 8080
    # Optional second port that serves the queue API at the root (like queue.fal.run).
    queue_port: int | None = None
    # Worker processes rendering jobs (0: API only, the workers run elsewhere).
    workers: int = 1
    # Where the queue, job records, uploads and results live.
    data_dir: Path = field(default_factory=_default_data_dir)
    # Queue backend URL; empty means SQLite in data_dir ("sqlite:///path/queue.db"). With
    # "redis://host:6379/0?name=NAME" API nodes and `talkies worker` machines share one queue
    # and job store (`name`, default "talkies", separates deployments on one Redis).
    queue_url: str = ""
    # Where uploads, inputs and results live: "file:///shared/path" (a directory every API node
    # and worker mounts at the same path), "s3://bucket/prefix[?endpoint_url=...&region=...]"
    # (an S3-compatible bucket; credentials from the AWS_* variables), empty: data_dir.
    storage_url: str = ""
    # Accepted API keys (`Authorization: Key <key>`); empty disables authentication.
    api_keys: tuple[str, ...] = ()
    # Public base URL of this server (e.g. "https://talkies.example.com"), used in the URLs it
    # hands out; empty means "the scheme and host the request came in on".
    public_url: str = ""
    # "module:function" with the signature of talkies.animate: the rendering engine.
    engine: str = "talkies:animate"
    # TLS certificate and key (PEM). The official Python client only speaks https.
    tls_certfile: Path | None = None
    tls_keyfile: Path | None = None
    # Without a certificate: make (once) a local CA and certificate in data_dir/tls and use them.
    tls_self_signed: bool = False
    # Finished jobs, their inputs and results are deleted this long after they finish (seconds).
    retention_s: float = 7 * 86400.0
    # Scratch files (renders, uploads in flight) untouched this long are removed (seconds); a
    # dead process's are removed at once.
    scratch_max_age_s: float = 6 * 3600.0
    # Largest input file fetched from a URL, in bytes.
    max_fetch_bytes: int = 100 * 1024 * 1024
    # Largest file accepted by the upload endpoints, in bytes.
    max_upload_bytes: int = 1024 * 1024 * 1024
    # Largest inline `data:` URI accepted in a request body, in bytes (decoded).
    max_data_uri_bytes: int = 50 * 1024 * 1024
    # Timeout of each network step of an input fetch, and of the whole fetch (seconds).
    fetch_timeout_s: float = 30.0
    # Allow fetching from loopback, private, link-local and metadata addresses (SSRF guard off).
    fetch_allow_private: bool = False
    # Hosts or networks exempt from the SSRF guard ("10.1.2.0/24", "media.internal").
    fetch_allow: tuple[str, ...] = ()
    # A job is tried at most this many times when its worker dies under it.
    max_attempts: int = 3
    # A running worker writes a heartbeat this often (seconds)...
    heartbeat_s: float = 1.0
    # ...and a job whose heartbeat is older than this is considered orphaned (seconds). The
    # heartbeat is a thread of the worker, and pocketsphinx holds the GIL for its whole decode
    # (measured: 9.7 s for 19.7 s of speech on 2 cores, so ~30 s for the 60 s limit, more on a
    # loaded machine): anything shorter re-runs healthy long jobs as if their worker had died.
    stale_after_s: float = 120.0
    # Longest pause of an idle worker between queue polls (seconds).
    poll_interval_s: float = 0.5
    # How often the API process looks for orphaned jobs, missed start deadlines and due webhooks.
    maintenance_interval_s: float = 1.0
    # How often progress lines are added to a job's logs while rendering (seconds).
    progress_log_interval_s: float = 1.0
    # How often a render checks whether it was cancelled (seconds).
    cancel_check_interval_s: float = 0.2
    # Webhook delivery: attempts, first retry delay (doubling, capped at 15 min), per-try timeout.
    webhook_attempts: int = 10
    webhook_backoff_s: float = 5.0
    webhook_timeout_s: float = 15.0
    # Live mode (the realtime WebSocket): sessions at once, the longest session (seconds of
    # audio; 0: the resolution's limit, as for a file), how far a client's audio may run ahead
    # of real time, the largest message after the first, and how much video a client may leave
    # unread before it is dropped (seconds).
    live_sessions: int = 2
    live_max_s: float = 0.0
    live_buffer_s: float = 2.0
    live_max_message_bytes: int = 1024 * 1024
    live_unsent_s: float = 10.0

    @classmethod
    def load(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then `TALKIES_*` variables from `environ` (default os.environ), then
        `overrides` (None values are ignored, so argparse results can be passed as they are)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + f.name.upper())
            if raw is not None:
                values[f.name] = _parse(f.name, str(f.type), raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

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


def parse_duration(text: str) -> float:
    """ "90" -> 90.0, "15m" -> 900.0, "7d" -> 604800.0 (seconds)."""
    match = _DURATION.match(text)
    if not match:
        raise InvalidOptionError(f"duration is {text!r}; use seconds or a number with s, m, h or d")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _parse(name: str, type_name: str, raw: str) -> Any:
    """Turn one environment value into the field's type (dataclass annotations are strings)."""
    try:
        if name.endswith("_s"):
            return parse_duration(raw)
        if type_name.startswith("tuple"):
            return tuple(item.strip() for item in raw.split(",") if item.strip())
        if type_name == "bool":
            return _parse_bool(raw)
        if type_name.startswith("int"):
            return int(raw) if raw.strip() else None
        if type_name.startswith("Path"):
            return Path(raw) if raw.strip() else None
        return raw
    except ValueError as e:
        raise InvalidOptionError(f"{ENV_PREFIX}{name.upper()} is {raw!r}: {e}", field=name) from e


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected 1/0, true/false or yes/no")

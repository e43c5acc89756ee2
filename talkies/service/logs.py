"""The service's log: one format for every process (plain lines by default, JSON lines with
`--log-format json`), one line per HTTP request and per finished job, and no native chatter.

Records carry their structured fields in `extra={"fields": {...}}` (request_id, endpoint,
status, duration_s, error_type, ...): plain lines show them as `key=value` after the message,
JSON lines as keys. uvicorn's own loggers go through the same handler (its access log is
replaced by the request line of `RequestLog`).

mediapipe's C++ code (absl, TensorFlow Lite) writes straight to file descriptor 2 from its
graph threads ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", "W0000 00:00:... ]
Feedback manager requires..."): `capture_native_stderr` points descriptor 2 of each worker
process at a pipe, drops those lines and logs anything else written there (a native crash
report) as a record, so the log stays one format.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from talkies.service.store import Job, Outcome

NATIVE_NOISE = re.compile(
    r"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.]+:\d+\]"  # absl / glog prefix
    r"|INFO: Created TensorFlow Lite"
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called)"
)
_FORMATS = ("plain", "json")
log = logging.getLogger("talkies.service")


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={_plain(v)}" for k, v in fields.items() if v is not None)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "process": record.processName,
            "logger": record.name,
            "message": record.getMessage(),
            **(getattr(record, "fields", None) or {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure(log_format: str) -> None:
    """Send every logger of this process (ours, uvicorn's, Huey's) to stderr in `log_format`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "huey", "huey.consumer"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True


def capture_native_stderr() -> None:
    """Descriptor 2 -> a pipe read by a thread of this (worker) process; Python's own stderr,
    and so the log handler, keep writing to the real one."""
    real = os.dup(2)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)
    sys.stderr = os.fdopen(real, "w", buffering=1, encoding="utf-8", errors="replace")
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sys.stderr)
    threading.Thread(target=_pump, args=(read,), name="native-stderr", daemon=True).start()


def _pump(fd: int) -> None:
    native = logging.getLogger("talkies.native")
    with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as lines:
        for line in lines:
            text = line.rstrip()
            if text and not NATIVE_NOISE.match(text):
                native.warning("%s", text)


def job_ended(job: Job, outcome: Outcome, superseded: bool = False) -> None:
    """The server log's line for a finished or failed job (by a worker or the maintenance loop)."""
    took = time.time() - (job.started_at or job.created_at)
    fields = {
        "event": "job",
        "request_id": job.id,
        "endpoint": job.endpoint,
        "status": "OK" if outcome.ok else "ERROR",
        "http_status": outcome.http_status,
        "error_type": outcome.error_type,
        "duration_s": round(took, 3),
        "attempt": job.attempts,
    }
    if superseded:
        log.warning("job %s ended, but another attempt owns it now", job.id, extra={"fields": fields})
    elif outcome.ok:
        log.info("job %s completed in %.1f s", job.id, took, extra={"fields": fields})
    else:
        log.warning("job %s failed: %s", job.id, outcome.error, extra={"fields": fields})


def _plain(value: Any) -> str:
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return json.dumps(text) if " " in text or not text else text


def endpoint_of(path: str) -> str | None:
    """The fal endpoint (or owner/alias app) a request path is about, for the request line."""
    path = path.removeprefix("/queue")
    if not path.startswith("/fal-ai/"):
        return None
    return path[1:].split("/requests/")[0]


class RequestLog:
    """ASGI middleware: one log line per HTTP request, with the fal request id it concerned."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        seen: dict[str, Any] = {"status": 500, "request_id": None}

        async def watch(message: dict) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"x-fal-request-id":
                        seen["request_id"] = value.decode("latin-1")
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            path = scope["path"]
            request_id = seen["request_id"] or _id_in(path)
            took = time.perf_counter() - started
            log.info(
                "%s %s %d %.1f ms",
                scope["method"],
                path,
                seen["status"],
                took * 1000,
                extra={
                    "fields": {
                        "event": "request",
                        "request_id": request_id,
                        "endpoint": endpoint_of(path),
                        "http_status": seen["status"],
                        "duration_s": round(took, 4),
                    }
                },
            )


_REQUEST_ID = re.compile(r"/requests/([^/]+)")


def _id_in(path: str) -> str | None:
    match = _REQUEST_ID.search(path)
    return match.group(1) if match else None

"""Errors of the service and the one place where any error becomes an HTTP status and body.

The wire format follows fal (fal-protocol.md §3.4): bad input is 422 with fal-style
`detail` entries (`loc`, `msg`, `type`); infrastructure failures carry `error_type` in the body
and in `X-Fal-Error-Type`; a missed start deadline is 504 with `X-Fal-Request-Timeout-Type: user`
(clients never retry that). 408, 409 and 429 are never used: both official clients retry them.
An unreachable Redis queue backend is 503 with `Retry-After` (a transient outage).

A failed *job* is stored as an `Outcome` (status code + body) when it ends, so the result
request can replay it later; an error in a request handler becomes a response right away.
Both go through `_problem` below.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from talkies.errors import Cancelled, EngineError, InputError, TalkiesError
from talkies.service.store.base import Outcome

log = logging.getLogger("talkies.service")


class ServiceError(TalkiesError):
    """An error of the HTTP service itself; `status` and `error_type` say how it is reported,
    `fal_status` the "status" word fal's cancel answers carry (NOT_FOUND, ALREADY_COMPLETED)."""

    status = 500
    error_type = "internal_error"
    fal_status: str | None = None


class NotFound(ServiceError):
    status = 404
    error_type = "not_found"
    fal_status = "NOT_FOUND"


class AlreadyCompleted(ServiceError):
    status = 400
    error_type = "already_completed"
    fal_status = "ALREADY_COMPLETED"


class ClientDisconnected(ServiceError):
    """A sync run's client hung up before the video was ready (the job is cancelled)."""

    status = 499
    error_type = "client_disconnected"


class NotReady(ServiceError):
    status = 400
    error_type = "bad_request"


class BadRequest(ServiceError):
    status = 400
    error_type = "bad_request"


class Unauthorized(ServiceError):
    status = 401
    error_type = "unauthorized"


class TooLarge(ServiceError):
    status = 413
    error_type = "payload_too_large"


class BackendUnavailable(ServiceError):
    """The queue backend (Redis) cannot be reached: a transient outage, worth retrying."""

    status = 503
    error_type = "service_unavailable"


class WorkersDown(BackendUnavailable):
    """This server's worker consumer is not running (it died and is being restarted)."""


RETRY_AFTER_S = 5


class FetchError(InputError):
    """An input URL could not be fetched (refused, timed out, too large, not media)."""

    error_type = "file_download_error"


class BlockedAddressError(FetchError):
    """An input URL points at loopback, private, link-local or metadata addresses."""


# ---- outcomes of jobs ---------------------------------------------------------------------


def success(output: dict[str, Any]) -> Outcome:
    return Outcome(200, output)


def cancelled_outcome() -> Outcome:
    return Outcome(
        499,
        {"detail": "Request was cancelled", "error_type": "client_cancelled"},
        "Request was cancelled",
        "client_cancelled",
    )


def timeout_outcome(timeout_s: float) -> Outcome:
    detail = f"Request timed out: it did not start within {timeout_s:g} s (X-Fal-Request-Timeout)"
    return Outcome(504, {"detail": detail, "error_type": "request_timeout"}, detail, "request_timeout")


def worker_died_outcome(attempts: int) -> Outcome:
    detail = (
        f"the worker process rendering this request stopped (crashed or was killed) {attempts} time(s); "
        "giving up. Check the server log"
    )
    return Outcome(500, {"detail": detail, "error_type": "internal_error"}, detail, "internal_error")


def outcome_for(exc: BaseException) -> Outcome:
    """The stored outcome of a job that raised `exc`."""
    if isinstance(exc, Cancelled):
        return cancelled_outcome()
    status, body, _ = _problem(exc)
    error = body["detail"][0]["msg"] if isinstance(body["detail"], list) else str(body["detail"])
    error_type = body["detail"][0]["type"] if isinstance(exc, InputError) else body.get("error_type")
    return Outcome(status, body, error, error_type)


def outcome_response(outcome: Outcome, request_id: str) -> JSONResponse:
    """The response of a result request for a finished job."""
    headers = {"x-fal-request-id": request_id, **_error_headers(outcome.http_status, outcome.body)}
    return JSONResponse(outcome.body, status_code=outcome.http_status, headers=headers)


# ---- errors raised while handling a request -----------------------------------------------


def error_response(exc: BaseException) -> JSONResponse:
    status, body, headers = _problem(exc)
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into fal-style responses."""

    async def on_talkies_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        detail = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    async def on_backend_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("queue backend unreachable: %s: %s", type(exc).__name__, exc)
        return error_response(BackendUnavailable(f"the queue backend is unreachable ({exc}); retry shortly"))

    import redis  # a dependency of the service; its client errors mean "Redis is down"

    app.add_exception_handler(redis.ConnectionError, on_backend_down)
    app.add_exception_handler(redis.TimeoutError, on_backend_down)
    app.add_exception_handler(TalkiesError, on_talkies_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


def input_detail(exc: InputError) -> dict[str, Any]:
    """One fal-style 422 detail entry for an input error."""
    loc = ["body"] if exc.field == "body" else ["body", exc.field]
    return {"loc": loc, "msg": exc.message, "type": exc.error_type}


def _problem(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, headers) for any exception: the single errors -> HTTP mapping."""
    if isinstance(exc, InputError):
        return 422, {"detail": [input_detail(exc)]}, {}
    if isinstance(exc, ServiceError):
        body = {"detail": str(exc), "error_type": exc.error_type}
        if exc.fal_status:
            body["status"] = exc.fal_status
        return exc.status, body, _error_headers(exc.status, body)
    if isinstance(exc, Cancelled):
        outcome = cancelled_outcome()
        return outcome.http_status, outcome.body, _error_headers(outcome.http_status, outcome.body)
    kind = "engine error" if isinstance(exc, EngineError) else "internal error"
    log.error("%s: %s", kind, exc, exc_info=exc)
    body = {"detail": f"{kind}: {type(exc).__name__}: {exc}", "error_type": "internal_error"}
    return 500, body, _error_headers(500, body)


def _error_headers(status: int, body: dict[str, Any]) -> dict[str, str]:
    error_type = body.get("error_type")
    if status < 400 or not isinstance(error_type, str):
        return {}
    headers = {"x-fal-error-type": error_type}
    if error_type == "request_timeout":
        headers["x-fal-request-timeout-type"] = "user"
    if status == 503:
        headers["retry-after"] = str(RETRY_AFTER_S)
        headers["x-fal-retryable"] = "true"
    return headers

"""Schemas of the queue protocol's bodies and the error bodies, for the OpenAPI document (the
handlers build the bodies in protocol.py and errors.py; these describe them), and the status
codes each route really answers with."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from talkies.service.endpoints import OmniHumanOutput

REQUEST_ID = "7ac5537d-dbbf-4721-aa44-becb6b3107d4"
_URL = "http://127.0.0.1:8080/queue/fal-ai/bytedance/requests/" + REQUEST_ID


class SubmitResponse(BaseModel):
    status: Literal["IN_QUEUE"] = "IN_QUEUE"
    request_id: str = Field(examples=[REQUEST_ID])
    response_url: str = Field(description="GET it for the result.", examples=[_URL])
    status_url: str = Field(
        description="GET it for the status (?logs=1 for logs).", examples=[_URL + "/status"]
    )
    cancel_url: str = Field(description="PUT it to cancel.", examples=[_URL + "/cancel"])
    queue_position: int = Field(description="Requests ahead of this one (0-based).", examples=[0])


class LogEntry(BaseModel):
    message: str = Field(examples=["rendering frame 40/75"])
    level: Literal["STDERR", "STDOUT", "ERROR", "INFO", "WARN", "DEBUG"]
    source: Literal["USER"] = "USER"
    timestamp: str = Field(description="ISO 8601, UTC.", examples=["2026-11-22T03:25:42.000000"])


class StatusResponse(BaseModel):
    status: Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    request_id: str
    response_url: str
    status_url: str
    cancel_url: str
    logs: list[LogEntry] | None = Field(description="Present always; null unless ?logs=1 or true.")
    queue_position: int | None = Field(None, description="Only while IN_QUEUE.")
    metrics: dict[str, float] | None = Field(None, description="On COMPLETED: inference_time (s).")
    error: str | None = Field(None, description="On COMPLETED, for a failed or cancelled request.")
    error_type: str | None = Field(None, examples=["face_not_found", "client_cancelled"])


class CancelResponse(BaseModel):
    status: Literal["CANCELLATION_REQUESTED"] = "CANCELLATION_REQUESTED"


class ErrorBody(BaseModel):
    detail: str = Field(examples=["request 7ac5537d-... not found"])
    error_type: str = Field(examples=["not_found"])
    status: str | None = Field(None, description="On cancel: NOT_FOUND or ALREADY_COMPLETED.")


class ValidationDetail(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "audio_url"]])
    msg: str = Field(examples=["audio is 42.3 s; 1080p allows at most 30 s, 720p 60 s"])
    type: str = Field(examples=["audio_too_long"])


class ValidationErrorBody(BaseModel):
    detail: list[ValidationDetail]


def ErrorResponse(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


Responses = dict[int | str, dict[str, Any]]
UNAUTHORIZED: Responses = {
    401: ErrorResponse("No or an unknown API key (`Authorization: Key <key>`), when keys are set.")
}
SUBMIT: Responses = {
    200: {"model": SubmitResponse, "description": "Queued."},
    400: ErrorResponse(
        "A bad X-Fal-Queue-Priority or X-Fal-Request-Timeout header, or a refused fal_webhook URL."
    ),
    **UNAUTHORIZED,
    413: ErrorResponse("The request body is larger than this server accepts."),
    422: ErrorResponse(
        "Input refused before queueing (no job is made): a missing field, a bad data: URI, a file that "
        "is not an image or audio, audio too long for the resolution. What only rendering can find "
        "(no face, an input URL that cannot be fetched) is reported like fal's runner errors: on the "
        "result and in the webhook.",
        ValidationErrorBody,
    ),
    503: ErrorResponse("The queue backend is unreachable (Retry-After)."),
}
NOT_FOUND: Responses = {404: ErrorResponse("Unknown request id (or expired after the retention period).")}
STATUS: Responses = {
    200: {"model": StatusResponse, "description": "COMPLETED (check error_type)."},
    202: {"model": StatusResponse, "description": "IN_QUEUE or IN_PROGRESS."},
    **UNAUTHORIZED,
    **NOT_FOUND,
}
STREAM: Responses = {
    200: {
        "description": "Server-sent events: `data: <status JSON>` per change, closed after COMPLETED.",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **UNAUTHORIZED,
    **NOT_FOUND,
}
RESULT: Responses = {
    200: {"model": OmniHumanOutput, "description": "The output of a successful request."},
    400: ErrorResponse("The request is still in progress."),
    **UNAUTHORIZED,
    **NOT_FOUND,
    422: ErrorResponse("The request failed on its input (e.g. no face found).", ValidationErrorBody),
    499: ErrorResponse("The request was cancelled (error_type client_cancelled)."),
    500: ErrorResponse("The render failed, or its worker died repeatedly (error_type internal_error)."),
    504: ErrorResponse("It did not start within X-Fal-Request-Timeout (error_type request_timeout)."),
}
CANCEL: Responses = {
    202: {"model": CancelResponse, "description": "Queued: removed. Running: stops between frames."},
    400: ErrorResponse("The request already completed (status ALREADY_COMPLETED)."),
    **UNAUTHORIZED,
    404: ErrorResponse("Unknown request id (status NOT_FOUND)."),
}
RUN: Responses = {
    200: {"model": OmniHumanOutput, "description": "The output."},
    **{k: v for k, v in SUBMIT.items() if k != 200},
    499: ErrorResponse("The client disconnected; the request was cancelled."),
    500: RESULT[500],
    504: RESULT[504],
}
HISTORY: Responses = {
    400: ErrorResponse("A cursor that no page gave."),
    **UNAUTHORIZED,
    404: ErrorResponse("Unknown endpoint id."),
}
TOO_LARGE: Responses = {413: ErrorResponse("The body is larger than this server accepts.")}
UPLOAD_TARGET: Responses = {
    400: ErrorResponse("A part number, lifecycle header or target that does not fit this upload."),
    404: ErrorResponse("Unknown (or expired) upload id or file."),
}
FILE: Responses = {404: ErrorResponse("No such file (unknown, or expired after the retention period).")}

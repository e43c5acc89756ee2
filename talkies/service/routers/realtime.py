"""fal's realtime protocol over a WebSocket at `/{endpoint}/realtime`: live mode for the
official clients' `realtime()` (docs/live.md has the messages).

Frames are msgpack maps in binary messages both ways; errors are text messages
`{"type": "x-fal-error", "error": CODE, "reason": ...}` (the clients raise RealtimeError).
Authentication is the `Authorization: Key ...` header (`use_jwt=False`) or the realtime token
of `/tokens/` in `fal_jwt_token` (`use_jwt=True`); the HTTP gate does not see WebSockets, so
it is checked here, before anything else. This adapter only moves messages: the session
(talkies.live) runs in its own thread and process, and hands its outputs to this event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from dataclasses import asdict
from importlib import resources
from typing import Any

import msgpack
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from talkies import live
from talkies.errors import InputError, LiveLimitError, LiveStreamError
from talkies.service import auth, inputs, sniff
from talkies.service.context import Context
from talkies.service.endpoints import ENDPOINTS
from talkies.service.errors import Unauthorized

router = APIRouter(tags=["realtime"])
_START_KEYS = {"image_url", "mask_url", "prompt", "resolution", "seed", "turbo_mode", "sample_rate"}
_STREAM_KEYS = {"audio", "audio_file", "prompt", "end"}
START_TIMEOUT_S = 30.0  # a connection that sends no start message gives its slot back
_CLOSE_NORMAL, _CLOSE_POLICY, _CLOSE_TOO_BIG, _CLOSE_ERROR, _CLOSE_LATER = 1000, 1008, 1009, 1011, 1013


class Slots:
    """At most `limit` live sessions at once (settings.live_sessions)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used, self._lock = limit, 0, threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.used >= self.limit:
                return False
            self.used += 1
            return True

    def give(self) -> None:
        with self._lock:
            self.used -= 1


class _Refused(Exception):
    def __init__(self, error: str, reason: str, code: int = _CLOSE_POLICY) -> None:
        super().__init__(reason)
        self.error, self.reason, self.code = error, reason, code


def _route(endpoint_id: str):
    async def realtime(ws: WebSocket) -> None:
        ctx: Context = ws.app.state.ctx
        await ws.accept()
        slots: Slots = ws.app.state.live_slots
        try:
            _authorize(ws)
            if not slots.take():
                raise _Refused(
                    "TOO_MANY_SESSIONS",
                    f"{slots.limit} live sessions are running; this server allows at most {slots.limit} "
                    "(live_sessions)",
                    _CLOSE_LATER,
                )
        except _Refused as e:
            await _close(ws, e, linger_s=2.0)
            return
        try:
            await _Session(ws, ctx).run()
        except _Refused as e:
            await _close(ws, e)
        except WebSocketDisconnect:
            pass
        finally:
            slots.give()

    realtime.__doc__ = f"Live mode of `{endpoint_id}` (fal realtime protocol; see docs/live.md)."
    return realtime


for _endpoint in ENDPOINTS.values():
    router.add_api_websocket_route(f"/{_endpoint.id}/realtime", _route(_endpoint.id))


@router.get("/live", include_in_schema=False)
def page() -> HTMLResponse:
    """The live page: a photo, the microphone (or an audio file), the face talking back."""
    return HTMLResponse(resources.files("talkies.service").joinpath("static/live/index.html").read_text())


def _authorize(ws: WebSocket) -> None:
    header = ws.headers.get("authorization")
    token = ws.query_params.get("fal_jwt_token")
    if header is None and token:
        header = f"Bearer {token}"
    try:
        auth.check(header, ws.app.state.ctx.settings.api_keys, ws.app.state.secret, auth.REALTIME)
    except Unauthorized as e:
        raise _Refused("UNAUTHORIZED", str(e)) from e


class _Session:
    """One connection: the start message, then audio in and media out until Done."""

    def __init__(self, ws: WebSocket, ctx: Context) -> None:
        self.ws, self.ctx, self.settings = ws, ctx, ctx.settings
        self.outputs: asyncio.Queue[live.Output | None] = asyncio.Queue()
        self.unsent_frames = 0
        self.session: live.LiveSession | None = None
        self.fps = 25
        self.dropping: asyncio.Future | None = None

    async def run(self) -> None:
        try:
            start = await asyncio.wait_for(self._receive(first=True), START_TIMEOUT_S) or {}
        except TimeoutError as e:
            raise _Refused("NO_START", f"no start message came in {START_TIMEOUT_S:g} s") from e
        unknown = set(start) - _START_KEYS
        if "image_url" not in start or unknown:
            raise _Refused(
                "INVALID_START",
                "the first message must be a map with image_url (and optionally "
                f"{', '.join(sorted(_START_KEYS - {'image_url'}))}); got keys {sorted(start)}",
            )
        loop = asyncio.get_running_loop()
        try:
            options = self._options(start)
            image = await run_in_threadpool(self._bytes, start["image_url"], "image_url")
            mask = (
                await run_in_threadpool(self._bytes, start["mask_url"], "mask_url")
                if "mask_url" in start
                else None
            )

            def on_output(out: live.Output) -> None:
                loop.call_soon_threadsafe(self._queue, out)

            session = await run_in_threadpool(live.LiveSession, image, options, on_output, mask)
        except InputError as e:
            raise _Refused(type(e).__name__, f"{e.field}: {e.message}") from e
        self.session, self.fps = session, options.fps
        sender = asyncio.create_task(self._send_outputs())
        try:
            w, h = session.rig.size
            await self._send({"type": "started", "width": w, "height": h, "faces": session.rig.faces_note})
            await self._stream(sender)
            await sender
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            await run_in_threadpool(session.close)

    def _options(self, start: dict[str, Any]) -> live.LiveOptions:
        limit = self.settings.live_max_s or None
        try:
            options = live.LiveOptions(
                resolution=start.get("resolution", "720p"),
                prompt=start.get("prompt", "") or "",
                seed=start.get("seed", 0),
                turbo_mode=bool(start.get("turbo_mode", False)),
                sample_rate=start.get("sample_rate", 16000),
                max_s=limit,
                max_ahead_s=self.settings.live_buffer_s,
            )
        except TypeError as e:
            raise _Refused("INVALID_START", f"the start message has a value of the wrong type: {e}") from e
        options.validate()
        return options

    def _bytes(self, value: Any, field: str) -> bytes:
        if not isinstance(value, str):
            raise InputError(
                f"{field} must be a data: URI or an http(s) URL, got {type(value).__name__}", field
            )
        if value.startswith("data:"):
            data = inputs.decode_data_uri(value, field, self.settings.max_data_uri_bytes)
            sniff.check(field, data)
            return data
        ref = inputs.accept(
            value, field, self.ctx.files, self.ctx.guard, {self.ws.headers.get("host", "").lower()}, "live", 0
        )
        loaded = inputs.load(
            ref,
            field,
            self.ctx.files,
            self.ctx.guard,
            self.settings.max_fetch_bytes,
            self.settings.fetch_timeout_s,
        )
        return loaded if isinstance(loaded, bytes) else loaded.read_bytes()

    async def _stream(self, sender: asyncio.Task) -> None:
        """Audio in until the end message (or the session ends on its own)."""
        assert self.session is not None
        while not sender.done():
            message = await self._receive()
            if message is None:
                continue
            unknown = set(message) - _STREAM_KEYS
            if unknown:
                await self._error(
                    "INVALID_MESSAGE", f"unknown keys {sorted(unknown)}; allowed: {sorted(_STREAM_KEYS)}"
                )
                continue
            try:
                if "prompt" in message:
                    self.session.set_prompt(str(message["prompt"]))
                if "audio" in message:
                    self.session.feed_pcm(_binary(message["audio"], "audio"))
                if "audio_file" in message:
                    data = _binary(message["audio_file"], "audio_file")
                    await run_in_threadpool(self.session.feed_encoded, data)
            except LiveLimitError as e:
                raise _Refused("AUDIO_LIMIT", e.message) from e
            except LiveStreamError as e:
                await self._error("INVALID_AUDIO", e.message)
                continue
            except InputError as e:  # a prompt too long
                await self._error("INVALID_OPTION", f"{e.field}: {e.message}")
                continue
            if message.get("end"):
                self.session.finish()
                return

    async def _receive(self, first: bool = False) -> dict[str, Any] | None:
        """The next message as a map; None (after an x-fal-error) for one that is unusable."""
        event = await self.ws.receive()
        if event["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(event.get("code", 1000))
        data = event.get("bytes")
        if data is None:
            raise _Refused("INVALID_MESSAGE", "messages are msgpack maps in binary frames; a text frame came")
        limit = 4 * self.settings.max_data_uri_bytes if first else self.settings.live_max_message_bytes
        if len(data) > limit:
            reason = (
                f"a message of {len(data)} bytes came; at most {limit} are accepted (live_max_message_bytes)"
            )
            if first:
                raise _Refused("MESSAGE_TOO_LARGE", reason, _CLOSE_TOO_BIG)
            await self._error("MESSAGE_TOO_LARGE", reason)
            return None
        try:
            message = msgpack.unpackb(data, raw=False)
        except (ValueError, msgpack.UnpackException) as e:
            message = e
        if not isinstance(message, dict):
            reason = f"a message is not a msgpack map ({type(message).__name__})"
            if first:
                raise _Refused("INVALID_MESSAGE", reason)
            await self._error("INVALID_MESSAGE", reason)
            return None
        return message

    def _queue(self, out: live.Output) -> None:
        """In the event loop: an output of the session; a client that leaves too much video
        unread is dropped (the session stops at once, the socket closes with the reason)."""
        if isinstance(out, live.Media):
            self.unsent_frames += 1
            limit = self.settings.live_unsent_s
            if self.unsent_frames > limit * self.fps and self.session is not None:
                reason = (
                    f"the client is not reading: {self.unsent_frames / self.fps:.1f} s of video are unsent; "
                    f"at most {limit:g} s may wait (live_unsent_s)"
                )
                threading.Thread(target=self.session.close, daemon=True).start()
                self.outputs.put_nowait(None)
                self.dropping = asyncio.ensure_future(_close(self.ws, _Refused("CLIENT_NOT_READING", reason)))
                return
        self.outputs.put_nowait(out)

    async def _send_outputs(self) -> None:
        while (out := await self.outputs.get()) is not None:
            if isinstance(out, live.Media):
                self.unsent_frames -= 1
            if isinstance(out, live.Failed):
                raise _Refused("LIVE_SESSION_FAILED", out.message, _CLOSE_ERROR)
            await self._send({"type": type(out).__name__.lower(), **asdict(out)})
            if isinstance(out, live.Done):
                await self.ws.close(_CLOSE_NORMAL)
                return

    async def _send(self, message: dict[str, Any]) -> None:
        await self.ws.send_bytes(msgpack.packb(message, use_bin_type=True))

    async def _error(self, error: str, reason: str) -> None:
        await self.ws.send_text(json.dumps({"type": "x-fal-error", "error": error, "reason": reason}))


def _binary(value: Any, key: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise LiveStreamError(f"{key} must be msgpack binary (bin), got {type(value).__name__}", key)
    return bytes(value)


async def _close(ws: WebSocket, e: _Refused, linger_s: float = 0.0) -> None:
    """Send the x-fal-error and close with its reason; a client gone or stuck is let go.
    `linger_s`: first wait that long for the client's first message (a client that sends
    before it reads, as `realtime()` users do, then reads the error instead of a closed
    socket)."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            ws.send_text(json.dumps({"type": "x-fal-error", "error": e.error, "reason": e.reason})), 2.0
        )
    if linger_s:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.receive(), linger_s)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(ws.close(e.code, e.reason[:120]), 2.0)

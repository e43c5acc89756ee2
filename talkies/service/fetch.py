"""Fetching input URLs (and posting webhooks) without letting callers reach internal networks.

Why it works this way: an SSRF check on the URL text alone is easy to get around (a public
looking name that resolves to 10.0.0.5, DNS that changes between the check and the connect, a
redirect to 169.254.169.254). So the check sits where the socket is opened: the HTTP client's
network backend resolves the host itself, refuses if any address is loopback, private,
link-local, multicast, reserved or otherwise not globally routable (cloud metadata services
live in those ranges), and then connects to exactly the address it vetted. Every redirect opens
a new connection through the same backend, so it is checked again. Environment proxies are
ignored (a proxy would make the connect target the proxy, not the host).
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin

import httpcore
import httpx

from talkies.errors import Cancelled
from talkies.service.errors import BlockedAddressError, FetchError
from talkies.service.urls import HttpUrl, parse_http_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "talkies-service/0.1"
MAX_REDIRECTS = 5


def resolve(host: str, port: int) -> list[str]:
    """Addresses of `host`, as the system resolver gives them. Tests replace this function."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class Guard:
    """Which addresses outgoing requests may reach."""

    # Allow every address (the guard is off).
    allow_private: bool = False
    # Host names or networks ("10.1.0.0/16", "127.0.0.1/32", "media.internal") allowed anyway.
    allow: tuple[str, ...] = ()

    def addresses(self, host: str, port: int) -> list[str]:
        """Resolve `host` and return its addresses; BlockedAddressError if any is off limits."""
        host = host.strip("[]").lower().rstrip(".")
        try:
            found = [host] if _literal(host) else resolve(host, port)
        except OSError as e:
            raise FetchError(f"host {host!r} does not resolve ({e})") from e
        if self.allow_private or host in self.allow:
            return found
        for address in found:
            self.check_address(host, address)
        return found

    def check_address(self, host: str, address: str) -> None:
        ip = _unmapped(ipaddress.ip_address(address.split("%")[0]))
        if _blocked(ip) and not any(ip in net for net in self._networks()):
            shown = host if host == address else f"{host} ({address})"
            raise BlockedAddressError(
                f"{shown} is a {_kind(ip)} address; requests to loopback, private, link-local and "
                "metadata addresses are refused (allow them with `talkies serve --fetch-allow "
                "HOST_OR_NETWORK` or --allow-private-urls)"
            )

    def check_url_text(self, url: str, field: str = "url") -> HttpUrl:
        """Cheap check without DNS, for request validation: the URL's syntax (urls.py), scheme,
        host, literal addresses. Returns the parsed URL."""
        parsed = parse_http_url(url, field)
        host = parsed.host
        allowed = self.allow_private or host in self.allow
        if (host == "localhost" or host.endswith(".localhost")) and not allowed:
            self.check_address(host, "127.0.0.1")  # always loopback, whatever DNS says
        elif _literal(host):
            self.addresses(host, parsed.port)
        return parsed

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        nets = []
        for item in self.allow:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # a host name, matched in addresses()
        return nets


def fetch(
    url: str,
    field: str,
    guard: Guard,
    max_bytes: int,
    timeout_s: float,
    stop: Callable[[], bool] = lambda: False,
) -> bytes:
    """GET `url` and return its body: status 200 only, at most `max_bytes` both as sent and
    once decoded (gzip, deflate), within `timeout_s` overall (connects, headers, redirects and
    body together). Raises FetchError (an InputError about `field`) naming the URL and the
    reason, or Cancelled as soon as (within ~0.25 s) `stop()` says so."""
    body = io.BytesIO()
    fetch_into(body, url, field, guard, max_bytes, timeout_s, stop)
    return body.getvalue()


def fetch_to(
    path: Path,
    url: str,
    field: str,
    guard: Guard,
    max_bytes: int,
    timeout_s: float,
    stop: Callable[[], bool] = lambda: False,
) -> Path:
    """As fetch(), writing the body to `path` as it arrives (memory stays flat whatever the
    size); `path` is removed again if the fetch fails."""
    try:
        with path.open("wb") as out:
            fetch_into(out, url, field, guard, max_bytes, timeout_s, stop)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def fetch_into(
    sink: BinaryIO,
    url: str,
    field: str,
    guard: Guard,
    max_bytes: int,
    timeout_s: float,
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """The body of `url` written to `sink`, under fetch()'s rules."""
    checked = parse_http_url(url, field)
    shown = _shown(url)
    limits = Limits(time.monotonic() + timeout_s, stop)
    try:
        with GuardedTransport(guard, limits) as transport:
            for _ in range(MAX_REDIRECTS + 1):
                response = _get(transport, checked.text, limits)
                try:
                    location = response.headers.get("location") if response.is_redirect else None
                    if location is None:
                        if response.status_code != 200:
                            raise FetchError(f"{field} {shown} answered HTTP {response.status_code}", field)
                        _read_capped(response, sink, field, shown, max_bytes, limits)
                        return
                finally:
                    response.close()
                checked = _redirect_target(checked.text, location, field, shown)
            raise FetchError(f"{field} {shown} redirects more than {MAX_REDIRECTS} times", field)
    except BlockedAddressError as e:
        raise BlockedAddressError(f"{field} {shown}: {e.message}", field) from e
    except FetchError as e:
        raise type(e)(e.message if e.field == field else f"{field} {shown}: {e.message}", field) from e
    except (httpx.TimeoutException, httpcore.TimeoutException) as e:  # httpcore's: from Limits
        raise FetchError(
            f"{field} {shown} timed out (limit {timeout_s:g} s for the whole download)", field
        ) from e
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as e:
        raise FetchError(f"{field} {shown} could not be fetched: {type(e).__name__}: {e}", field) from e


def post_json(
    url: str, body: bytes, guard: Guard, timeout_s: float, headers: dict[str, str] | None = None
) -> int:
    """POST `body` (JSON text, sent byte for byte: it may be signed) with `headers`; returns the
    status code (no redirects are followed). Every way it can fail (a bad URL, a refused address,
    the network) is a FetchError."""
    checked = parse_http_url(url, "fal_webhook")
    limits = Limits(time.monotonic() + timeout_s, lambda: False)
    sent = {"Content-Type": "application/json", **(headers or {})}
    try:
        with _client(guard, limits) as client:
            return client.post(checked.text, content=body, headers=sent).status_code
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, httpcore.TimeoutException) as e:
        raise FetchError(f"fal_webhook {_shown(url)}: {type(e).__name__}: {e}", "fal_webhook") from e


class Limits:
    """The overall deadline (time.monotonic()) of one fetch, and how it is told to stop
    (`stop` is asked at most every STOP_CHECK_S: it may be a database query)."""

    STOP_CHECK_S = 0.2

    def __init__(self, deadline: float, stop: Callable[[], bool]) -> None:
        self.deadline, self._stop, self._checked = deadline, stop, 0.0

    def left_s(self) -> float:
        """Seconds left; raises httpcore.ReadTimeout once there are none, Cancelled if stopped."""
        now = time.monotonic()
        if now - self._checked >= self.STOP_CHECK_S:
            self._checked = now
            if self._stop():
                raise Cancelled("the request was cancelled while an input was downloading")
        if now >= self.deadline:
            raise httpcore.ReadTimeout("the overall deadline of the download passed")
        return self.deadline - now


def _redirect_target(current: str, location: str, field: str, shown: str) -> HttpUrl:
    try:
        target = urljoin(current, location)
    except ValueError as e:
        raise FetchError(f"{field} {shown} redirects to an invalid URL ({e})", field) from e
    try:
        return parse_http_url(target, field)
    except FetchError as e:
        raise FetchError(f"{field} {shown} redirects to a URL that is refused: {e.message}", field) from e


def _get(transport: httpx.HTTPTransport, url: str, limits: Limits) -> httpx.Response:
    """One GET straight through the transport: no client, so no redirect handling of httpx's
    own (which parses a Location before anyone can refuse it) and no content decoding
    (_read_capped undoes encodings itself, counting the inflated bytes)."""
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": ", ".join(_DECODERS)}
    timeout = httpx.Timeout(limits.left_s()).as_dict()
    return transport.handle_request(
        httpx.Request("GET", url, headers=headers, extensions={"timeout": timeout})
    )


def _client(guard: Guard, limits: Limits) -> httpx.Client:
    return httpx.Client(
        transport=GuardedTransport(guard, limits),
        follow_redirects=False,
        timeout=httpx.Timeout(max(0.001, limits.deadline - time.monotonic())),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def _read_capped(
    response: httpx.Response, sink: BinaryIO, field: str, shown: str, max_bytes: int, limits: Limits
) -> None:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{field} {shown} is {declared} bytes; the limit is {max_bytes}", field)
    too_large = FetchError(f"{field} {shown} is larger than {max_bytes} bytes, the limit", field)
    decoders = _decoders(response.headers.get("content-encoding", ""), field, shown)
    received = decoded = 0
    for chunk in response.iter_raw():
        received += len(chunk)
        if received > max_bytes:
            raise too_large
        for piece in _decode(chunk, decoders, field, shown):
            decoded += len(piece)
            if decoded > max_bytes:
                raise too_large
            sink.write(piece)
        limits.left_s()
    for decoder in decoders:
        decoder.finish(field, shown)


def _decode(data: bytes, decoders: list[_Inflater], field: str, shown: str) -> Iterator[bytes]:
    """`data` through each decoder in turn, in pieces of at most _Inflater.STEP bytes."""
    if not decoders:
        yield data
        return
    for piece in decoders[0].feed(data, field, shown):
        yield from _decode(piece, decoders[1:], field, shown)


class _Inflater:
    """Streaming gzip/deflate decoding in pieces of at most STEP bytes, so a compression bomb
    costs STEP bytes of memory at a time and stops when the caller's count passes the cap."""

    STEP = 1 << 20

    def __init__(self, wbits: int) -> None:
        self.wbits = wbits
        self._z = zlib.decompressobj(wbits)
        self._started = False

    def feed(self, data: bytes, field: str, shown: str) -> Iterator[bytes]:
        while data:
            try:
                piece = self._z.decompress(data, self.STEP)
            except zlib.error as e:
                if self._started or self.wbits != zlib.MAX_WBITS:
                    raise FetchError(f"{field} {shown}: its compressed body is corrupt ({e})", field) from e
                self._z, self.wbits = zlib.decompressobj(-zlib.MAX_WBITS), -zlib.MAX_WBITS  # raw deflate
                continue
            self._started = True
            data = self._z.unconsumed_tail
            if self._z.eof and self._z.unused_data:  # gzip allows several members back to back
                data, self._z = self._z.unused_data, zlib.decompressobj(self.wbits)
            if piece:
                yield piece

    def finish(self, field: str, shown: str) -> None:
        if self._started and not self._z.eof:
            raise FetchError(f"{field} {shown}: its compressed body is cut short", field)


_DECODERS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _decoders(header: str, field: str, shown: str) -> list[_Inflater]:
    """Decoders for a Content-Encoding header, in the order they apply (the last one first)."""
    names = [name.strip().lower() for name in header.split(",") if name.strip()]
    names = [name for name in names if name != "identity"]
    unknown = [name for name in names if name not in _DECODERS]
    if unknown:
        raise FetchError(
            f"{field} {shown} is sent with Content-Encoding {header!r}; supported: gzip, deflate", field
        )
    if len(names) > 2:
        raise FetchError(
            f"{field} {shown} is compressed {len(names)} times over; at most 2 are accepted", field
        )
    return [_Inflater(_DECODERS[name]) for name in reversed(names)]


def _shown(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "..."


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket opener, vetting and pinning the address it connects to; its streams
    keep to the fetch's overall deadline."""

    def __init__(self, guard: Guard, limits: Limits) -> None:
        self.guard, self.limits = guard, limits

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self.guard.addresses(host, port):
            timeout = _clamp(timeout, self.limits.left_s())
            try:
                stream = super().connect_tcp(address, port, timeout, local_address, socket_options)
                return _DeadlineStream(stream, self.limits)
            except httpcore.ConnectError as e:
                failure = e
        raise failure or httpcore.ConnectError(f"no address for {host}")


class _DeadlineStream(httpcore.NetworkStream):
    """A socket whose every wait ends by the fetch's deadline, in steps of at most STEP_S so a
    trickle of bytes cannot stretch it and a cancel is noticed while waiting."""

    STEP_S = 0.25

    def __init__(self, stream: httpcore.NetworkStream, limits: Limits) -> None:
        self._stream, self._limits = stream, limits

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        give_up = None if timeout is None else time.monotonic() + timeout
        while True:
            step = _clamp(timeout, min(self._limits.left_s(), self.STEP_S))
            try:
                return self._stream.read(max_bytes, step)
            except httpcore.ReadTimeout:
                if give_up is not None and time.monotonic() >= give_up:
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout, self._limits.left_s()))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, _clamp(timeout, self._limits.left_s()))
        return _DeadlineStream(stream, self._limits)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


def _clamp(timeout: float | None, most: float) -> float:
    return most if timeout is None else min(timeout, most)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport with the guarded socket opener. TLS still verifies the
    certificate against the host *name* (SNI), only the TCP connect is pinned."""

    def __init__(self, guard: Guard, limits: Limits) -> None:
        super().__init__(trust_env=False)
        # The same pool HTTPTransport builds, plus our network backend (httpx has no parameter).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(guard, limits),
        )


def _literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def _unmapped(ip: IPAddress) -> IPAddress:
    """::ffff:10.0.0.1 and 64:ff9b::a00:1 style wrappers are judged by the IPv4 inside."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
    return ip


def _blocked(ip: IPAddress) -> bool:
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


_KINDS: list[tuple[str, Callable[[IPAddress], bool]]] = [
    ("loopback", lambda ip: ip.is_loopback),
    ("link-local (cloud metadata)", lambda ip: ip.is_link_local),
    ("private", lambda ip: ip.is_private),
    ("multicast", lambda ip: ip.is_multicast),
]


def _kind(ip: IPAddress) -> str:
    return next((name for name, test in _KINDS if test(ip)), "non-public")

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

import ipaddress
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from talkies.service.errors import BlockedAddressError, FetchError

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
                "metadata addresses are refused (see fetch_allow_private / fetch_allow in the settings)"
            )

    def check_url_text(self, url: str) -> None:
        """Cheap check without DNS, for request validation: scheme, host, literal addresses."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{url[:100]!r} is not an http(s) URL with a host")
        host = parts.hostname.lower().rstrip(".")
        allowed = self.allow_private or host in self.allow
        if (host == "localhost" or host.endswith(".localhost")) and not allowed:
            self.check_address(host, "127.0.0.1")  # always loopback, whatever DNS says
        elif _literal(host):
            self.addresses(host, parts.port or 80)

    def _networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        nets = []
        for item in self.allow:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # a host name, matched in addresses()
        return nets


def fetch(url: str, field: str, guard: Guard, max_bytes: int, timeout_s: float) -> bytes:
    """GET `url` and return its body: status 200 only, at most `max_bytes`, within `timeout_s`
    overall. Raises FetchError (an InputError about `field`) naming the URL and the reason."""
    shown = url if len(url) <= 200 else url[:200] + "..."
    try:
        with _client(guard, timeout_s) as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise FetchError(f"{field} {shown} answered HTTP {response.status_code}", field)
            return _read_capped(response, field, shown, max_bytes, time.monotonic() + timeout_s)
    except BlockedAddressError as e:
        raise BlockedAddressError(f"{field} {shown}: {e.message}", field) from e
    except FetchError as e:
        raise type(e)(e.message if e.field == field else f"{field} {shown}: {e.message}", field) from e
    except httpx.TooManyRedirects as e:
        raise FetchError(f"{field} {shown} redirects more than {MAX_REDIRECTS} times", field) from e
    except httpx.TimeoutException as e:
        raise FetchError(f"{field} {shown} timed out (limit {timeout_s:g} s)", field) from e
    except httpx.HTTPError as e:
        raise FetchError(f"{field} {shown} could not be fetched: {type(e).__name__}: {e}", field) from e


def post_json(url: str, body: Any, guard: Guard, timeout_s: float) -> int:
    """POST `body` as JSON; returns the status code (no redirects are followed)."""
    with _client(guard, timeout_s, follow=False) as client:
        return client.post(url, json=body).status_code


def _client(guard: Guard, timeout_s: float, follow: bool = True) -> httpx.Client:
    return httpx.Client(
        transport=GuardedTransport(guard),
        follow_redirects=follow,
        max_redirects=MAX_REDIRECTS,
        timeout=httpx.Timeout(timeout_s),
        headers={"User-Agent": USER_AGENT},
        trust_env=False,
    )


def _read_capped(response: httpx.Response, field: str, shown: str, max_bytes: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{field} {shown} is {declared} bytes; the limit is {max_bytes}", field)
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"{field} {shown} is larger than {max_bytes} bytes, the limit", field)
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("download too slow")
    return bytes(body)


class _GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket opener, vetting and pinning the address it connects to."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard

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
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as e:
                failure = e
        raise failure or httpcore.ConnectError(f"no address for {host}")


class GuardedTransport(httpx.HTTPTransport):
    """httpx's default transport with the guarded socket opener. TLS still verifies the
    certificate against the host *name* (SNI), only the TCP connect is pinned."""

    def __init__(self, guard: Guard) -> None:
        super().__init__(trust_env=False)
        # The same pool HTTPTransport builds, plus our network backend (httpx has no parameter).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            network_backend=_GuardedBackend(guard),
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

"""Parsing the http(s) URLs callers hand us (inputs, redirects, webhooks) before anything uses them.

Why: every library on the way has its own idea of a URL and its own exception for a bad one
(urllib's ValueError for `http://[` or port 99999, httpx's InvalidURL for `0177.0.0.1`, idna's
IDNAError for `xn--`, UnicodeEncodeError for a lone surrogate). So one strict parser runs
first and turns all of them into one FetchError naming the field, and hands on a canonical,
ASCII-only URL that none of them can trip over. What it accepts is deliberately narrow:
http and https, a host that is a dotted-quad IPv4, a bracketed IPv6 or a DNS name (IDNA
names are converted to their xn-- form), a port from 1 to 65535, no control characters.
Numeric hosts in other notations (octal `0177.0.0.1`, `2130706433`, `0x7f.1`) are refused:
resolvers read them as addresses, and which address differs between libraries.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import idna

from talkies.service.errors import FetchError

MAX_URL_CHARS = 8192
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


@dataclass(frozen=True)
class HttpUrl:
    """A checked URL: `text` is its canonical ASCII form, `host` without brackets."""

    text: str
    scheme: str
    host: str
    port: int


def parse_http_url(value: str, field: str) -> HttpUrl:
    """The canonical form of an http(s) URL, or FetchError (an InputError about `field`)."""
    shown = _shown(value)
    if len(value) > MAX_URL_CHARS:
        raise FetchError(
            f"{field} is a URL of {len(value)} characters; at most {MAX_URL_CHARS} are accepted", field
        )
    if _CONTROL.search(value):
        raise FetchError(f"{field} {shown} contains spaces or control characters (NUL, CR, LF, ...)", field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise FetchError(f"{field} {shown} is not valid Unicode (a lone surrogate)", field) from e
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as e:  # "Invalid IPv6 URL", "Port out of range 0-65535", "Port could not be cast"
        raise FetchError(f"{field} {shown} is not a valid URL ({e})", field) from e
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchError(f"{field} {shown} is not an http(s) URL (scheme {scheme or 'missing'!r})", field)
    host = _ascii_host(parts.hostname or "", field, shown)
    port = port if port is not None else (443 if scheme == "https" else 80)
    if port == 0:
        raise FetchError(f"{field} {shown} has port 0; ports run from 1 to 65535", field)
    netloc = (f"[{host}]" if ":" in host else host) + (f":{parts.port}" if parts.port is not None else "")
    if "@" in parts.netloc:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    path = _ascii_text(parts.path or "/")
    text = urlunsplit((scheme, netloc, path, _ascii_text(parts.query), ""))
    return HttpUrl(text, scheme, host, port)


def _ascii_host(host: str, field: str, shown: str) -> str:
    if not host:
        raise FetchError(f"{field} {shown} is not an http(s) URL with a host", field)
    if ":" in host:  # urlsplit only lets a colon through inside brackets
        try:
            return str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError as e:
            raise FetchError(f"{field} {shown}: [{host}] is not an IPv6 address", field) from e
    host = unicodedata.normalize("NFKC", host).lower().rstrip(".")
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise FetchError(f"{field} {shown}: the host is not a valid domain name ({e})", field) from e
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels) or _NUMERIC_LABEL.match(labels[-1]):
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError as e:
            raise FetchError(
                f"{field} {shown}: {host!r} is not a dotted-quad IPv4 address (octal, hex and integer "
                "forms are refused)",
                field,
            ) from e
    for label in labels:
        if not _LABEL.match(label) or (label.startswith("xn--") and not _valid_punycode(label)):
            raise FetchError(f"{field} {shown}: the host {host!r} is not a valid domain name", field)
    return host


def _valid_punycode(label: str) -> bool:
    try:
        idna.decode(label)
    except (idna.IDNAError, UnicodeError):
        return False
    return True


def _ascii_text(text: str) -> str:
    """Path or query with non-ASCII characters percent-encoded (as UTF-8), the rest untouched."""
    if text.isascii():
        return text
    return "".join(c if c.isascii() else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)


def _shown(value: str) -> str:
    text = value if len(value) <= 100 else value[:100] + "..."
    return ascii(text)

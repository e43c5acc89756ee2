"""The `*_url` inputs: accepted when a request arrives, turned into bytes when the job runs.

At submit time (API process, cheap work only) each value becomes a reference:
  - `data:` URI      -> decoded, sniffed and stored as a file of the job: {"file": id}
  - this server's own `/files/{id}/{name}` URL -> {"file": id}, read from local storage later,
    no HTTP round trip (whatever host name the client used for us)
  - any other URL    -> {"url": url}, checked for scheme and literal addresses now, fetched by
    the worker through the SSRF guard (fetch.py) when the job runs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from talkies.errors import InputError
from talkies.formats import probe_duration_s
from talkies.options import AnimateOptions
from talkies.service import sniff
from talkies.service.errors import FetchError
from talkies.service.fetch import Guard, fetch, fetch_to
from talkies.service.files import FILE_PATH, FileStore, StoredFile
from talkies.service.urls import parse_http_url

Ref = dict[str, str]
_EXTENSIONS = {"image/jpeg": "jpg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "image/svg+xml": "svg"}


def accept(
    value: str,
    field: str,
    files: FileStore,
    guard: Guard,
    own_hosts: set[str],
    owner: str,
    max_data_bytes: int,
) -> Ref:
    """The reference a job stores for input `field`; raises InputError for unusable values."""
    if not value.strip():
        raise InputError(f"{field} is empty; expected a data: URI or an http(s) URL", field)
    if value.startswith("data:"):
        data = decode_data_uri(value, field, max_data_bytes)
        content_type = sniff.check(field, data)
        stored = files.put_bytes(
            data, f"{field.removesuffix('_url')}.{extension(content_type)}", content_type, owner=owner
        )
        return {"file": stored.id}
    url = parse_http_url(value, field).text  # FetchError (422) for anything malformed
    own = own_file(url, field, files, own_hosts)
    if own is not None:
        with files.path(own).open("rb") as f:
            sniff.check(field, f.read(64))
        return {"file": own.id}
    try:
        guard.check_url_text(url, field)
    except FetchError as e:
        raise type(e)(e.message if e.message.startswith(field) else f"{field}: {e.message}", field) from e
    return {"url": url}


def load(
    ref: Ref,
    field: str,
    files: FileStore,
    guard: Guard,
    max_bytes: int,
    timeout_s: float,
    stop: Callable[[], bool] = lambda: False,
    folder: Path | None = None,
) -> bytes | Path:
    """The bytes of a stored reference (worker side); a download ends (Cancelled) once
    `stop()` says so. With `folder`, a URL is downloaded into a file there and its path
    returned (the worker's memory then does not hold what it downloads)."""
    if "file" in ref:
        stored = files.get(ref["file"])
        if stored is None:
            raise InputError(f"{field}: the uploaded file {ref['file']} has expired or was deleted", field)
        return files.read_bytes(stored)
    if folder is None:
        data = fetch(ref["url"], field, guard, max_bytes, timeout_s, stop)
        sniff.check(field, data)
        return data
    path = fetch_to(folder / field.removesuffix("_url"), ref["url"], field, guard, max_bytes, timeout_s, stop)
    with path.open("rb") as f:
        sniff.check(field, f.read(64))
    return path


def decode_data_uri(value: str, field: str, max_bytes: int) -> bytes:
    """Bytes of `data:[<type>][;base64],<data>`, at most `max_bytes` of them."""
    header, sep, body = value.partition(",")
    if not sep:
        raise InputError(f"{field} is a data: URI without a ',' before its data", field)
    if len(body) * 3 // 4 > max_bytes:
        raise InputError(
            f"{field} holds about {len(body) * 3 // 4} bytes inline; the limit is {max_bytes} "
            "(upload larger files and pass their URL)",
            field,
        )
    try:
        data = (
            base64.b64decode(body, validate=False) if header.endswith(";base64") else unquote_to_bytes(body)
        )
    except (binascii.Error, ValueError) as e:
        raise InputError(f"{field} is a data: URI whose base64 does not decode ({e})", field) from e
    if not data:
        raise InputError(f"{field} is an empty data: URI", field)
    return data


def own_file(url: str, field: str, files: FileStore, own_hosts: set[str]) -> StoredFile | None:
    """The stored file an URL of ours points at; None if the URL is not one of ours."""
    parts = urlsplit(url)
    match = FILE_PATH.match(parts.path)
    if parts.scheme not in ("http", "https") or not match:
        return None
    found = files.get(match.group(1))
    if found is not None and found.name == unquote_to_bytes(match.group(2)).decode("utf-8", "replace"):
        return found
    if parts.netloc.lower() in own_hosts:
        raise InputError(f"{field} {url} does not exist on this server (or has expired)", field)
    return None


def check_audio_length(ref: Ref, files: FileStore, options: AnimateOptions) -> None:
    """Refuse a stored audio file longer than the options allow (AudioTooLongError), when its
    header tells its length; the engine checks again after decoding."""
    stored = files.get(ref["file"]) if "file" in ref else None
    duration = probe_duration_s(files.path(stored)) if stored else None
    if duration is not None:
        options.check_audio_duration(duration)


def check_audio_bytes(data: bytes | Path, options: AnimateOptions) -> None:
    """As check_audio_length, for audio fetched by the worker (its bytes or its file): a file
    whose header says it is too long is refused before the engine decodes any of it."""
    duration = probe_duration_s(data)
    if duration is not None:
        options.check_audio_duration(duration)


def extension(content_type: str) -> str:
    return _EXTENSIONS.get(content_type, content_type.rsplit("/", 1)[-1].removeprefix("x-"))

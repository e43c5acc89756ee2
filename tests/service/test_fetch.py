"""The SSRF guard and the input fetcher (no network beyond a file server on 127.0.0.1).

Every blocked case asserts BlockedAddressError specifically: if the guard let a request
through, the fetch would fail differently (connection refused, timeout) and the test fails.
Redirect cases start at a host name the guard allows (resolved, by a fake resolver, to the
local file server) and redirect to a forbidden target; a control case redirects to an allowed
target and must succeed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from talkies.errors import InvalidImageError
from talkies.service import fetch, inputs
from talkies.service.errors import BlockedAddressError, FetchError
from talkies.service.fetch import Guard

from .helpers import png_bytes

PNG = png_bytes()
BLOCKED_URLS = {
    "loopback-v4": "http://127.0.0.1:{port}/png",
    "localhost": "http://localhost:{port}/png",
    "loopback-v6": "http://[::1]:{port}/png",
    "10/8": "http://10.20.30.40/png",
    "172.16/12": "http://172.16.5.4/png",
    "172.31-end-of-172.16/12": "http://172.31.255.254/png",
    "192.168/16": "http://192.168.1.1/png",
    "metadata": "http://169.254.169.254/latest/meta-data/",
    "v4-mapped-v6": "http://[::ffff:127.0.0.1]:{port}/png",
    "unspecified": "http://0.0.0.0:{port}/png",
    "carrier-grade-nat": "http://100.64.0.1/png",
    "unique-local-v6": "http://[fd00::1]/png",
}


class _Files(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.end_headers()
            return
        body = {
            "/png": PNG,
            "/html": b"<!DOCTYPE html><html>oops</html>",
            "/big": b"\x89PNG" + b"x" * 5000,
        }.get(url.path)
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names the tests resolve; anything else goes to the system resolver."""
    names: dict[str, list[str]] = {"files.example": ["127.0.0.1"]}
    system = fetch.resolve
    monkeypatch.setattr(fetch, "resolve", lambda host, port: names.get(host) or system(host, port))
    return names


def get(url: str, guard: Guard, max_bytes: int = 1 << 20) -> bytes:
    return fetch.fetch(url, "image_url", guard, max_bytes, timeout_s=3)


@pytest.mark.parametrize("name", list(BLOCKED_URLS))
def test_guard_refuses(name: str, port: int) -> None:
    with pytest.raises(BlockedAddressError, match="address"):
        get(BLOCKED_URLS[name].format(port=port), Guard())


def test_public_looking_name_resolving_to_private_is_refused(fake_dns: dict, port: int) -> None:
    fake_dns["cdn.public-looking.com"] = ["10.0.0.5"]
    with pytest.raises(BlockedAddressError, match=r"cdn.public-looking.com \(10.0.0.5\) is a private"):
        get(f"http://cdn.public-looking.com:{port}/png", Guard())


def test_name_with_one_private_address_among_public_ones_is_refused(fake_dns: dict, port: int) -> None:
    fake_dns["mixed.example"] = ["93.184.216.34", "192.168.0.7"]
    with pytest.raises(BlockedAddressError, match=r"192\.168\.0\.7"):
        get(f"http://mixed.example:{port}/png", Guard())


@pytest.mark.parametrize("name", list(BLOCKED_URLS))
def test_redirect_to_forbidden_target_is_refused(name: str, port: int, fake_dns: dict) -> None:
    target = BLOCKED_URLS[name].format(port=port)
    with pytest.raises(BlockedAddressError):
        get(f"http://files.example:{port}/redirect?to={target}", Guard(allow=("files.example",)))


def test_redirect_to_name_resolving_to_private_is_refused(port: int, fake_dns: dict) -> None:
    fake_dns["evil.example"] = ["172.20.0.3"]
    start = f"http://files.example:{port}/redirect?to=http://evil.example:{port}/png"
    with pytest.raises(BlockedAddressError, match=r"evil\.example"):
        get(start, Guard(allow=("files.example",)))


def test_redirect_to_allowed_target_is_followed(port: int, fake_dns: dict) -> None:
    start = f"http://files.example:{port}/redirect?to=http://files.example:{port}/png"
    assert get(start, Guard(allow=("files.example",))) == PNG


def test_allowed_network_is_fetched(port: int) -> None:
    assert get(f"http://127.0.0.1:{port}/png", Guard(allow=("127.0.0.1/32",))) == PNG


def test_guard_off_fetches_anything(port: int) -> None:
    assert get(f"http://localhost:{port}/png", Guard(allow_private=True)) == PNG


def test_size_cap(port: int) -> None:
    with pytest.raises(FetchError, match="5004 bytes; the limit is 1000"):
        get(f"http://127.0.0.1:{port}/big", Guard(allow_private=True), max_bytes=1000)


def test_http_error_status(port: int) -> None:
    with pytest.raises(FetchError, match="answered HTTP 404"):
        get(f"http://127.0.0.1:{port}/missing", Guard(allow_private=True))


def test_html_instead_of_image_is_refused_by_sniffing(port: int, tmp_path) -> None:
    files = inputs.FileStore(tmp_path)
    ref = {"url": f"http://127.0.0.1:{port}/html"}
    with pytest.raises(InvalidImageError, match="starting with '<!DOCTYPE html><'"):
        inputs.load(ref, "image_url", files, Guard(allow_private=True), 1 << 20, 3)


def test_unresolvable_name_is_a_fetch_error() -> None:
    with pytest.raises(FetchError, match="does not resolve"):
        get("http://no-such-host.invalid/x.png", Guard())


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "http:///nohost", "x"])
def test_url_text_check_refuses_other_schemes(url: str) -> None:
    with pytest.raises(FetchError, match="not an http"):
        Guard().check_url_text(url)


@pytest.mark.parametrize("url", ["http://localhost/a.png", "http://app.localhost/a", "http://10.0.0.1/a"])
def test_url_text_check_refuses_local_names_without_dns(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: pytest.fail("no DNS lookup expected"))
    with pytest.raises(BlockedAddressError):
        Guard().check_url_text(url)


def test_url_text_check_leaves_names_to_fetch_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "resolve", lambda host, port: pytest.fail("no DNS lookup expected"))
    Guard().check_url_text("https://cdn.example.com/portrait.png")

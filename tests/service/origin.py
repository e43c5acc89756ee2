"""A hostile origin server on 127.0.0.1: the slow, lying and explosive answers an input URL
can give. Every route is deterministic, so a test states exactly what it was served.

    /png                         a small PNG
    /trickle-headers?every=S     the status line and headers one byte every S seconds
    /trickle-body?every=S        valid headers for a PNG, then its body one byte every S seconds
    /chain/N?delay=S             N redirects, each after S seconds, then /png
    /redirect?to=URL             one redirect to URL (any text, sent as it is)
    /bomb?mb=M                   `Content-Encoding: gzip, gzip`: M MB of zeros gzipped twice
    /bytes?name=KEY              a registered body (Origin.files[KEY]) with Content-Type
"""

from __future__ import annotations

import contextlib
import gzip
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .helpers import png_bytes

PNG = png_bytes()


def gzip_bomb(megabytes: int) -> bytes:
    """`megabytes` MB of zeros, gzipped twice (a few kB), made without holding them in memory."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    once = b"".join(z.compress(block) for _ in range(megabytes)) + z.flush()
    return gzip.compress(once, 9)


class Origin:
    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.hits: list[str] = []
        self._bombs: dict[int, bytes] = {}
        origin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                origin.hits.append(self.path)
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
                    origin.route(self, url.path, query)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, h: BaseHTTPRequestHandler, path: str, q: dict[str, str]) -> None:
        if path == "/png":
            self._send(h, 200, PNG, {"Content-Type": "image/png"})
        elif path == "/trickle-headers":
            raw = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\n\r\n"
            for byte in raw:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(float(q.get("every", "0.5")))
        elif path == "/trickle-body":
            h.send_response(200)
            h.send_header("Content-Type", "image/png")
            h.send_header("Content-Length", str(len(PNG)))
            h.end_headers()
            for byte in PNG:
                h.wfile.write(bytes([byte]))
                h.wfile.flush()
                time.sleep(float(q.get("every", "0.5")))
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            time.sleep(float(q.get("delay", "1")))
            target = f"/chain/{left - 1}?delay={q.get('delay', '1')}" if left > 1 else "/png"
            self._send(h, 302, b"", {"Location": target})
        elif path == "/redirect":
            self._send(h, 302, b"", {"Location": q["to"]})
        elif path == "/bomb":
            mb = int(q.get("mb", "200"))
            body = self._bombs.setdefault(mb, gzip_bomb(mb))
            self._send(h, 200, body, {"Content-Type": "image/png", "Content-Encoding": "gzip, gzip"})
        elif path == "/bytes" and q.get("name") in self.files:
            body, content_type = self.files[q["name"]]
            self._send(h, 200, body, {"Content-Type": content_type})
        else:
            self._send(h, 404, b"not here", {})

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str]) -> None:
        h.send_response(code)
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)


@contextmanager
def running_origin() -> Iterator[Origin]:
    origin = Origin()
    origin.thread.start()
    try:
        yield origin
    finally:
        origin.server.shutdown()
        origin.server.server_close()

"""How the official fal clients reach this server: the environment lines for fal-client
(Python) and the base URL for @fal-ai/client's requestMiddleware (JS). Printed at start-up and
shown by the playground, so both say exactly what to set.

fal-client 1.0.3 reads FAL_RUN_HOST and FAL_QUEUE_RUN_HOST (host[:port][/prefix], always
https) for run and queue calls; its storage hosts (rest.fal.ai, v3.fal.media) are hard-coded,
so `fal_client.upload_file` needs the constants set in code (README) or it uploads to fal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from talkies.service.settings import Settings


def python_env(settings: Settings, base_url: str) -> list[str]:
    """`NAME=value` lines for the Python client talking to `base_url`."""
    host = urlsplit(base_url).netloc
    lines = [
        "FAL_KEY=" + ("<your key>" if settings.api_keys else "local"),
        f"FAL_RUN_HOST={host}",
        f"FAL_QUEUE_RUN_HOST={host}/queue",
    ]
    if settings.tls_self_signed and settings.tls_certfile is not None:
        lines.append(f"SSL_CERT_FILE={settings.tls_certfile.parent / 'bundle.pem'}")
    return lines


def served_url(settings: Settings) -> str:
    scheme = "https" if settings.tls_certfile else "http"
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    return settings.public_url.rstrip("/") or f"{scheme}://{host}:{settings.port}"

"""A local S3-compatible server for the tests: moto's server (`moto_server`, from moto[server])."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .redis_util import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class MotoServer:
    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def storage_url(self, bucket: str, prefix: str = "talkies") -> str:
        return f"s3://{bucket}/{prefix}?endpoint_url={self.endpoint}&region=us-east-1"

    def start(self, timeout_s: float = 30) -> MotoServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        venv_bin = str(Path(sys.executable).parent)
        binary = shutil.which("moto_server", path=venv_bin) or shutil.which("moto_server")
        assert binary, "moto_server is not installed (pip install 'moto[server]')"
        log = (self.folder / "moto.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(self.endpoint + "/moto-api/", timeout=1).status_code < 500:
                    return self
            time.sleep(0.1)
        raise TimeoutError("moto_server did not start")

    def make_bucket(self, bucket: str) -> None:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **_keys())
        client.create_bucket(Bucket=bucket)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _keys() -> dict[str, str]:
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": "test"}


def set_credentials() -> None:
    for key, value in CREDENTIALS.items():
        os.environ.setdefault(key, value)

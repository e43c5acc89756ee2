"""File storage in an S3-compatible bucket (`s3://bucket/prefix` storage URLs), through boto3.

Same layout and semantics as the local FileStore (files.py), as objects: `{prefix}files/{id}/{name}`
with its metadata in `{prefix}files/{id}/.meta.json` (written last: a file without it does not
exist yet), and uploads in parts under `{prefix}uploads/{upload_id}/`. Every API node and worker
reaches the same bucket, so nothing needs a shared file system.

Readers get a local path (`path()`): the object is downloaded once into `{data_dir}/s3-cache`
and served from there (HTTP Range requests included) until the file is deleted. Credentials
come from boto3's usual chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, instance
roles); the URL's query may set `endpoint_url` (MinIO, Ceph, R2...) and `region`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from talkies.errors import InvalidOptionError
from talkies.service.errors import BadRequest, NotFound
from talkies.service.files import ID_PATTERN, FileStore, StoredFile, check_part_number, new_id, safe_name

META = ".meta.json"


def parse_s3_url(url: str) -> tuple[str, str, dict[str, str]]:
    """ "s3://bucket/some/prefix?endpoint_url=http://h:9000&region=eu-west-1" ->
    ("bucket", "some/prefix/", {"endpoint_url": ..., "region_name": ...})."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise InvalidOptionError(
            f"storage URL is {url!r}; expected s3://bucket[/prefix]", field="storage_url"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(query) - {"endpoint_url", "region"}
    if unknown:
        raise InvalidOptionError(
            f"storage URL option(s) {sorted(unknown)} unknown; allowed: endpoint_url, region",
            field="storage_url",
        )
    options = {"endpoint_url": query.get("endpoint_url"), "region_name": query.get("region")}
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else "", {k: v for k, v in options.items() if v}


class S3FileStore(FileStore):
    """FileStore on an S3 bucket; `cache_root` is local (scratch files and the read cache)."""

    def __init__(self, url: str, cache_root: Path) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, options = parse_s3_url(url)
        config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60)
        self.s3 = boto3.client("s3", config=config, **options)
        self.root = Path(cache_root)
        (self.root / "s3-cache").mkdir(parents=True, exist_ok=True)

    # ---- object helpers -----------------------------------------------------------------

    def _key(self, *parts: str) -> str:
        return self.prefix + "/".join(parts)

    def _read_json(self, key: str) -> dict[str, Any] | None:
        try:
            return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except self.s3.exceptions.NoSuchKey:
            return None

    def _write_json(self, key: str, value: dict[str, Any]) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(value).encode())

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            found.extend(page.get("Contents", []))
        return found

    def _delete_prefix(self, prefix: str) -> None:
        keys = [{"Key": obj["Key"]} for obj in self._list(prefix)]
        for i in range(0, len(keys), 1000):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": keys[i : i + 1000]})

    # ---- stored files -------------------------------------------------------------------

    def path(self, f: StoredFile) -> Path:
        """A local copy of the file (downloaded on first use)."""
        local = self.root / "s3-cache" / f.id / f.name
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=local.parent, delete=False) as tmp:
                self.s3.download_fileobj(self.bucket, self._key("files", f.id, f.name), tmp)
            Path(tmp.name).replace(local)
        return local

    def read_bytes(self, f: StoredFile) -> bytes:
        """The file's bytes, straight from the bucket (workers read inputs this way: no cache)."""
        return self.s3.get_object(Bucket=self.bucket, Key=self._key("files", f.id, f.name))["Body"].read()

    def get(self, file_id: str) -> StoredFile | None:
        if not ID_PATTERN.match(file_id):
            return None
        meta = self._read_json(self._key("files", file_id, META))
        return StoredFile(**meta) if meta else None

    def put_bytes(
        self, data: bytes, name: str, content_type: str, owner: str | None = None, ttl_s: float | None = None
    ) -> StoredFile:
        file_id, name = new_id(), safe_name(name)
        self.s3.put_object(
            Bucket=self.bucket, Key=self._key("files", file_id, name), Body=data, ContentType=content_type
        )
        return self._commit_object(file_id, name, len(data), content_type, owner, ttl_s)

    def put_path(
        self, source: Path, name: str, content_type: str, owner: str | None = None, ttl_s: float | None = None
    ) -> StoredFile:
        """Upload `source` into the bucket, then remove it."""
        stored = self._upload(new_id(), safe_name(name), source, content_type, owner, ttl_s)
        Path(source).unlink(missing_ok=True)
        return stored

    def delete(self, file_id: str) -> None:
        if ID_PATTERN.match(file_id):
            self._delete_prefix(self._key("files", file_id) + "/")
            shutil.rmtree(self.root / "s3-cache" / file_id, ignore_errors=True)

    def expired(self, now: float, default_ttl_s: float) -> list[StoredFile]:
        found = []
        for obj in self._list(self._key("files") + "/"):
            if obj["Key"].endswith("/" + META):
                f = self.get(obj["Key"].rsplit("/", 2)[-2])
                if f is not None and f.owner is None:
                    expires = f.expires_at if f.expires_at is not None else f.created_at + default_ttl_s
                    if expires <= now:
                        found.append(f)
        return found

    def _upload(
        self, file_id: str, name: str, source: Path, content_type: str, owner: str | None, ttl_s: float | None
    ) -> StoredFile:
        key = self._key("files", file_id, name)
        self.s3.upload_file(str(source), self.bucket, key, ExtraArgs={"ContentType": content_type})
        return self._commit_object(file_id, name, Path(source).stat().st_size, content_type, owner, ttl_s)

    def _commit_object(
        self, file_id: str, name: str, size: int, content_type: str, owner: str | None, ttl_s: float | None
    ) -> StoredFile:
        now = time.time()
        expires = now + ttl_s if ttl_s is not None else None
        f = StoredFile(file_id, name, content_type, size, now, owner, expires)
        self._write_json(self._key("files", file_id, META), asdict(f))  # last: the file exists now
        return f

    # ---- uploads in parts ---------------------------------------------------------------

    def start_upload(self, name: str, content_type: str, ttl_s: float | None = None) -> str:
        upload_id = new_id()
        meta = {"name": safe_name(name), "content_type": content_type, "ttl_s": ttl_s, "file_id": new_id()}
        self._write_json(self._key("uploads", upload_id, "meta.json"), meta)
        return upload_id

    def write_part(self, upload_id: str, part: int, source: Path) -> str:
        self._upload_meta(upload_id)
        check_part_number(part, source)
        size = source.stat().st_size
        self.s3.upload_file(str(source), self.bucket, self._key("uploads", upload_id, f"part-{part:05d}"))
        source.unlink(missing_ok=True)
        return f'"{upload_id[:16]}-{part}-{size}"'

    def complete_upload(self, upload_id: str) -> StoredFile:
        """Join the parts in order (through a local file) into the stored file reserved."""
        meta = self._upload_meta(upload_id)
        parts = sorted(o["Key"] for o in self._list(self._key("uploads", upload_id, "part-")))
        if not parts:
            raise BadRequest(f"upload {upload_id} has no parts")
        with tempfile.NamedTemporaryFile(dir=self.scratch(), delete=False) as joined:
            for key in parts:  # streamed in order (download_fileobj would write each at offset 0)
                body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
                shutil.copyfileobj(body, joined, 1 << 20)
        try:
            stored = self._upload(
                meta["file_id"], meta["name"], Path(joined.name), meta["content_type"], None, meta["ttl_s"]
            )
        finally:
            Path(joined.name).unlink(missing_ok=True)
        self.drop_upload(upload_id)
        return stored

    def _upload_meta(self, upload_id: str) -> dict:
        if not ID_PATTERN.match(upload_id):
            raise NotFound(f"upload {upload_id!r} does not exist")
        meta = self._read_json(self._key("uploads", upload_id, "meta.json"))
        if meta is None:
            raise NotFound(f"upload {upload_id} does not exist, was completed or has expired")
        return meta

    def stale_uploads(self, older_than: float) -> list[str]:
        return [
            obj["Key"].rsplit("/", 2)[-2]
            for obj in self._list(self._key("uploads") + "/")
            if obj["Key"].endswith("/meta.json") and obj["LastModified"].timestamp() < older_than
        ]

    def drop_upload(self, upload_id: str) -> None:
        if ID_PATTERN.match(upload_id):
            self._delete_prefix(self._key("uploads", upload_id) + "/")


def open_files(storage_url: str, local_root: Path) -> FileStore:
    """The file store of a storage URL: local (file:// or a plain path) or an S3 bucket."""
    if storage_url.startswith("s3://"):
        return S3FileStore(storage_url, local_root)
    return FileStore(local_root)

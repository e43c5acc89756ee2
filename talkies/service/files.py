"""Local file storage: uploads, job inputs and rendered videos, under `{data_dir}/files`.

A stored file lives at `files/{id}/{name}` with its metadata beside it in `files/{id}/.meta.json`
and is served at `/files/{id}/{name}`. The id is 128 random bits, so a file URL is as private
as the fal CDN's (whoever has the URL can read it). Uploads in progress live in
`uploads/{upload_id}/` (one file per part) until they are completed into a stored file.

Files either belong to a job (`owner` = job id: its inputs and result, deleted with the job
record) or stand alone (uploads, deleted `ttl_s` after they were made).
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from talkies.service.errors import BadRequest, NotFound

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
FILE_PATH = re.compile(r"^/files/([0-9a-f]{32})/([^/]+)$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CHUNK = 1 << 16

MAX_PARTS = 10000  # multipart upload part numbers, as S3
_CLAIMED = ".completing-"  # an upload folder renamed by the complete that joins its parts


@dataclass(frozen=True)
class StoredFile:
    id: str
    name: str
    content_type: str
    size: int
    created_at: float
    # Job the file belongs to (deleted with it), or None for a standalone upload.
    owner: str | None = None
    # Epoch seconds after which a standalone file is deleted; None: the retention default.
    expires_at: float | None = None

    @property
    def url_path(self) -> str:
        return f"/files/{self.id}/{self.name}"


def safe_name(name: str | None, default: str = "file") -> str:
    """A file name that is safe in a path and a URL: basename, [A-Za-z0-9._-], <= 100 chars."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).strip("._")[:100]
    return cleaned or default


def check_part_number(part: int, source: Path | None = None) -> None:
    """Refuse a multipart part number S3 would refuse (1 to 10000), dropping its data."""
    if not 1 <= part <= MAX_PARTS:
        if source is not None:
            source.unlink(missing_ok=True)
        raise BadRequest(f"part number is {part}; it must be from 1 to {MAX_PARTS}")


def new_id() -> str:
    return uuid.uuid4().hex


def file_id_of(url: str) -> str | None:
    """The file id in a `/files/{id}/{name}` URL (any host), or None."""
    match = FILE_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "files").mkdir(parents=True, exist_ok=True)
        (self.root / "uploads").mkdir(parents=True, exist_ok=True)

    # ---- stored files -------------------------------------------------------------------

    def path(self, f: StoredFile) -> Path:
        return self.root / "files" / f.id / f.name

    def read_bytes(self, f: StoredFile) -> bytes:
        return self.path(f).read_bytes()

    def get(self, file_id: str) -> StoredFile | None:
        if not ID_PATTERN.match(file_id):
            return None
        try:
            meta = json.loads((self.root / "files" / file_id / ".meta.json").read_text())
        except FileNotFoundError:
            return None
        return StoredFile(**meta)

    def get_named(self, file_id: str, name: str) -> StoredFile:
        found = self.get(file_id)
        if found is None or found.name != name:
            raise NotFound(f"file /files/{file_id}/{name} does not exist (or has expired)")
        return found

    def put_bytes(
        self, data: bytes, name: str, content_type: str, owner: str | None = None, ttl_s: float | None = None
    ) -> StoredFile:
        file_id = new_id()
        target = self._new_dir(file_id) / safe_name(name)
        target.write_bytes(data)
        return self._commit(file_id, target, content_type, owner, ttl_s)

    def put_path(
        self, source: Path, name: str, content_type: str, owner: str | None = None, ttl_s: float | None = None
    ) -> StoredFile:
        """Move `source` into storage."""
        file_id = new_id()
        target = self._new_dir(file_id) / safe_name(name)
        shutil.move(str(source), target)
        return self._commit(file_id, target, content_type, owner, ttl_s)

    def scratch(self) -> Path:
        """A directory for temporary files on the same file system as the storage."""
        folder = self.root / "tmp"
        folder.mkdir(exist_ok=True)
        return folder

    def delete(self, file_id: str) -> None:
        if ID_PATTERN.match(file_id):
            shutil.rmtree(self.root / "files" / file_id, ignore_errors=True)

    def expired(self, now: float, default_ttl_s: float) -> list[StoredFile]:
        """Standalone files past their expiry (owned files go with their job)."""
        found = []
        for meta in (self.root / "files").glob("*/.meta.json"):
            f = self.get(meta.parent.name)
            if f is not None and f.owner is None:
                expires = f.expires_at if f.expires_at is not None else f.created_at + default_ttl_s
                if expires <= now:
                    found.append(f)
        return found

    def _new_dir(self, file_id: str) -> Path:
        folder = self.root / "files" / file_id
        folder.mkdir(parents=True)
        return folder

    def _commit(
        self, file_id: str, target: Path, content_type: str, owner: str | None, ttl_s: float | None
    ) -> StoredFile:
        now = time.time()
        f = StoredFile(
            file_id,
            target.name,
            content_type,
            target.stat().st_size,
            now,
            owner,
            now + ttl_s if ttl_s is not None else None,
        )
        # The metadata file is written last: a file without it does not exist yet.
        tmp = target.parent / ".meta.json.tmp"
        tmp.write_text(json.dumps(asdict(f)))
        tmp.replace(target.parent / ".meta.json")
        return f

    # ---- uploads in parts ---------------------------------------------------------------

    def start_upload(self, name: str, content_type: str, ttl_s: float | None = None) -> str:
        """Reserve an upload; its id is the secret that authorises writing it."""
        upload_id = new_id()
        folder = self.root / "uploads" / upload_id
        folder.mkdir()
        meta = {"name": safe_name(name), "content_type": content_type, "ttl_s": ttl_s, "file_id": new_id()}
        (folder / "meta.json").write_text(json.dumps(meta))
        return upload_id

    def upload_target(self, upload_id: str) -> tuple[str, str]:
        """(file id, file name) an upload will be stored as."""
        meta = self._upload_meta(upload_id)
        return meta["file_id"], meta["name"]

    def write_part(self, upload_id: str, part: int, source: Path) -> str:
        """Move `source` in as part `part` (1-based); returns its ETag (quoted, as S3 does)."""
        self._upload_meta(upload_id)
        check_part_number(part, source)
        size = source.stat().st_size
        try:
            shutil.move(str(source), self.root / "uploads" / upload_id / f"part-{part:05d}")
        except FileNotFoundError as e:  # completed (or expired) since the check above
            raise NotFound(f"upload {upload_id} was completed or has expired") from e
        return f'"{upload_id[:16]}-{part}-{size}"'

    def complete_upload(self, upload_id: str) -> StoredFile:
        """Join the parts in order into the stored file the upload reserved. The upload is first
        claimed by renaming its folder (atomic), so of two concurrent completes one joins the
        parts and the other finds no upload (NotFound), instead of both writing one file."""
        meta = self._upload_meta(upload_id)
        folder = self.root / "uploads" / upload_id
        claimed = self.root / "uploads" / f"{_CLAIMED}{upload_id}-{new_id()}"
        try:
            folder.rename(claimed)
        except FileNotFoundError as e:
            raise NotFound(f"upload {upload_id} does not exist, was completed or has expired") from e
        try:
            parts = sorted(claimed.glob("part-*"))
            if not parts:
                claimed.rename(folder)  # give it back: parts may still come
                raise BadRequest(f"upload {upload_id} has no parts")
            target = self._new_dir(meta["file_id"]) / meta["name"]
            with target.open("wb") as out:
                for part in parts:
                    with part.open("rb") as src:
                        shutil.copyfileobj(src, out, _CHUNK)
        finally:
            shutil.rmtree(claimed, ignore_errors=True)
        return self._commit(meta["file_id"], target, meta["content_type"], None, meta["ttl_s"])

    def _upload_meta(self, upload_id: str) -> dict:
        if not ID_PATTERN.match(upload_id):
            raise NotFound(f"upload {upload_id!r} does not exist")
        try:
            return json.loads((self.root / "uploads" / upload_id / "meta.json").read_text())
        except FileNotFoundError as e:
            raise NotFound(f"upload {upload_id} does not exist, was completed or has expired") from e

    def stale_uploads(self, older_than: float) -> list[str]:
        """Uploads (and completes a crash interrupted) untouched since `older_than`."""
        found = []
        for p in (self.root / "uploads").iterdir():
            try:
                if p.stat().st_mtime < older_than:
                    found.append(p.name)
            except FileNotFoundError:  # completed meanwhile
                continue
        return found

    def drop_upload(self, upload_id: str) -> None:
        if ID_PATTERN.match(upload_id) or upload_id.startswith(_CLAIMED):
            shutil.rmtree(self.root / "uploads" / upload_id, ignore_errors=True)

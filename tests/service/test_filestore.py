"""The file store contract on both storages a deployment can choose: a (shared) directory and
an S3-compatible bucket (moto's server, a real HTTP S3 endpoint)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkies.errors import InvalidOptionError
from talkies.service.errors import BadRequest, NotFound
from talkies.service.files import FileStore
from talkies.service.s3files import S3FileStore, open_files, parse_s3_url

from .s3_util import MotoServer, set_credentials


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    set_credentials()
    server = MotoServer(tmp_path_factory.mktemp("moto")).start()
    yield server
    server.close()


@pytest.fixture(params=["directory", "s3"])
def files(request: pytest.FixtureRequest, tmp_path: Path) -> FileStore:
    if request.param == "directory":
        return open_files(f"file://{tmp_path / 'shared'}", tmp_path / "shared")
    moto: MotoServer = request.getfixturevalue("moto")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    moto.make_bucket(bucket)
    store = open_files(moto.storage_url(bucket), tmp_path / "local")
    assert isinstance(store, S3FileStore)
    return store


def test_put_get_path_delete(files: FileStore, tmp_path: Path) -> None:
    stored = files.put_bytes(b"\x89PNG data", "../a b.png", "image/png", owner="job-1")
    assert stored.name == "a_b.png" and stored.size == 9 and stored.owner == "job-1"
    assert files.get(stored.id) == stored and files.get_named(stored.id, "a_b.png") == stored
    assert files.path(stored).read_bytes() == files.read_bytes(stored) == b"\x89PNG data"
    source = tmp_path / "video.mp4"
    source.write_bytes(b"v" * 70_000)
    video = files.put_path(source, "out.mp4", "video/mp4")
    assert not source.exists() and files.path(video).read_bytes() == b"v" * 70_000
    with pytest.raises(NotFound):
        files.get_named(video.id, "other.mp4")
    files.delete(stored.id)
    assert files.get(stored.id) is None and files.get(video.id) is not None
    assert files.get("not-an-id") is None


def test_standalone_files_expire_owned_ones_do_not(files: FileStore) -> None:
    short = files.put_bytes(b"1", "a.bin", "application/octet-stream", ttl_s=10)
    files.put_bytes(b"2", "b.bin", "application/octet-stream", owner="job")
    default = files.put_bytes(b"3", "c.bin", "application/octet-stream")
    assert [f.id for f in files.expired(short.created_at + 11, default_ttl_s=100)] == [short.id]
    later = sorted(f.id for f in files.expired(default.created_at + 101, default_ttl_s=100))
    assert later == sorted([short.id, default.id])


def test_upload_in_parts_joins_them_in_order(files: FileStore, tmp_path: Path) -> None:
    upload_id = files.start_upload("movie.mp4", "video/mp4", ttl_s=60)
    file_id, name = files.upload_target(upload_id)
    for number, chunk in ((2, b"world"), (1, b"hello ")):
        part = tmp_path / f"p{number}"
        part.write_bytes(chunk)
        assert files.write_part(upload_id, number, part).startswith('"')
    with pytest.raises(BadRequest):
        part = tmp_path / "bad"
        part.write_bytes(b"x")
        files.write_part(upload_id, 10001, part)
    stored = files.complete_upload(upload_id)
    assert (stored.id, stored.name) == (file_id, name) and stored.expires_at is not None
    assert files.path(stored).read_bytes() == b"hello world"
    with pytest.raises(NotFound):
        files.upload_target(upload_id)


def test_stale_uploads_are_listed_and_dropped(files: FileStore) -> None:
    upload_id = files.start_upload("x.bin", "application/octet-stream")
    assert files.stale_uploads(0.0) == []
    assert upload_id in files.stale_uploads(4e9)
    files.drop_upload(upload_id)
    assert files.stale_uploads(4e9) == []


def test_s3_url_is_parsed_and_checked() -> None:
    bucket, prefix, options = parse_s3_url(
        "s3://media/talkies/prod?endpoint_url=http://h:9000&region=eu-west-1"
    )
    assert (bucket, prefix) == ("media", "talkies/prod/")
    assert options == {"endpoint_url": "http://h:9000", "region_name": "eu-west-1"}
    assert parse_s3_url("s3://media")[1] == ""
    with pytest.raises(InvalidOptionError, match="endpoint"):
        parse_s3_url("s3://media?endpoint=http://h")
    with pytest.raises(InvalidOptionError, match="s3://bucket"):
        parse_s3_url("s3:///nobucket")

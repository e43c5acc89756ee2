"""Settings, content sniffing, data: URIs, upload tokens and error bodies."""

from __future__ import annotations

from pathlib import Path

import pytest

from talkies.errors import InputError, InvalidAudioError, InvalidImageError, InvalidOptionError, NoFaceError
from talkies.service import auth, inputs, sniff
from talkies.service.errors import NotFound, Unauthorized, outcome_for
from talkies.service.files import FileStore, safe_name
from talkies.service.settings import Settings, parse_duration

from .helpers import png_bytes, wav_bytes


def test_settings_from_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "TALKIES_API_KEYS": "k1, k2",
        "TALKIES_RETENTION_S": "2d",
        "TALKIES_WORKERS": "3",
        "TALKIES_FETCH_ALLOW_PRIVATE": "yes",
        "TALKIES_DATA_DIR": str(tmp_path),
    }
    s = Settings.load(env, workers=None, port=9000)
    assert s.api_keys == ("k1", "k2") and s.retention_s == 172800 and s.workers == 3
    assert s.fetch_allow_private is True and s.port == 9000 and s.data_dir == tmp_path
    assert s.queue == f"sqlite:///{tmp_path}/queue.db"


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("1.5", 1.5), ("15m", 900), ("12h", 43200), ("7d", 604800)]
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(InvalidOptionError, match="TALKIES_WORKERS is 'many'"):
        Settings.load({"TALKIES_WORKERS": "many"})


def test_unauthenticated_server_binds_to_loopback_only() -> None:
    Settings(host="127.0.0.1").require_safe_bind()
    Settings(host="0.0.0.0", api_keys=("k",)).require_safe_bind()
    with pytest.raises(InvalidOptionError, match=r"binds to 127\.0\.0\.1 only"):
        Settings(host="0.0.0.0").require_safe_bind()


@pytest.mark.parametrize(
    ("field", "data", "expected"),
    [
        ("image_url", png_bytes(), "image/png"),
        ("image_url", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("image_url", b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        ("image_url", b"\0\0\0\x1cftypavif", "image/avif"),
        ("audio_url", wav_bytes(0.1), "audio/wav"),
        ("audio_url", b"ID3\x04rest", "audio/mpeg"),
        ("audio_url", b"\xff\xfb\x90\x00", "audio/mpeg"),
        ("audio_url", b"\0\0\0\x20ftypM4A ", "audio/mp4"),
        ("audio_url", b"OggS\0", "audio/ogg"),
        ("audio_url", b"fLaC\0", "audio/flac"),
    ],
)
def test_sniff_accepts(field: str, data: bytes, expected: str) -> None:
    assert sniff.check(field, data) == expected


@pytest.mark.parametrize(
    ("field", "data", "error"),
    [
        ("image_url", b"<html><body>404</body></html>", InvalidImageError),
        ("image_url", wav_bytes(0.1), InvalidImageError),
        ("audio_url", png_bytes(), InvalidAudioError),
        ("audio_url", b'{"error": "nope"}', InvalidAudioError),
        ("audio_url", b"", InvalidAudioError),
    ],
)
def test_sniff_refuses(field: str, data: bytes, error: type) -> None:
    with pytest.raises(error, match=f"{field} is {len(data)} bytes starting with"):
        sniff.check(field, data)


def test_data_uri_base64_and_percent() -> None:
    assert inputs.decode_data_uri("data:image/png;base64,aGVsbG8=", "image_url", 100) == b"hello"
    assert inputs.decode_data_uri("data:,a%20b", "image_url", 100) == b"a b"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data:image/png;base64", "without a ','"),
        ("data:;base64,", "empty"),
        ("data:;base64," + "A" * 400, "limit is 100"),
    ],
)
def test_data_uri_refused(uri: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        inputs.decode_data_uri(uri, "image_url", 100)


def test_own_file_url_is_read_locally_whatever_the_host(tmp_path: Path) -> None:
    files = FileStore(tmp_path)
    stored = files.put_bytes(png_bytes(), "me.png", "image/png")
    for host in ("127.0.0.1:8443", "v3.fal.media", "example.com"):
        assert (
            inputs.own_file(f"https://{host}/files/{stored.id}/me.png", "image_url", files, set()) == stored
        )
    gone = f"https://127.0.0.1:8443/files/{'0' * 32}/x.png"
    assert inputs.own_file(gone, "image_url", files, set()) is None, "not ours: fetched like any URL"
    with pytest.raises(Exception, match="does not exist on this server"):
        inputs.own_file(gone, "image_url", files, {"127.0.0.1:8443"})


def test_safe_names() -> None:
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("my photo (1).png") == "my_photo_1_.png"
    assert safe_name("") == "file"


def test_upload_tokens(tmp_path: Path) -> None:
    secret = auth.load_secret(tmp_path)
    assert auth.load_secret(tmp_path) == secret, "kept across restarts"
    token, _ = auth.issue_token(secret, 60)
    auth.check(f"Bearer {token}", ("key",), secret, auth.UPLOAD)
    auth.check("Key key", ("key",), secret)
    auth.check(None, (), secret)
    expired, _ = auth.issue_token(secret, -10)
    realtime, _ = auth.issue_token(secret, 60, auth.REALTIME)
    for header in (None, "Key wrong", f"Bearer {expired}", f"Bearer {token}x", f"Bearer {realtime}"):
        with pytest.raises(Unauthorized):
            auth.check(header, ("key",), secret, auth.UPLOAD)
    # A token is never an API key, and a malformed header is no credential at all (not a 500).
    for header in (f"Bearer {token}", f"Key {token}", "Key", "Key ", "Key caf\xe9", "Key k\x00ey", "Bearer"):
        with pytest.raises(Unauthorized):
            auth.check(header, ("key",), secret)


def test_outcomes_follow_the_fal_wire_format() -> None:
    bad = outcome_for(NoFaceError("no face in image_url"))
    assert bad.http_status == 422 and bad.error_type == "face_detection_error"
    assert bad.body == {
        "detail": [
            {"loc": ["body", "image_url"], "msg": "no face in image_url", "type": "face_detection_error"}
        ]
    }
    crash = outcome_for(RuntimeError("boom"))
    assert crash.http_status == 500 and crash.error_type == "internal_error" and "boom" in crash.error
    assert outcome_for(NotFound("x")).http_status == 404

"""Hostile media for the loaders: files made to crash, hang or fool them.

Every case must end in the loader's own InputError subclass (or load correctly), never in a
native crash, another exception, or a silently damaged picture. A crash would kill the test
process, so the many-channel cases decode in a subprocess and check its exit status.
Property-based cases (hypothesis) mutate valid files: any bytes at all must give a result or
an InputError.
"""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import encode_audio, tone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from talkies import media
from talkies.errors import AudioTooLongError, InputError, InvalidAudioError, InvalidImageError

REPO = Path(__file__).resolve().parents[1]


def pcm_wav(
    channels: int = 1, rate: int = 16000, seconds: float = 0.5, bits: int = 16, tag: int = 1
) -> bytes:
    """A WAV of a tone with any header values, written by hand (the wave module refuses odd ones)."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    mono = (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    data = np.repeat(mono[:, None], max(channels, 1), axis=1).tobytes()
    width = max(bits, 8) // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * channels * width, channels * width, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _load_in_subprocess(data: bytes, tmp_path: Path) -> subprocess.CompletedProcess:
    path = tmp_path / "in.wav"
    path.write_bytes(data)
    code = (
        "import sys; from talkies import media; a = media.load_audio(sys.argv[1]); "
        "print(a.channels, a.samples.shape[1], float(abs(a.samples).max()))"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("channels", [8, 16, 64])
def test_many_channel_audio_is_mixed_down_not_a_crash(tmp_path: Path, channels: int) -> None:
    done = _load_in_subprocess(pcm_wav(channels), tmp_path)
    assert done.returncode == 0, f"exit {done.returncode} (-11 is a segfault): {done.stderr[-500:]}"
    kept, n, peak = done.stdout.split()
    assert (int(kept), int(n)) == (1, 8000)
    assert abs(float(peak) - 0.3) < 0.01  # averaged, not summed into clipping


def test_too_many_channels_are_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(InvalidAudioError, match="200 channels; at most 64"):
        media.load_audio(pcm_wav(200, seconds=0.1))


@pytest.mark.parametrize("header", [{"bits": 0}, {"tag": 0}, {"channels": 0}])
def test_wav_with_impossible_format_is_an_audio_error(header: dict) -> None:
    with pytest.raises(InvalidAudioError, match="audio"):
        media.load_audio(pcm_wav(**header))


def test_long_audio_is_refused_from_its_header_before_decoding() -> None:
    # 20 minutes of FLAC (small on disk: a pure tone); decoding it all would take seconds and
    # hundreds of MB. Its STREAMINFO states the length, so it is refused at once.
    data = encode_audio(tone(1200.0, 8000), 8000, "flac")
    started = time.process_time()
    with pytest.raises(AudioTooLongError, match=r"1200\.0 s by its header, longer than 60 s"):
        media.load_audio(data, max_duration_s=60)
    assert time.process_time() - started < 1.0


def _jpeg(height: int = 64, width: int = 96) -> bytearray:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray((rng.random((height, width, 3)) * 255).astype(np.uint8)).save(buf, "JPEG", quality=90)
    return bytearray(buf.getvalue())


@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_claiming_more_rows_than_it_holds_is_an_image_error(progressive: bool) -> None:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray((rng.random((64, 96, 3)) * 255).astype(np.uint8)).save(
        buf, "JPEG", quality=90, progressive=progressive
    )
    data = bytearray(buf.getvalue())
    sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
    data[sof + 5 : sof + 7] = (128).to_bytes(2, "big")  # the header now claims 128 rows, data has 64
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        media.load_image(bytes(data))


def test_intact_jpeg_still_loads() -> None:
    assert media.load_image(bytes(_jpeg())).shape == (64, 96, 3)


# ---- property-based: any damage to a valid file gives a result or an InputError ------------

_WAV = pcm_wav(2, 8000, 0.3)
_PNG_BUF = io.BytesIO()
Image.new("RGB", (80, 80), (120, 90, 60)).save(_PNG_BUF, "PNG")
_IMAGES = {"png": _PNG_BUF.getvalue(), "jpeg": bytes(_jpeg(80, 80))}


def _damaged(base: bytes) -> st.SearchStrategy[bytes]:
    """`base` truncated, with bytes overwritten, or with bytes inserted: the header included."""
    cut = st.integers(0, len(base)).map(lambda n: base[:n])
    overwrite = st.lists(
        st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), min_size=1, max_size=8
    ).map(lambda edits: _apply(base, edits))
    insert = st.tuples(st.integers(0, 64), st.binary(min_size=1, max_size=16)).map(
        lambda a: base[: a[0]] + a[1] + base[a[0] :]
    )
    return st.one_of(cut, overwrite, insert)


def _apply(base: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(base)
    for pos, value in edits:
        out[pos] = value
    return bytes(out)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(_damaged(_WAV))
def test_damaged_wav_is_audio_or_an_input_error(data: bytes) -> None:
    try:
        voice = media.load_audio(data, max_duration_s=5)
    except InputError:
        return
    assert voice.samples.dtype == np.float32 and voice.channels in (1, 2)
    assert np.all(np.isfinite(voice.samples))


@FUZZ
@given(st.sampled_from(sorted(_IMAGES)).flatmap(lambda kind: _damaged(_IMAGES[kind])))
def test_damaged_image_is_a_picture_or_an_input_error(data: bytes) -> None:
    try:
        picture = media.load_image(data)
    except InputError:
        return
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_random_bytes_are_an_input_error_or_media(data: bytes) -> None:
    for load in (media.load_audio, media.load_image, media.load_mask):
        try:
            load(data)
        except InputError:
            continue

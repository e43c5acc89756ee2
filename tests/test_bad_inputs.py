"""Every bad input of issue 2, through the library (`talkies.animate`) and the command line:
the error's type, a message that names the value found and the limit, and no output file."""

from __future__ import annotations

import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import talkies
from talkies import audio, cli, face
from talkies.errors import (
    AudioTooLongError,
    EmptyAudioError,
    FaceTooSmallError,
    InputError,
    InvalidAudioError,
    InvalidImageError,
    InvalidMotionError,
    InvalidOptionError,
    NoFaceError,
    SilentAudioError,
)
from talkies.tracks import MotionTrack

needs_face = pytest.mark.skipif(
    not hasattr(face, "analyze_portrait"), reason="talkies.face.analyze_portrait is not implemented yet"
)


def wav_bytes(duration_s: float, level: float = 0.3, rate: int = 8000) -> bytes:
    """A mono 16-bit WAV of a 200 Hz tone, built in memory (cheap even for a minute)."""
    t = np.arange(round(duration_s * rate)) / rate
    pcm = (level * 32767 * np.sin(2 * np.pi * 200 * t)).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def portrait(examples) -> bytes:
    return (examples / "portrait.png").read_bytes()


@pytest.fixture
def speech(examples) -> bytes:
    return (examples / "speech_short.wav").read_bytes()


def animate_fails(
    tmp_path: Path, image, sound, error: type[InputError], *patterns: str, **options
) -> InputError:
    """Run talkies.animate, expect `error` whose message matches every pattern, and check that
    nothing was written."""
    out = tmp_path / "out.mp4"
    with pytest.raises(error) as caught:
        talkies.animate(image, sound, talkies.AnimateOptions(**options), output=out)
    for pattern in patterns:
        assert re.search(pattern, caught.value.message), (pattern, caught.value.message)
    assert list(tmp_path.iterdir()) == [], "a failed run left a file behind"
    return caught.value


# ---------------------------------------------------------------- image


def test_not_an_image(tmp_path, speech) -> None:
    err = animate_fails(
        tmp_path, speech, speech, InvalidImageError, "not an image", r"WAV audio", "accepted: JPEG"
    )
    assert err.field == "image_url"


def test_truncated_image(tmp_path, portrait, speech) -> None:
    animate_fails(tmp_path, portrait[: len(portrait) // 2], speech, InvalidImageError, "truncated or corrupt")


def test_corrupt_image(tmp_path, portrait, speech) -> None:
    damaged = bytearray(portrait)
    damaged[100:4000] = bytes(3900)  # zeroes over the start of the pixel data
    animate_fails(tmp_path, bytes(damaged), speech, InvalidImageError, "truncated or corrupt")


def test_tiny_image(tmp_path, speech) -> None:
    tiny = png_bytes(np.full((40, 50, 3), 128, np.uint8))
    animate_fails(tmp_path, tiny, speech, InvalidImageError, r"50x40 pixels", r"at least 64")


def test_panorama(tmp_path, speech) -> None:
    wide = png_bytes(np.full((100, 400, 3), 128, np.uint8))
    animate_fails(tmp_path, wide, speech, InvalidImageError, r"400x100", r"4\.00:1", r"at most 3:1")


@needs_face
def test_no_face(tmp_path, speech) -> None:
    ramp = np.linspace(0, 255, 512, dtype=np.float32)
    gradient = np.stack([np.add.outer(ramp, ramp) / 2] * 3, axis=-1).astype(np.uint8)
    err = animate_fails(tmp_path, png_bytes(gradient), speech, NoFaceError, r"(?i)face")
    assert err.field == "image_url"


@needs_face
def test_face_too_small(tmp_path, portrait, speech) -> None:
    small = np.asarray(Image.open(io.BytesIO(portrait)).convert("RGB").resize((64, 64), Image.LANCZOS))
    canvas = np.full((1024, 1024, 3), 235, np.uint8)
    canvas[480:544, 480:544] = small
    animate_fails(tmp_path, png_bytes(canvas), speech, FaceTooSmallError, r"\d+ ?px", r"at least \d+")


# ---------------------------------------------------------------- audio


def test_not_audio(tmp_path, portrait) -> None:
    err = animate_fails(tmp_path, portrait, portrait, InvalidAudioError, "no audio stream", "PNG image")
    assert err.field == "audio_url"


def test_truncated_audio(tmp_path, portrait) -> None:
    data = wav_bytes(2.0)
    animate_fails(
        tmp_path, portrait, data[:16044], InvalidAudioError, r"says it lasts 2\.00 s", r"holds 1\.00 s"
    )


def test_corrupt_audio(tmp_path, portrait) -> None:
    animate_fails(tmp_path, portrait, b"OggS" + bytes(5000), InvalidAudioError, "truncated or corrupt|Ogg")


def test_empty_audio(tmp_path, portrait) -> None:
    animate_fails(tmp_path, portrait, wav_bytes(0.04), EmptyAudioError, r"0\.040 s long", r"at least 0\.1 s")


def test_silent_audio(tmp_path, portrait) -> None:
    animate_fails(tmp_path, portrait, wav_bytes(2.0, level=0.0), SilentAudioError, r"-inf dBFS", r"-60 dBFS")
    quiet = wav_bytes(2.0, level=10 ** (-66 / 20))
    animate_fails(tmp_path, portrait, quiet, SilentAudioError, r"-6[56]\.\d dBFS", r"at least -60 dBFS")


@pytest.mark.parametrize(("resolution", "seconds", "limit"), [("1080p", 30.5, "30"), ("720p", 61.0, "60")])
def test_audio_too_long_is_refused_before_any_analysis(
    tmp_path, monkeypatch, portrait, resolution, seconds, limit
):
    def must_not_run(*args, **kwargs):
        pytest.fail("heavy analysis ran before the duration check")

    monkeypatch.setattr(face, "analyze_portrait", must_not_run, raising=False)
    monkeypatch.setattr(audio, "analyze_speech", must_not_run, raising=False)
    long_tone = wav_bytes(seconds, level=0.02)  # quiet (-34 dBFS) but not silent
    patterns = [rf"audio is {seconds:.1f} s", rf"{resolution} allows at most {limit} s"]
    options = {"resolution": resolution}
    err = animate_fails(tmp_path, portrait, long_tone, AudioTooLongError, *patterns, **options)
    assert err.field == "audio_url"


def test_long_audio_is_refused_at_the_resolutions_limit_not_decoded_to_the_end(tmp_path, portrait) -> None:
    """A streamed WAV (espeak-ng --stdout, sox to a pipe) states no length in its chunks: it is
    refused at the resolution's limit, from FFmpeg's estimate or by stopping the decoder there,
    not decoded to the end first (f0d20c1 decoded all of it, up to a 600 s cap)."""
    data = bytearray(wav_bytes(40.0))
    data[4:8] = data[40:44] = (0xFFFFFFFF).to_bytes(4, "little")  # RIFF and data sizes unknown
    patterns = [r"audio is (40\.0 s by its header, )?longer than 30 s; 1080p allows at most 30 s"]
    err = animate_fails(tmp_path, portrait, bytes(data), AudioTooLongError, *patterns, resolution="1080p")
    assert err.field == "audio_url"


# ---------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("options", "patterns"),
    [
        ({"resolution": "480p"}, [r"'480p'", r"'720p', '1080p'"]),
        ({"fps": 0}, [r"fps is 0", r"from 1 to 60"]),
        ({"fps": 120}, [r"fps is 120", r"from 1 to 60"]),
        ({"fps": 25.5}, [r"fps is 25\.5", r"integer"]),
    ],
)
def test_bad_options(tmp_path, portrait, speech, options, patterns) -> None:
    err = animate_fails(tmp_path, portrait, speech, InvalidOptionError, *patterns, **options)
    assert err.field in ("resolution", "fps")


def test_a_motion_track_beyond_what_the_renderer_draws_is_refused_not_clamped(
    tmp_path, portrait, speech
) -> None:
    n = 75  # speech_short.wav: 3.0 s at 25 fps
    curves = {"jaw_open": np.zeros(n, np.float32), "head_yaw_deg": np.full(n, 30.0, np.float32)}
    track = MotionTrack(25.0, curves)
    err = animate_fails(
        tmp_path, portrait, speech, InvalidMotionError, r"'head_yaw_deg' is 30 at frame 0", r"\[-12, 12\]",
        motion=track,
    )  # fmt: skip
    assert err.field == "motion"


# ---------------------------------------------------------------- the same through the CLI


@pytest.mark.parametrize(
    ("image", "sound", "extra", "message"),
    [
        ("speech.wav", "speech.wav", [], "image is not an image talkies can read: it looks like WAV audio"),
        (
            "portrait.png",
            "silent.wav",
            [],
            "audio is silent: its peak level is -inf dBFS (digital silence); at least -60 dBFS",
        ),
        (
            "portrait.png",
            "long.wav",
            ["--resolution", "1080p"],
            "audio is 31.0 s by its header, longer than 30 s; 1080p allows at most 30 s",
        ),
        (
            "portrait.png",
            "speech.wav",
            ["--resolution", "2k"],
            "resolution is '2k'; allowed: '720p', '1080p'",
        ),
        ("portrait.png", "speech.wav", ["--fps", "100"], "fps is 100; it must be an integer from 1 to 60"),
        ("missing.png", "speech.wav", [], "cannot read image file"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(
    tmp_path, examples, capsys, image, sound, extra, message
) -> None:
    (tmp_path / "silent.wav").write_bytes(wav_bytes(1.0, level=0.0))
    (tmp_path / "long.wav").write_bytes(wav_bytes(31.0, level=0.02))
    where = {
        name: (tmp_path / name if (tmp_path / name).exists() else examples / name) for name in (image, sound)
    }
    out = tmp_path / "out.mp4"
    code = cli.main(["animate", str(where[image]), str(where[sound]), "-o", str(out), *extra])
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("talkies: error:")]
    assert code == 2
    assert len(error_lines) == 1 and message in error_lines[0], err
    assert not out.exists() and not list(tmp_path.glob(".out.mp4*"))

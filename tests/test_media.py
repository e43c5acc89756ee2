"""talkies.media: decoding images, masks and audio; sizing; encoding the MP4."""

from __future__ import annotations

import io
import struct
import wave
import zlib
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import encode_audio, tone
from PIL import Image

from talkies import formats, media
from talkies.errors import (
    AudioTooLongError,
    Cancelled,
    EmptyAudioError,
    EngineError,
    InputError,
    InvalidAudioError,
    InvalidImageError,
    InvalidMaskError,
    InvalidOptionError,
    SilentAudioError,
)
from talkies.tracks import Audio, frame_count

# ---------------------------------------------------------------- images


def _quadrants(w: int = 96, h: int = 80) -> np.ndarray:
    """(h, w, 3) uint8: red, green / blue, white quadrants."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = (255, 0, 0)
    img[: h // 2, w // 2 :] = (0, 255, 0)
    img[h // 2 :, : w // 2] = (0, 0, 255)
    img[h // 2 :, w // 2 :] = 255
    return img


def _save(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares `width` x `height` (1-bit grey) but holds no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", b"") + chunk(b"IEND", b"")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "AVIF"])
def test_load_image_decodes_every_accepted_format(fmt: str) -> None:
    src = _quadrants()
    img = media.load_image(
        _save(Image.fromarray(src), fmt, quality=95) if fmt != "GIF" else _save(Image.fromarray(src), fmt)
    )
    assert img.shape == (80, 96, 3) and img.dtype == np.uint8
    # centres of the quadrants keep their colours (lossy formats within a margin)
    for y, x in [(20, 24), (20, 72), (60, 24), (60, 72)]:
        assert np.abs(img[y, x].astype(int) - src[y, x]).max() < 40, (fmt, y, x, img[y, x])


def test_load_image_reads_paths_and_bytes_alike(tmp_path) -> None:
    data = _save(Image.fromarray(_quadrants()), "PNG")
    (tmp_path / "p.png").write_bytes(data)
    assert np.array_equal(media.load_image(tmp_path / "p.png"), media.load_image(data))
    assert np.array_equal(media.load_image(str(tmp_path / "p.png")), media.load_image(data))


def test_load_image_applies_exif_orientation() -> None:
    im = Image.fromarray(_quadrants(96, 80))
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img = media.load_image(_save(im, "JPEG", exif=exif, quality=95))
    assert img.shape == (96, 80, 3)
    assert img[10, 70, 0] > 200 and img[10, 70, 1] < 60  # red (was top-left) is now top-right


def test_load_image_flattens_transparency_onto_white() -> None:
    rgba = np.zeros((80, 96, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :48, 3] = 255  # left half opaque red, right half transparent
    img = media.load_image(_save(Image.fromarray(rgba, "RGBA"), "PNG"))
    assert img[40, 10].tolist() == [255, 0, 0]
    assert img[40, 80].tolist() == [255, 255, 255]


def test_load_image_flattens_palette_transparency() -> None:
    im = Image.new("P", (80, 80), 0)
    im.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    im.paste(1, (0, 0, 40, 80))
    img = media.load_image(_save(im, "GIF", transparency=0))
    assert img[40, 10].tolist() == [200, 10, 10] and img[40, 70].tolist() == [255, 255, 255]


def test_load_image_scales_16_bit_grey_instead_of_clipping() -> None:
    grey = np.full((80, 80), 32768, np.uint16)
    img = media.load_image(_save(Image.fromarray(grey), "PNG"))
    assert abs(int(img[0, 0, 0]) - 128) <= 1


def test_load_image_takes_the_first_gif_frame() -> None:
    frames = [Image.new("RGB", (80, 80), c) for c in [(250, 0, 0), (0, 0, 250)]]
    data = _save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert media.load_image(data)[40, 40, 0] > 200


def _wide_gamut_profile() -> bytes:
    """A minimal ICC v2 display profile with Display P3 primaries and gamma 2.2."""

    def s15(*values: float) -> bytes:
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    def xyz(*v: float) -> bytes:
        return b"XYZ " + bytes(4) + s15(*v)

    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256)) + bytes(2)
    name = b"wide gamut test\0"
    tags = [
        (b"desc", b"desc" + bytes(4) + struct.pack(">I", len(name)) + name + bytes(78)),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset, table, data = 128 + 4 + 12 * len(tags), b"", b""
    for sig, body in tags:
        body += bytes(-len(body) % 4)
        table, data = table + sig + struct.pack(">II", offset + len(data), len(body)), data + body
    header = struct.pack(">I", offset + len(data)) + bytes(4) + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(28) + s15(0.9642, 1.0, 0.8249) + bytes(48)
    return header + struct.pack(">I", len(tags)) + table + data


def test_load_image_converts_an_embedded_colour_profile_to_srgb() -> None:
    im = Image.new("RGB", (80, 80), (200, 100, 50))
    plain = media.load_image(_save(im, "PNG"))
    wide = media.load_image(_save(im, "PNG", icc_profile=_wide_gamut_profile()))
    assert plain[0, 0].tolist() == [200, 100, 50]
    # the same numbers mean a more saturated orange in the wide gamut: redder, less blue in sRGB
    assert wide[0, 0, 0] > 210 and wide[0, 0, 2] < 35, wide[0, 0]


def test_load_image_survives_a_broken_colour_profile() -> None:
    data = _save(Image.fromarray(_quadrants()), "PNG", icc_profile=b"not a profile")
    assert media.load_image(data).shape == (80, 96, 3)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(100), ["not an image", "MP3 audio", "JPEG, PNG"]),
        (b"<html><body>404</body></html>", ["not an image", "HTML"]),
        (b"", ["empty", "0 bytes"]),
        (b"%PDF-1.4\n" + bytes(100), ["PDF", f"accepted: {formats.ACCEPTED_IMAGES}"]),
    ],
)
def test_load_image_names_what_it_found(data: bytes, words: list[str]) -> None:
    with pytest.raises(InvalidImageError) as err:
        media.load_image(data)
    for word in words:
        assert word in str(err.value)
    assert err.value.field == "image_url"


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_load_image_rejects_truncated_files(fmt: str) -> None:
    noisy = np.random.default_rng(0).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    data = _save(Image.fromarray(noisy), fmt)
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        media.load_image(data[: len(data) // 2])


def test_load_image_reports_a_missing_file(tmp_path) -> None:
    with pytest.raises(InvalidImageError, match=r"cannot read image file .*nope\.png"):
        media.load_image(tmp_path / "nope.png")


def test_load_image_rejects_tiny_images_naming_size_and_limit() -> None:
    with pytest.raises(InvalidImageError, match=r"40x30 pixels; each side must be at least 64"):
        media.load_image(_save(Image.new("RGB", (40, 30)), "PNG"))


@pytest.mark.parametrize("side", [8000, 20000])  # Pillow itself refuses the second as a bomb
def test_load_image_rejects_decompression_bombs_before_decoding(side: int) -> None:
    with pytest.raises(InvalidImageError, match="at most 50 megapixels"):
        media.load_image(_png_header(side, side))


def test_load_mask_uses_brightness_or_alpha() -> None:
    grey = np.zeros((50, 60), np.uint8)
    grey[:, :30] = 255
    mask = media.load_mask(_save(Image.fromarray(grey), "PNG"))
    assert mask.shape == (50, 60) and mask.dtype == np.float32
    assert mask[:, :30].min() == 1.0 and mask[:, 30:].max() == 0.0
    cutout = np.zeros((50, 60, 4), np.uint8)  # black pixels, opaque on the right half
    cutout[:, 30:, 3] = 255
    mask = media.load_mask(_save(Image.fromarray(cutout, "RGBA"), "PNG"))
    assert mask[:, 30:].min() == 1.0 and mask[:, :30].max() == 0.0


def test_load_mask_rejects_masks_that_mark_nothing_and_non_images() -> None:
    with pytest.raises(InvalidMaskError, match=r"marks nothing.*0\.00.*at least 0\.5"):
        media.load_mask(_save(Image.new("L", (50, 50), 0), "PNG"))
    with pytest.raises(InvalidMaskError, match="not an image") as err:
        media.load_mask(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    assert err.value.field == "mask_url"


# ---------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("w", "h", "res", "expected"),
    [
        (512, 512, "720p", (720, 720)),
        (512, 768, "1080p", (1080, 1620)),
        (1920, 1080, "720p", (1280, 720)),
        (1001, 999, "1080p", (1082, 1080)),
        (300, 900, "720p", (720, 2160)),
    ],
)
def test_output_size_keeps_aspect_with_even_sides(w, h, res, expected) -> None:
    out = media.output_size(w, h, res)
    assert out == expected and out[0] % 2 == 0 and out[1] % 2 == 0


def test_output_size_rejects_panoramas_and_unknown_resolutions() -> None:
    with pytest.raises(InvalidImageError, match=r"2000x500, an aspect ratio of 4\.00:1; at most 3:1"):
        media.output_size(2000, 500, "720p")
    with pytest.raises(InvalidOptionError, match=r"'4k'; allowed: '720p', '1080p'"):
        media.output_size(500, 500, "4k")


def test_resize_image_scales_both_ways_cleanly() -> None:
    img = np.full((100, 80, 3), 77, np.uint8)
    assert media.resize_image(img, (80, 100)) is img
    up = media.resize_image(img, (160, 200))
    down = media.resize_image(img, (40, 50))
    assert up.shape == (200, 160, 3) and down.shape == (50, 40, 3) and up.dtype == np.uint8
    assert np.all(up == 77) and np.all(down == 77)  # flat stays flat: no ringing, no bias


# ---------------------------------------------------------------- audio


@pytest.mark.parametrize("kind", ["wav", "mp3", "ogg", "opus", "m4a", "aac", "flac"])
def test_load_audio_decodes_every_accepted_format(make_audio, kind: str) -> None:
    rate = 48000 if kind == "opus" else 44100
    voice = media.load_audio(make_audio(1.0, rate, 2, 0.5, kind))
    assert voice.samples.dtype == np.float32 and voice.channels == 2 and voice.sample_rate == rate
    assert abs(voice.duration_s - 1.0) < 0.06
    assert 0.4 < np.abs(voice.samples).max() <= 1.0


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (22050, 2), (48000, 6), (96000, 1)])
def test_load_audio_keeps_any_rate_and_channel_count(make_audio, rate: int, channels: int) -> None:
    voice = media.load_audio(make_audio(0.5, rate, channels))
    assert (voice.sample_rate, voice.channels, voice.samples.shape[1]) == (rate, channels, rate // 2)


def test_load_audio_scales_integer_samples_to_unit_range(make_audio) -> None:
    voice = media.load_audio(make_audio(0.5, 16000, 1, 0.5))
    assert abs(np.abs(voice.samples).max() - 0.5) < 1e-3


def test_load_audio_reads_a_path(tmp_path, make_audio) -> None:
    (tmp_path / "a.flac").write_bytes(make_audio(0.5, kind="flac"))
    assert media.load_audio(tmp_path / "a.flac").samples.shape == (1, 8000)


def test_load_audio_accepts_vbr_mp3_without_length_header() -> None:
    # FFmpeg guesses such a file's length from its first frame's bitrate (here far too long):
    # that guess must not be taken for a truncation.
    samples = np.concatenate(
        [tone(2.0, 44100, 1, 0.001), np.random.default_rng(0).uniform(-0.5, 0.5, (1, 88200))], axis=1
    )
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3", options={"write_xing": "0"}) as container:
        stream = container.add_stream("libmp3lame", rate=44100, layout="mono")
        stream.codec_context.qscale = 4
        stream.codec_context.flags |= 2  # AV_CODEC_FLAG_QSCALE: VBR
        frame = av.AudioFrame.from_ndarray(samples.astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 44100, 0, Fraction(1, 44100)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    assert abs(media.load_audio(buf.getvalue()).duration_s - 4.0) < 0.1


@pytest.mark.parametrize("kind", ["wav", "mp3", "m4a", "flac", "aac", "ogg", "opus"])
def test_load_audio_rejects_truncated_files(make_audio, kind: str) -> None:
    data = make_audio(2.0, 48000, 2, 0.3, kind)
    with pytest.raises(InvalidAudioError, match=r"truncated|corrupt|not an audio file"):
        media.load_audio(data[: len(data) // 2])


@pytest.mark.parametrize("kind", ["ogg", "opus"])
def test_load_audio_notices_an_ogg_file_missing_its_last_bytes(make_audio, kind: str) -> None:
    # FFmpeg reads an Ogg file's length from its last whole page: losing the final 100 bytes
    # silently drops that whole page (up to a second of sound) unless the ending is checked.
    data = make_audio(2.0, 48000, 2, 0.3, kind)
    assert media.load_audio(data).duration_s == pytest.approx(2.0, abs=0.01)
    with pytest.raises(InvalidAudioError, match="end-of-stream page"):
        media.load_audio(data[:-100])


def test_load_audio_accepts_a_streamed_wav_with_a_placeholder_size(make_audio) -> None:
    data = bytearray(make_audio(1.0, 16000))
    size_at = data.index(b"data") + 4
    data[size_at : size_at + 4] = (0x7FFFF000).to_bytes(4, "little")  # as `espeak-ng --stdout`
    assert media.load_audio(bytes(data)).duration_s == pytest.approx(1.0)


def test_load_audio_names_both_lengths_of_a_truncated_wav(make_audio) -> None:
    data = make_audio(2.0, 16000)
    with pytest.raises(
        InvalidAudioError, match=r"WAV header says it lasts 2\.00 s but the file holds 1\.00 s"
    ):
        media.load_audio(data[: 44 + 32000])


def test_load_audio_rejects_what_is_not_audio() -> None:
    png = _save(Image.fromarray(_quadrants()), "PNG")
    with pytest.raises(InvalidAudioError, match=r"no audio stream .*video .*PNG image"):
        media.load_audio(png)
    with pytest.raises(InvalidAudioError, match="not an audio file") as err:
        media.load_audio(b"hello, this is just some text and nothing else at all" * 4)
    assert err.value.field == "audio_url"


def test_load_audio_rejects_a_video_without_sound(tmp_path) -> None:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 50, np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(InvalidAudioError, match=r"no audio stream \(found video \(h264\)\)"):
        media.load_audio(buf.getvalue())


def test_load_audio_rejects_empty_and_silent_audio(make_audio) -> None:
    with pytest.raises(EmptyAudioError, match=r"0\.050 s long; at least 0\.1 s"):
        media.load_audio(make_audio(0.05))
    header_only = io.BytesIO()
    with wave.open(header_only, "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
    with pytest.raises(EmptyAudioError, match="no samples"):
        media.load_audio(header_only.getvalue())
    with pytest.raises(SilentAudioError, match=r"-inf dBFS.*at least -60 dBFS"):
        media.load_audio(make_audio(1.0, level=0.0))
    with pytest.raises(SilentAudioError, match=r"peak level is -70\.\d dBFS"):
        media.load_audio(make_audio(1.0, level=10 ** (-70 / 20), kind="wav_f32"))
    assert media.load_audio(make_audio(1.0, level=10 ** (-50 / 20))).duration_s == 1.0


def test_load_audio_rejects_non_finite_samples() -> None:
    samples = tone(0.5)
    samples[0, 100] = np.nan
    with pytest.raises(InvalidAudioError, match="NaN"):
        media.load_audio(encode_audio(samples, 16000, "wav_f32"))


def test_load_audio_stops_decoding_past_its_cap(make_audio) -> None:
    with pytest.raises(AudioTooLongError, match=r"longer than 0\.5 s"):
        media.load_audio(make_audio(1.0), max_duration_s=0.5)


# ---------------------------------------------------------------- encoding


W, H, FPS = 128, 96, 25


def _frames(n: int, fail_at: int | None = None, closed: list | None = None):
    """n frames whose brightness is the frame number (a white frame at index 25)."""
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"renderer broke at frame {i}")
            yield np.full((H, W, 3), 255 if i == 25 else i % 200, np.uint8)
    finally:
        if closed is not None:
            closed.append(True)


def _voice(duration_s: float = 2.0, rate: int = 44100, channels: int = 2) -> Audio:
    samples = tone(duration_s, rate, channels, 0.05)
    samples[:, rate : rate + 200] = 0.9  # a click at exactly 1.0 s
    return Audio(samples, rate)


def _probe(path) -> dict:
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        return {
            "duration_s": c.duration / 1e6,
            "video": (v.codec_context.name, v.codec_context.pix_fmt, v.width, v.height, v.frames),
            "audio": (a.codec_context.name, a.rate, a.channels),
        }


def test_encode_video_writes_h264_aac_faststart_mp4(tmp_path) -> None:
    out, seen = tmp_path / "out.mp4", []
    media.encode_video(_frames(100), _voice(), out, FPS, (W, H), on_frame=seen.append)
    info = _probe(out)
    assert info["video"] == ("h264", "yuv420p", W, H, frame_count(2.0, FPS))
    assert info["audio"] == ("aac", 44100, 2)
    assert abs(info["duration_s"] - 2.0) < 0.05
    assert seen == list(range(1, 51))
    data = out.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")  # +faststart: index first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_encode_video_aligns_sound_with_the_first_frame(tmp_path) -> None:
    out = tmp_path / "out.mp4"
    media.encode_video(_frames(50), _voice(), out, FPS, (W, H))
    with av.open(str(out)) as c:
        white = [f.time for f in c.decode(video=0) if f.to_ndarray(format="rgb24").mean() > 128]
    with av.open(str(out)) as c:
        frames = list(c.decode(audio=0))
        start = frames[0].time
        samples = np.concatenate([f.to_ndarray() for f in frames], axis=1)
    click = start + np.argmax(np.abs(samples[0]) > 0.5) / 44100
    assert white == [pytest.approx(1.0)]
    assert click == pytest.approx(1.0, abs=0.005)


def test_encode_video_keeps_colours_and_tags_them_bt709(tmp_path) -> None:
    colours = [(200, 100, 50), (30, 160, 220), (255, 255, 255), (0, 0, 0)]
    frames = (np.full((H, W, 3), colours[i // 10], np.uint8) for i in range(40))
    media.encode_video(frames, _voice(1.6), tmp_path / "c.mp4", FPS, (W, H))
    with av.open(str(tmp_path / "c.mp4")) as c:
        decoded = list(c.decode(video=0))
    assert (decoded[0].colorspace, decoded[0].color_range) == (1, 1)  # BT.709, limited range
    for i, colour in enumerate(colours):
        got = decoded[i * 10 + 5].to_ndarray(format="rgb24")[H // 2, W // 2].astype(int)
        assert np.abs(got - colour).max() <= 4, (colour, got)


@pytest.mark.parametrize(
    ("rate", "channels", "out_rate", "out_channels"), [(16000, 1, 16000, 1), (37800, 6, 44100, 2)]
)
def test_encode_video_muxes_any_voice_as_aac(tmp_path, rate, channels, out_rate, out_channels) -> None:
    out = tmp_path / "out.mp4"
    media.encode_video(_frames(50), Audio(tone(1.0, rate, channels), rate), out, FPS, (W, H))
    assert _probe(out)["audio"] == ("aac", out_rate, out_channels)


def test_encode_video_turbo_uses_the_fastest_preset(tmp_path) -> None:
    media.encode_video(_frames(50), _voice(1.0), tmp_path / "t.mp4", FPS, (W, H), turbo=True)
    media.encode_video(_frames(50), _voice(1.0), tmp_path / "n.mp4", FPS, (W, H), turbo=False)
    # x264 writes its settings into the stream; ultrafast is the only preset with subme=0
    assert b"subme=0" in (tmp_path / "t.mp4").read_bytes()
    assert b"subme=0" not in (tmp_path / "n.mp4").read_bytes()


def _assert_untouched(tmp_path, out) -> None:
    assert out.read_bytes() == b"previous video"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_encode_video_cancel_leaves_the_output_untouched(tmp_path) -> None:
    out, closed = tmp_path / "out.mp4", []
    out.write_bytes(b"previous video")

    def cancel_at_5(n: int) -> None:
        if n == 5:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        media.encode_video(_frames(50, closed=closed), _voice(), out, FPS, (W, H), on_frame=cancel_at_5)
    _assert_untouched(tmp_path, out)
    assert closed == [True]  # the renderer was stopped, not left running


def test_encode_video_passes_on_the_renderers_exception(tmp_path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(ValueError, match="renderer broke at frame 3"):
        media.encode_video(_frames(50, fail_at=3), _voice(), out, FPS, (W, H))
    _assert_untouched(tmp_path, out)


def test_encode_video_rejects_frames_of_the_wrong_shape(tmp_path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous video")
    bad = (np.zeros((H, W + 2, 3), np.uint8) for _ in range(50))
    with pytest.raises(EngineError, match=r"\(96, 130, 3\) uint8; expected \(96, 128, 3\)"):
        media.encode_video(bad, _voice(), out, FPS, (W, H))
    _assert_untouched(tmp_path, out)


def test_encode_video_needs_a_frame_for_all_the_sound(tmp_path) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous video")
    with pytest.raises(EngineError, match="stopped after 30 of 50 frames"):
        media.encode_video(_frames(30), _voice(), out, FPS, (W, H))
    _assert_untouched(tmp_path, out)


@pytest.mark.parametrize("kind", ["BMP", "TIFF"])
def test_bmp_and_tiff_load_as_the_service_accepts_them(kind: str) -> None:
    img = media.load_image(_save(Image.fromarray(_quadrants()), kind))
    assert img.shape == _quadrants().shape and img.dtype == np.uint8


def test_the_command_line_and_the_api_name_the_same_accepted_formats() -> None:
    """One sentence per kind, from talkies.formats, in the engine's and the service's messages."""
    from talkies.service import sniff

    for field, sentence, load in (
        ("image_url", formats.ACCEPTED_IMAGES, media.load_image),
        ("audio_url", formats.ACCEPTED_AUDIO, media.load_audio),
    ):
        data = b"%PDF-1.4\n" + bytes(200)
        with pytest.raises(InputError) as api:
            sniff.check(field, data)
        with pytest.raises(InputError) as engine:
            load(data)
        assert sentence in api.value.message and sentence in engine.value.message, (
            api.value.message,
            engine.value.message,
        )

"""Encoding the rendered frames and the voice into an MP4 (PyAV: libx264 + AAC, no subprocess).

Rendering (numpy / cv2, which release the GIL) and encoding (libx264, which runs its own
threads) overlap: a producer thread pulls frames from the renderer's generator, converts them to
yuv420p and hands them over through a small bounded queue, while this thread feeds the encoder
and the muxer. The queue bounds memory, so a long clip costs no more than a short one; the
voice is encoded in step with the frames so the file is interleaved as it is written.

The file is written next to the output under a hidden temporary name and moved into place only
when complete: whatever fails (a bad frame, the renderer, a cancel from `on_frame`, Ctrl-C), the
output path is never left holding a partial video.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

from talkies.errors import EngineError
from talkies.media._prefetch import Prefetch
from talkies.tracks import Audio, frame_count

# libx264 constant quality, chosen by measurement (bench/photos.py, 6 package photos at 720p and
# 1080p): the face's luma PSNR against the frames before encoding is at least 38 dB on every one
# at 18 (38.1-41.7 dB), not at 20 (37.2 on a small upscaled face, 37.6 on a grainy scan) nor at
# x264's default 23 (35.5-39.5). 17 costs 15% more bits for 0.5 dB. 18 doubles 23's bit rate.
CRF = 18
# A drawing (ink over flat colour) rings round its ink lines: at 18 the face keeps 35.7-37.0 dB
# (two inked package photos), at 15 37.7-39.0, at 13 39.1-40.1 (1.6-2.3 Mbit/s at 720p).
CRF_DRAWING = 13
PRESET = {False: "veryfast", True: "ultrafast"}  # by turbo
QUEUE_FRAMES = 4  # frames rendered ahead of the encoder
AAC_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)
_BT709 = 1  # H.273 code for BT.709 primaries, transfer and matrix (what players assume for HD)


def encode_video(
    frames: Iterable[np.ndarray],
    voice: Audio,
    output: str | Path,
    fps: int,
    size: tuple[int, int],
    turbo: bool = False,
    on_frame: Callable[[int], None] | None = None,
    drawing: bool = False,
) -> None:
    """Encode `frames` ((H, W, 3) uint8 RGB, W x H = `size`) at `fps` with `voice` as AAC into
    the MP4 `output`, at the quality a photo needs (CRF), or a `drawing` (CRF_DRAWING). The
    video lasts as long as the voice: exactly `frame_count(voice.duration_s, fps)` frames are
    taken (EngineError if fewer come).

    `on_frame(n)` is called after the n-th frame (1-based) went to the encoder; it may raise
    (e.g. talkies.errors.Cancelled) to stop. On any exception the output path is untouched.
    """
    output = Path(output)
    partial = output.with_name(f".{output.name}.{secrets.token_hex(4)}.partial")
    try:
        with Prefetch(frames, _Converter(size).convert, QUEUE_FRAMES) as feed:
            crf = CRF_DRAWING if drawing else CRF
            _write(partial, feed, voice, fps, size, turbo, crf, on_frame or (lambda n: None))
        os.replace(partial, output)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise


def _write(
    path: Path,
    feed: Iterable[av.VideoFrame],
    voice: Audio,
    fps: int,
    size: tuple[int, int],
    turbo: bool,
    crf: int,
    on_frame: Callable[[int], None],
) -> None:
    """Encode into `path`; the container is only finalised (trailer, index moved to the front
    for +faststart) when every frame went through."""
    container = av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        video = _add_video_stream(container, fps, size, turbo, crf)
        sound = _VoiceWriter(container, voice)
        n_frames = frame_count(voice.duration_s, fps)
        done = 0
        for done, frame in enumerate(feed, start=1):
            frame.pts = done - 1
            container.mux(video.encode(frame))
            sound.write_until(done / fps)
            on_frame(done)
            if done == n_frames:
                break
        if done < n_frames:
            raise EngineError(f"the renderer stopped after {done} of {n_frames} frames")
        container.mux(video.encode(None))
        sound.finish()
    except BaseException:
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            container.close()
        raise
    container.close()


def _add_video_stream(
    container: av.container.OutputContainer, fps: int, size: tuple[int, int], turbo: bool, crf: int
):
    stream = container.add_stream("libx264", rate=Fraction(fps))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    stream.time_base = Fraction(1, fps)
    stream.options = {"crf": str(crf), "preset": PRESET[turbo]}
    context = stream.codec_context
    context.colorspace = context.color_primaries = context.color_trc = _BT709
    context.color_range = int(ColorRange.MPEG)
    return stream


class _Converter:
    """RGB frames to yuv420p (BT.709, limited range), checked against the expected size.
    Runs in the producer thread, so the conversion overlaps with encoding."""

    def __init__(self, size: tuple[int, int]) -> None:
        self._shape = (size[1], size[0], 3)
        self._reformatter = VideoReformatter()

    def convert(self, image: np.ndarray) -> av.VideoFrame:
        if image.shape != self._shape or image.dtype != np.uint8:
            raise EngineError(
                f"the renderer produced a frame of shape {image.shape} {image.dtype}; "
                f"expected {self._shape} uint8"
            )
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        return self._reformatter.reformat(
            rgb,
            format="yuv420p",
            src_colorspace=Colorspace.ITU709,
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
            threads=1,
        )


class _VoiceWriter:
    """The voice as an AAC stream starting at t = 0, encoded in step with the video frames.
    Mono stays mono, anything wider is mixed down to stereo; a rate AAC cannot carry goes up to
    the next one it can (PyAV's encoder resamples)."""

    def __init__(self, container: av.container.OutputContainer, voice: Audio) -> None:
        rate = next((r for r in AAC_RATES if r >= voice.sample_rate), AAC_RATES[-1])
        self._stream = container.add_stream(
            "aac", rate=rate, layout="mono" if voice.channels == 1 else "stereo"
        )
        self._stream.bit_rate = 96_000 if voice.channels == 1 else 160_000
        self._container = container
        self._voice = voice
        self._layout = {1: "mono", 2: "stereo"}.get(voice.channels, f"{voice.channels} channels")
        self._done = 0

    def write_until(self, time_s: float) -> None:
        """Encode the voice up to `time_s` seconds."""
        rate = self._voice.sample_rate
        end = min(self._voice.samples.shape[1], round(time_s * rate)) if time_s < np.inf else None
        end = self._voice.samples.shape[1] if end is None else end
        if end <= self._done:
            return
        chunk = np.ascontiguousarray(self._voice.samples[:, self._done : end], dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=self._layout)
        frame.sample_rate, frame.pts, frame.time_base = rate, self._done, Fraction(1, rate)
        self._container.mux(self._stream.encode(frame))
        self._done = end

    def finish(self) -> None:
        self.write_until(np.inf)
        self._container.mux(self._stream.encode(None))

"""Fragmented MP4 for Media Source Extensions: H.264 + AAC, one fragment per packet.

Why these settings: a browser's MediaSource plays an init segment (ftyp + moov, no samples:
`empty_moov`) followed by moof + mdat fragments whose offsets are relative to their own moof
(`default_base_moof`). A fragment duration of 1 us closes a fragment before each new packet, so
a frame leaves as soon as the next packet (its own audio, muxed just behind it) is written
(`frag_every_frame` does the same but leaves one-packet audio fragments without a duration:
players then read half of the voice); x264's
`zerolatency` tune (no B-frames, no look-ahead, sliced threads) returns each frame's packet at
once. The voice is resampled to 48 kHz so that its AAC packets (1024 samples) are 21 ms long.
The muxer writes into memory; `take()` hands out the complete boxes written since last time.
"""

from __future__ import annotations

import contextlib
import io
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter

AAC_RATE = 48_000
CRF = 23  # a live stream's bit rate matters more than the last dB (the file mode uses 18)
PRESET = {False: "veryfast", True: "ultrafast"}  # by turbo
KEYFRAME_S = 2.0


class _Sink(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.data += bytes(b)
        return len(b)


class FragmentMuxer:
    """Frames (RGB) and the voice (mono float32 at `rate`) in, fMP4 bytes out."""

    def __init__(self, size: tuple[int, int], fps: int, rate: int, turbo: bool = False) -> None:
        self._sink = _Sink()
        self._container = av.open(
            self._sink,
            mode="w",
            format="mp4",
            options={"movflags": "empty_moov+default_base_moof", "frag_duration": "1", "flush_packets": "1"},
        )
        video = self._container.add_stream("libx264", rate=Fraction(fps))
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, fps)
        video.options = {
            "crf": str(CRF),
            "preset": PRESET[turbo],
            "tune": "zerolatency",
            "g": str(round(KEYFRAME_S * fps)),
        }
        self._video = video
        self._audio = self._container.add_stream("aac", rate=AAC_RATE, layout="mono")
        self._audio.bit_rate = 64_000
        self._reformatter = VideoReformatter()
        self._rate, self._fps = rate, fps
        self._frames = self._samples = 0
        self._pending = bytearray()
        self.init: bytes | None = None

    def add_frame(self, image: np.ndarray) -> None:
        rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame = self._reformatter.reformat(
            rgb,
            format="yuv420p",
            src_colorspace=Colorspace.ITU709,
            dst_colorspace=Colorspace.ITU709,
            dst_color_range=ColorRange.MPEG,
        )
        frame.pts = self._frames
        self._frames += 1
        self._container.mux(self._video.encode(frame))

    def add_audio(self, samples: np.ndarray) -> None:
        """Append (n,) float32 mono samples at the session's rate."""
        if samples.size == 0:
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None, :], np.float32), "fltp", "mono")
        frame.sample_rate, frame.pts, frame.time_base = self._rate, self._samples, Fraction(1, self._rate)
        self._samples += samples.size
        self._mux_audio(self._audio.encode(frame))  # PyAV's encoder resamples to AAC_RATE

    def _mux_audio(self, packets) -> None:
        for packet in packets:
            if not packet.duration:  # one packet per fragment: the muxer cannot infer it
                packet.duration = round(1024 / (AAC_RATE * packet.time_base))
            self._container.mux(packet)

    def finish(self) -> None:
        self._container.mux(self._video.encode(None))
        self._mux_audio(self._audio.encode(None))
        self._container.close()

    def close(self) -> None:
        """Release the encoders without finishing the stream (a session that failed)."""
        with contextlib.suppress(av.FFmpegError, OSError, ValueError):
            self._container.close()

    def take(self) -> bytes:
        """The complete moof + mdat fragments written since the last call (the init segment,
        ftyp + moov, is kept apart in `init` when it comes)."""
        self._pending += self._sink.data
        self._sink.data = bytearray()
        boxes, rest = _split_boxes(bytes(self._pending))
        self._pending = bytearray(rest)
        media = bytearray()
        for kind, box in boxes:
            if kind in (b"ftyp", b"moov"):
                self.init = (self.init or b"") + box
            elif kind in (b"moof", b"mdat"):
                media += box
        return bytes(media)

    @property
    def mime(self) -> str:
        """The MediaSource type of the stream, with the H.264 profile and level of the init
        segment's avcC box ("video/mp4; codecs=\"avc1.64001f, mp4a.40.2\"")."""
        init = self.init or b""
        at = init.find(b"avcC")
        avc = init[at + 5 : at + 8].hex() if at >= 0 else "42e01f"
        return f'video/mp4; codecs="avc1.{avc}, mp4a.40.2"'


def _split_boxes(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Complete top-level ISO BMFF boxes at the start of `data`, and what is left after them."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        if size < 8 or at + size > len(data):
            break
        boxes.append((data[at + 4 : at + 8], data[at : at + size]))
        at += size
    return boxes, data[at:]

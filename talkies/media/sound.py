"""Decoding the voice with PyAV (FFmpeg's libraries in-process, no subprocess).

Any container and codec FFmpeg knows is accepted (WAV, MP3, Ogg Vorbis/Opus, M4A/AAC, raw AAC,
FLAC ...) at any rate and channel count; samples are converted to float32 planes as they are
decoded. A file is only as good as its last byte, and FFmpeg decoders are forgiving: a
truncated file usually decodes without complaint, just shorter. So a decoding error anywhere is
a rejection, and where the file states its own length exactly (the WAV header's data size,
FLAC's STREAMINFO, an MP4 index, an MP3 Xing/Info/VBRI header) the decoded length must reach
it; an Ogg file must end with its end-of-stream page. Where the length is only an estimate
(raw AAC, MP3 without such a header, whose duration FFmpeg guesses from the bitrate) a short
file cannot be told from a truncated one.
"""

from __future__ import annotations

import io
import math

import av
import numpy as np

from talkies.errors import AudioTooLongError, EmptyAudioError, InvalidAudioError, SilentAudioError
from talkies.formats import ACCEPTED_AUDIO, declared_duration_s, identify
from talkies.media._source import Source, describe, read_ends
from talkies.tracks import Audio

MIN_DURATION_S = 0.1  # shorter audio cannot carry a syllable
SILENCE_DBFS = -60.0  # a peak below this is silence (16-bit dither is about -90 dBFS)
MAX_DECODE_S = 600.0  # safety cap while decoding; the real limit is the resolution's (options)
# PyAV crashes (a native segfault) converting a frame of 8 or more *planar* channels to or from
# an array, so samples are decoded into one packed plane, and audio with more channels than
# 5.1 is averaged into mono as it decodes (a voice needs one; the video encoder then never sees
# more than KEPT_CHANNELS). More than MAX_CHANNELS is refused.
KEPT_CHANNELS = 6
MAX_CHANNELS = 64
_HEAD_BYTES = 256 * 1024  # enough for the WAV chunk list, an ID3 tag and the first MP3 frame
_TOLERANCE_S = 0.1  # decoded may fall this much (or 2%) short of the stated length: codec padding
# Writers that stream (espeak-ng --stdout, sox to a pipe ...) cannot go back to fill in the data
# size: they leave 0 or a placeholder near 2**31 or 2**32 (0x7FFFF000, 0x7FFFFFFF, 0xFFFFFFFF).
_WAV_UNKNOWN_SIZE = 0x7FFF0000
_EXACT_LENGTH_FORMATS = ("flac", "mov,mp4,m4a,3gp,3g2,mj2")


def load_audio(src: Source, max_duration_s: float = MAX_DECODE_S, limit_note: str = "") -> Audio:
    """Decode `src` (a path or the file's bytes) to `Audio`: (channels, n) float32 in [-1, 1] at
    the file's own rate. Raises InvalidAudioError (not audio, no audio stream, corrupt or
    truncated), EmptyAudioError (under 0.1 s), SilentAudioError (peak under -60 dBFS) and
    AudioTooLongError when the file says it is longer than `max_duration_s` (checked before
    decoding) or when more than that decodes (decoding stops there). Audio with more than
    KEPT_CHANNELS channels is mixed down to mono; more than MAX_CHANNELS is refused.
    `limit_note` says the limit in those messages ("1080p allows at most 30 s"; default: the
    decoder's own cap)."""
    head, tail, size = read_ends(src, "audio", InvalidAudioError, _HEAD_BYTES)
    _check_wav_length(head, size)
    _check_ogg_end(head, tail)
    fileobj = io.BytesIO(src) if isinstance(src, bytes | bytearray | memoryview) else open(src, "rb")  # noqa: SIM115
    with fileobj, _open(fileobj, head) as container:
        stream = _audio_stream(container, head)
        note = limit_note or "the most talkies decodes"
        _check_declared_length(container, stream, max_duration_s, note)
        stated_s = _stated_duration(container, stream, head)
        samples, rate, failure = _decode(container, stream, max_duration_s, note)
    _check_complete(samples.shape[1] / rate if rate else 0.0, stated_s, failure)
    audio = Audio(samples=samples, sample_rate=rate)
    _check_content(audio, head)
    return audio


def _open(fileobj: io.IOBase, head: bytes) -> av.container.InputContainer:
    try:
        return av.open(fileobj, mode="r")
    except (av.FFmpegError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        kind, found = describe(head), identify(head)
        if found is not None and found.kind in ("audio", "video"):
            raise InvalidAudioError(
                f"audio is truncated or corrupt: {kind}, but it cannot be opened ({reason})"
            ) from e
        raise InvalidAudioError(
            f"audio is not an audio file talkies can read: {kind} ({reason}); accepted: {ACCEPTED_AUDIO}"
        ) from e


def _audio_stream(container: av.container.InputContainer, head: bytes) -> av.audio.stream.AudioStream:
    if container.streams.audio:
        stream = container.streams.audio[0]
        # FFmpeg opens a stream it has no decoder for (a WAV with format tag 0 or 0 bits per
        # sample) with no codec parameters at all; PyAV then has no `rate` attribute.
        rate, channels = getattr(stream, "rate", None), getattr(stream, "channels", 0)
        if not rate or not channels:
            codec = getattr(stream.codec_context, "name", None) or "unknown"
            raise InvalidAudioError(
                f"audio has an audio stream FFmpeg cannot decode (codec {codec}, sample rate {rate}, "
                f"{channels} channels); {describe(head)}"
            )
        if channels > MAX_CHANNELS:
            raise InvalidAudioError(f"audio has {channels} channels; at most {MAX_CHANNELS} are accepted")
        return stream
    found = ", ".join(f"{s.type} ({s.codec_context.name})" for s in container.streams) or "no streams"
    raise InvalidAudioError(f"audio has no audio stream (found {found}); {describe(head)}")


def _check_declared_length(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, max_s: float, note: str
) -> None:
    """Refuse a file whose container says it lasts longer than `max_s`, before decoding it.
    (Estimates count too: a long file is refused cheaply; a short one still decodes in full.)"""
    declared = declared_duration_s(container, stream)
    if declared is not None and declared > max_s + _TOLERANCE_S:
        raise AudioTooLongError(f"audio is {declared:.1f} s by its header, longer than {max_s:g} s; {note}")


def _stated_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, head: bytes
) -> float | None:
    """The length in seconds the file itself states, where that statement is exact; else None."""
    name = container.format.name
    if name not in _EXACT_LENGTH_FORMATS and not (name == "mp3" and _has_mp3_length_header(head)):
        return None
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return container.duration / 1e6 if container.duration else None


def _decode(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, max_s: float, note: str
) -> tuple[np.ndarray, int, str | None]:
    """(channels, n) float32 samples, the rate, and the decoder's complaint if it stopped early.
    Decoding stops as soon as more than `max_s` seconds came out (AudioTooLongError)."""
    resampler = av.AudioResampler(format="flt")  # same layout and rate, float, one packed plane
    chunks: list[np.ndarray] = []
    rate, n = stream.rate or 0, 0
    try:
        for packet in container.demux(stream):
            for frame in packet.decode():
                for out in resampler.resample(frame):
                    chunks.append(_channels_first(out.to_ndarray(), out.layout.nb_channels))
                    rate, n = out.sample_rate, n + out.samples
            if rate and n > (max_s + _TOLERANCE_S) * rate:
                raise AudioTooLongError(f"audio is longer than {max_s:g} s; {note}")
        failure = None
    except av.FFmpegError as e:
        failure = getattr(e, "strerror", None) or str(e)
    except ValueError as e:  # the resampler refuses a mid-stream change of rate or layout
        failure = f"the sample rate or channel layout changes mid-stream ({e})"
    channels = chunks[0].shape[0] if chunks else 1
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((channels, 0), np.float32)
    return samples.astype(np.float32, copy=False), rate, failure


def _channels_first(packed: np.ndarray, channels: int) -> np.ndarray:
    """(1, n * channels) interleaved samples -> (channels, n); more than KEPT_CHANNELS are
    averaged into one (no clipping, unlike FFmpeg's downmix of an unnamed layout, which sums)."""
    planes = packed.reshape(-1, channels).T
    if channels > KEPT_CHANNELS:
        planes = planes.mean(axis=0, keepdims=True, dtype=np.float32)
    return np.ascontiguousarray(planes)


def _check_complete(decoded_s: float, stated_s: float | None, failure: str | None) -> None:
    short = stated_s is not None and stated_s - decoded_s > max(_TOLERANCE_S, 0.02 * stated_s)
    if failure is None and not short:
        return
    where = f"decoding stopped at {decoded_s:.2f} s"
    if stated_s is not None:
        where = f"the file says it lasts {stated_s:.2f} s but {where}"
    raise InvalidAudioError(f"audio is truncated or corrupt: {where}" + (f" ({failure})" if failure else ""))


def _check_content(audio: Audio, head: bytes) -> None:
    """Reject audio too short or too quiet to lip-sync; clip float formats' overs to [-1, 1]."""
    if audio.samples.shape[1] == 0:
        raise EmptyAudioError(f"audio holds no samples; at least {MIN_DURATION_S:g} s is needed")
    if audio.duration_s < MIN_DURATION_S:
        seconds = audio.duration_s
        raise EmptyAudioError(f"audio is {seconds:.3f} s long; at least {MIN_DURATION_S:g} s is needed")
    if not np.all(np.isfinite(audio.samples)):
        raise InvalidAudioError("audio is corrupt: it holds NaN or infinite samples")
    np.clip(audio.samples, -1.0, 1.0, out=audio.samples)
    peak = float(np.abs(audio.samples).max())
    level = 20 * math.log10(peak) if peak > 0 else -math.inf
    if level < SILENCE_DBFS:
        shown = f"{level:.1f} dBFS" if peak > 0 else "-inf dBFS (digital silence)"
        limit = f"at least {SILENCE_DBFS:g} dBFS is needed"
        raise SilentAudioError(f"audio is silent: its peak level is {shown}; {limit}")


def _check_wav_length(head: bytes, size: int) -> None:
    """FFmpeg quietly shortens a WAV whose data chunk runs past the end of the file, so compare
    the header's data size with the bytes present ourselves."""
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    pos, byte_rate = 12, 0
    while pos + 8 <= len(head):
        chunk, length = head[pos : pos + 4], int.from_bytes(head[pos + 4 : pos + 8], "little")
        if chunk == b"fmt ":
            byte_rate = int.from_bytes(head[pos + 16 : pos + 20], "little")
        if chunk == b"data":
            break
        pos += 8 + length + (length & 1)
    else:
        return
    if length == 0 or length >= _WAV_UNKNOWN_SIZE or not byte_rate:
        return
    stated_s, present_s = length / byte_rate, max(0, size - pos - 8) / byte_rate
    if stated_s - present_s > max(_TOLERANCE_S, 0.02 * stated_s):
        raise InvalidAudioError(
            f"audio is truncated: its WAV header says it lasts {stated_s:.2f} s "
            f"but the file holds {present_s:.2f} s"
        )


def _check_ogg_end(head: bytes, tail: bytes) -> None:
    """A complete Ogg stream ends with a whole page flagged end-of-stream. FFmpeg reads the
    length from the last whole page present, so a cut file looks complete to it."""
    if head[:4] != b"OggS":
        return
    last = tail.rfind(b"OggS")
    header_ok = last >= 0 and last + 27 <= len(tail)
    n_segments = tail[last + 26] if header_ok else 0
    page_end = last + 27 + n_segments + sum(tail[last + 27 : last + 27 + n_segments])
    if not header_ok or not tail[last + 5] & 0x04 or page_end != len(tail):
        raise InvalidAudioError(
            "audio is truncated: the Ogg file does not end with a whole end-of-stream page"
        )


def _has_mp3_length_header(head: bytes) -> bool:
    """True when the first MP3 frame carries a Xing, Info or VBRI header (an exact frame count);
    without one FFmpeg estimates the length from the bitrate, wrongly for VBR files."""
    start = 0
    if head[:3] == b"ID3" and len(head) >= 10:
        start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        start += 10 if head[5] & 0x10 else 0  # ID3v2.4 footer
    window = head[start : start + 2048]
    return any(tag in window for tag in (b"Xing", b"Info", b"VBRI"))

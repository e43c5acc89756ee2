"""Reference phone timings: the known transcript force-aligned to the audio with pocketsphinx.

Why forced alignment: the transcript is known, so the decoder only has to place a fixed phone
sequence in time, which it does far more reliably than free phone recognition (the engine's
route). That makes the timings a fair yardstick for the engine rather than a copy of it. The
decoder runs twice, as pocketsphinx 5 requires for phone-level output: a first pass aligns the
words (with `bestpath=False`, so the lattice rescoring does not move them), then `set_alignment`
turns that word path into a phone/state network and a second pass times each phone.

The audio is read from the very file being judged when it is a rendered MP4: the alignment then
sits on the same clock as the picture, so a muxing offset would show up in the lag figure
instead of hiding behind a clean WAV.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from pocketsphinx import Decoder

from bench.evaluation import MeasurementError

SAMPLE_RATE = 16000  # the en-us acoustic model's rate
FRAMES_PER_S = 100  # pocketsphinx's fixed analysis frame rate (10 ms hop)


@dataclass(frozen=True)
class AlignedPhone:
    """One phone of the forced alignment. `label` is ARPAbet without stress ("AA", "P") or "SIL"
    for silence and noise fillers; times in seconds on the video's clock (0 = first frame)."""

    label: str
    start_s: float
    end_s: float
    word: str

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def centre_s(self) -> float:
        return 0.5 * (self.start_s + self.end_s)


def transcript_words(text: str) -> list[str]:
    """Lower-case words with punctuation removed (apostrophes kept), as cmudict spells them."""
    return re.findall(r"[a-z']+", text.lower().replace("-", " "))


def decode_speech(path: str | Path) -> tuple[np.ndarray, float]:
    """Decode the first audio stream of `path` to (n,) int16 mono at 16 kHz.

    Returns the samples and the time in seconds of sample 0 relative to the first video frame
    (0.0 for a file without video).
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            video_start = _video_start_s(container)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            chunks, first_s = [], None
            for frame in container.decode(stream):
                if first_s is None and frame.pts is not None:
                    first_s = float(frame.pts * frame.time_base)
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except (av.error.FFmpegError, IndexError) as e:
        raise MeasurementError(f"cannot decode audio of {path}: {e}") from e
    if not chunks:
        raise MeasurementError(f"{path} holds no audio samples")
    return np.concatenate(chunks).astype(np.int16), (first_s or 0.0) - video_start


def _video_start_s(container: av.container.InputContainer) -> float:
    """Presentation time of the first video frame, or 0.0 when there is no video stream."""
    if not container.streams.video:
        return 0.0
    video = container.streams.video[0]
    if video.start_time is None:
        return 0.0
    return float(video.start_time * video.time_base)


def force_align(pcm: np.ndarray, words: list[str]) -> list[AlignedPhone]:
    """Time every phone of `words` in `pcm` ((n,) int16 mono, 16 kHz); times from sample 0."""
    # dither: synthetic voices (espeak-ng) hold stretches of exact digital zeros whose log energy
    # breaks the feature front end and the alignment fails; a fixed seed keeps it repeatable.
    decoder = Decoder(bestpath=False, dither=True, seed=1, loglevel="FATAL")
    missing = [w for w in words if decoder.lookup_word(w) is None]
    if missing:
        raise MeasurementError(f"transcript words not in cmudict: {', '.join(missing)}")
    raw = np.ascontiguousarray(pcm, dtype=np.int16).tobytes()
    try:
        decoder.set_align_text(" ".join(words))
        _decode(decoder, raw)
        decoder.set_alignment()
        _decode(decoder, raw)
    except RuntimeError as e:
        raise MeasurementError(f"pocketsphinx could not align {len(words)} words: {e}") from e
    alignment = decoder.get_alignment()
    if alignment is None:
        raise MeasurementError("pocketsphinx produced no alignment (audio does not fit the transcript?)")
    return [_phone(word.name, p.name, p.start, p.duration) for word in alignment for p in word]


def _decode(decoder: Decoder, raw: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(raw, full_utt=True)
    decoder.end_utt()


def _phone(word: str, label: str, start: int, duration: int) -> AlignedPhone:
    """One alignment entry (frames at 100 per second) as an AlignedPhone; fillers become SIL."""
    is_filler = label.startswith("+") or label == "SIL"
    word = re.sub(r"\(\d+\)$", "", word)  # "was(2)": pronunciation variant
    return AlignedPhone(
        label="SIL" if is_filler else label,
        start_s=start / FRAMES_PER_S,
        end_s=(start + duration) / FRAMES_PER_S,
        word="" if word.startswith("<") or word.startswith("[") else word,
    )


def align_file(path: str | Path, transcript: str) -> list[AlignedPhone]:
    """Force-align `transcript` to the audio of `path` (WAV, MP4 ...); times on the video clock."""
    pcm, offset_s = decode_speech(path)
    phones = force_align(pcm, transcript_words(transcript))
    return [AlignedPhone(p.label, p.start_s + offset_s, p.end_s + offset_s, p.word) for p in phones]


def merge_silences(phones: list[AlignedPhone]) -> list[AlignedPhone]:
    """Join neighbouring SIL entries (a filler next to a <sil>) into one pause."""
    merged: list[AlignedPhone] = []
    for p in phones:
        if merged and p.label == "SIL" and merged[-1].label == "SIL":
            merged[-1] = AlignedPhone("SIL", merged[-1].start_s, p.end_s, "")
        else:
            merged.append(p)
    return merged

"""English phones: recognised words, force-aligned into phones, checked by a phone loop.

Why this way: against a forced alignment of the known transcripts of 11 clips (the three
examples; five LibriVox and command recordings from pocketsphinx's test data; three espeak
voices), the phones of the *recognised words* (word decoding with en-us.lm.bin, then a forced
alignment of those words) fall in the right viseme class on 87% of speech frames of the
examples and 79% of the others, a free phone loop on only 73% and 69%: a misrecognised word
usually still has the right mouth shapes ("dashwood had" heard as "guess would have"). The word
decoder sometimes drops words and calls them silence; where it does and the phone loop (cheap,
0.04 s per audio second) hears phones in active voice, the loop's phones fill the gap: 89% and
81%. The loop is also a second opinion for each phone's confidence, next to its acoustic fit
and its word's posterior.

The audio is decoded as utterances: the runs of voice activity, with a little of the silence
around them, at most 10 s each (see `chunk_bounds`). One failed alignment then costs one
utterance (which falls back to the phone loop), decoding time stays linear in length, silence
is not decoded at all, and what a word is heard as does not depend on how long a silence
came before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from talkies.audio import phoneset
from talkies.audio.decoders import Recogniser, Seg, recogniser, to_pcm
from talkies.audio.frames import HOP_S, RATE_ASR, runs
from talkies.tracks import Phone

_MAX_CHUNK_HOPS = 1000  # 10 s
_JOIN_PAUSE_HOPS = 60  # speech runs closer than 600 ms are one utterance
_PAD_HOPS = 30  # decoded with up to 300 ms of the silence around them
# The phone loop's share of a chunk's decoding time (the word decode and the two alignment
# passes take the rest): 0.27 of 1.5 s on examples/speech.wav.
_LOOP_SHARE = 0.2
# Phones only the phone loop found: their viseme class was right on 55-75% of frames.
_LOOP_CONFIDENCE = 0.5
_LOOP_SILENCE_CONFIDENCE = 0.7
_GAP_CONFIDENCE = 0.9  # time outside every chunk: no voice activity at all


@dataclass(frozen=True)
class Task:
    """Decoder passes for another process (`Aside`): "chunk", every pass of one utterance (its
    phones, as `recognise` would find them), or "loop", its phone loop only."""

    kind: str
    pcm: bytes
    active: np.ndarray


class Aside(Protocol):
    """A second recogniser in another process (background.py), which takes some of the
    decoder passes: pocketsphinx holds the GIL, so passes run side by side only in processes."""

    def submit(self, tasks: list[Task]) -> None:
        """Start the tasks (in order); returns at once."""

    def collect(self) -> Iterator[tuple[int, list[Seg]]]:
        """(index into the submitted tasks, its result) for each task, as each is done."""


def run_task(rec: Recogniser, task: Task) -> list[Seg]:
    """What `Task` asks for, on this process's recogniser."""
    with rec.lock:
        if task.kind == "loop":
            return _loop(rec, task.pcm, task.active.shape[0])
        return _chunk_phones(rec, task.pcm, task.active, lambda share: None)


def recognise(
    x16: np.ndarray,
    speech: np.ndarray,
    duration_s: float,
    tick: Callable[[float], None] | None = None,
    aside: Aside | None = None,
    words: bool = True,
) -> tuple[Phone, ...]:
    """English phones of the (n,) float32 16 kHz signal, given its (n_hops,) bool voice
    activity. The phones tile [0, duration_s], "SIL" between speech; empty when nothing but
    silence was recognised. pocketsphinx frames are 10 ms, the same as our hops. `tick`, if
    given, is called with the share of the work done (0..1) after every decoder pass (each
    takes well under a second): it may raise to stop the analysis. With `aside`, about half
    of the decoding runs there (`_share_out`), at the same time; the phones are the same.
    `words=False` takes the phone loop's phones alone (`_LOOP_CONFIDENCE`), in this process:
    about a fifth of the decoding (`_LOOP_SHARE`), and on the half-second windows of live mode
    more often right about p, b and m than the word decoder, which has no whole words there to
    go on (on 68 s of streamed speech, 94% of the bilabials closed against 84%)."""
    rec = recogniser()
    per_hop = round(RATE_ASR * HOP_S)
    bounds = chunk_bounds(speech)
    pcms = [to_pcm(x16[start * per_hop : end * per_hop]) for start, end in bounds]
    actives = [speech[start:end] for start, end in bounds]
    shared = aside is not None and words
    chunks_aside, loops_aside = _share_out([end - start for start, end in bounds]) if shared else ((), ())
    tasks = [Task("chunk", pcms[i], actives[i]) for i in chunks_aside]
    tasks += [Task("loop", pcms[i], actives[i]) for i in loops_aside]
    if aside is not None and tasks:  # (none unless `shared`)
        aside.submit(tasks)
    total = max(1, sum(end - start for start, end in bounds))
    done = 0
    found: dict[int, list[Seg]] = {}
    aligned: dict[int, list[Seg] | None] = {}
    for i, (start, end) in enumerate(bounds):
        if i in chunks_aside:
            continue
        report = _share_reporter(tick, done, end - start, total)
        with rec.lock:
            if not words:
                found[i] = _combined(None, _loop(rec, pcms[i], actives[i].shape[0]), actives[i])
                report(1.0)
            elif i in loops_aside:
                aligned[i] = _aligned(rec, pcms[i], actives[i].shape[0], report)
            else:
                found[i] = _chunk_phones(rec, pcms[i], actives[i], report)
        done += end - start
    if aside is not None and tasks:
        chunk_of_task = [*chunks_aside, *loops_aside]
        for k, result in aside.collect():
            i = chunk_of_task[k]
            if tasks[k].kind == "loop":
                found[i] = _combined(aligned[i], result, actives[i])
            else:
                found[i] = result
                done += bounds[i][1] - bounds[i][0]
            if tick is not None:
                tick(min(done, total) / total)
    segs = [
        Seg(s.label, bounds[i][0] + s.start, bounds[i][0] + s.end, s.confidence)
        for i in sorted(found)
        for s in found[i]
    ]
    if all(s.label == phoneset.SILENCE for s in segs):
        return ()
    tiled = _merge_silences(_tile(segs, speech.shape[0]))
    phones = [Phone(s.label, s.start * HOP_S, s.end * HOP_S, round(s.confidence, 3)) for s in tiled]
    last = phones[-1]
    phones[-1] = Phone(last.label, last.start_s, max(duration_s, last.start_s), last.confidence)
    return tuple(phones)


def _share_out(lengths: list[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Which chunks the other process decodes whole, and of which of the rest it runs the
    phone loop: whole chunks go to the less loaded side, longest first; then the loops of
    this side's chunks move over while that narrows the gap. One chunk: its loop (about a
    fifth of its decoding time) goes aside, the word decode and the alignment stay."""
    load = [0.0, 0.0]
    side: dict[int, int] = {}
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        side[i] = 0 if load[0] <= load[1] else 1
        load[side[i]] += lengths[i]
    loops = []
    for i in sorted(i for i in side if side[i] == 0):
        move = _LOOP_SHARE * lengths[i]
        if load[1] + move <= load[0] - move:
            loops.append(i)
            load[0], load[1] = load[0] - move, load[1] + move
    return tuple(sorted(i for i in side if side[i] == 1)), tuple(loops)


def _share_reporter(
    tick: Callable[[float], None] | None, done: int, size: int, total: int
) -> Callable[[float], None]:
    """A callback for the passes of one chunk: its own share 0..1 -> the whole clip's."""
    return lambda share: tick((done + share * size) / total) if tick is not None else None


def chunk_bounds(speech: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) hop ranges to decode: the runs of voice activity, joined across pauses
    shorter than 600 ms, each with up to 300 ms of the pause around it, and split in the
    middle of their longest pause while longer than 10 s.

    Why: pocketsphinx normalises its features by a running cepstral mean and an energy
    reference that a long silence drags away from speech (a word after 7 s of room tone was
    heard as "AA P"); starting each utterance just before its speech keeps what is recognised
    the same whatever silence precedes it, and the silence costs no decoding. Short
    utterances also bound how long one decoder pass runs (cancel is honoured between passes)
    and how much one failed alignment loses.
    """
    n = speech.shape[0]
    chunks: list[list[int]] = []
    for s, e in runs(speech):
        if chunks and s - chunks[-1][1] < _JOIN_PAUSE_HOPS:
            chunks[-1][1] = e
        else:
            chunks.append([s, e])
    padded = []
    for i, (s, e) in enumerate(chunks):
        lo = max(0, s - _PAD_HOPS, (chunks[i - 1][1] + s) // 2 if i else 0)
        hi = min(n, e + _PAD_HOPS, (e + chunks[i + 1][0]) // 2 if i + 1 < len(chunks) else n)
        padded += _split_long(speech, lo, hi)
    return padded


def _split_long(speech: np.ndarray, start: int, end: int) -> list[tuple[int, int]]:
    """[start, end) cut in the middle of its longest interior pause (or in its middle, where it
    has none) until every piece is at most _MAX_CHUNK_HOPS."""
    if end - start <= _MAX_CHUNK_HOPS:
        return [(start, end)]
    inner = [(s + start, e + start) for s, e in runs(~speech[start:end]) if s > 0 and e < end - start]
    # prefer pauses that leave both pieces at least a second long
    usable = [(s, e) for s, e in inner if (s + e) // 2 - start >= 100 and end - (s + e) // 2 >= 100]
    if usable:
        s, e = max(usable, key=lambda r: r[1] - r[0])
        cut = (s + e) // 2
    else:
        cut = (start + end) // 2
    return _split_long(speech, start, cut) + _split_long(speech, cut, end)


def _chunk_phones(
    rec: Recogniser, pcm: bytes, active: np.ndarray, tick: Callable[[float], None]
) -> list[Seg]:
    """Phones of one chunk, frames relative to it and clipped to its length; `tick` gets the
    chunk's share done after each decoder pass."""
    aligned = _aligned(rec, pcm, active.shape[0], tick)
    loop = _loop(rec, pcm, active.shape[0])
    tick(1.0)
    return _combined(aligned, loop, active)


def _aligned(rec: Recogniser, pcm: bytes, n: int, tick: Callable[[float], None]) -> list[Seg] | None:
    """The recognised words' aligned phones (clipped to n frames); None where none aligned."""
    words = rec.words(pcm)
    tick(0.5)
    aligned = rec.align(pcm, words) if words else None
    tick(0.8)
    if aligned is None:
        return None
    return [Seg(s.label, s.start, min(s.end, n), s.confidence, s.fit) for s in aligned]


def _loop(rec: Recogniser, pcm: bytes, n: int) -> list[Seg]:
    clipped = [Seg(s.label, s.start, min(s.end, n)) for s in rec.phone_loop(pcm)]
    return [s for s in clipped if s.end > s.start]


def _combined(aligned: list[Seg] | None, loop: list[Seg], active: np.ndarray) -> list[Seg]:
    return [s for s in _combine(aligned, loop, active) if s.end > s.start]


def _combine(aligned: list[Seg] | None, loop: list[Seg], active: np.ndarray) -> list[Seg]:
    """The aligned phones with confidences, silences filled from the loop; the loop's phones
    alone where there is no alignment."""
    loop_classes = _class_frames(loop, active.shape[0])
    if aligned is None:
        return [Seg(s.label, s.start, s.end, _loop_confidence(s.label)) for s in loop]
    out = []
    for seg in aligned:
        if seg.label == phoneset.SILENCE:
            out += _fill_silence(seg, loop, loop_classes, active)
        else:
            out.append(Seg(seg.label, seg.start, seg.end, _aligned_confidence(seg, loop_classes)))
    return out


def _loop_confidence(label: str) -> float:
    return _LOOP_SILENCE_CONFIDENCE if label == phoneset.SILENCE else _LOOP_CONFIDENCE


def _class_frames(segs: list[Seg], n: int) -> np.ndarray:
    """(n,) object array: the viseme class of each frame ("SIL" where no segment)."""
    out = np.full(n, phoneset.SILENCE, dtype=object)
    for s in segs:
        out[s.start : s.end] = phoneset.viseme_class(s.label)
    return out


def _aligned_confidence(seg: Seg, loop_classes: np.ndarray) -> float:
    """0.62..1 from the phone's acoustic fit, the loop's agreement on its viseme class and its
    word's posterior. The weights are a least-squares fit of the fraction of a phone's frames
    in the right viseme class, on 650 phones of the 11 clips (phones given 0.9+ were then 95%
    right, 0.8-0.9 87%, 0.7-0.8 73%). The fit weighs most: a poor fit means the audio sounds
    unlike the phone's model (another voice or language, noise)."""
    span = loop_classes[seg.start : seg.end]
    agree = float(np.mean(span == phoneset.viseme_class(seg.label))) if span.size else 0.0
    return 0.62 + 0.23 * seg.fit + 0.1 * agree + 0.05 * min(1.0, seg.confidence / 0.3)


def _fill_silence(gap: Seg, loop: list[Seg], loop_classes: np.ndarray, active: np.ndarray) -> list[Seg]:
    """The aligner's silence `gap`, with the loop's phones put back where the loop heard at
    least 30 ms of a phone in mostly active voice (words the word decoder dropped)."""
    out, cursor = [], gap.start
    for s in loop:
        start, end = max(s.start, gap.start), min(s.end, gap.end)
        if s.label == phoneset.SILENCE or end - start < 3 or active[start:end].mean() < 0.5:
            continue
        if start > cursor:
            out.append(_silence(cursor, start, loop_classes))
        out.append(Seg(s.label, start, end, _LOOP_CONFIDENCE))
        cursor = end
    if gap.end > cursor:
        out.append(_silence(cursor, gap.end, loop_classes))
    return out


def _silence(start: int, end: int, loop_classes: np.ndarray) -> Seg:
    """A silence, the more trusted the more of it the loop also calls silence."""
    span = loop_classes[start:end]
    agree = float(np.mean(span == phoneset.SILENCE)) if span.size else 1.0
    return Seg(phoneset.SILENCE, start, end, 0.5 + 0.45 * agree)


def _tile(segs: list[Seg], n_hops: int) -> list[Seg]:
    """Segments in time order covering [0, n_hops) exactly: overlaps trimmed, gaps "SIL"."""
    tiled: list[Seg] = []
    cursor = 0
    for s in sorted(segs, key=lambda s: s.start):
        start = max(s.start, cursor)
        if s.end <= start:
            continue
        if start > cursor:
            tiled.append(Seg(phoneset.SILENCE, cursor, start, _GAP_CONFIDENCE))
        tiled.append(Seg(s.label, start, s.end, s.confidence))
        cursor = s.end
    if cursor < n_hops:
        tiled.append(Seg(phoneset.SILENCE, cursor, n_hops, _GAP_CONFIDENCE))
    return tiled


def _merge_silences(segs: list[Seg]) -> list[Seg]:
    """Neighbouring "SIL" segments as one, its confidence their duration-weighted mean."""
    merged: list[Seg] = []
    for s in segs:
        if merged and s.label == phoneset.SILENCE == merged[-1].label:
            prev = merged.pop()
            weight = (prev.end - prev.start, s.end - s.start)
            conf = (prev.confidence * weight[0] + s.confidence * weight[1]) / (s.end - prev.start)
            s = Seg(phoneset.SILENCE, prev.start, s.end, conf)
        merged.append(s)
    return merged

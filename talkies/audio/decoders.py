"""pocketsphinx behind readable names: recognise words, force-align words into phones, run a
free phone loop. Everything here is in pocketsphinx frames (10 ms, frame i at i * 10 ms of
the utterance passed in); `recognize` decides what to do with the results."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import numpy as np
from pocketsphinx import Decoder, get_model_path

from talkies.audio import phoneset
from talkies.audio.frames import RATE_ASR
from talkies.errors import EngineError

# Acoustic score per frame of an aligned phone that maps to fit 0 and to fit 1. pocketsphinx
# scores each frame relative to its best-scoring senone, so 0 is a perfect match; phones of
# clear read speech average about -10, of synthetic or foreign speech -30 and below.
_SCORE_PER_FRAME_RANGE = (-40.0, -8.0)


@dataclass(frozen=True)
class Seg:
    """A labelled span of one utterance, [start, end) in frames. For recognised words and
    aligned phones, `confidence` is the word's lattice posterior; `fit` (aligned phones only)
    is how well the audio matches the phone's acoustic model, 0..1."""

    label: str
    start: int
    end: int
    confidence: float = 1.0
    fit: float = 1.0


class Recogniser:
    """The three decoders of one process. Building them loads the language model and the
    dictionary (~0.3 s), so there is one Recogniser per process (`recogniser()`); a decoder is
    not thread-safe, so callers hold `lock` around a sequence of calls."""

    def __init__(self) -> None:
        model = os.path.join(get_model_path(), "en-us")
        quiet = {"samprate": RATE_ASR, "loglevel": "FATAL"}
        # No second flat-lexicon pass and 2 Gaussians per mixture instead of 4: ~20% faster,
        # and on 11 clips with known transcripts no less accurate by viseme class. At most
        # 5000 active HMMs and 20 word exits per frame (defaults 30000, unlimited): another
        # ~35% off the word decode, the costliest step of the analysis; on the four
        # examples/*.wav the same word error rate (0.27 0.38 0.51 0.51 against 0.27 0.38 0.51
        # 0.52) and bench/lipsync.py still passes. Fewer HMMs are quicker still, the same on
        # clean English, worse elsewhere. By viseme class against forced alignments of the
        # transcripts (13 clean clips: three examples, five LibriVox and five card-game
        # commands of pocketsphinx-testdata; the five LibriVox under pink noise at 10 dB
        # SNR), the word decode's CPU time (4 clips, median of 8 interleaved runs), and
        # bench/voices.py's shut loud voiced frames over 36 other languages:
        #     maxhmmpf  clean  noisy  CPU   other languages
        #     5000      95.1%  72.4%  1.00  11.2% mean, 33 within 20%
        #     3000      95.0%  70.5%  0.78
        #     2500      95.1%  70.2%  0.74  12.4% mean, 31 within 20%
        #     2000      95.1%  70.0%  0.69  13.0% mean, 33 within 20% (with turbo's render)
        # In a 720p run the analysis is CPU-bound on two cores (the portrait and the phone
        # loop share the other one), so 2000 bought turbo only ~0.1 s of 2.6 s.
        self._words = Decoder(**quiet, fwdflat=False, topn=2, maxhmmpf=5000, maxwpf=20)
        # Forced alignment needs the full state backtrace, hence bestpath=False. Neither it nor
        # the phone loop loads the 135k-word dictionary (~0.2 s of CPU each): the aligner is
        # given the pronunciations of the words it is asked to align, copied from the word
        # decoder's dictionary, which gives the very same alignments on examples/*.wav.
        self._align = Decoder(**quiet, lm=None, dict=None, bestpath=False)
        self._align_vocabulary: set[str] = set()
        phone_lm = os.path.join(model, "en-us-phone.lm.bin")
        self._loop = Decoder(**quiet, lm=None, dict=None, allphone=phone_lm, beam=1e-20, pbeam=1e-20, lw=2.0)
        self.lock = threading.Lock()

    def words(self, pcm: bytes) -> list[Seg]:
        """Recognised words (dictionary spelling, pronunciation variant stripped) with their
        posteriors; silences and fillers ("<sil>", "[NOISE]") left out."""
        _decode(self._words, pcm)
        found = []
        for s in _segments(self._words):
            if not s.word.startswith(("<", "[", "+")):
                word = re.sub(r"\(\d+\)$", "", s.word)
                found.append(Seg(word, s.start_frame, s.end_frame + 1, float(np.clip(s.prob, 0.0, 1.0))))
        return found

    def align(self, pcm: bytes, words: list[Seg]) -> list[Seg] | None:
        """Phones (and "SIL") of a forced alignment of the words to the audio, each carrying
        its word's posterior and its acoustic fit; None when the aligner finds no path."""
        self._teach_aligner(w.label for w in words)
        self._align.set_align_text(" ".join(w.label for w in words))
        try:
            _decode(self._align, pcm)  # the first pass places the words ...
            self._align.set_alignment()
            _decode(self._align, pcm)  # ... the second the phones inside them
            alignment = self._align.get_alignment()
        except RuntimeError:
            return None
        if alignment is None:
            return None
        posteriors = iter(w.confidence for w in words)
        phones = []
        for word in alignment:
            prob = 1.0 if word.name.startswith("<") else next(posteriors, 0.5)
            for p in word:
                fit = _ramp(p.score / max(p.duration, 1), *_SCORE_PER_FRAME_RANGE)
                phones.append(Seg(phoneset.normalise(p.name), p.start, p.start + p.duration, prob, fit))
        return phones

    def _teach_aligner(self, words: Iterable[str]) -> None:
        """Copy each word's pronunciations ("word", "word(2)", ...) into the aligner's
        dictionary, once per word and process."""
        for word in words:
            if word in self._align_vocabulary:
                continue
            variant, n = word, 1
            while (phones := self._words.lookup_word(variant)) is not None:
                self._align.add_word(variant, phones, False)
                n += 1
                variant = f"{word}({n})"
            self._align_vocabulary.add(word)

    def phone_loop(self, pcm: bytes) -> list[Seg]:
        """Phones of a free phone-loop decode (any phone may follow any other, bigram-weighted)."""
        _decode(self._loop, pcm)
        return [
            Seg(phoneset.normalise(s.word), s.start_frame, s.end_frame + 1) for s in _segments(self._loop)
        ]


_build_lock = threading.Lock()


@cache
def _shared() -> Recogniser:
    return Recogniser()


def recogniser() -> Recogniser:
    """The process's Recogniser, built on first use."""
    with _build_lock:
        try:
            return _shared()
        except (RuntimeError, OSError, ValueError) as e:
            raise EngineError(f"cannot start the pocketsphinx recogniser: {e}") from e


def to_pcm(x16: np.ndarray) -> bytes:
    """16-bit PCM bytes of the (n,) float32 16 kHz signal, with a faint fixed dither:
    pocketsphinx takes the log of band energies, and runs of digital zeros (synthetic voices,
    gated recordings) otherwise make its alignment search fail."""
    dither = np.random.default_rng(0).normal(0.0, 3.0, x16.shape[0])
    return np.clip(x16 * 32767.0 + dither, -32768, 32767).astype(np.int16).tobytes()


def _decode(decoder: Decoder, pcm: bytes) -> None:
    """Decode the whole buffer as one utterance. The feature front end (its noise estimate)
    and the cepstral mean are reset first: a decoder otherwise starts each utterance from the
    last one's, and the result would depend on what the process analysed before."""
    decoder.reinit_feat()
    decoder.set_cmn(decoder.config["cmninit"])
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _segments(decoder: Decoder) -> list:
    """The decoder's best-path segments; none when it found no hypothesis at all (it then
    returns None rather than an empty iterator: babble noise at 10 dB SNR does that)."""
    return list(decoder.seg() or [])


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / (hi - lo), 0.0, 1.0))

"""The speech stage: envelopes on synthetic signals, phones on the example recordings."""

from __future__ import annotations

import itertools
import math
import wave
from pathlib import Path

import numpy as np
import pytest
from audio_reference import SPEECH_SHORT_WAV, SPEECH_WAV, parse
from audio_synth import VOWELS, as_audio, silence, vowel
from pocketsphinx import Decoder

from talkies.audio import analyze_speech
from talkies.audio.decoders import Recogniser, recogniser, to_pcm
from talkies.audio.frames import RATE_ASR, mono_16k, resample_to, voice_activity
from talkies.audio.phoneset import PHONES, normalise, viseme_class
from talkies.audio.recognize import chunk_bounds
from talkies.tracks import Audio, SpeechTrack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ENVELOPES = ("loudness", "pitch_hz", "voicing", "openness", "spread", "rounding")


def _load_example(name: str) -> Audio:
    with wave.open(str(EXAMPLES / name)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, w.getnchannels())
        return Audio(samples=(pcm.T / 32768.0).astype(np.float32), sample_rate=w.getframerate())


@pytest.fixture(scope="module")
def speech() -> SpeechTrack:
    return analyze_speech(_load_example("speech.wav"))


def _check_track(track: SpeechTrack, duration_s: float) -> None:
    """Every invariant of the SpeechTrack contract."""
    n = math.ceil(duration_s / 0.01 - 1e-6)
    assert track.hop_s == 0.01 and track.duration_s == pytest.approx(duration_s)
    for name in ENVELOPES:
        curve = getattr(track, name)
        assert curve.shape == (n,) and curve.dtype == np.float32, name
        assert np.all(np.isfinite(curve)), name
    for name in ("loudness", "voicing", "openness", "spread", "rounding"):
        curve = getattr(track, name)
        assert curve.min() >= 0.0 and curve.max() <= 1.0, name
    assert track.speech.shape == (n,) and track.speech.dtype == bool
    assert np.all((track.pitch_hz == 0) | ((track.pitch_hz >= 60) & (track.pitch_hz <= 1000)))
    _check_phones(track)


def _check_phones(track: SpeechTrack) -> None:
    """Phones: known labels, confidences in 0..1, time-ordered, tiling [0, duration]."""
    assert track.language == ("en" if track.phones else "")
    if not track.phones:
        return
    assert track.phones[0].start_s == 0.0
    assert track.phones[-1].end_s == pytest.approx(track.duration_s)
    for a, b in itertools.pairwise(track.phones):
        assert a.end_s == pytest.approx(b.start_s)
    for p in track.phones:
        assert p.label in PHONES and 0.0 <= p.confidence <= 1.0 and p.end_s > p.start_s


def _mid(curve: np.ndarray, start_s: float, end_s: float) -> float:
    """Mean of a 10 ms envelope between two times."""
    return float(curve[round(start_s * 100) : round(end_s * 100)].mean())


# --- envelopes on synthetic signals -------------------------------------------------------


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (44100, 2), (22050, 1), (8000, 1)])
def test_contract_holds_at_any_rate_and_channel_count(rate: int, channels: int) -> None:
    x = np.concatenate([silence(0.3), vowel(VOWELS["a"], 0.6), silence(0.25)])
    audio = as_audio(resample_to(x, 16000, rate), rate, channels)
    track = analyze_speech(audio)
    _check_track(track, audio.duration_s)
    assert track.speech[40:80].all() and not track.speech[:20].any() and not track.speech[-15:].any()


@pytest.mark.parametrize("duration_s", [0.2, 0.013, 1.234])
def test_hop_count_follows_duration(duration_s: float) -> None:
    x = vowel(VOWELS["a"], duration_s)
    track = analyze_speech(as_audio(x))
    _check_track(track, x.shape[0] / 16000)


def test_silence_is_not_speech_and_keeps_the_mouth_shut() -> None:
    track = analyze_speech(as_audio(silence(2.0, noise=1e-5)))
    _check_track(track, 2.0)
    assert not track.speech.any()
    assert track.openness.max() < 0.01 and track.loudness.max() < 0.05
    assert not track.pitch_hz.any() and track.phones == ()


def test_steady_noise_is_not_a_voice() -> None:
    hiss = np.random.default_rng(3).normal(0.0, 0.1, 32000).astype(np.float32)
    track = analyze_speech(as_audio(hiss))
    assert not track.speech.any() and track.openness.max() < 0.01


def test_an_unvoiced_consonant_next_to_a_word_is_speech_in_a_noisy_clip() -> None:
    # A noisy clip's threshold is 18 dB under the loud speech: a soft stretch (-25 dB) cuts a
    # final fricative (-8 dB, unvoiced) off its word. It belongs to the word; a burst of the
    # same sound 630 ms after it, far from any voice, is still noise, and so is a second of it
    # (a cough, applause) as close to a word as the fricative.
    ref = 1.0
    level_db = np.full(600, -30.0)
    voicing = np.zeros(600)
    level_db[20:120], voicing[20:120] = 0.0, 0.9  # the word's vowel
    level_db[120:132] = -25.0  # a soft stretch, longer than the 100 ms of gap filling
    level_db[132:147] = -8.0  # its final "s"
    level_db[210:225] = -8.0  # the same hiss, far from any voice
    level_db[300:400], voicing[300:400] = 0.0, 0.9  # another word ...
    level_db[412:512] = -8.0  # ... and a second of hiss just after it
    active = voice_activity(10 ** (level_db / 10), ref, voicing)
    assert active[20:120].all() and active[132:147].all()
    assert not active[121:131].any() and not active[200:300].any()
    assert active[300:400].all() and not active[405:].any()


def test_long_silence_between_speech_closes_the_mouth() -> None:
    x = np.concatenate([vowel(VOWELS["a"], 0.5), silence(3.0), vowel(VOWELS["a"], 0.5)])
    track = analyze_speech(as_audio(x))
    assert track.speech[10:40].all() and track.speech[360:390].all()
    assert not track.speech[60:340].any()
    assert track.openness[60:340].max() < 0.01 and track.openness[10:40].mean() > 0.5


@pytest.mark.parametrize("f0", [110.0, 220.0])
def test_vowel_formants_order_openness_spread_and_rounding(f0: float) -> None:
    shape = {}
    for name, formants in VOWELS.items():
        track = analyze_speech(as_audio(vowel(formants, 0.6, f0=f0)))
        shape[name] = [_mid(getattr(track, c), 0.1, 0.5) for c in ("openness", "spread", "rounding")]
    (a_open, a_spread, a_round), (i_open, i_spread, i_round), (u_open, u_spread, u_round) = (
        shape["a"],
        shape["i"],
        shape["u"],
    )
    assert a_open > max(i_open, u_open) + 0.3
    assert i_spread > max(a_spread, u_spread) + 0.5
    assert u_round > max(a_round, i_round) + 0.5


@pytest.mark.parametrize(("f0", "rate"), [(100.0, 16000), (180.0, 8000), (440.0, 44100)])
def test_pitch_of_a_harmonic_vowel(f0: float, rate: int) -> None:
    x = resample_to(vowel(VOWELS["a"], 0.6, f0=f0), 16000, rate)
    track = analyze_speech(as_audio(x, rate))
    voiced = track.pitch_hz[10:50]
    assert np.all(voiced > 0) and np.median(voiced) == pytest.approx(f0, rel=0.02)
    assert track.voicing[10:50].mean() > 0.9


def test_clipping_and_loudness_normalisation() -> None:
    x = vowel(VOWELS["a"], 0.6)
    quiet = analyze_speech(as_audio(0.05 * x))
    clipped = analyze_speech(as_audio(np.clip(20.0 * x, -1.0, 1.0)))
    for track in (quiet, clipped):
        _check_track(track, 0.6)
        assert _mid(track.loudness, 0.1, 0.5) > 0.8 and _mid(track.openness, 0.1, 0.5) > 0.5


def test_sung_vowels_move_the_mouth_without_phones() -> None:
    """Singing (or any language): the acoustic path alone shapes the mouth, at a high pitch."""
    notes = [("a", 392.0), ("i", 330.0), ("u", 262.0)]
    x = np.concatenate([vowel(VOWELS[v], 0.8, f0=f0) for v, f0 in notes])
    track = analyze_speech(as_audio(x))
    a, i, u = (
        [_mid(c, k * 0.8 + 0.15, k * 0.8 + 0.65) for c in (track.openness, track.spread, track.rounding)]
        for k in range(3)
    )
    assert a[0] > i[0] + 0.2 and a[0] > u[0] + 0.2
    assert i[1] > 0.5 > max(a[1], u[1]) and u[2] > 0.5 > max(a[2], i[2])


def test_same_input_same_track_whatever_came_before(speech: SpeechTrack) -> None:
    """The recogniser keeps state between utterances (noise estimate, cepstral mean); it must
    not leak from one clip into the next."""
    short = _load_example("speech_short.wav")
    first = analyze_speech(short)
    analyze_speech(as_audio(np.concatenate([silence(0.5), 0.3 * vowel(VOWELS["u"], 1.0)])))
    again = analyze_speech(short)
    assert first.phones == again.phones and np.array_equal(first.openness, again.openness)


def test_aligner_taught_word_by_word_matches_the_full_dictionary() -> None:
    """The aligner loads no dictionary and is given the pronunciations (every variant) of the
    words it aligns; its phones must be exactly those of an aligner holding all of cmudict."""
    rec = recogniser()
    pcm = to_pcm(mono_16k(_load_example("speech.wav")))
    words = rec.words(pcm)
    assert rec._words.lookup_word("been(2)") and "been" in [w.label for w in words]  # a variant in play
    full = Recogniser.__new__(Recogniser)
    full._align = Decoder(samprate=RATE_ASR, loglevel="FATAL", lm=None, bestpath=False)
    full._align_vocabulary = {w.label for w in words}  # all already in its dictionary
    with rec.lock:
        taught = rec.align(pcm, words)
    assert taught and taught == full.align(pcm, words)
    assert rec._align.lookup_word("been(2)") == rec._words.lookup_word("been(2)")
    assert rec._align.lookup_word("zebra") is None  # nothing beyond the words it was given


# --- helpers ----------------------------------------------------------------------------------


def test_phone_labels_are_normalised() -> None:
    assert normalise("AH0") == "AH" and normalise("iy1") == "IY"
    assert normalise("+NSN+") == "SIL" and normalise("<sil>") == "SIL"
    assert viseme_class("M") == viseme_class("P") != viseme_class("F")


def test_long_speech_is_cut_into_utterances_at_its_longest_pauses() -> None:
    speech = np.ones(7000, bool)
    for pause in (1500, 2600, 4800):
        speech[pause : pause + 40] = False
    speech[6500:] = False
    bounds = chunk_bounds(speech)
    assert bounds[0][0] == 0 and all(e - s <= 1000 for s, e in bounds)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))  # one run of speech
    assert {1520, 2620, 4820} <= {e for _, e in bounds}  # cut in the middle of each pause
    assert bounds[-1][1] == 6500 + 30  # 300 ms of the final silence, not all of it


def test_silence_is_not_decoded_and_each_utterance_starts_just_before_its_speech() -> None:
    speech = np.zeros(5000, bool)
    speech[700:900] = True  # a word after 7 s of silence
    speech[940:1100] = True  # 400 ms later: the same utterance
    speech[3000:3200] = True  # after 19 s: another one
    assert chunk_bounds(speech) == [(670, 1130), (2970, 3230)]
    assert chunk_bounds(np.zeros(300, bool)) == []


def test_a_word_after_a_long_silence_is_heard_as_after_a_short_one() -> None:
    word = vowel(VOWELS["a"], 0.4)
    heard = []
    for lead_s in (1.0, 7.0):
        x = np.concatenate([silence(lead_s, noise=3e-4), word, silence(0.5, noise=3e-4)])
        track = analyze_speech(as_audio(x))
        heard.append([(p.label, round(p.start_s - lead_s, 2)) for p in track.phones if p.label != "SIL"])
    assert heard[0] and heard[0] == heard[1]


# --- the example recordings -------------------------------------------------------------------


def _class_accuracy(track: SpeechTrack, reference: str) -> float:
    """Fraction of the reference's speech frames whose phone is in the right viseme class."""
    ref = parse(reference)
    n = ref[-1][2]
    truth = np.full(n, "SIL", dtype=object)
    for label, s, e in ref:
        truth[s:e] = viseme_class(label)
    found = np.full(n, "SIL", dtype=object)
    for p in track.phones:
        found[round(p.start_s * 100) : round(p.end_s * 100)] = viseme_class(p.label)
    speaking = truth != "SIL"
    return float(np.mean(found[speaking] == truth[speaking]))


def test_speech_wav_contract_and_voice_activity(speech: SpeechTrack) -> None:
    _check_track(speech, 7.1)
    assert speech.language == "en" and len(speech.phones) > 40
    ref = parse(SPEECH_WAV)
    truth = np.zeros(speech.n_hops, bool)
    for label, s, e in ref:
        truth[s:e] = label != "SIL"
    assert np.mean(speech.speech == truth) > 0.9
    assert 80 < np.median(speech.pitch_hz[speech.pitch_hz > 0]) < 160  # a male reader


def test_phones_land_in_the_right_viseme_class(speech: SpeechTrack) -> None:
    assert _class_accuracy(speech, SPEECH_WAV) > 0.85
    assert _class_accuracy(analyze_speech(_load_example("speech_short.wav")), SPEECH_SHORT_WAV) > 0.85


def test_bilabials_are_found_where_the_lips_close(speech: SpeechTrack) -> None:
    """The m of "mister", "much", "might", "them", the b of "be", the p of "prudently", "power":
    most must be found within 50 ms of their place, and most bilabials found must be real."""
    truth = [(s / 100, e / 100) for label, s, e in parse(SPEECH_WAV) if label in ("P", "B", "M")]
    found = [(p.start_s, p.end_s) for p in speech.phones if p.label in ("P", "B", "M")]

    def near(span: tuple[float, float], others: list[tuple[float, float]]) -> bool:
        return any(s - 0.05 < span[1] and span[0] < e + 0.05 for s, e in others)

    assert sum(near(t, found) for t in truth) >= 4
    assert sum(near(f, truth) for f in found) >= 0.6 * len(found)


def test_acoustic_shape_follows_the_real_vowels(speech: SpeechTrack) -> None:
    """Without the recogniser: open vowels open the jaw more than "ee"/"oo" and closures."""

    def mean_over(curve: np.ndarray, labels: set[str]) -> float:
        return float(np.mean([curve[s:e].mean() for label, s, e in parse(SPEECH_WAV) if label in labels]))

    open_vowels, ee, bilabial = {"AA", "AE", "AW", "AY"}, {"IY"}, {"P", "B", "M"}
    assert mean_over(speech.openness, open_vowels) > mean_over(speech.openness, ee) + 0.2
    assert mean_over(speech.openness, open_vowels) > mean_over(speech.openness, bilabial) + 0.2
    assert mean_over(speech.spread, ee) > mean_over(speech.spread, open_vowels) + 0.15


def test_every_phone_of_the_vocabulary_has_a_viseme_class_and_unknowns_are_silence() -> None:
    from talkies.audio.phoneset import VISEME_CLASS
    from talkies.motion import timeline

    assert frozenset(VISEME_CLASS) == PHONES
    for label in ("+NSN+", "<sil>", "sp", "", "X"):  # the audio and motion stages agree
        assert normalise(label) == "SIL" == timeline.normalise_label(label)
    assert normalise("aa1") == "AA" == timeline.normalise_label("aa1")

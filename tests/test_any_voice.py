"""Any voice (issue 11): the voice decides whether the mouth moves, noise is measured and
taken out, singing is recognised and sung with an open mouth, the analysis says what it
concluded and can be stopped while it runs."""

from __future__ import annotations

import numpy as np
import pytest
from audio_synth import VOWELS, as_audio, melody, pink_noise, silence, vowel
from motion_helpers import phones_of, portrait_rig, synthetic_speech

from talkies import motion
from talkies.audio import analyze_speech
from talkies.audio.decoders import _segments
from talkies.audio.noise import measure_noise, suppress_noise
from talkies.errors import Cancelled
from talkies.options import AnimateOptions
from talkies.tracks import Phone, SpeechTrack, frame_count

RATE = 16000
RIG = portrait_rig()


def _plan(speech: SpeechTrack, fps: int = 25) -> dict[str, np.ndarray]:
    track = motion.plan(speech, RIG, frame_count(speech.duration_s, fps), AnimateOptions(fps=fps))
    return track.curves


def _spoken(duration_s: float = 3.0) -> np.ndarray:
    """Vowels with short gaps, like syllables: (n,) float32 at 16 kHz."""
    parts = [silence(0.4)]
    for name in "aiuaia" * 2:
        parts += [vowel(VOWELS[name], 0.18, f0=130.0), silence(0.06)]
    x = np.concatenate([*parts, silence(0.4)])
    return x[: int(duration_s * RATE)] if duration_s * RATE < x.size else x


# --- noise ------------------------------------------------------------------------------------


def test_snr_is_measured_and_steady_noise_is_suppressed_in_the_pauses_not_in_the_voice() -> None:
    clean = _spoken()
    noise = pink_noise(clean.size, 3)
    active = np.sqrt(np.mean(clean[np.abs(clean) > 0.02] ** 2))
    noisy = clean + noise * active / 10 ** (10 / 20)  # 10 dB SNR
    assert measure_noise(clean).snr_db > 40
    floor = measure_noise(noisy)
    assert floor.noisy and 5 < floor.snr_db < 20, floor.snr_db
    cleaned = suppress_noise(noisy, floor)
    pause = slice(0, int(0.35 * RATE))
    level = lambda x: 10 * np.log10(np.mean(x.astype(np.float64) ** 2) + 1e-12)  # noqa: E731
    assert level(noisy[pause]) - level(cleaned[pause]) > 10  # the noise goes
    assert abs(level(noisy) - level(cleaned)) < 3  # the voice stays


def test_a_noisy_recording_is_analysed_with_noise_suppression_and_says_so() -> None:
    clean = _spoken()
    noisy = clean + pink_noise(clean.size, 4) * 0.03
    track = analyze_speech(as_audio(noisy))
    assert track.denoised and "noise suppression on" in track.describe()
    # pauses are found in the noise: not everything is speech
    assert 0.2 < track.speech.mean() < 0.9, track.speech.mean()
    assert not analyze_speech(as_audio(clean)).denoised


def test_a_decoder_without_any_hypothesis_gives_no_segments() -> None:
    class Lost:  # pocketsphinx returns None from seg() when it found nothing at all
        def seg(self):
            return None

    assert _segments(Lost()) == []  # type: ignore[arg-type]


# --- the voice decides whether the mouth moves -------------------------------------------------


def _voiced_but_called_silence(duration_s: float = 2.0) -> SpeechTrack:
    """Loud voiced sound all through, which the (English) recogniser calls silence."""
    base = synthetic_speech(phones_of([("AA", 0.0, duration_s)]), duration_s)
    phones = (Phone("SIL", 0.0, duration_s, 0.95),)
    return SpeechTrack(
        duration_s, base.hop_s, phones, base.loudness, base.pitch_hz, base.voicing, base.openness,
        base.spread, base.rounding, base.speech, "en",
    )  # fmt: skip


def test_voiced_sound_the_recogniser_calls_silence_is_mouthed_open() -> None:
    curves = _plan(_voiced_but_called_silence())
    middle = curves["jaw_open"][5:-5]
    assert middle.min() > 0.2, middle.min()  # the old planner shut it as a long pause
    assert curves["lip_press"][5:-5].max() < 0.1


def test_a_doubtful_m_over_a_loud_voiced_vowel_does_not_shut_the_lips() -> None:
    track = _voiced_but_called_silence()
    phones = (Phone("AA", 0.0, 0.8, 0.7), Phone("M", 0.8, 1.1, 0.7), Phone("AA", 1.1, 2.0, 0.7))
    curves = _plan(SpeechTrack(**{**track.__dict__, "phones": phones}))
    assert curves["jaw_open"][5:-5].min() > 0.2


# --- singing ------------------------------------------------------------------------------------


def test_singing_is_recognised_and_speech_is_not() -> None:
    sung = analyze_speech(as_audio(melody()))
    assert sung.style == "singing" and sung.describe().startswith("singing"), sung.describe()
    assert sung.notes.sum() * sung.hop_s > 2.0  # the two long notes at least
    assert analyze_speech(as_audio(_spoken())).style == "speech"


def test_a_sustained_note_is_never_shut_and_the_notes_open_one_by_one() -> None:
    x = melody()
    sung = analyze_speech(as_audio(x))
    curves = _plan(sung)
    jaw, fps = curves["jaw_open"], 25
    t = np.arange(jaw.size) / fps
    # the two long notes: 1.4 s from 1.42 s and 1.5 s from 3.39 s (see audio_synth.melody)
    for start, length in ((0.3 + 0.56 + 0.56, 1.4), (0.3 + 0.56 * 2 + 1.46 + 0.51, 1.5)):
        inside = (t > start + 0.15) & (t < start + length - 0.15)
        assert jaw[inside].min() > 0.3, (start, jaw[inside].min())
    assert jaw[t < 0.2].max() < 0.05 and jaw[t > t[-1] - 0.15].max() < 0.05  # rests shut


# --- the analysis can be stopped while it runs -------------------------------------------------


def test_speech_analysis_reports_progress_and_stops_when_asked() -> None:
    x = np.concatenate([_spoken(), silence(0.8)] * 4)
    shares: list[float] = []
    analyze_speech(as_audio(x), shares.append)
    assert len(shares) >= 8 and shares == sorted(shares) and shares[-1] == pytest.approx(1.0)

    def cancel(share: float) -> None:
        if share > 0.2:
            raise Cancelled("stop")

    with pytest.raises(Cancelled):
        analyze_speech(as_audio(x), cancel)


def test_a_quiet_recording_is_heard_as_the_same_recording_at_a_normal_level() -> None:
    from talkies import media

    voice = media.load_audio("examples/speech_short.wav")
    quiet = type(voice)((voice.samples * 0.01).astype(np.float32), voice.sample_rate)  # -40 dB
    labels = [[p.label for p in analyze_speech(v).phones] for v in (voice, quiet)]
    assert labels[0] == labels[1]  # f0d20c1 lost a word ("T", "K S P") at -40 dB

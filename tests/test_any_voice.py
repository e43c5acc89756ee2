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
from talkies.motion import lips
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


def test_suppression_takes_out_more_noise_than_it_adds_distortion() -> None:
    # What is left of the noise plus what the gain takes off the voice, against the noise that
    # went in (10 dB SNR, three noise seeds): 4.7 dB less on average. The Wiener gain (-18 dB
    # floor, 1.5x over-subtraction) this log-spectral estimator replaced left 3.8 dB less.
    clean = _spoken()
    active = np.sqrt(np.mean(clean[np.abs(clean) > 0.02] ** 2))
    gained = []
    for seed in (3, 4, 5):
        noise = pink_noise(clean.size, seed) * active / 10 ** (10 / 20)
        noisy = clean + noise
        error = (suppress_noise(noisy, measure_noise(noisy)) - clean).astype(np.float64)
        gained.append(10 * np.log10(np.mean(noise.astype(np.float64) ** 2) / np.mean(error**2)))
    assert np.mean(gained) > 4.2, gained


@pytest.mark.parametrize("f0", [130.0, 220.0])
def test_a_held_vowel_without_a_pause_is_not_taken_for_its_own_noise_floor(f0: float) -> None:
    # No quiet moment to measure: the lowest percentile of a held vowel is the vowel, at about
    # -4 dB "SNR". Its harmonics tell it from steady noise; mains hum stays noise.
    held = 0.05 * vowel(VOWELS["a"], 2.0, f0=f0)
    assert not measure_noise(held).noisy
    track = analyze_speech(as_audio(held))
    assert not track.denoised and "noise suppression" not in track.describe()
    t = np.arange(2 * RATE) / RATE
    hum = 0.05 * sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 8))
    assert measure_noise(hum.astype(np.float32)).noisy


@pytest.mark.parametrize("f0", [100.0, 120.0])
def test_a_buzz_under_speech_is_noise_however_harmonic(f0: float) -> None:
    # A rectifier's or a ground loop's buzz has harmonics at a pitch period like a voice, but
    # under speech with pauses it measures far above a held voice's -4 dB.
    clean = _spoken()
    t = np.arange(clean.size) / RATE
    buzz = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 12)).astype(np.float32)
    active = np.sqrt(np.mean(clean[np.abs(clean) > 0.02] ** 2))
    floor = measure_noise(clean + buzz * active / np.sqrt(np.mean(buzz**2)) / 10 ** (10 / 20))
    assert floor.noisy and floor.snr_db > 5, floor.snr_db


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


# --- closures in noise and doubtful closures ------------------------------------------------------


def _with_dip(
    label: str, confidence: float, floor: float, dip: float, dip_s: float = 0.06, before: float = 1.0
) -> SpeechTrack:
    """Voiced "AA"s (the first of loudness `before`, the second 1) around a `dip_s` dip of
    loudness `dip` under a phone `label`, with leading and trailing pauses whose loudness is
    `floor` (what suppressed noise leaves)."""
    start, end = 1.0, 1.0 + dip_s
    phones = (
        Phone("SIL", 0.0, 0.4, 0.95), Phone("AA", 0.4, start, 0.6), Phone(label, start, end, confidence),
        Phone("AA", end, 1.6, 0.6), Phone("SIL", 1.6, 2.0, 0.95),
    )  # fmt: skip
    base = synthetic_speech(phones, 2.0)
    t = np.arange(base.loudness.size) * base.hop_s
    loud = np.where(base.speech, 1.0, floor).astype(np.float32)
    loud[(t >= 0.4) & (t < start)] = before
    loud[(t >= start) & (t < end)] = dip
    voicing = np.where(base.speech, 1.0, 0.0).astype(np.float32)
    return SpeechTrack(**{**base.__dict__, "loudness": loud, "voicing": voicing})


def _shut_s(speech: SpeechTrack) -> float:
    """Seconds of mouth time with the lips fully closed (closure curve >= 0.99)."""
    phones = sorted(speech.phones, key=lambda p: p.start_s)
    fine = np.arange(0.0, speech.duration_s + 0.5, 0.005)
    times = np.arange(int(speech.duration_s * 25)) / 25.0
    frames = lips.Frames(times, times + 0.02, 0.04)
    return float(np.sum(lips.closure_curve(phones, speech, fine, frames) >= 0.99) * 0.005)


def test_in_a_denoised_recording_a_dip_to_the_residual_noise_is_a_closure() -> None:
    # a "th" (the recogniser's reading of an m in noise) dipping to the noise that suppression
    # leaves: from 0 the dip is 45% of the vowels, too shallow; from the noise's floor, 21%
    track = _with_dip("DH", 0.5, floor=0.3, dip=0.45)
    assert _shut_s(SpeechTrack(**{**track.__dict__, "denoised": True})) > 0.0
    assert _shut_s(track) == 0.0  # a clean recording's dip that shallow is no closure


def test_a_doubtful_closure_is_not_stretched_into_the_sound_before_it() -> None:
    # the vowel before is voiced but not loud (what keeps a doubtful closure out of loud sound)
    sure = _shut_s(_with_dip("M", 0.95, floor=0.0, dip=0.2, dip_s=0.04, before=0.5))
    doubtful = _shut_s(_with_dip("M", 0.6, floor=0.0, dip=0.2, dip_s=0.04, before=0.5))
    assert sure >= lips.MIN_CLOSURE_S - 0.006, sure  # held 70 ms up to the release
    assert 0.0 < doubtful <= 0.045, doubtful  # the phone itself, not the vowel before it


def test_in_a_denoised_recording_the_dips_alone_close_the_lips_briefly() -> None:
    # a long dip under a doubtful "t": in noise most such dips are t, d and h, not p/b/m
    track = _with_dip("K", 0.5, floor=0.0, dip=0.05, dip_s=0.14)
    noisy = _shut_s(SpeechTrack(**{**track.__dict__, "denoised": True}))
    assert 0.0 < noisy <= lips.NOISY_DIP_MAX_S + 0.006, noisy
    assert _shut_s(track) > lips.NOISY_DIP_MAX_S + 0.03


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

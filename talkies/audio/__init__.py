"""The speech stage: `analyze_speech(Audio) -> SpeechTrack`.

Two paths, both always run. The acoustic path (loudness, YIN pitch and voicing, voice activity,
LPC formants to jaw opening / lip spreading / lip rounding) knows no language, so it moves the
mouth for any speech and for singing. The recognition path (pocketsphinx, US English) adds
time-stamped phones with honest confidences, which the motion stage blends with the acoustic
curves: precise closures for p/b/m, lip-to-teeth for f/v, where the recogniser is sure.
Ahead of both, steady noise is measured and, in a noisy recording, suppressed (noise.py);
alongside, held sung notes are found and the clip is called speech or singing (singing.py),
so that the motion stage can switch its timing rules.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from talkies.audio.background import analyse_in_background
from talkies.audio.formants import mouth_curves
from talkies.audio.frames import (
    HOP_S,
    RATE_ASR,
    RATE_DSP,
    hop_count,
    loudness,
    mono_16k,
    reference_power,
    resample_to,
    voice_activity,
    weighted_power,
)
from talkies.audio.noise import DENOISE_BELOW_DB, NoiseFloor, measure_noise, suppress_noise
from talkies.audio.pitch import pitch_and_voicing
from talkies.audio.recognize import Aside, recognise
from talkies.audio.singing import held_notes, is_sung
from talkies.phones import SILENCE
from talkies.tracks import Audio, Phone, SpeechTrack

__all__ = ["analyse_in_background", "analyze_speech"]

# Frames more than this far below the clip's loud speech count as unvoiced whatever their
# periodicity (hum, a faint background voice).
_VOICING_FLOOR = 10 ** (-45 / 10)
_QUIET_REFERENCE = 10 ** (-35 / 10)  # loud speech quieter than this is raised ...
_RAISED_REFERENCE = 10 ** (-25 / 10)  # ... to this, for the recogniser


def analyze_speech(
    voice: Audio,
    tick: Callable[[float], None] | None = None,
    aside: Aside | None = None,
    noise: NoiseFloor | None = None,
    words: bool = True,
) -> SpeechTrack:
    """Phones and envelopes of the voice, at any sample rate and channel count.

    Envelopes are (n,) float32 every HOP_S = 10 ms, n = ceil(duration_s / HOP_S). Phones tile
    [0, duration_s], "SIL" between speech; a phone's confidence is about the chance that its
    mouth shape (viseme class) is right. No phones and language "" when nothing but silence
    was recognised. Noise is measured first and, when the voice is less than 18 dB over it,
    suppressed before anything else (noise.py). `tick`, if given, is called with the share of
    the work done (0..1) at least about once a second of CPU; it may raise (a cancel) to stop.
    Takes about 0.2 s of CPU per second of voice (nearly all of it pocketsphinx, the word
    decode alone two thirds; silence is not decoded), plus ~0.3 s once per process to load
    the recogniser. Deterministic: the same audio gives the same track. With `aside` (a
    second recogniser in another process, background.py) about half of the decoding runs
    there at the same time; the track is the same. `noise` is the steady noise under the
    voice where the caller knows it better than the clip itself can tell (a live window of
    half a second is often all speech, and its quietest moments are the voice);
    `words=False` recognises with the phone loop alone (recognize.recognise): live mode's
    windows.
    """
    report = tick or (lambda share: None)
    x16 = mono_16k(voice)
    floor = measure_noise(x16) if noise is None else noise
    if floor.noisy:
        x16 = suppress_noise(x16, floor)
    report(0.05)
    x8 = resample_to(x16, RATE_ASR, RATE_DSP)
    n = hop_count(voice.duration_s)
    power = weighted_power(x16, n)
    ref = reference_power(power)
    pitch_hz, voicing = pitch_and_voicing(x8, n)
    report(0.1)
    quiet = power < ref * _VOICING_FLOOR
    voicing[quiet], pitch_hz[quiet] = 0.0, 0.0
    speech = voice_activity(power, ref, voicing)
    loud = loudness(power, ref)
    openness, spread, rounding = mouth_curves(x8, loud, voicing, speech)
    notes = held_notes(pitch_hz, voicing, speech)
    report(0.15)
    heard = x16 * _recogniser_gain(x16, ref)
    phones = recognise(
        heard, speech, voice.duration_s, lambda share: report(0.15 + 0.85 * share), aside, words
    )
    if floor.noisy:
        phones = _discount(phones, floor.snr_db)
    return SpeechTrack(
        duration_s=voice.duration_s,
        hop_s=HOP_S,
        phones=phones,
        loudness=loud,
        pitch_hz=pitch_hz,
        voicing=voicing,
        openness=openness,
        spread=spread,
        rounding=rounding,
        speech=speech,
        language="en" if phones else "",
        notes=notes,
        style="singing" if is_sung(notes, voicing, speech) else "speech",
        snr_db=floor.snr_db,
        denoised=floor.noisy,
        recognised=_recognised_share(phones, speech, voicing),
    )


def _recogniser_gain(x16: np.ndarray, ref: float) -> float:
    """Gain for the recogniser's input: a quiet recording (loud speech under -35 dB full scale)
    is raised to -25 dB, as far as its peak allows. pocketsphinx reads 16-bit samples with a
    faint dither (to_pcm), and at -40 dB it loses words (at -60 dB all of them); level is
    otherwise normalised away by its cepstral mean, so louder clips are left as they are."""
    if ref >= _QUIET_REFERENCE:
        return 1.0
    peak = float(np.abs(x16).max(initial=0.0))
    return float(min(np.sqrt(_RAISED_REFERENCE / ref), 0.99 / peak if peak > 0 else 1.0))


def _discount(phones: tuple[Phone, ...], snr_db: float) -> tuple[Phone, ...]:
    """Phones with their confidence scaled down for the noise: the recogniser's confidences are
    calibrated on clean speech, and at 10 dB SNR (after suppression) it hears a p, b or m as
    another consonant with a confidence of 0.8-0.95 (LibriVox under pink noise). The scale runs
    from 1 at the suppression threshold to 0.6 at 8 dB SNR and below; silences keep theirs."""
    scale = float(np.clip(0.6 + 0.4 * (snr_db - 8.0) / (DENOISE_BELOW_DB - 8.0), 0.6, 1.0))
    return tuple(
        p if p.label == SILENCE else Phone(p.label, p.start_s, p.end_s, round(p.confidence * scale, 3))
        for p in phones
    )


def _recognised_share(phones: tuple[Phone, ...], speech: np.ndarray, voicing: np.ndarray) -> float:
    """Share of the voiced speech hops that fall on a phone (not silence) of confidence >= 0.7."""
    voiced = speech & (voicing > 0.5)
    if not voiced.any():
        return 0.0
    covered = np.zeros(voiced.shape, bool)
    for p in phones:
        if p.label != SILENCE and p.confidence >= 0.7:
            covered[round(p.start_s / HOP_S) : round(p.end_s / HOP_S)] = True
    return float(np.count_nonzero(covered & voiced)) / float(np.count_nonzero(voiced))

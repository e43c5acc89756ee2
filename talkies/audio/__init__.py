"""The speech stage: `analyze_speech(Audio) -> SpeechTrack`.

Two paths, both always run. The acoustic path (loudness, YIN pitch and voicing, voice activity,
LPC formants to jaw opening / lip spreading / lip rounding) knows no language, so it moves the
mouth for any speech and for singing. The recognition path (pocketsphinx, US English) adds
time-stamped phones with honest confidences, which the motion stage blends with the acoustic
curves: precise closures for p/b/m, lip-to-teeth for f/v, where the recogniser is sure.
"""

from __future__ import annotations

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
from talkies.audio.pitch import pitch_and_voicing
from talkies.audio.recognize import recognise
from talkies.tracks import Audio, SpeechTrack

__all__ = ["analyze_speech"]

# Frames more than this far below the clip's loud speech count as unvoiced whatever their
# periodicity (hum, a faint background voice).
_VOICING_FLOOR = 10 ** (-45 / 10)


def analyze_speech(voice: Audio) -> SpeechTrack:
    """Phones and envelopes of the voice, at any sample rate and channel count.

    Envelopes are (n,) float32 every HOP_S = 10 ms, n = ceil(duration_s / HOP_S). Phones tile
    [0, duration_s], "SIL" between speech; a phone's confidence is about the chance that its
    mouth shape (viseme class) is right. No phones and language "" when nothing but silence
    was recognised. Takes about 0.4 s of CPU per second of audio (measured on a busy 2-core
    machine; nearly all of it pocketsphinx, most of that the word decode), plus ~0.6 s once
    per process to load the recogniser. Deterministic: the same audio gives the same track.
    """
    x16 = mono_16k(voice)
    x8 = resample_to(x16, RATE_ASR, RATE_DSP)
    n = hop_count(voice.duration_s)
    power = weighted_power(x16, n)
    ref = reference_power(power)
    pitch_hz, voicing = pitch_and_voicing(x8, n)
    quiet = power < ref * _VOICING_FLOOR
    voicing[quiet], pitch_hz[quiet] = 0.0, 0.0
    speech = voice_activity(power, ref, voicing)
    loud = loudness(power, ref)
    openness, spread, rounding = mouth_curves(x8, loud, voicing, speech)
    phones = recognise(x16, speech, voice.duration_s)
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
    )

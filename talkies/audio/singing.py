"""Sung notes, and whether a clip is sung at all.

Why it works this way. Speech and song both alternate voiced and unvoiced sound, but speech
glides: its pitch moves on within every syllable, and its voiced stretches last a syllable or
two (50-150 ms median on espeak-ng's languages and LibriVox). A singer holds a pitch: a note is
a voiced stretch whose pitch stays inside a semitone (vibrato swings it +-0.5 semitone at 5-7
Hz, which a 150 ms median halves) for a third of a second or more. Measured on 30 clips, the
share of voiced time inside such held notes is 0.00-0.16 for espeak-ng speech in 18
languages, 0.06-0.37 for real and synthetic English (the most for LibriVox under 10 dB of
pink noise, after noise suppression), and 0.67-1.00 for Festival's singing mode and a
synthetic melody; song is also more voiced (0.80-0.92 of its active time against 0.58-0.74).
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, minimum_filter1d

from talkies.audio.frames import HOP_S, runs

NOTE_MIN_S = 0.3
NOTE_RANGE_SEMITONES = 1.0  # of the 150 ms median pitch within the 300 ms window
_MEDIAN_S = 0.15
SUNG_NOTE_SHARE = 0.55  # of voiced time in held notes ...
SUNG_VOICED_SHARE = 0.77  # ... and of active time voiced


def held_notes(pitch_hz: np.ndarray, voicing: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """(n,) bool, True on hops inside a held note: voiced (voicing > 0.5) throughout a window of
    NOTE_MIN_S whose median-smoothed pitch spans less than NOTE_RANGE_SEMITONES."""
    voiced = (voicing > 0.5) & speech & (pitch_hz > 0)
    width = max(3, round(NOTE_MIN_S / HOP_S))
    held = np.zeros(voiced.shape, bool)
    for start, end in runs(voiced):
        if end - start < width:
            continue
        semitones = 12.0 * np.log2(pitch_hz[start:end] / 100.0)
        smooth = median_filter(semitones, size=max(3, round(_MEDIAN_S / HOP_S)), mode="nearest")
        span = maximum_filter1d(smooth, width, mode="nearest") - minimum_filter1d(
            smooth, width, mode="nearest"
        )
        # span[i] covers the window centred on hop i: every hop of a steady window is held
        steady = (span < NOTE_RANGE_SEMITONES).astype(np.uint8)
        held[start:end] = maximum_filter1d(steady, width, mode="constant") > 0
    return held


def is_sung(notes: np.ndarray, voicing: np.ndarray, speech: np.ndarray) -> bool:
    """Whether the clip is singing: most of its voiced time held notes, most of it voiced."""
    voiced = (voicing > 0.5) & speech
    if voiced.sum() * HOP_S < 1.0:
        return False
    note_share = float(notes.sum()) / float(voiced.sum())
    voiced_share = float(voiced.sum()) / float(max(speech.sum(), 1))
    return note_share >= SUNG_NOTE_SHARE and voiced_share >= SUNG_VOICED_SHARE

"""Mouth planner: phones and acoustic envelopes -> jaw_open, lip_round, lip_wide, lip_press,
lip_tuck.

Why it works this way. Speech is not a string of poses: every phone's articulators blend into
their neighbours. We use Cohen & Massaro's dominance model: each phone has, per channel, a
target and a dominance that is flat over the phone and falls off exponentially before and
after it; the mouth at time t is the dominance-weighted mean of all targets. Low-confidence and
very short phones get less dominance, so a single doubtful label cannot yank the mouth around
(recognised phone labels are noisy). Where the phones are doubtful or missing (other
languages, singing), the acoustic estimates of opening, spreading and rounding take over.
Then the rules from design.md are applied explicitly, because a weighted mean alone cannot
guarantee them:
  - pauses under 120 ms are transparent (the shape holds), 120-300 ms relax towards rest,
    longer pauses close the mouth, lips lightly pressed (REST_PRESS: lips that merely touch
    read as parted once the video is compressed), with quick ramps centred on the pause's
    edges so that the whole pause reads as closed;
  - p/b/m close the lips fully, even when the phone is short, and so do deep loudness dips
    where the recogniser may have missed one (lips.py);
  - a light low-pass keeps any shape from lasting less than ~70 ms (no flicker);
  - loudness scales the opening, but only partly, so quiet vowels still open;
  - voiced sound is never mouthed with shut lips: wherever the voice is loud and voiced, the
    jaw keeps at least VOICED_OPEN of its opening (lips apart, as for every voiced sound but
    m, b), and only a p/b/m closure the sound itself agrees with may shut it (lips.py);
  - pauses come from the voice activity (timeline.pauses), and where the recogniser calls
    voiced sound silence the acoustic path alone moves the mouth (an English recogniser does
    that on other languages and on singing).
Singing (SpeechTrack.style) switches the timing rules: a held note keeps an open,
vowel-shaped mouth that follows its loudness (NOTE_OPEN), no closure falls inside a note,
consonant closures between notes stay short, and loudness shapes the opening more
(SUNG_LOUDNESS_FLOOR), so that each sung syllable opens on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.curves import ramp
from talkies.motion import lips, timeline, visemes
from talkies.motion.visemes import CHANNELS
from talkies.tracks import Phone, SpeechTrack

HOLD_PAUSE_S = 0.12  # shorter pauses hold the mouth shape
# Longer pauses close the mouth. design.md says 350 ms; we close from 300 ms because the
# recognised pauses we get are ~20-50 ms shorter than the true silences they stand for.
CLOSE_PAUSE_S = 0.30
RELAXED = visemes.REST  # a medium pause relaxes towards lips together, without getting there
RELAX_STRENGTH = 2.0  # dominance of the relaxed shape in a pause of CLOSE_PAUSE_S
CLOSE_RAMP_S = 0.04  # mouth closes this fast as speech stops (half before, half after) ...
OPEN_RAMP_S = 0.04  # ... and opens this fast as speech resumes
OPEN_EARLY_S = 0.01  # starting this long before it (lips part just ahead of the sound)
# A resting mouth has its lips together, lightly pressed so that they read as closed (not
# parted a hair) however much the photo smiles: this much lip_press in a long pause.
REST_PRESS = 0.6
SHORT_PHONE_S = 0.05  # consonants shorter than this lose dominance (doubtful)
TRUST_FLOOR = 0.5  # dominance multiplier of a phone of confidence 0
SMOOTH_S = 0.015  # Gaussian sigma of the anti-flicker low-pass
PHONE_TRUST = 0.85  # weight of a confident phone path against the acoustic estimate
LOUDNESS_FLOOR = 0.65  # jaw gain for the quietest speech (1 for loud speech)
SUNG_LOUDNESS_FLOOR = 0.3  # ... for the quietest singing: the jaw follows each syllable
# Loud voiced sound keeps the jaw at least this open (times its loudness and voicing); a held
# sung note at least NOTE_OPEN.
VOICED_OPEN = 0.22
NOTE_OPEN = 0.45
VOICED_LEVEL = 0.35  # loudness (0..1 of the clip's loud speech) from which the floor applies


@dataclass(frozen=True)
class _Segments:
    """Per-segment arrays for the dominance model; k segments, c = len(CHANNELS)."""

    start_s: np.ndarray  # (k,)
    end_s: np.ndarray  # (k,)
    target: np.ndarray  # (k, c)
    strength: np.ndarray  # (k, c)
    before_s: np.ndarray  # (k, c)
    after_s: np.ndarray  # (k, c)


def plan_mouth(speech: SpeechTrack, times_s: np.ndarray, fps: float, lead_s: float) -> dict[str, np.ndarray]:
    """Mouth curves for frames playing at `times_s`; each shows the mouth `lead_s` ahead.

    Returns {channel: (len(times_s),) float64 0..1} for the CHANNELS.
    """
    phones = _clean(speech.phones)
    frames = lips.Frames(times_s, _shown_times(phones, times_s, fps, lead_s), 1.0 / fps)
    fine = timeline.grid(max(float(frames.shown_s.max(initial=0.0)), speech.duration_s) + 0.5)
    pauses = timeline.pauses(speech)
    phone_path = _coarticulate(_segments(phones, pauses, speech.duration_s), fine)
    mouth = _blend_acoustic(phone_path, speech, phones, fine)
    mouth = np.stack([timeline.smooth(c, SMOOTH_S, timeline.FINE_DT_S) for c in mouth.T], axis=1)
    loud = timeline.loudness_profile(speech, fine)
    floor = SUNG_LOUDNESS_FLOOR if speech.style == "singing" else LOUDNESS_FLOOR
    mouth[:, 0] *= floor + (1 - floor) * loud
    mouth[:, 0] = np.maximum(mouth[:, 0], _voiced_floor(speech, fine, loud))
    closed = _closed_pauses(pauses, fine, speech.duration_s)
    mouth *= 1.0 - closed[:, None]
    closure = lips.closure_curve(phones, speech, fine, frames)
    mouth = _apply_closure(mouth, closure, REST_PRESS * closed)
    mouth = np.clip(mouth, 0.0, 1.0)
    return {name: np.interp(frames.shown_s, fine, mouth[:, i]) for i, name in enumerate(CHANNELS)}


def _shown_times(phones: list[Phone], times_s: np.ndarray, fps: float, lead_s: float) -> np.ndarray:
    """(n,) non-decreasing mouth time each frame shows: its own time plus the lead, except that
    the frame nearest the middle of a vowel shows that middle (and no earlier frame shows a
    later moment). A vowel shorter than a frame or two would otherwise be seen only at its
    edges, already blended into its neighbours, and short open vowels would never look open;
    the shift is at most half a frame plus the lead."""
    shown = times_s + lead_s
    for phone in phones:
        if visemes.is_vowel(phone.label):
            middle = 0.5 * (phone.start_s + phone.end_s)
            k = timeline.nearest_frame(middle, fps, times_s.size)
            if abs(times_s[k] - middle) <= 0.5 / fps + 1e-6:
                shown[k] = middle
    return np.minimum.accumulate(shown[::-1])[::-1]


def _clean(phones: tuple[Phone, ...]) -> list[Phone]:
    """Phones with normalised labels, time order, zero-length ones dropped."""
    cleaned = [
        Phone(timeline.normalise_label(p.label), p.start_s, p.end_s, float(np.clip(p.confidence, 0, 1)))
        for p in phones
        if p.end_s > p.start_s
    ]
    return sorted(cleaned, key=lambda p: p.start_s)


def _segments(phones: list[Phone], pauses: list[timeline.Pause], duration_s: float) -> _Segments:
    """Dominance segments: one per phone (two per diphthong) plus one per pause that is
    long enough to relax or close the mouth (shorter pauses are left out: the shape holds)."""
    rows: list[tuple] = []
    for phone in phones:
        if timeline.is_silence(phone.label):
            continue
        trust = _trust(phone)
        start = phone.start_s
        for share, vis in visemes.shapes(phone.label):
            end = start + share * (phone.end_s - phone.start_s)
            strength = np.asarray(vis.strength) * trust
            rows.append((start, end, vis.target, strength, vis.reach_before_s, vis.reach_after_s))
            start = end
    for pause in pauses:
        rows.extend(_pause_segment(pause, duration_s))
    if not rows:
        rows.append((0.0, 0.0, visemes.REST, np.full(len(CHANNELS), 1e-3), (1.0,) * 5, (1.0,) * 5))
    columns = list(zip(*rows, strict=True))
    return _Segments(*(np.array(column, dtype=float) for column in columns))


def _trust(phone: Phone) -> float:
    """Dominance multiplier 0..1 of a phone: doubtful labels weigh less, and so do very short
    consonants (a lone 30 ms label is often a recogniser's slip). Short vowels keep their
    weight: they are what makes the mouth open at all in fast speech."""
    trust = TRUST_FLOOR + (1.0 - TRUST_FLOOR) * phone.confidence
    if not visemes.is_vowel(phone.label):
        trust *= min(1.0, (phone.end_s - phone.start_s) / SHORT_PHONE_S) ** 0.5
    return trust


def _pause_segment(pause: timeline.Pause, duration_s: float) -> list[tuple]:
    """The dominance segment of a pause: none when short (the shape holds), a relaxed shape
    growing with the length, or firm rest when long or at either end of the clip."""
    if _closes(pause, duration_s):
        return [
            (pause.start_s, pause.end_s, visemes.REST, np.full(len(CHANNELS), 3.0), (0.01,) * 5, (0.01,) * 5)
        ]
    if pause.duration_s < HOLD_PAUSE_S:
        return []
    weight = RELAX_STRENGTH * (pause.duration_s - HOLD_PAUSE_S) / (CLOSE_PAUSE_S - HOLD_PAUSE_S)
    return [(pause.start_s, pause.end_s, RELAXED, np.full(len(CHANNELS), weight), (0.03,) * 5, (0.03,) * 5)]


def _closes(pause: timeline.Pause, duration_s: float) -> bool:
    """Long pauses close the mouth, and so do those before the first and after the last word."""
    at_edge = pause.start_s <= 1e-6 or pause.end_s >= duration_s - 1e-6
    return pause.duration_s > CLOSE_PAUSE_S or at_edge


def _coarticulate(segs: _Segments, times_s: np.ndarray) -> np.ndarray:
    """(n, c) dominance-weighted mean of the segment targets at `times_s` (uniform grid)."""
    dt = float(times_s[1] - times_s[0])
    numerator = np.zeros((times_s.size, len(CHANNELS)))
    denominator = np.full((times_s.size, len(CHANNELS)), 1e-3)  # a whisper of REST (zeros)
    for k in range(segs.start_s.size):
        # Dominance below e^-7 is negligible; only touch the grid where it is not.
        lo = max(0, int((segs.start_s[k] - 7 * segs.before_s[k].max()) / dt))
        hi = min(times_s.size, int((segs.end_s[k] + 7 * segs.after_s[k].max()) / dt) + 2)
        t = times_s[lo:hi, None]
        distance = np.where(
            t < segs.start_s[k],
            (segs.start_s[k] - t) / segs.before_s[k][None, :],
            np.maximum(t - segs.end_s[k], 0.0) / segs.after_s[k][None, :],
        )
        dominance = np.exp(-distance) * segs.strength[k][None, :]
        numerator[lo:hi] += dominance * segs.target[k][None, :]
        denominator[lo:hi] += dominance
    return numerator / denominator


def _blend_acoustic(
    phone_path: np.ndarray, speech: SpeechTrack, phones: list[Phone], times_s: np.ndarray
) -> np.ndarray:
    """Mix in the acoustic estimate (n, c) where the phones are doubtful or absent."""
    acoustic = np.zeros_like(phone_path)
    for i, envelope in ((0, speech.openness), (1, speech.rounding), (2, speech.spread)):
        acoustic[:, i] = timeline.smooth(
            timeline.sample(envelope, speech.hop_s, times_s), 0.02, timeline.FINE_DT_S
        )
    acoustic *= timeline.speaking(speech, times_s)[:, None]
    if not phones:
        return acoustic
    trust = np.ones(times_s.size)
    talking = timeline.speaking(speech, times_s)
    for phone in phones:
        inside = (times_s >= phone.start_s) & (times_s < phone.end_s)
        if not timeline.is_silence(phone.label):
            trust[inside] = phone.confidence
        else:  # "silence" where the voice speaks: the recogniser did not follow
            trust[inside & talking] = 0.0
    weight = PHONE_TRUST * timeline.smooth(trust, 0.03, timeline.FINE_DT_S)[:, None]
    return weight * phone_path + (1.0 - weight) * acoustic


def _voiced_floor(speech: SpeechTrack, times_s: np.ndarray, loud: np.ndarray) -> np.ndarray:
    """(n,) the least jaw opening the voice allows at `times_s`: VOICED_OPEN where the sound is
    loud (from VOICED_LEVEL up) and voiced, NOTE_OPEN inside held sung notes, each scaled by
    loudness; smoothed so that the floor never snaps open or shut (~30 ms)."""
    voiced = timeline.sample(speech.voicing, speech.hop_s, times_s)
    talking = timeline.speaking(speech, times_s)
    level = np.clip((loud - VOICED_LEVEL) / (1.0 - VOICED_LEVEL), 0.0, 1.0) ** 0.5
    floor = VOICED_OPEN * level * np.clip((voiced - 0.5) * 2.0, 0.0, 1.0) * talking
    if speech.notes.size:
        notes = timeline.sample(speech.notes.astype(np.float64), speech.hop_s, times_s)
        floor = np.maximum(floor, NOTE_OPEN * np.sqrt(np.clip(loud, 0.0, 1.0)) * notes * talking)
    return timeline.smooth(floor, 0.015, timeline.FINE_DT_S)


def _closed_pauses(pauses: list[timeline.Pause], times_s: np.ndarray, duration_s: float) -> np.ndarray:
    """(n,) 0..1, 1 where a long pause holds the mouth closed; raised-cosine ramps at its ends
    (none at the ends of the clip: there the mouth is simply closed)."""
    closed = np.zeros(times_s.size)
    for pause in pauses:
        if not _closes(pause, duration_s):
            continue
        rise = ramp(times_s, pause.start_s - CLOSE_RAMP_S / 2, CLOSE_RAMP_S)
        if pause.start_s <= 0:  # the clip starts in the pause: closed from the first frame
            rise = np.ones_like(rise)
        end = pause.end_s if pause.end_s < duration_s - 1e-6 else np.inf
        fall = 1.0 - ramp(times_s, end - OPEN_EARLY_S, OPEN_RAMP_S)
        closed = np.maximum(closed, np.minimum(rise, fall))
    return closed


def _apply_closure(mouth: np.ndarray, closure: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """Closed lips: press up, jaw and lower-lip tuck down; rounding may stay ("moon").

    lip_press is the explicit closure alone, or the light press of a resting mouth (`rest`)
    where that is more: the blended press of the dominance model leaks into the neighbouring
    vowels (a third pressed in the middle of "bob"), where it would read as mumbling."""
    out = mouth.copy()
    out[:, 3] = np.maximum(closure, rest)
    out[:, 0] *= 1.0 - closure
    out[:, 4] *= 1.0 - closure
    return out

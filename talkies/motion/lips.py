"""Bilabial closures: p, b and m shut the lips completely, and the viewer must see it.

Why it works this way. A weighted blend of targets (mouth.py) cannot guarantee a full closure
for a 30 ms "b" between two vowels, so closures are laid on top explicitly: the lips are held
shut from at least MIN_CLOSURE_S before the release (closure starts 40-120 ms before it in real
speech) until the release, reached through a short ramp and opened quickly after (a burst is
abrupt). Video only samples this, so the plan is frame-aware: each closure must be shut on at
least one frame near the phone, and it must not shut the frame that shows the middle of a
neighbouring open vowel (a short "a" before "m" must still be seen open). Where both cannot
be had, the closure wins: a missing p/b/m is the more visible lip-sync error.

The recogniser misses many bilabials (a "p" heard as "k", an "m" heard as part of the vowel
or as a short silence), so the acoustics get a vote too (`acoustic_closures`): a stop closure is
a short, deep dip in loudness between two louder sounds, and an /m/ is a voiced murmur that is
just as quiet on the (A-weighted) loudness scale. Where such a dip falls on a phone that could
hide a bilabial (a short silence inside speech, a velar stop, a vowel that is not an open one),
the lips close there as well. Closing briefly on a "k" or an "n" is a far smaller visual error
than a "p" the lips never make.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from talkies.curves import ramp
from talkies.motion import timeline, visemes
from talkies.motion.visemes import BILABIALS, OPEN_VOWELS
from talkies.phones import SILENCE
from talkies.tracks import Phone, SpeechTrack

MIN_CLOSURE_S = 0.07  # shortest closure before the release (70 ms, no flicker)
# ... of a doubtful p/b/m (a label under SURE_LABEL, or a dip alone): it is not stretched back
# beyond the phone into what may be a vowel; a frame's worth of closure still reads as one.
DOUBTFUL_CLOSURE_S = 0.04
CLOSURE_RAMP_S = 0.04  # lips travel to closure in this time
RELEASE_S = 0.03  # and open again this fast after the release
BILABIAL_TRUST = 0.4  # evidence (confidence or an acoustic dip) needed to force a closure
MAX_CLOSURE_S = 0.15  # at very low frame rates a closure still may not swallow a word
MARGIN_S = 0.003  # keep a protected frame this far from any closure
# Acoustic closures: a dip at least DIP_DEPTH below the softer of the loudest points within
# DIP_REACH_S either side, both of which must be speech (SPEECH_LEVEL or louder); the closure
# spans the part of the dip below its half depth, at least DIP_MIN_S and at most DIP_MAX_S. In a
# denoised recording loudness is measured from its residual noise (timeline.residual_noise),
# and the rims need only DENOISED_SPEECH_LEVEL: suppression takes the quiet vowels down too.
DIP_DEPTH = 0.6
DIP_REACH_S = 0.15
SPEECH_LEVEL = 0.25
DENOISED_SPEECH_LEVEL = 0.15
DIP_MIN_S = 0.03
DIP_MAX_S = 0.15
ACOUSTIC_TRUST = 0.6
# Phones that may hide a bilabial the recogniser missed: silence (a stop closure heard as a
# gap), velar stops (p and k closures sound alike), nasals, and vowels other than open ones
# (an /m/ murmur swallowed by its vowel, as in "moon"). A silence shorter than SHORT_GAP_S
# counts only when voiced (a murmur): an unvoiced gap that short is any stop, and there the
# mouth shape holds (design.md).
MAY_HIDE = frozenset({SILENCE, "K", "G", "N", "NG"})
_OPENING = frozenset(visemes.DIPHTHONGS)  # diphthongs start open
SHORT_GAP_S = 0.12
VOICED = 0.5
# A phone label this confident is seldom a misheard bilabial (0.9+: the right viseme class 95%
# of the time, see audio/recognize.py); its dip is its own closure (a "k", an "n").
SURE_LABEL = 0.85
# A dip to this share of the sound around it or less is a stop closure, whatever the label.
DEEP_DIP = 0.2
# A p/b/m whose quietest point is within this share of the loudest sound around it, loud and
# voiced all through, is a recogniser's mistake: the sound is open.
AGREE_DIP = 0.15
# A doubtful closure stays out of sound this loud (0..1 of the loud speech) and voiced.
LOUD_BARRIER = 0.6
# Closures between sung notes stay short (a consonant, not a rest).
SUNG_DIP_MAX_S = 0.08
# ... and so do those the dips alone suggest in a denoised recording (`_dip_max_s`).
NOISY_DIP_MAX_S = 0.06


@dataclass(frozen=True)
class Frames:
    """The video's sampling of mouth time: frame i shows mouth time `shown_s[i]`
    (its own time plus the lead) and plays at `times_s[i]`."""

    times_s: np.ndarray
    shown_s: np.ndarray
    period_s: float


def closure_curve(phones: list[Phone], speech: SpeechTrack, fine_s: np.ndarray, frames: Frames) -> np.ndarray:
    """(len(fine_s),) 0..1 closure of the trusted p/b/m, on the fine grid of mouth time."""
    loud = timeline.loudness_profile(speech, fine_s, sigma_s=0.01)
    protected = _protected(phones, frames)
    closure = np.zeros(fine_s.size)
    found = acoustic_closures(phones, speech, fine_s, loud)
    notes = _note_times(speech, fine_s)
    for phone in [*phones, *found]:
        if phone.label not in BILABIALS or _evidence(phone, loud, fine_s) < BILABIAL_TRUST:
            continue
        if not _sound_agrees(phone, speech, loud, fine_s) or _inside_note(phone, notes, fine_s):
            continue
        before, after = _barriers(phone, protected)
        if phone.confidence < SURE_LABEL:
            before, after = _loud_barriers(phone, speech, loud, fine_s, before, after)
        start, end = _hold(phone, before, after, frames)
        rise_from = max(start - CLOSURE_RAMP_S, before) if before <= start else start - 0.01
        fall_to = min(end + RELEASE_S, after) if after >= end else end + 0.01
        rise = ramp(fine_s, rise_from, start - rise_from)
        fall = 1.0 - ramp(fine_s, end, fall_to - end)
        closure = np.maximum(closure, np.minimum(rise, fall))
    return closure


def _protected(phones: list[Phone], frames: Frames) -> list[tuple[Phone, float]]:
    """(open vowel, mouth time shown by the frame nearest its middle) pairs; that frame
    shows the vowel's middle (see mouth._shown_times)."""
    found = []
    for phone in phones:
        if phone.label in OPEN_VOWELS:
            middle = 0.5 * (phone.start_s + phone.end_s)
            k = timeline.nearest_frame(middle, 1.0 / frames.period_s, frames.times_s.size)
            found.append((phone, float(frames.shown_s[k])))
    return found


def _barriers(phone: Phone, protected: list[tuple[Phone, float]]) -> tuple[float, float]:
    """Mouth times the closure of `phone` must not reach: the middle frames of the open vowels
    just before and just after it (-inf / inf when there are none within 300 ms)."""
    before = [
        shown for vowel, shown in protected if phone.start_s - 0.3 < vowel.end_s <= phone.start_s + 1e-6
    ]
    after = [shown for vowel, shown in protected if phone.end_s - 1e-6 <= vowel.start_s < phone.end_s + 0.3]
    return (max(before) + MARGIN_S if before else -np.inf, min(after) - MARGIN_S if after else np.inf)


def _loud_barriers(
    phone: Phone, speech: SpeechTrack, loud: np.ndarray, times_s: np.ndarray, before: float, after: float
) -> tuple[float, float]:
    """`before` and `after` moved in to the loud voiced sound either side of a doubtful p/b/m:
    the last moment before its middle and the first after it where loudness is LOUD_BARRIER or
    more and voiced. A closure the sound only suggests (a dip, a doubtful label) shuts the lips
    in the quiet part; it must not spill over the vowels around it, which sound open (on
    speech in other languages those spills were most of the loud voiced frames shown shut)."""
    middle = 0.5 * (phone.start_s + phone.end_s)
    near = (times_s >= middle - 0.2) & (times_s <= middle + 0.2)
    voiced = timeline.sample(speech.voicing, speech.hop_s, times_s[near]) >= VOICED
    loud_times = times_s[near][voiced & (loud[near] >= LOUD_BARRIER)]
    earlier, later = loud_times[loud_times < middle], loud_times[loud_times > middle]
    if earlier.size:
        before = max(before, float(earlier.max()) + MARGIN_S)
    if later.size:
        after = min(after, float(later.min()) - MARGIN_S)
    return before, after


def _hold(phone: Phone, before: float, after: float, frames: Frames) -> tuple[float, float]:
    """(start, end) mouth times of full closure: ideally MIN_CLOSURE_S (DOUBTFUL_CLOSURE_S for a
    doubtful p/b/m, in any recording), or a frame where that is longer, up to the release,
    inside the barriers, and covering at least one frame that plays near the phone
    (within one frame of it: what a viewer, and the lip-sync test, can tolerate)."""
    shortest = MIN_CLOSURE_S if phone.confidence >= SURE_LABEL else DOUBTFUL_CLOSURE_S
    longest = max(shortest, min(frames.period_s + 0.005, MAX_CLOSURE_S))
    start = max(min(phone.start_s, phone.end_s - longest), before)
    end = min(phone.end_s, after)
    near = (
        np.abs(frames.times_s - np.clip(frames.times_s, phone.start_s, phone.end_s)) <= frames.period_s + 1e-6
    )
    if np.any(near & (frames.shown_s >= start) & (frames.shown_s <= end)):
        return start, end
    allowed = near & (frames.shown_s > before) & (frames.shown_s < after)
    candidates = np.flatnonzero(allowed if allowed.any() else near)
    if candidates.size == 0:  # the phone lies beyond the last frame
        return start, max(end, start)
    middle = 0.5 * (phone.start_s + phone.end_s)
    shown = float(frames.shown_s[candidates[np.argmin(np.abs(frames.shown_s[candidates] - middle))]])
    if start > end:
        start = end = shown
    return min(start, shown - 0.001), max(end, shown + 0.001)


def _sound_agrees(phone: Phone, speech: SpeechTrack, loud: np.ndarray, times_s: np.ndarray) -> bool:
    """False where the sound says the lips cannot be shut: the phone is loud and voiced all
    through (its quietest point within AGREE_DIP of the loudest around it). Lips pressed
    together let sound out only through the nose, so every real p/b/m dips; an English
    recogniser's "m" over a sung vowel or a foreign open vowel does not. A label the
    recogniser is sure of (SURE_LABEL) is kept in speech: there a shallow dip is the
    loudness envelope's smoothing, not an open mouth."""
    if phone.confidence >= SURE_LABEL and speech.style != "singing":
        return True
    inside = (times_s >= phone.start_s) & (times_s <= phone.end_s)
    around = (times_s >= phone.start_s - 0.1) & (times_s <= phone.end_s + 0.1)
    if not inside.any() or loud[around].max() < 1e-6:
        return True
    dip = 1.0 - loud[inside].min() / loud[around].max()
    voiced = float(timeline.sample(speech.voicing, speech.hop_s, times_s[inside]).min())
    return dip >= AGREE_DIP or voiced < VOICED or float(loud[inside].min()) < SPEECH_LEVEL


def _note_times(speech: SpeechTrack, times_s: np.ndarray) -> np.ndarray:
    """(n,) bool, True inside a held sung note (none when the clip is not sung)."""
    if speech.style != "singing" or not speech.notes.size:
        return np.zeros(times_s.size, bool)
    return timeline.sample(speech.notes.astype(np.float64), speech.hop_s, times_s) > 0.5


def _inside_note(phone: Phone, notes: np.ndarray, times_s: np.ndarray) -> bool:
    """Whether a closure at `phone` would fall inside a held note (its middle is in one)."""
    middle = 0.5 * (phone.start_s + phone.end_s)
    k = min(int(np.searchsorted(times_s, middle)), times_s.size - 1)
    return bool(notes[k]) if times_s.size else False


def _evidence(phone: Phone, loud: np.ndarray, times_s: np.ndarray) -> float:
    """How sure we are that the lips really close: the recogniser's confidence, or an
    acoustic dip (a closure is quieter than the sounds around it)."""
    around = (times_s >= phone.start_s - 0.1) & (times_s <= phone.end_s + 0.1)
    inside = (times_s >= phone.start_s) & (times_s <= phone.end_s)
    if not inside.any() or loud[around].max() < 1e-6:
        return phone.confidence
    dip = 1.0 - loud[inside].min() / loud[around].max()
    return max(phone.confidence, float(dip))


def acoustic_closures(
    phones: list[Phone], speech: SpeechTrack, fine_s: np.ndarray, loud: np.ndarray
) -> list[Phone]:
    """Likely bilabials the phones do not name: ("P", start, end, ACOUSTIC_TRUST) over each
    deep loudness dip between two stretches of speech that falls on a phone in MAY_HIDE or a
    vowel that is not open, and is not already covered by a recognised p/b/m."""
    if fine_s.size < 3:
        return []
    dt = float(fine_s[1] - fine_s[0])
    reach = max(1, round(DIP_REACH_S / dt))
    speech_level = DENOISED_SPEECH_LEVEL if speech.denoised else SPEECH_LEVEL
    longest = _dip_max_s(speech)
    minima = np.flatnonzero((loud[1:-1] <= loud[:-2]) & (loud[1:-1] < loud[2:])) + 1
    found: list[Phone] = []
    for i in minima:
        if found and fine_s[i] < found[-1].end_s:  # another minimum of the same dip
            continue
        before = float(loud[max(0, i - reach) : i + 1].max())
        after = float(loud[i : i + reach + 1].max())
        rim = min(before, after)
        if rim < speech_level or loud[i] > (1.0 - DIP_DEPTH) * rim:
            continue
        half = loud[i] + 0.5 * (rim - loud[i])
        lo, hi = i, i
        while lo > 0 and i - lo < reach and loud[lo - 1] < half:
            lo -= 1
        while hi < fine_s.size - 1 and hi - i < reach and loud[hi + 1] < half:
            hi += 1
        start, end = float(fine_s[lo]), float(fine_s[hi]) + dt
        if end - start < DIP_MIN_S:
            start, end = float(fine_s[i]) - DIP_MIN_S / 2, float(fine_s[i]) + DIP_MIN_S / 2
        start = max(start, end - longest)
        voiced = float(timeline.sample(speech.voicing, speech.hop_s, fine_s[lo : hi + 1]).mean()) >= VOICED
        deep = loud[i] <= DEEP_DIP * rim
        if _may_hide(phones, float(fine_s[i]), start, end, voiced, speech.denoised, deep):
            found.append(Phone("P", start, end, ACOUSTIC_TRUST))
    return found


def _dip_max_s(speech: SpeechTrack) -> float:
    """The longest acoustic closure: short between sung notes (a consonant, not a rest) and in
    a denoised recording, where a dip is weaker evidence (most of them there are t, d and h:
    a held closure on one reads as a mumble, a brief one as a lip movement); DIP_MAX_S else."""
    if speech.style == "singing":
        return SUNG_DIP_MAX_S
    return NOISY_DIP_MAX_S if speech.denoised else DIP_MAX_S


def _may_hide(
    phones: list[Phone],
    at_s: float,
    start_s: float,
    end_s: float,
    voiced: bool,
    noisy: bool = False,
    deep: bool = False,
) -> bool:
    """Whether the phone under `at_s` could be a misheard bilabial (see MAY_HIDE; `voiced`:
    the dip is voiced), and no recognised p/b/m lies within 30 ms of [start_s, end_s]. In a
    `noisy` recording (noise was suppressed) any doubtful label but an open vowel may: there the
    recogniser hears the dips of p, b and m as t, f, th, r (measured on LibriVox at 10 dB SNR),
    and a closure on a real t is the smaller error. A `deep` dip (to DEEP_DIP of the sound around it) under a
    doubtful vowel label may too: no vowel goes silent, so the label is wrong and the dip a
    stop (in clean speech the stops labelled t, d keep their own shape)."""
    near = [p for p in phones if p.end_s > start_s - 0.03 and p.start_s < end_s + 0.03]
    if any(p.label in BILABIALS for p in near):
        return False
    under = [p for p in near if p.start_s <= at_s < p.end_s]
    if not under:
        return True
    label = under[0].label
    if timeline.is_silence(label):
        return voiced or under[0].end_s - under[0].start_s >= SHORT_GAP_S
    if under[0].confidence >= SURE_LABEL:
        return False
    if deep and visemes.is_vowel(label):
        return True
    if noisy and label not in OPEN_VOWELS | _OPENING:
        return True
    return label in MAY_HIDE or (visemes.is_vowel(label) and label not in OPEN_VOWELS | _OPENING)

"""Time-base helpers shared by the motion planners: sampling envelopes onto a time grid,
smoothing, and finding pauses.

Planners think in continuous time (seconds). The mouth is computed on a fine grid (`FINE_DT_S`)
because phones are often shorter than a video frame; everything is point-sampled at frame
times at the very end, so the curves never depend on the frame rate more than they must.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

import talkies.phones as phones
from talkies.tracks import SpeechTrack

# Resolution of the mouth planner; 5 ms is well below the shortest phone (30 ms).
FINE_DT_S = 0.005

# How far a recognised phone may push speech into a stretch the voice activity calls silent.
PHONE_REACH_S = 0.08
# A recognised silence next to a pause joins it where the loudness (0..1) stays under this.
QUIET_LEVEL = 0.3
# In a denoised clip, loudness is measured from this percentile of it (`residual_noise`).
RESIDUAL_PERCENTILE = 5.0


@dataclass(frozen=True)
class Pause:
    """A stretch without speech, in seconds."""

    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def grid(duration_s: float, dt_s: float = FINE_DT_S) -> np.ndarray:
    """(n,) float64 times 0, dt, 2 dt ... covering [0, duration_s]."""
    return np.arange(int(np.ceil(duration_s / dt_s)) + 1, dtype=np.float64) * dt_s


def sample(envelope: np.ndarray, hop_s: float, times_s: np.ndarray) -> np.ndarray:
    """Linear interpolation of an envelope sampled every `hop_s` (sample i at i * hop_s) at
    `times_s`; held constant beyond its ends. Empty envelopes read as zeros."""
    values = np.asarray(envelope, dtype=np.float64)
    if values.size == 0:
        return np.zeros(times_s.shape, np.float64)
    return np.interp(times_s, np.arange(values.size) * hop_s, values)


def smooth(values: np.ndarray, sigma_s: float, dt_s: float) -> np.ndarray:
    """Gaussian low-pass with standard deviation `sigma_s`; edges reflect (no fade to zero)."""
    if sigma_s <= 0 or values.size < 2:
        return values.astype(np.float64)
    return gaussian_filter1d(values.astype(np.float64), sigma_s / dt_s, mode="nearest")


def nearest_frame(time_s: float, fps: float, n_frames: int) -> int:
    """Index of the frame (frame i at i / fps) nearest to `time_s`; the earlier one on a tie."""
    return int(np.clip(np.ceil(time_s * fps - 0.5), 0, max(n_frames - 1, 0)))


def is_silence(label: str) -> bool:
    return phones.is_silence(label)


def normalise_label(label: str) -> str:
    """ARPAbet without stress digits, upper case ("aa1" -> "AA"); unknown labels -> "SIL"
    (the one phone vocabulary, talkies.phones)."""
    return phones.normalise(label)


def pauses(speech: SpeechTrack) -> list[Pause]:
    """Pauses in time order: where the voice-activity mask says nobody speaks, each grown into
    a recognised silence that continues it while the sound there stays quiet (QUIET_LEVEL),
    then trimmed where a recognised phone (not silence) that begins or ends in speech reaches
    into it, by at most PHONE_REACH_S (an unvoiced consonant quieter than the activity
    threshold: the "s" that ends a phrase). The ends of the clip count.

    Why the voice and not the phones: pocketsphinx is an English recogniser, and on singing and
    other languages it labels voiced sound silence with high confidence; a pause taken from
    its phones would shut the lips on a sung note. Whether the mouth moves is the voice's call.
    """
    segments = speech.segments()
    if not segments:
        return [Pause(0.0, speech.duration_s)]
    edges = [0.0, *[t for seg in segments for t in seg], speech.duration_s]
    found = [Pause(a, b) for a, b in zip(edges[0::2], edges[1::2], strict=True)]
    spoken = [(p.start_s, p.end_s) for p in speech.phones if not is_silence(normalise_label(p.label))]
    silent = [(p.start_s, p.end_s) for p in speech.phones if is_silence(normalise_label(p.label))]
    quiet = np.asarray(speech.loudness) < QUIET_LEVEL
    trimmed = [_trim_by_phones(_extend_by_silences(p, silent, quiet, speech.hop_s), spoken) for p in found]
    return [p for p in trimmed if p.duration_s > 0]


def _extend_by_silences(
    pause: Pause, silent: list[tuple[float, float]], quiet: np.ndarray, hop_s: float
) -> Pause:
    """`pause` grown into a recognised silence that runs on from it, as far as the sound stays
    quiet: the voice activity keeps a final murmur ("them") and a gap-fill of 100 ms as speech,
    while the recogniser has already heard the silence begin."""
    start, end = pause.start_s, pause.end_s
    for s_start, s_end in silent:
        if s_start < start <= s_end + 1e-6:
            start = _quiet_back_to(s_start, start, quiet, hop_s)
        if s_start - 1e-6 <= end < s_end:
            end = _quiet_on_to(s_end, end, quiet, hop_s)
    return Pause(start, end)


def _quiet_back_to(limit_s: float, t_s: float, quiet: np.ndarray, hop_s: float) -> float:
    """The earliest time >= limit_s from which the sound is quiet all the way up to t_s."""
    i = min(round(t_s / hop_s), quiet.size)
    lo = max(int(np.ceil(limit_s / hop_s - 1e-6)), 0)
    while i > lo and quiet[i - 1]:
        i -= 1
    return max(i * hop_s, limit_s)


def _quiet_on_to(limit_s: float, t_s: float, quiet: np.ndarray, hop_s: float) -> float:
    """The latest time <= limit_s up to which the sound is quiet all the way from t_s."""
    i = max(round(t_s / hop_s), 0)
    hi = min(int(limit_s / hop_s + 1e-6), quiet.size)
    while i < hi and quiet[i]:
        i += 1
    return min(i * hop_s, limit_s)


def _trim_by_phones(pause: Pause, spoken: list[tuple[float, float]]) -> Pause:
    """`pause` less the parts that phones running on from the speech either side cover."""
    start, end = pause.start_s, pause.end_s
    for p_start, p_end in spoken:
        if p_start <= start + 1e-6 < p_end:  # a phone of the speech before runs on
            start = max(start, min(p_end, pause.start_s + PHONE_REACH_S))
        if p_start < end - 1e-6 <= p_end:  # a phone of the speech after starts early
            end = min(end, max(p_start, pause.end_s - PHONE_REACH_S))
    return Pause(start, max(start, end))


def speaking(speech: SpeechTrack, times_s: np.ndarray) -> np.ndarray:
    """(n,) bool, True where someone speaks at `times_s` (outside every pause)."""
    talking = np.ones(times_s.shape, bool)
    for pause in pauses(speech):
        talking &= ~((times_s >= pause.start_s) & (times_s < pause.end_s))
    return talking


def rng(seed: int, stream: int) -> np.random.Generator:
    """Independent generator per planner (`stream`), so adding a planner never changes
    what the others draw for the same seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))


def loudness_profile(speech: SpeechTrack, times_s: np.ndarray, sigma_s: float = 0.06) -> np.ndarray:
    """(n,) 0..1 loudness at `times_s`, smoothed and rescaled so that the clip's loud speech
    (95th percentile of speaking samples) reads 1. In a denoised clip it is measured from the
    residual noise (`residual_noise`), for everything that reads it: closures (their dips),
    the jaw's loudness gain and the prosody's emphasis."""
    loud = smooth(sample(speech.loudness, speech.hop_s, times_s), sigma_s, step(times_s))
    if speech.denoised and speech.loudness.size:
        loud = loud - residual_noise(speech)
    talking = speaking(speech, times_s)
    reference = np.percentile(loud[talking], 95) if talking.any() else loud.max(initial=0.0)
    return np.clip(loud / reference, 0.0, 1.0) if reference > 1e-6 else np.zeros_like(loud)


def residual_noise(speech: SpeechTrack) -> float:
    """The loudness that suppressed noise leaves in the quietest moments of a denoised clip
    (its 5th percentile). It is the floor of that clip's loudness scale: a stop closure or an
    /m/ dips to it, not to 0, and measured from 0 the dip would read as shallow as a vowel's."""
    return float(np.percentile(speech.loudness, RESIDUAL_PERCENTILE))


def step(times_s: np.ndarray) -> float:
    """Spacing of a uniform time grid (s); FINE_DT_S for a grid of one sample, where any
    smoothing width in samples comes out the same."""
    return float(times_s[1] - times_s[0]) if times_s.size > 1 else FINE_DT_S

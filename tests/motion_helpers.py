"""Inputs and measurements for the motion tests and dev plots (no talkies stage but motion).

- `synthetic_speech`: a SpeechTrack from a phone list, with plausible envelopes.
- `recorded_speech`: a SpeechTrack from a file in examples/ and a phone list (crude envelopes
  computed here, so the tests do not wait for the audio stage).
- `portrait_rig`: a PortraitRig with only what motion reads (landmarks, person mask).
- `lipsync_scores`: the lip-sync acceptance measures, on the planned curves.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from talkies.tracks import MotionTrack, Phone, PortraitRig, SpeechTrack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOP_S = 0.01
BILABIAL = {"P", "B", "M"}
OPEN_VOWELS = {"AA", "AE", "AH", "AO", "AW", "AY"}
_OPENNESS = {"AA": 0.9, "AE": 0.8, "AH": 0.7, "AO": 0.8, "AW": 0.8, "AY": 0.8, "EH": 0.6, "EY": 0.5}


def phones_of(rows, confidence: float = 1.0) -> tuple[Phone, ...]:
    """Phone tuple from (label, start_s, end_s) rows (as in motion_fixtures)."""
    return tuple(Phone(label, float(a), float(b), confidence) for label, a, b in rows)


def sequence(spec: str, start_s: float = 0.5, tail_s: float = 0.5) -> tuple[list, float]:
    """Rows from "M:0.08 AA:0.15 ..." (label:duration_s), starting at `start_s` after a SIL;
    returns (rows, clip duration)."""
    rows = [("SIL", 0.0, start_s)]
    t = start_s
    for item in spec.split():
        label, dur = item.split(":")
        rows.append((label, t, t + float(dur)))
        t += float(dur)
    rows.append(("SIL", t, t + tail_s))
    return rows, t + tail_s


def synthetic_speech(phones: tuple[Phone, ...], duration_s: float, loudness: float = 1.0) -> SpeechTrack:
    """Envelopes follow the phones: vowels loud and open, stops quiet, silence zero."""
    n = int(np.ceil(duration_s / HOP_S)) + 1
    t = np.arange(n) * HOP_S
    loud, openness, rnd, spread, speech = (np.zeros(n, np.float32) for _ in range(5))
    for p in phones:
        inside = (t >= p.start_s) & (t < p.end_s)
        if p.label == "SIL":
            continue
        speech[inside] = 1
        loud[inside] = loudness * (0.3 if p.label in BILABIAL else 1.0 if p.label in _OPENNESS else 0.6)
        openness[inside] = _OPENNESS.get(p.label, 0.2)
        rnd[inside] = 0.8 if p.label in {"UW", "OW", "W"} else 0.0
        spread[inside] = 0.7 if p.label in {"IY", "EY"} else 0.1
    pitch = np.where(speech > 0, 120.0, 0.0).astype(np.float32)
    return SpeechTrack(
        duration_s,
        HOP_S,
        phones,
        loud,
        pitch,
        speech.copy(),
        openness,
        spread,
        rnd,
        speech > 0,
        "en" if phones else "",
    )


def read_wav(name: str) -> tuple[np.ndarray, int]:
    """(n,) float32 mono samples at 16 kHz of examples/<name>.wav."""
    with wave.open(str(EXAMPLES / f"{name}.wav")) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, w.getnchannels())
    x = x.mean(axis=1).astype(np.float32) / 32768
    if rate != 16000:
        g = np.gcd(rate, 16000)
        x = resample_poly(x, 16000 // g, rate // g).astype(np.float32)
    return x, 16000


def recorded_speech(name: str, phones: tuple[Phone, ...]) -> SpeechTrack:
    """SpeechTrack of a sample recording: RMS loudness in dB mapped to 0..1, openness from
    loudness (the crude acoustic path), speech where the phones are not SIL."""
    x, rate = read_wav(name)
    hop = int(HOP_S * rate)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(x, (200, 200)), 400)[::hop]
    db = 10 * np.log10((frames**2).mean(axis=1) + 1e-10)
    loud = np.clip((db - (db.max() - 45)) / 40, 0, 1).astype(np.float32)
    duration = x.size / rate
    base = synthetic_speech(phones, duration)
    n = loud.size
    fit = lambda a: np.resize(a, n)  # noqa: E731
    zeros = np.zeros(n, np.float32)
    return SpeechTrack(
        duration,
        HOP_S,
        phones,
        loud,
        fit(base.pitch_hz),
        fit(base.voicing),
        loud**2,
        zeros,
        zeros,
        fit(base.speech),
    )


def portrait_rig(width: int = 512, height: int = 512, body: bool = True) -> PortraitRig:
    """A rig whose landmarks span a face box in the upper middle; the person mask covers the
    face, and the shoulders below it when `body`."""
    rng = np.random.default_rng(0)
    lm = np.zeros((478, 3), np.float32)
    lm[:, 0] = rng.uniform(0.35 * width, 0.65 * width, 478)
    lm[:, 1] = rng.uniform(0.15 * height, 0.45 * height, 478)
    lm[10, 1], lm[152, 1] = 0.15 * height, 0.45 * height  # forehead, chin
    mask = np.zeros((height, width), np.float32)
    mask[int(0.1 * height) : int(0.5 * height), int(0.3 * width) : int(0.7 * width)] = 1
    if body:
        mask[int(0.5 * height) :, int(0.1 * width) : int(0.9 * width)] = 1
    return PortraitRig(np.zeros((height, width, 3), np.uint8), lm, (), mask)


@dataclass(frozen=True)
class LipSync:
    bilabials_closed: float  # share of p/b/m with aperture < 15% of max within the phone +-1 frame
    open_vowels_open: float  # share of open vowels with aperture > 40% of max at their centre
    pauses_closed: float  # share of frames inside pauses > 350 ms with aperture < 15% of max
    n_bilabials: int
    n_open_vowels: int


def aperture(track: MotionTrack) -> np.ndarray:
    """Lip opening the renderer will show: jaw_open, cancelled by lip_press."""
    return track.get("jaw_open") * (1.0 - track.get("lip_press"))


def lipsync_scores(track: MotionTrack, truth: tuple[Phone, ...]) -> LipSync:
    """The acceptance measures (design brief) computed on curves instead of re-detected frames."""
    ap = aperture(track)
    top = float(ap.max())
    fps = track.fps
    closed, opened, pause_frames = [], [], []
    for p in _merge_silences(truth):
        first, last = int(np.floor(p.start_s * fps)) - 1, int(np.ceil(p.end_s * fps)) + 1
        if p.label in BILABIAL:
            closed.append(ap[max(first, 0) : last + 1].min() < 0.15 * top)
        elif p.label in OPEN_VOWELS:
            centre = int(np.argmin(np.abs(np.arange(ap.size) / fps - 0.5 * (p.start_s + p.end_s))))
            opened.append(ap[centre] > 0.4 * top)
        elif p.label == "SIL" and p.end_s - p.start_s > 0.35:
            inside = np.arange(int(np.ceil(p.start_s * fps)), min(int(p.end_s * fps) + 1, ap.size))
            pause_frames.extend(ap[inside] < 0.15 * top)
    share = lambda v: float(np.mean(v)) if v else 1.0  # noqa: E731
    return LipSync(share(closed), share(opened), share(pause_frames), len(closed), len(opened))


def _merge_silences(phones: tuple[Phone, ...]) -> list[Phone]:
    """Adjacent SIL phones (alignment chunk borders) as one pause."""
    merged: list[Phone] = []
    for p in phones:
        if merged and p.label == merged[-1].label == "SIL" and p.start_s - merged[-1].end_s < 0.02:
            merged[-1] = Phone("SIL", merged[-1].start_s, p.end_s, p.confidence)
        else:
            merged.append(p)
    return merged

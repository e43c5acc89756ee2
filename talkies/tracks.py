"""The typed timelines and data that stages pass to each other (the stage contracts).

Data flow (design.md):

    image ─> media.load_image ─> face.analyze_portrait ─> PortraitRig
    audio ─> media.load_audio ─> Audio ─> audio.analyze_speech ─> SpeechTrack
    SpeechTrack + PortraitRig + options ─> motion.plan ─> MotionTrack
    PortraitRig + MotionTrack ─> render.frames ─> media.encode_video ─> MP4

Stages import these types, never each other. Time is always explicit: phone times in
seconds, envelopes at `SpeechTrack.hop_s`, motion curves one value per output frame at
`MotionTrack.fps`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from talkies.errors import InvalidMotionError


@dataclass(frozen=True)
class Audio:
    """Decoded audio, as it will also be muxed into the output.

    samples: (channels, n) float32 in [-1, 1], the file's own rate and channel count.
    """

    samples: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / float(self.sample_rate)

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    def mono(self) -> np.ndarray:
        """(n,) float32 mean of the channels."""
        return self.samples.mean(axis=0, dtype=np.float32)


@dataclass(frozen=True)
class Phone:
    """One recognised phone. `label` is ARPAbet without stress digits ("AA", "P", ...), or
    "SIL" for silence / noise. `confidence` is 0..1 (how far the recogniser is to be trusted)."""

    label: str
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True)
class SpeechTrack:
    """What the audio says and how it sounds, independent of any frame rate.

    Envelopes are (n,) float32 sampled every `hop_s` seconds, sample i at time i * hop_s:
      loudness   0..1, perceptual loudness normalised to the clip (1 = its loud speech)
      pitch_hz   F0 in Hz, 0 where unvoiced
      voicing    0..1 probability that the frame is voiced
      openness   0..1 acoustic estimate of jaw opening (any language, singing)
      spread     0..1 acoustic estimate of lip spreading (e.g. "ee")
      rounding   0..1 acoustic estimate of lip rounding (e.g. "oo")
      speech     bool, True where someone is speaking (voice activity)
      notes      bool, True inside held sung notes (empty: none)
    phones: time-ordered, non-overlapping; empty when recognition was not run or found nothing.
    language: "en" when the phones come from the English recogniser, "" otherwise.
    style: "speech" or "singing" (the clip as a whole).
    snr_db: the voice's level over the steady noise floor (inf: digital silence under it, or no
      floor to measure but the voice itself);
    denoised: whether noise suppression ran before the analysis.
    recognised: share 0..1 of the voiced speech covered by confidently recognised phones.
    """

    duration_s: float
    hop_s: float
    phones: tuple[Phone, ...]
    loudness: np.ndarray
    pitch_hz: np.ndarray
    voicing: np.ndarray
    openness: np.ndarray
    spread: np.ndarray
    rounding: np.ndarray
    speech: np.ndarray
    language: str = "en"
    notes: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    style: str = "speech"
    snr_db: float = math.inf
    denoised: bool = False
    recognised: float = 0.0

    @property
    def n_hops(self) -> int:
        return int(self.loudness.shape[0])

    def describe(self) -> str:
        """One line saying what the analysis concluded, for the log: why the mouth does what
        it does ("speech, English phones on 91% of the voice, clean (31 dB SNR)")."""
        voice_s = float(np.count_nonzero(self.speech)) * self.hop_s
        if voice_s == 0:
            return f"no voice found in {self.duration_s:.1f} s: the face stays at rest"
        if self.language == "en" and self.recognised >= 0.5:
            how = f"English phones on {self.recognised:.0%} of the voice"
        elif self.language == "en":
            how = f"few confident English phones ({self.recognised:.0%}): mouth mostly from the sound"
        else:
            how = "no English recognised: mouth from the sound alone"
        if self.denoised:
            noise = f"noisy ({self.snr_db:.0f} dB SNR), noise suppression on"
        elif math.isfinite(self.snr_db):
            noise = f"clean ({self.snr_db:.0f} dB SNR)"
        else:
            noise = "clean"
        return f"{self.style}, {voice_s:.1f} s of voice in {self.duration_s:.1f} s, {how}, {noise}"

    def segments(self) -> list[tuple[float, float]]:
        """(start_s, end_s) of each run of speech."""
        edges = np.diff(np.concatenate([[0], self.speech.astype(np.int8), [0]]))
        starts = np.flatnonzero(edges == 1)
        ends = np.flatnonzero(edges == -1)
        return [(s * self.hop_s, e * self.hop_s) for s, e in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class WarpMesh:
    """The warp mesh of one face (built by face.analyze_portrait, drawn by render).

    points: (n, 3) float32 rest positions (x, y px; z px, negative = nearer): the 478 landmarks
    first, then the ring vertices, ring by ring, each ring in face-outline order, then the
    eyeball vertices (points[copies_at + i] duplicates landmark copies_of[i]).
    triangles: (m, 3) int32 over `points`: first the mouth and eye openings (`holes`, name ->
    (k, 3) int32; the eye openings use the eyeball vertices), then the face tessellation, then
    the ring strips, so that drawing them in order lets lips and lids win over the openings.
    head_weight: (n,) float32 0..1. ring: (n,) int8: 0 landmark, k ring k (1..rings), -1
    eyeball vertex. pivot: (3,) float32 head centre (x, y at ear level, z at the ears' depth).
    face_centre: (2,) centre of the face outline; down: (2,) unit vector forehead -> chin.
    """

    points: np.ndarray
    triangles: np.ndarray
    holes: Mapping[str, np.ndarray]
    head_weight: np.ndarray
    ring: np.ndarray
    pivot: np.ndarray
    face_centre: np.ndarray
    down: np.ndarray
    copies_of: np.ndarray
    copies_at: int
    rings: int

    @property
    def outer_ring(self) -> np.ndarray:
        """Indices of the vertices of the outermost ring (they never move with the head)."""
        return np.flatnonzero(self.ring == self.rings)

    @property
    def copies(self) -> np.ndarray:
        """Indices of the eyeball vertices (copies of lid contour landmarks `copies_of`)."""
        return self.copies_at + np.arange(len(self.copies_of))


@dataclass(frozen=True)
class MouthFacts:
    """What the photo's own mouth shows: the inner-lip gap at its centre and its width
    (corner to corner), in pixels; the share of the opening that is teeth, and whether the
    teeth show at all (then the renderer uses the photo's own)."""

    aperture_px: float
    width_px: float
    teeth_fraction: float
    teeth_visible: bool


@dataclass(frozen=True)
class PortraitRig:
    """Everything known about the still image, computed once (face.analyze_portrait).

    image:        (H, W, 3) uint8 RGB, already at the output frame size
    landmarks:    (478, 3) float32 face-mesh landmarks of the speaking face, x and y in pixels
                  of `image`, z in the same pixel scale (mediapipe's depth, negative = nearer)
    other_faces:  landmarks (478, 3) of every other face found (they stay alive, but silent)
    person_mask:  (H, W) float32 0..1, the people in the photo (selfie segmentation)
    mesh:         the speaker's warp mesh (None: a rig made by hand, which render refuses)
    masks:        name -> (H, W) uint8 0..255: face, lips, inner_mouth, eyes, head, teeth
    mouth:        what the photo's mouth shows (MouthFacts)
    groups:       name -> landmark index tuples (lip rings, lids, irises, brows, jaw line ...)
    iod_px:       distance between the iris centres (the face's scale unit), pixels
    face_size_px: larger side of the face's landmark box, pixels
    roi:          (x0, y0, x1, y1) pixel box outside which head and face motion never reach
    faces_note:   one line for the user: how many faces, which speaks (its box), how to pick
                  another, what was found but not taken for a face
    Render keeps its own per-rig precomputation (render.prepare, a puppet); nothing writes into a rig.
    """

    image: np.ndarray
    landmarks: np.ndarray
    other_faces: tuple[np.ndarray, ...]
    person_mask: np.ndarray
    mesh: WarpMesh | None = None
    masks: Mapping[str, np.ndarray] = field(default_factory=dict)
    mouth: MouthFacts | None = None
    groups: Mapping[str, tuple] = field(default_factory=dict)
    iod_px: float = 0.0
    face_size_px: float = 0.0
    roi: tuple[int, int, int, int] = (0, 0, 0, 0)
    faces_note: str = ""

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


# Every curve the motion stage may produce, with its unit / range. Renderers treat a missing
# curve as all zeros and ignore names they do not know, so new curves can be added freely.
CURVES: dict[str, str] = {
    "jaw_open": "0..1, 0 = lips together (whatever the photo shows), 1 = widest speech opening",
    "lip_round": "0..1, pucker / rounding (oo, w)",
    "lip_wide": "0..1, spreading of the mouth corners (ee)",
    "lip_press": "0..1, lips pressed shut (p, b, m); overrides jaw_open for the lips",
    "lip_tuck": "0..1, lower lip to upper teeth (f, v)",
    "smile": "0..1, mouth corners up",
    "frown": "0..1, mouth corners down",
    "brow_raise": "0..1",
    "brow_furrow": "0..1",
    "blink_left": "0..1, 1 = closed (the subject's left eye)",
    "blink_right": "0..1, 1 = closed",
    "blink_others": "0..1, 1 = closed: both eyes of every other (silent) face in the photo",
    "gaze_x_deg": "degrees, + = subject looks to the image's right",
    "gaze_y_deg": "degrees, + = up",
    "head_yaw_deg": "degrees, + = face turns to the image's right",
    "head_pitch_deg": "degrees, + = chin up",
    "head_roll_deg": "degrees, + = clockwise in the image",
    "torso_sway_px": "pixels at 1080p of sideways torso shift",
    "breath": "0..1, chest and shoulders rise",
    "zoom": "scale factor - 1 of a camera push in (0 = none)",
}


# What the renderer draws well, per curve, in the curve's unit: the one table of ranges.
# check_track refuses a track with any value outside it (naming curve, value and range), the
# planners keep inside it, and the renderer refuses rather than clamps (`curve_value`).
CURVE_RANGES: dict[str, tuple[float, float]] = {
    **{name: (0.0, 1.0) for name, unit in CURVES.items() if unit.startswith("0..1")},
    "gaze_x_deg": (-25.0, 25.0),
    "gaze_y_deg": (-20.0, 20.0),
    "head_yaw_deg": (-12.0, 12.0),
    "head_pitch_deg": (-10.0, 10.0),
    "head_roll_deg": (-12.0, 12.0),
    "torso_sway_px": (-40.0, 40.0),
    "zoom": (-0.2, 0.5),
}
RANGE_TOLERANCE = 1e-4  # stored tracks keep 5 decimals (MotionTrack.to_json)


def range_error(name: str, value: float, where: str = "") -> str | None:
    """None when `value` lies in the renderable range of curve `name` (CURVE_RANGES, within
    RANGE_TOLERANCE), else a message naming the curve, the value and the range."""
    low, high = CURVE_RANGES[name]
    if low - RANGE_TOLERANCE <= value <= high + RANGE_TOLERANCE:
        return None
    return (
        f"motion curve {name!r} is {value:g}{where}; it must stay within [{low:g}, {high:g}] ({CURVES[name]})"
    )


def curve_value(values: Mapping[str, float], name: str) -> float:
    """One frame's value of curve `name` (0 when absent), checked against CURVE_RANGES: raises
    InvalidMotionError outside it, so nothing downstream clamps silently."""
    value = float(values.get(name, 0.0))
    message = range_error(name, value)
    if message:
        raise InvalidMotionError(message)
    return min(max(value, CURVE_RANGES[name][0]), CURVE_RANGES[name][1])  # only the tolerance


@dataclass(frozen=True)
class MotionTrack:
    """Named per-frame curves: each (n_frames,) float32 at `fps`; frame i shows time i / fps."""

    fps: float
    curves: dict[str, np.ndarray]

    @property
    def n_frames(self) -> int:
        return int(next(iter(self.curves.values())).shape[0]) if self.curves else 0

    def get(self, name: str) -> np.ndarray:
        """The named curve, or zeros when the track does not have it."""
        curve = self.curves.get(name)
        return curve if curve is not None else np.zeros(self.n_frames, np.float32)

    def to_json(self) -> str:
        return json.dumps(
            {
                "fps": self.fps,
                "n_frames": self.n_frames,
                "curves": {k: [round(float(x), 5) for x in v] for k, v in self.curves.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str) -> MotionTrack:
        """Parse and validate a track written by `to_json` (or by hand)."""
        try:
            data = json.loads(text)
            fps = float(data["fps"])
            raw = data["curves"]
            curves = {str(k): np.asarray(v, dtype=np.float32) for k, v in raw.items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise InvalidMotionError(f"motion track is not valid JSON of the expected form: {e}") from e
        if not (0 < fps <= 120):
            raise InvalidMotionError(f"motion track fps is {fps}; it must be in (0, 120]")
        lengths = {v.shape for v in curves.values()}
        if len(lengths) > 1 or any(len(s) != 1 for s in lengths):
            raise InvalidMotionError(f"motion curves must be 1-D and of one length, got {sorted(lengths)}")
        for name, v in curves.items():
            if not np.all(np.isfinite(v)):
                raise InvalidMotionError(f"motion curve {name!r} holds NaN or infinite values")
        return cls(fps=fps, curves=curves)


def frame_count(duration_s: float, fps: float) -> int:
    """Frames needed so that the video lasts as long as the audio."""
    return max(1, math.ceil(duration_s * fps - 1e-6))

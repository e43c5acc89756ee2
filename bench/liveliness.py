"""Liveliness acceptance (issue 4), measured on rendered, encoded, decoded frames.

    python bench/liveliness.py [--workdir DIR] [--sheets DIR] [--only CASE ...]

Cases (all rendered at 720p with talkies.animate, seed 0):
  speech30   examples/portrait.png + speech_30s.wav, no prompt: blinks per minute and their
             durations, head yaw / pitch standard deviation while speaking and in silence,
             forehead jitter (share of its motion energy above 6 Hz), background PSNR; and,
             for the record, the engine's arousal estimate of the voice (0 = calm reading).
  smile, serious   speech_short.wav with "she smiles warmly" / "he looks serious": mouth-corner
             heights.
  nod_look   speech.wav with "nods, then looks left": pitch oscillation, then a yaw turn.
  two_faces  examples/two_faces.png + two_faces_mask.png + speech.wav: the masked face speaks,
             the other stays near its rest aperture and blinks.

How it measures, and why this way. Nothing the engine computed is trusted: mediapipe's face
mesh is run afresh (static-image mode, so no frame inherits the last one's landmarks) on every
decoded frame, up to two faces, ordered left to right. Head angles come from cv2.solvePnP of
rigid landmarks (nose, cheeks, eye corners, face outline at the ears) against the same landmarks re-detected
in 3-D on the source photo: the rotation it returns is the head's pose relative to the photo.
Eye openness is the lid gap over the eye width (three lid pairs per eye), as a share of the
clip's median; a blink is a run of frames closed by more than 20% that reaches 35%; its
duration is (frames in the run + 1) / fps, the time between the last open and the next open
frame less half a frame either side. "Speaking" comes from the video's own audio track (RMS
above the clip's loudest minus 30 dB, gaps under 0.35 s filled). Background: mediapipe selfie
segmentation of the source photo, dilated by 8% of the frame height, PSNR of the rest against
the source photo at output size, on the frames as rendered (the same rig and track, before the
encoder) and on the decoded video; the first frame shows the photo's own pose, so its PSNR is
the codec's floor (H.264 at crf 23 alone costs a textured background a few dB), and the decoded
frames are also compared with the decoded first frame. Contact sheets (bench/contact_sheet.py)
are written for the portraits.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench.evaluation.alignment import SAMPLE_RATE, decode_speech  # noqa: E402
from bench.evaluation.redetect import lip_aperture, read_frames, video_fps  # noqa: E402

EXAMPLES = ROOT / "examples"
# Landmarks that move only with the head (not with the mouth, lids or brows).
RIGID = (168, 6, 197, 195, 5, 4, 1, 234, 454, 127, 356, 33, 263, 133, 362, 116, 345, 123, 352, 50, 280)
# (the forehead is left out: raised brows drag it, which would read as pitch)
FOREHEAD = (10, 151, 9, 108, 337)
# (upper, lower) lid pairs and (outer, inner) corners of each eye.
LIDS = (((159, 145), (158, 153), (160, 144)), ((386, 374), (385, 380), (387, 373)))
EYE_CORNERS = ((33, 133), (263, 362))
MOUTH_CORNERS, LIP_MIDDLE = (61, 291), (13, 14)
BLINK_CLOSED, BLINK_PEAK = 0.2, 0.35
JITTER_HZ = 6.0


# --- re-detection ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Faces:
    """Re-detected faces of a video: times_s (n,), points (n, k, 478, 3) pixels (x, y, and z
    at x's scale), NaN where a face was not found; faces ordered by nose x, left to right."""

    times_s: np.ndarray
    points: np.ndarray
    fps: float
    size: tuple[int, int]


def detect(mesh, rgb: np.ndarray, faces: int) -> np.ndarray:
    """(faces, 478, 3) landmarks of one image, left to right, NaN rows for faces not found.
    With several faces the image is cut into as many vertical strips, one face sought in each
    (the face detector shrinks a wide frame so much that side-by-side faces get lost)."""
    h, w = rgb.shape[:2]
    out = np.full((faces, 478, 3), np.nan, np.float32)
    edges = np.linspace(0, w, faces + 1).round().astype(int)
    for k in range(faces):
        strip = np.ascontiguousarray(rgb[:, edges[k] : edges[k + 1]])
        found = mesh.process(strip).multi_face_landmarks
        if found:
            sw = strip.shape[1]
            out[k] = [(p.x * sw + edges[k], p.y * h, p.z * sw) for p in found[0].landmark]
    return out


def face_mesh(faces: int):
    return mp.solutions.face_mesh.FaceMesh(
        static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.5
    )


def trace_faces(video: str | Path, faces: int = 1) -> Faces:
    times, points, size = [], [], (0, 0)
    with face_mesh(faces) as mesh:
        for time_s, rgb in read_frames(video):
            size = (rgb.shape[1], rgb.shape[0])
            times.append(time_s)
            points.append(detect(mesh, rgb, faces))
    return Faces(np.asarray(times), np.stack(points), video_fps(video), size)


def photo_faces(image: np.ndarray, faces: int = 1) -> np.ndarray:
    with face_mesh(faces) as mesh:
        return detect(mesh, image, faces)


# --- figures from landmarks ------------------------------------------------------------------


def head_angles(rest: np.ndarray, frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(n, 3) yaw, pitch, roll in degrees of each frame's face relative to `rest` ((478, 3) on
    the source photo), by solvePnP of the RIGID landmarks; + yaw = face turns to the image's
    right, + pitch = chin up, + roll = clockwise (talkies' conventions). frames: (n, 478, 2+)."""
    model = rest[list(RIGID)].astype(np.float64)
    model = model - model.mean(axis=0)
    w, h = size
    focal = 20.0 * max(w, h)  # a very long lens: near-orthographic, as the renderer projects
    camera = np.array([[focal, 0, w / 2], [0, focal, h / 2], [0, 0, 1]], np.float64)
    out = np.full((len(frames), 3), np.nan)
    for i, pts in enumerate(frames):
        image_pts = pts[list(RIGID), :2].astype(np.float64)
        if not np.all(np.isfinite(image_pts)):
            continue
        # Start from "as in the photo" at the right distance: without a guess the solver may
        # land on the mirrored, upside-down pose that projects the same points.
        centre = image_pts.mean(axis=0)
        rvec = np.zeros((3, 1))
        tvec = np.array([[centre[0] - w / 2], [centre[1] - h / 2], [focal]])
        ok, rvec, _ = cv2.solvePnP(model, image_pts, camera, None, rvec, tvec, True, cv2.SOLVEPNP_ITERATIVE)
        if ok:
            out[i] = _euler(cv2.Rodrigues(rvec)[0])
    return out


def _euler(rot: np.ndarray) -> np.ndarray:
    """(yaw, pitch, roll) degrees of a rotation in image axes (x right, y down, z away)."""
    forward = rot @ np.array([0.0, 0.0, -1.0])  # the face's normal, towards the camera at rest
    across = rot @ np.array([1.0, 0.0, 0.0])
    yaw = np.degrees(np.arctan2(forward[0], -forward[2]))
    pitch = np.degrees(np.arctan2(-forward[1], -forward[2]))
    roll = np.degrees(np.arctan2(across[1], across[0]))
    return np.array([yaw, pitch, roll])


def eye_openness(points: np.ndarray) -> np.ndarray:
    """(n,) mean lid gap / eye width of both eyes, (n, 478, 2+) landmarks; NaN where missing."""
    ratios = []
    for pairs, (outer, inner) in zip(LIDS, EYE_CORNERS, strict=True):
        gap = np.mean(
            [np.linalg.norm(points[:, u, :2] - points[:, lo, :2], axis=1) for u, lo in pairs], axis=0
        )
        ratios.append(gap / np.linalg.norm(points[:, outer, :2] - points[:, inner, :2], axis=1))
    return np.mean(ratios, axis=0)


@dataclass(frozen=True)
class Blinks:
    count: int
    per_min: float
    durations_ms: tuple[float, ...]
    depths: tuple[float, ...]  # peak closure of each, 0..1 of the open eye


def find_blinks(openness: np.ndarray, fps: float) -> Blinks:
    """Blinks in an (n,) openness series (see module docstring)."""
    closure = 1.0 - openness / np.nanmedian(openness)
    closure = np.nan_to_num(closure, nan=0.0)
    closed = np.concatenate([[False], closure > BLINK_CLOSED, [False]])
    edges = np.diff(closed.astype(np.int8))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    durations, depths = [], []
    for s, e in zip(starts, ends, strict=True):
        peak = float(closure[s:e].max())
        if peak >= BLINK_PEAK:
            durations.append(1000.0 * (e - s + 1) / fps)
            depths.append(min(peak, 1.0))
    minutes = len(openness) / fps / 60.0
    return Blinks(len(durations), len(durations) / minutes, tuple(durations), tuple(depths))


def high_band_share(track: np.ndarray, fps: float, cutoff_hz: float = JITTER_HZ) -> tuple[float, float]:
    """(share of the motion energy above cutoff_hz, RMS of that part in the track's units) of
    an (n, d) trajectory (each column's mean removed; NaN frames filled by interpolation)."""
    track = np.asarray(track, np.float64)
    n = track.shape[0]
    idx = np.arange(n)
    filled = np.column_stack([np.interp(idx, idx[np.isfinite(c)], c[np.isfinite(c)]) for c in track.T])
    filled -= filled.mean(axis=0)
    spectrum = np.abs(np.fft.rfft(filled * np.hanning(n)[:, None], axis=0)) ** 2
    freqs = np.fft.rfftfreq(n, 1.0 / fps)
    total = spectrum[1:].sum()
    high = spectrum[freqs > cutoff_hz].sum()
    fast = np.fft.irfft(np.where((freqs > cutoff_hz)[:, None], np.fft.rfft(filled, axis=0), 0), n, axis=0)
    return float(high / max(total, 1e-12)), float(np.sqrt((fast**2).sum(axis=1).mean()))


def corner_height(points: np.ndarray) -> np.ndarray:
    """(n,) height of the mouth corners above the lips' middle, in interocular distances
    (+ = corners up, as in a smile). points: (n, 478, 2+)."""
    corners = points[:, list(MOUTH_CORNERS), 1].mean(axis=1)
    middle = points[:, list(LIP_MIDDLE), 1].mean(axis=1)
    iod = np.linalg.norm(points[:, 468, :2] - points[:, 473, :2], axis=1)
    return (middle - corners) / iod


def apertures(points: np.ndarray) -> np.ndarray:
    return np.array([lip_aperture(p) if np.isfinite(p[0, 0]) else np.nan for p in points])


def speaking(video: str | Path, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((n,) bool speaking, (n,) loudness in dB) at the frame times, from the video's audio."""
    pcm, offset_s = decode_speech(video)
    x = pcm.astype(np.float64) / (32768.0 if pcm.dtype == np.int16 else 1.0)
    half = int(0.02 * SAMPLE_RATE)
    db = np.empty(times_s.size)
    for i, t in enumerate(times_s):
        c = round((t - offset_s) * SAMPLE_RATE)
        seg = x[max(0, c - half) : max(0, c + half)]
        db[i] = 10 * np.log10(np.mean(seg**2) + 1e-12) if seg.size else -120.0
    talk = db > db.max() - 30.0
    step = float(np.median(np.diff(times_s))) if times_s.size > 1 else 0.04
    _fill_gaps(talk, int(0.35 / step))
    return talk, db


def _fill_gaps(mask: np.ndarray, max_gap: int) -> None:
    on = np.flatnonzero(mask)
    for a, b in itertools.pairwise(on):
        if 1 < b - a <= max_gap:
            mask[a:b] = True


def far_background(source: np.ndarray, dilate_share: float = 0.08) -> np.ndarray:
    """(H, W) bool, True far from the people: outside mediapipe selfie segmentation's person
    mask of the source photo, dilated by `dilate_share` of the frame height."""
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as segmenter:
        person = segmenter.process(source).segmentation_mask > 0.5
    radius = max(1, int(dilate_share * source.shape[0]))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    return cv2.dilate(person.astype(np.uint8), kernel) == 0


def psnr(frames, reference: np.ndarray, where: np.ndarray) -> np.ndarray:
    """(n,) PSNR in dB of each (H, W, 3) uint8 frame against `reference`, over pixels `where`."""
    ref = reference[where].astype(np.float64)
    out = []
    for rgb in frames:
        mse = np.mean((rgb[where].astype(np.float64) - ref) ** 2)
        out.append(10 * np.log10(255.0**2 / max(mse, 1e-12)))
    return np.minimum(np.asarray(out), 99.0)  # identical pixels: report 99 dB, not infinity


# --- the cases -------------------------------------------------------------------------------


@dataclass
class Rendered:
    video: Path
    source: np.ndarray  # the photo at output size
    track: object  # talkies MotionTrack
    mask: Path | None = None
    audio: Path | None = None


def rendered_frames(r: Rendered):
    """The frames of `r` as the renderer made them, before encoding (same rig, same track)."""
    from talkies import face, media, render

    speaker = media.load_mask(str(r.mask)) if r.mask is not None else None
    return render.frames(face.analyze_portrait(r.source, speaker), r.track)


def render(image: Path, audio: Path, out: Path, prompt: str = "", mask: Path | None = None, fps: int = 25):
    import talkies
    from talkies import media

    options = talkies.AnimateOptions(resolution="720p", prompt=prompt, fps=fps)
    result = talkies.animate(str(image), str(audio), options, output=str(out), mask=mask)
    photo = media.load_image(str(image))
    source = media.resize_image(photo, (result.width, result.height))
    return Rendered(out, source, result.motion, mask, audio)


def voice_arousal(audio: Path) -> dict[str, float]:
    """The engine's arousal estimate of the voice (0 = calm read speech) while speaking: what
    scaled the motion, for the record (it is an input of the plan, not re-measured)."""
    from talkies import audio as speech_stage
    from talkies import media
    from talkies.motion import prosody, timeline

    track = speech_stage.analyze_speech(media.load_audio(str(audio)))
    times = np.arange(0.0, track.duration_s, 0.04)
    level = prosody.arousal(track, times)[timeline.speaking(track, times)]
    if level.size == 0:
        return {}
    return {
        "voice_arousal_mean": float(level.mean()),
        "voice_arousal_min": float(level.min()),
        "voice_arousal_max": float(level.max()),
    }


def measure_speech(r: Rendered) -> dict[str, float]:
    """Blinks, head pose while speaking / silent, forehead jitter, background PSNR."""
    faces = trace_faces(r.video, 1)
    pts = faces.points[:, 0]
    rest = photo_faces(r.source, 1)[0]
    angles = head_angles(rest, pts, faces.size)
    talk, _ = speaking(r.video, faces.times_s)
    blinks = find_blinks(eye_openness(pts), faces.fps)
    share, fast_px = high_band_share(pts[:, list(FOREHEAD), :2].mean(axis=1), faces.fps)
    planned = np.column_stack([r.track.get(f"head_{a}_deg")[: len(angles)] for a in ("yaw", "pitch")])
    corr = [_corr(angles[:, k], planned[:, k]) for k in range(2)]
    far = far_background(r.source)
    decoded = psnr((rgb for _, rgb in read_frames(r.video)), r.source, far)
    first = next(rgb for _, rgb in read_frames(r.video))
    versus_first = psnr((rgb for _, rgb in read_frames(r.video)), first, far)
    raw = psnr(rendered_frames(r), r.source, far)
    iod = float(np.linalg.norm(rest[468, :2] - rest[473, :2]))
    return {
        "frames": len(pts),
        "detected_share": float(np.isfinite(pts[:, 0, 0]).mean()),
        "blinks": blinks.count,
        "blinks_per_min": blinks.per_min,
        "blink_ms_min": min(blinks.durations_ms, default=np.nan),
        "blink_ms_median": float(np.median(blinks.durations_ms)) if blinks.count else np.nan,
        "blink_ms_max": max(blinks.durations_ms, default=np.nan),
        "partial_blink_share": float(np.mean(np.array(blinks.depths) < 0.8)) if blinks.count else np.nan,
        "speaking_share": float(talk.mean()),
        "yaw_std_speaking_deg": float(np.nanstd(angles[talk, 0])),
        "pitch_std_speaking_deg": float(np.nanstd(angles[talk, 1])),
        "roll_std_speaking_deg": float(np.nanstd(angles[talk, 2])),
        "yaw_std_silent_deg": float(np.nanstd(angles[~talk, 0])) if (~talk).sum() > 5 else np.nan,
        "pitch_std_silent_deg": float(np.nanstd(angles[~talk, 1])) if (~talk).sum() > 5 else np.nan,
        "yaw_corr_with_plan": corr[0],
        "pitch_corr_with_plan": corr[1],
        "forehead_energy_above_6hz": share,
        "forehead_fast_rms_iod": fast_px / iod,
        "background_share_of_frame": float(far.mean()),
        "background_psnr_rendered_min_db": float(raw.min()),
        "background_psnr_decoded_min_db": float(decoded.min()),
        "background_psnr_decoded_first_frame_db": float(decoded[0]),
        "background_psnr_decoded_vs_first_min_db": float(versus_first.min()),
    } | (voice_arousal(r.audio) if r.audio is not None else {})


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def measure_corners(r: Rendered) -> dict[str, float]:
    pts = trace_faces(r.video, 1).points[:, 0]
    height = corner_height(pts)
    return {"corner_height_iod_median": float(np.nanmedian(height))}


def measure_nod_look(r: Rendered) -> dict[str, float]:
    """Pitch oscillation in the first half (chin-down dips), yaw turn in the second half."""
    faces = trace_faces(r.video, 1)
    pts = faces.points[:, 0]
    angles = head_angles(photo_faces(r.source, 1)[0], pts, faces.size)
    n = len(angles)
    half, settle = n // 2, int(0.8 * faces.fps)
    pitch = angles[:, 1] - np.nanmedian(angles[:half, 1])
    smooth = np.convolve(np.nan_to_num(pitch), np.ones(3) / 3, mode="same")
    dips = [i for i in range(1, half - 1) if smooth[i] < smooth[i - 1] and smooth[i] <= smooth[i + 1]
            and smooth[i] < -1.5]  # fmt: skip
    return {
        "pitch_dips_first_half": len(dips),
        "pitch_range_first_half_deg": float(np.nanmax(pitch[:half]) - np.nanmin(pitch[:half])),
        "pitch_range_second_half_deg": float(
            np.nanmax(pitch[half + settle :]) - np.nanmin(pitch[half + settle :])
        ),
        "yaw_mean_first_half_deg": float(np.nanmean(angles[:half, 0])),
        "yaw_mean_second_half_deg": float(np.nanmean(angles[half + settle :, 0])),
    }


def measure_two_faces(r: Rendered) -> dict[str, float]:
    """The masked (right) face speaks; the other (left) keeps its rest aperture and blinks."""
    faces = trace_faces(r.video, 2)
    other, speaker = faces.points[:, 0], faces.points[:, 1]
    rest = photo_faces(r.source, 2)
    _, db = speaking(r.video, faces.times_s)
    loud = np.convolve(db, np.ones(3) / 3, mode="same")
    ap_s, ap_o = apertures(speaker), apertures(other)
    rest_o = lip_aperture(rest[0])
    return {
        "both_found_share": float((np.isfinite(ap_s) & np.isfinite(ap_o)).mean()),
        "speaker_aperture_range": float(np.nanpercentile(ap_s, 95) - np.nanpercentile(ap_s, 5)),
        "speaker_aperture_vs_loudness_r": _corr(ap_s, loud),
        "other_aperture_range": float(np.nanpercentile(ap_o, 95) - np.nanpercentile(ap_o, 5)),
        "other_aperture_max_dev_from_rest": float(np.nanmax(np.abs(ap_o - rest_o))),
        "other_aperture_vs_loudness_r": _corr(ap_o, loud),
        "other_blinks": find_blinks(eye_openness(other), faces.fps).count,
        "speaker_blinks": find_blinks(eye_openness(speaker), faces.fps).count,
    }


PORTRAIT, SHORT, SPEECH = EXAMPLES / "portrait.png", EXAMPLES / "speech_short.wav", EXAMPLES / "speech.wav"
CASES = {
    "speech30": (PORTRAIT, EXAMPLES / "speech_30s.wav", "", None, measure_speech),
    "smile": (PORTRAIT, SHORT, "she smiles warmly", None, measure_corners),
    "serious": (PORTRAIT, SHORT, "he looks serious", None, measure_corners),
    "nod_look": (PORTRAIT, SPEECH, "nods, then looks left", None, measure_nod_look),
    "two_faces": (EXAMPLES / "two_faces.png", SPEECH, "", EXAMPLES / "two_faces_mask.png", measure_two_faces),
}  # fmt: skip
SHEETS = ("speech30", "two_faces", "nod_look")

# Acceptance: figure -> (low, high).
TARGETS = {
    ("speech30", "blinks_per_min"): (10, 32),
    ("speech30", "blink_ms_min"): (80, 400),
    ("speech30", "blink_ms_max"): (80, 400),
    ("speech30", "yaw_std_speaking_deg"): (1.5, 6),
    ("speech30", "pitch_std_speaking_deg"): (1.5, 6),
    ("speech30", "forehead_energy_above_6hz"): (0, 0.05),
    ("speech30", "background_psnr_rendered_min_db"): (40, np.inf),
    ("nod_look", "pitch_dips_first_half"): (2, 6),
    ("nod_look", "yaw_mean_second_half_deg"): (-np.inf, -4),
    ("two_faces", "speaker_aperture_vs_loudness_r"): (0.3, 1),
    ("two_faces", "other_blinks"): (1, np.inf),
}


def sheet_for(r: Rendered, two_faces: bool):
    """bench/contact_sheet.py's sheet; for two faces, 16 evenly spaced whole frames and each
    face at 1:1 (that sheet follows one face)."""
    from PIL import Image

    from bench.contact_sheet import contact_sheet, grid, stack

    if not two_faces:
        return contact_sheet(r.video, [], 16)
    frames = list(read_frames(r.video))
    picks = np.linspace(0, len(frames) - 1, 16).round().astype(int)
    rest = photo_faces(r.source, 2)
    boxes = [_box(face) for face in rest]
    bands: list[list] = [[], [], []]
    labels = []
    for i in picks:
        t, rgb = frames[i]
        image = Image.fromarray(rgb)
        bands[0].append(image.resize((360, round(360 * rgb.shape[0] / rgb.shape[1]))))
        for band, box in zip(bands[1:], boxes, strict=True):
            band.append(image.crop(box))
        labels.append(f"{t:5.2f}s #{i}")
    titles = ["whole frames", "left face (silent) at 1:1", "right face (masked, speaks) at 1:1"]
    return stack([grid(b, labels, title) for b, title in zip(bands, titles, strict=True)])


def _box(face: np.ndarray) -> tuple[int, int, int, int]:
    lo, hi = np.nanmin(face[:, :2], axis=0), np.nanmax(face[:, :2], axis=0)
    pad = 0.1 * float(np.max(hi - lo))
    return int(lo[0] - pad), int(lo[1] - pad), int(hi[0] + pad), int(hi[1] + pad)


def run(cases: list[str], workdir: Path, sheets: Path | None) -> dict[str, dict[str, float]]:
    results = {}
    for name in cases:
        image, audio, prompt, mask, measure = CASES[name]
        rendered = render(image, audio, workdir / f"{name}.mp4", prompt, mask)
        results[name] = measure(rendered)
        print(f"{name}: {results[name]}", flush=True)
        if sheets is not None and name in SHEETS:
            sheets.mkdir(parents=True, exist_ok=True)
            sheet_for(rendered, name == "two_faces").save(sheets / f"liveliness_{name}.png")
    if "smile" in results and "serious" in results:
        diff = results["smile"]["corner_height_iod_median"] - results["serious"]["corner_height_iod_median"]
        results["smile_vs_serious"] = {"corner_height_difference_iod": diff}
        TARGETS[("smile_vs_serious", "corner_height_difference_iod")] = (0.01, np.inf)
    return results


def report(results: dict[str, dict[str, float]]) -> bool:
    passed = True
    for case, figures in results.items():
        print(f"{case}:")
        for name, value in figures.items():
            target = TARGETS.get((case, name))
            mark = ""
            if target is not None:
                ok = bool(target[0] <= value <= target[1])
                passed &= ok
                mark = f"  [{'pass' if ok else 'FAIL'}: {target[0]:g} .. {target[1]:g}]"
            print(f"  {name:36s} {value:10.4g}{mark}")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep the rendered videos here")
    parser.add_argument("--sheets", type=Path, help="write contact sheets (PNG) here")
    parser.add_argument("--only", nargs="+", choices=list(CASES), help="run only these cases")
    args = parser.parse_args(argv)
    cases = args.only or list(CASES)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        ok = report(run(cases, workdir, args.sheets))
    print("all acceptance figures pass" if ok else "some acceptance figures FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

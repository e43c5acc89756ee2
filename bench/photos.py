"""Any photo: render photos nobody here chose and measure whether the drawn mouth fits them.

    python bench/photos.py [--sdists DIR] [--resolution 720p 1080p] [--seconds 3] [--crf N]
                           [--sheets DIR] [--only NAME ...] [--list]

Photos come from packages, never from the internet at run time (see `find_photos`):
  - Debian's opencv-doc (apt-get install opencv-doc): messi5.jpg, a drawn portrait
    (orig_comic.jpg), a three-quarter face (227943776_1.jpg);
  - the face_recognition 1.3.0 and insightface sdists, unpacked under --sdists (default
    /tmp/sdists): obama / biden test images, a face cut by the frame, a group photo (t1.jpg),
    a 112 px face (Tom_Hanks_54745.png);
  - matplotlib's sample data (grace_hopper.jpg), which matplotlib always installs;
  - examples/portrait.png, which is scikit-image's astronaut.png (skimage/data) at 512 px.
Variants are made from them: low resolution (113x160, upscaled by the renderer), soft (a
Gaussian blur), grey, the sample portrait cut by the frame's edge, and two drawings (ink over
flat colour, `cartoon`) of the sample portrait and of grace_hopper.

Each photo is rendered speaking the first --seconds of examples/speech_short.wav, the video is
decoded and the face re-detected on every frame (mediapipe, on a crop round the speaker, see
`redetect`),
and one row printed per photo:
  sharp   sharpness of the drawn mouth interior / that of the lips and skin round it, on the
          frame where the re-detected mouth is widest open (target 0.7-1.4). Sharpness is the
          share of gradient energy a 1 px blur removes (talkies.render.look.sharpness, the same
          statistic the renderer matches when it grades the patch, here measured on the decoded
          video at a real opening). The interior is the inner-lip polygon shrunk by 2 px.
  chroma  largest max-min of R, G, B inside the mouth opening over all frames, grey photos
          only (target <= 2/255)
  psnr    face-region PSNR (dB) of the luma (BT.709 Y, as codecs measure it) of decoded frame 0
          against the resized source photo (target >= 38). Frame 0 is rendered, not copied:
          the renderer closes a photo's open mouth and the head may have moved, so this also
          counts what the animation changed.
  enc     the encoder's own loss: face-region luma PSNR of decoded frames 0, middle and last
          against the same frames rendered again before encoding, the worst of the three (dB);
          rgb the same on R, G, B, which also counts yuv420p's halved chroma (on these faces the
          RGB -> yuv420p -> RGB round trip alone scores 38.7-43.7 dB, so RGB cannot reach 38
          on every face at any quality)
  kbps    the video stream's bit rate
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import mediapipe as mp  # noqa: E402

import talkies  # noqa: E402
from bench.contact_sheet import grid, stack  # noqa: E402
from bench.evaluation.redetect import lip_aperture, read_frames  # noqa: E402
from talkies import face, media, render  # noqa: E402
from talkies.face import topology  # noqa: E402
from talkies.face.regions import contour, polygon_mask  # noqa: E402
from talkies.media import video as video_module  # noqa: E402
from talkies.render.look import sharpness  # noqa: E402
from talkies.tracks import MotionTrack  # noqa: E402

OPENCV_DOC = Path("/usr/share/doc/opencv-doc")
SPEECH = ROOT / "examples" / "speech_short.wav"
TARGET_SHARP = (0.7, 1.4)
TARGET_CHROMA = 2
TARGET_PSNR_DB = 38.0
# A photo counts as grey when 99% of its face pixels have max-min of R, G, B at most this.
_GREY_SPREAD = 3
# Sheet tiles: the face at most _FACE_PX, the eyes and the mouth magnified up to 3x, at most
# _DETAIL_PX wide.
_FACE_PX = 360
_DETAIL_PX = 480
# The skin ring round the lips that the interior is compared with, as a share of mouth width.
_RING = 0.25


@dataclass(frozen=True)
class Photo:
    """name: short label; kind: what it tests; image: (H, W, 3) uint8 RGB."""

    name: str
    kind: str
    image: np.ndarray


def find_photos(sdists: Path) -> tuple[list[Photo], list[str]]:
    """The photos that are installed or unpacked, and a line for each source that is missing."""
    found: list[Photo] = []
    missing: list[str] = []
    for name, kind, candidates in _sources(sdists):
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            missing.append(f"{name}: not found (looked for {candidates[0]})")
            continue
        found.append(Photo(name, kind, media.load_image(path)))
    return found + _variants({p.name: p for p in found}), missing


def _sources(sdists: Path) -> list[tuple[str, str, list[Path]]]:
    html, data = OPENCV_DOC / "opencv4" / "html", OPENCV_DOC / "examples" / "data"
    fr = _dirs(sdists, "face_recognition-*/tests/test_images")
    ins = _dirs(sdists, "insightface-*/insightface/data/images")
    mpl = [Path(p) / "mpl-data" / "sample_data" for p in _module_dirs("matplotlib")]
    return [
        ("portrait", "sample", [ROOT / "examples" / "portrait.png"]),
        ("messi", "small face, upscaled", [data / "messi5.jpg"]),
        ("drawn", "drawing", [html / "orig_comic.jpg"]),
        ("three_quarter", "three-quarter", [html / "227943776_1.jpg"]),
        ("obama", "photo", [d / "obama.jpg" for d in fr]),
        ("biden", "photo", [d / "biden.jpg" for d in fr]),
        ("cut", "cut by the frame", [d / "obama_partial_face.jpg" for d in fr]),
        ("group", "group", [d / "t1.jpg" for d in ins]),
        ("face112", "112 px face, grey", [d / "Tom_Hanks_54745.png" for d in ins]),
        ("hopper", "photo", [d / "grace_hopper.jpg" for d in mpl]),
    ]


def _dirs(root: Path, pattern: str) -> list[Path]:
    """Directories matching `pattern` under `root`, or the pattern itself (to name when missing)."""
    return sorted(root.glob(pattern)) or [root / pattern]


def _module_dirs(module: str) -> list[str]:
    try:
        imported = __import__(module)
    except ImportError:
        return []
    return list(getattr(imported, "__path__", []))


def _variants(by_name: dict[str, Photo]) -> list[Photo]:
    """Low-res, soft, grey and cut-by-the-frame variants of what was found."""
    out = []
    if "obama" in by_name:
        out.append(Photo("lowres", "113x160 photo, upscaled", _low_res(by_name["obama"].image, (113, 160))))
    if "portrait" in by_name:
        soft = cv2.GaussianBlur(by_name["portrait"].image, (0, 0), 2.5)
        out.append(Photo("soft", "soft 512 px scan", soft))
    if "hopper" in by_name:
        grey = np.asarray(Image.fromarray(by_name["hopper"].image).convert("L").convert("RGB"))
        out.append(Photo("grey", "grey", grey))
    if "portrait" in by_name:
        img = by_name["portrait"].image
        h, w = img.shape[:2]
        out.append(Photo("portrait_cut", "cut by the frame", np.ascontiguousarray(img[h // 6 :, w // 4 :])))
    for name in ("portrait", "hopper"):
        if name in by_name:
            out.append(Photo(f"{name}_inked", "drawing: ink over flat colour", cartoon(by_name[name].image)))
    return out


def cartoon(image: np.ndarray) -> np.ndarray:
    """A comic-style drawing of an (H, W, 3) uint8 RGB photo: colours flattened (repeated
    edge-preserving smoothing, then 8 levels a channel) under black ink lines (an adaptive
    threshold of the luma): the usual cartoon filter, made with OpenCV alone."""
    flat = cv2.bilateralFilter(image, 9, 150, 150)
    for _ in range(3):
        flat = cv2.bilateralFilter(flat, 9, 80, 80)
    levels = (flat // 32) * 32 + 16
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    edges = cv2.medianBlur(grey, 7)
    ink = cv2.adaptiveThreshold(edges, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 9, 4)
    return np.ascontiguousarray(levels.astype(np.uint8) * (ink[..., None] > 0))


def _low_res(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre crop to the aspect of `size` (w, h), then shrunk to it."""
    h, w = image.shape[:2]
    aspect = size[0] / size[1]
    cw, ch = (w, round(w / aspect)) if w / h < aspect else (round(h * aspect), h)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return cv2.resize(image[y0 : y0 + ch, x0 : x0 + cw], size, interpolation=cv2.INTER_AREA)


def speech_clip(seconds: float, directory: Path) -> Path:
    """The first `seconds` of the sample speech as a WAV file in `directory`."""
    out = directory / f"speech_{seconds:g}s.wav"
    with wave.open(str(SPEECH)) as src, wave.open(str(out), "wb") as dst:
        dst.setparams(src.getparams())
        dst.writeframes(src.readframes(round(seconds * src.getframerate())))
    return out


@dataclass(frozen=True)
class Row:
    name: str
    kind: str
    resolution: str
    faces_note: str
    sharp: float
    interior_px: int
    chroma: float | None
    psnr_source_db: float
    psnr_render_db: float
    psnr_render_rgb_db: float
    kbps: float
    seconds: float


def measure(photo: Photo, audio: Path, resolution: str, workdir: Path, sheets: Path | None) -> Row:
    """Render one photo and measure it (see the module docstring)."""
    png = io.BytesIO()
    Image.fromarray(photo.image).save(png, format="PNG")
    output = workdir / f"{photo.name}_{resolution}.mp4"
    notes: list[str] = []

    def progress(p: talkies.Progress) -> None:
        if p.stage == "analyse" and p.done == 1:
            notes.append(p.message.split("; analysing speech")[0])

    started = time.monotonic()
    result = talkies.animate(png.getvalue(), str(audio), talkies.AnimateOptions(resolution=resolution),
                             output=str(output), progress=progress)  # fmt: skip
    elapsed = time.monotonic() - started
    source = media.resize_image(photo.image, (result.width, result.height))
    rig = face.analyze_portrait(source)
    frames = [rgb for _, rgb in read_frames(output)]
    landmarks = redetect(frames, rig.landmarks[:, :2])
    picks = sorted({0, len(frames) // 2, len(frames) - 1})
    rendered = _render_frames(rig, result, picks)
    box = _face_box(rig.landmarks[:, :2], source.shape)
    pairs = list(zip(picks, rendered, strict=True))
    sharp, interior = _mouth_sharpness(frames, landmarks)
    if sheets is not None:
        sheet(photo, frames, landmarks, result.motion.curves).save(sheets / f"{photo.name}_{resolution}.png")
    return Row(
        name=photo.name,
        kind=photo.kind,
        resolution=resolution,
        faces_note=notes[0] if notes else "",
        sharp=sharp,
        interior_px=interior,
        chroma=_mouth_chroma(frames, landmarks) if _is_grey(source, box) else None,
        psnr_source_db=_psnr(_luma(frames[0]), _luma(source), box),
        psnr_render_db=min(_psnr(_luma(frames[i]), _luma(r), box) for i, r in pairs),
        psnr_render_rgb_db=min(_psnr(frames[i], r, box) for i, r in pairs),
        kbps=_video_kbps(output),
        seconds=elapsed,
    )


def redetect(frames: list[np.ndarray], speaker: np.ndarray) -> np.ndarray:
    """(n, 478, 2) float32 face-mesh landmarks re-detected on each decoded frame, NaN where
    none. The mesh runs on a square crop round the speaker's rest box (2.3 face sizes, resized
    to 384 px), as the engine measures faces: on a whole group photo or a small face, the
    mesh's own detector misses it or takes another face."""
    lo, hi = speaker.min(axis=0), speaker.max(axis=0)
    centre, side = (lo + hi) / 2, 2.3 * float((hi - lo).max())
    scale = 384 / side
    to_crop = np.float32([[scale, 0, 192 - scale * centre[0]], [0, scale, 192 - scale * centre[1]]])
    out = np.full((len(frames), 478, 2), np.nan, np.float32)
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True) as mesh:
        for i, rgb in enumerate(frames):
            crop = cv2.warpAffine(
                rgb, to_crop, (384, 384), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
            )
            found = mesh.process(crop).multi_face_landmarks
            if found:
                pts = np.array([(q.x * 384, q.y * 384) for q in found[0].landmark], np.float32)
                out[i] = (pts - to_crop[:, 2]) / scale
    return out


def sheet(photo: Photo, frames: list[np.ndarray], landmarks: np.ndarray, curves: dict) -> Image.Image:
    """Frames that show the extremes - the first, the widest mouths, the deepest blinks, the
    largest turns - as the face at 1:1 (at most _FACE_PX) and the mouth and eyes up to 3x."""
    aperture = np.array([lip_aperture(p) if np.isfinite(p).all() else -1.0 for p in landmarks])
    n = len(frames)
    blink = np.maximum(curves.get("blink_left", np.zeros(n)), curves.get("blink_right", np.zeros(n)))[:n]
    yaw = np.abs(curves.get("head_yaw_deg", np.zeros(n)))[:n]
    picks = [0]
    for order in (np.argsort(-aperture), np.argsort(-blink), np.argsort(-yaw)):
        for i in order[:12]:
            if len(picks) < 1 + 3 * ((len(picks) + 2) // 3) and all(abs(int(i) - j) > 2 for j in picks):
                picks.append(int(i))
    picks = sorted(set(picks))[:10]
    rest = landmarks[0] if np.isfinite(landmarks[0]).all() else np.nanmedian(landmarks, axis=0)
    face_box = _pil_box(rest, range(478), 0.15, frames[0].shape)
    mouth_box = _pil_box(rest, (61, 291, 0, 17, 13, 14), 0.35, frames[0].shape)
    eyes_box = _pil_box(rest, (33, 133, 159, 145, 263, 362, 386, 374, 70, 300), 0.2, frames[0].shape)
    faces, details, labels = [], [], []
    for i in picks:
        im = Image.fromarray(frames[i])
        f = im.crop(face_box)
        if max(f.size) > 420:
            f = f.resize(
                (round(f.width * 420 / max(f.size)), round(f.height * 420 / max(f.size))), Image.LANCZOS
            )
        faces.append(f)
        zoom = [im.crop(b) for b in (eyes_box, mouth_box)]
        # 3x, or less where that would pass _DETAIL_PX (a big face is already large enough)
        zoom = [z.resize(_scaled(z.size, min(3.0, _DETAIL_PX / z.width)), Image.NEAREST) for z in zoom]
        detail = Image.new("RGB", (max(z.width for z in zoom), zoom[0].height + zoom[1].height + 4))
        detail.paste(zoom[0], (0, 0))
        detail.paste(zoom[1], (0, zoom[0].height + 4))
        details.append(detail)
        labels.append(f"#{i} ap {aperture[i]:.2f}\nblink {blink[i]:.2f} yaw {yaw[i]:.1f}")
    title = f"{photo.name} ({photo.kind})"
    return stack([grid(faces, labels, f"{title}: face"), grid(details, labels, "eyes and mouth at 3x")])


def _scaled(size: tuple[int, int], factor: float) -> tuple[int, int]:
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


def _pil_box(points: np.ndarray, ids, margin: float, shape) -> tuple[int, int, int, int]:
    sel = points[list(ids)]
    lo, hi = sel.min(axis=0), sel.max(axis=0)
    pad = margin * float((hi - lo).max())
    x0, y0 = np.maximum(np.floor(lo - pad), 0).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    return int(x0), int(y0), int(min(x1, shape[1])), int(min(y1, shape[0]))


def _render_frames(rig, result, picks: list[int]) -> list[np.ndarray]:
    """The engine's frames `picks` before encoding (rendered again from the same motion: each
    frame depends on its own curve values only)."""
    track = MotionTrack(result.motion.fps, {k: v[picks] for k, v in result.motion.curves.items()})
    return list(render.frames(rig, track))


def _face_box(landmarks: np.ndarray, shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The face's landmark box grown by 10%, inside the frame."""
    lo, hi = landmarks.min(axis=0), landmarks.max(axis=0)
    pad = 0.1 * (hi - lo)
    x0, y0 = np.maximum(np.floor(lo - pad), 0).astype(int)
    x1, y1 = np.ceil(hi + pad).astype(int)
    return slice(y0, min(y1, shape[0])), slice(x0, min(x1, shape[1]))


def _psnr(a: np.ndarray, b: np.ndarray, box: tuple[slice, slice]) -> float:
    mse = float(np.mean((a[box].astype(np.float64) - b[box].astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) @ np.float32([0.2126, 0.7152, 0.0722])


def _opening(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W) bool inside the inner lips of re-detected landmarks ((478, 2))."""
    return polygon_mask(size, contour(landmarks, topology.LIP_UPPER[3], topology.LIP_LOWER[3])) > 127


def _mouth_sharpness(frames: list[np.ndarray], landmarks: np.ndarray) -> tuple[float, int]:
    """(interior sharpness / lips-and-skin sharpness, interior pixels) on the widest frame."""
    aperture = np.array([lip_aperture(p) if np.isfinite(p).all() else -1.0 for p in landmarks])
    i = int(np.argmax(aperture))
    points = landmarks[i]
    if aperture[i] <= 0:
        return float("nan"), 0
    size = (frames[0].shape[1], frames[0].shape[0])
    opening = _opening(points, size).astype(np.uint8)
    interior = cv2.erode(opening, np.ones((5, 5), np.uint8)) > 0
    lips = polygon_mask(size, contour(points, topology.LIP_UPPER[0], topology.LIP_LOWER[0]))
    width = float(np.linalg.norm(points[61] - points[291]))
    ring_px = max(3, round(_RING * width))
    around = cv2.dilate(lips, np.ones((2 * ring_px + 1,) * 2, np.uint8)) > 127
    around &= cv2.dilate(opening, np.ones((5, 5), np.uint8)) == 0
    luma = _luma(frames[i])
    if interior.sum() < 16:
        return float("nan"), int(interior.sum())
    return sharpness(luma, interior) / max(sharpness(luma, around), 1e-6), int(interior.sum())


def _is_grey(source: np.ndarray, box: tuple[slice, slice]) -> bool:
    face = source[box].astype(int)
    return float(np.percentile(face.max(axis=2) - face.min(axis=2), 99)) <= _GREY_SPREAD


def _mouth_chroma(frames: list[np.ndarray], landmarks: np.ndarray) -> float:
    """Largest max-min of R, G, B inside the re-detected mouth opening over all frames."""
    worst = 0.0
    size = (frames[0].shape[1], frames[0].shape[0])
    for rgb, points in zip(frames, landmarks, strict=True):
        if not np.isfinite(points).all():
            continue
        inside = _opening(points, size)
        if inside.any():
            px = rgb[inside].astype(int)
            worst = max(worst, float((px.max(axis=1) - px.min(axis=1)).max()))
    return worst


def _video_kbps(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = sum(p.size for p in container.demux(stream) if p.size)
        duration = float(stream.frames / stream.average_rate) if stream.frames else 1.0
    return 8 * packets / duration / 1000


def print_header() -> None:
    print(f"{'photo':14} {'kind':24} {'res':6} {'sharp':>6} {'px':>5} {'chroma':>6} "
          f"{'psnr':>6} {'enc':>6} {'rgb':>6} {'kbps':>6} {'s':>5}  faces")  # fmt: skip


def print_rows(rows: list[Row]) -> None:
    for r in rows:
        chroma = "-" if r.chroma is None else f"{r.chroma:.0f}"
        flag = "" if TARGET_SHARP[0] <= r.sharp <= TARGET_SHARP[1] else " !sharp"
        flag += "" if r.chroma is None or r.chroma <= TARGET_CHROMA else " !chroma"
        flag += "" if r.psnr_source_db >= TARGET_PSNR_DB else " !psnr"
        flag += "" if r.psnr_render_db >= TARGET_PSNR_DB else " !enc"
        print(f"{r.name:14} {r.kind:24} {r.resolution:6} {r.sharp:6.2f} {r.interior_px:5d} {chroma:>6} "
              f"{r.psnr_source_db:6.1f} {r.psnr_render_db:6.1f} {r.psnr_render_rgb_db:6.1f} "
              f"{r.kbps:6.0f} {r.seconds:5.1f}  "
              f"{r.faces_note}{flag}")  # fmt: skip


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sdists", type=Path, default=Path("/tmp/sdists"), help="unpacked sdists/wheels")
    parser.add_argument("--resolution", nargs="+", default=["720p"], choices=["720p", "1080p"])
    parser.add_argument("--seconds", type=float, default=3.0, help="seconds of speech_short.wav")
    parser.add_argument("--crf", type=int, help="override the encoder's CRF for this run (photos, drawings)")
    parser.add_argument("--sheets", type=Path, help="write a contact sheet per photo here")
    parser.add_argument("--only", nargs="+", help="photo names to run")
    parser.add_argument("--list", action="store_true", help="list the photos found and stop")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    photos, missing = find_photos(args.sdists)
    for line in missing:
        print(f"# {line}")
    photos = [p for p in photos if not args.only or p.name in args.only]
    if args.list:
        for p in photos:
            print(f"{p.name:14} {p.kind:24} {p.image.shape[1]}x{p.image.shape[0]}")
        return 0
    if args.crf is not None:
        video_module.CRF = video_module.CRF_DRAWING = args.crf  # a bench knob: read at each encode
    crf = f"{video_module.CRF} (drawings {video_module.CRF_DRAWING})"
    print(f"# crf {crf}, {args.seconds:g} s of {SPEECH.name}")
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)
    print_header()
    with tempfile.TemporaryDirectory() as tmp:
        audio = speech_clip(args.seconds, Path(tmp))
        for photo in photos:
            for resolution in args.resolution:
                print_rows([measure(photo, audio, resolution, Path(tmp), args.sheets)])
                sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Contact sheet of a rendered clip, to check mouth, teeth and eyes by eye at full size.

    python bench/contact_sheet.py VIDEO_OR_CLIP [--out sheet.png] [--frames 16] [--transcript T.txt]
                                  [--at SECONDS ...]

VIDEO_OR_CLIP is an MP4, or a clip (examples/NAME.wav, or just NAME) that is first rendered at
720p with talkies.animate. The sheet has three bands for the same frames:
  1. the whole frame, small (head motion, body, background);
  2. the face at 1:1 pixels, cropped at one fixed box for the whole clip (so motion shows);
  3. the mouth and the eyes magnified 3x (nearest neighbour, nothing smoothed away).
Under each frame: time, frame number, the aligned phone at that time (when a transcript is
known: NAME.txt next to the audio, or --transcript) and the re-detected lip aperture as a
share of the clip's widest. Frames are chosen to show the extremes, not just a random sample:
half evenly spaced, a quarter at the widest openings, a quarter in the middle of p/b/m.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

from bench.evaluation import metrics  # noqa: E402
from bench.evaluation.alignment import AlignedPhone, align_file  # noqa: E402
from bench.evaluation.clip import render_clip  # noqa: E402
from bench.evaluation.redetect import FaceTrace, read_frames, trace_video  # noqa: E402

TILE_W = 240  # band 1: width of each downscaled full frame
ZOOM = 3  # band 3: magnification of the mouth and eye crops
PER_ROW = 8
LABEL_H = 34
BACKGROUND = (24, 24, 24)

# Landmark groups that set the crop boxes (face mesh indices).
FACE_BOX = (10, 152, 234, 454)  # forehead, chin, left and right cheek
MOUTH_BOX = (61, 291, 0, 17, 13, 14)
EYES_BOX = (33, 133, 159, 145, 263, 362, 386, 374, 70, 300)


def pick_frames(trace: FaceTrace, phones: list[AlignedPhone], count: int) -> list[int]:
    """Frame indices to show, time-ordered: evenly spaced, widest openings, bilabial centres."""
    n = len(trace.times_s)
    chosen = set(np.linspace(0, n - 1, max(2, count // 2)).round().astype(int).tolist())
    rel = np.nan_to_num(metrics.relative(trace.aperture), nan=-1.0)
    for i in np.argsort(-rel):
        if len(chosen) >= count * 3 // 4:
            break
        if all(abs(int(i) - j) > 3 for j in chosen):
            chosen.add(int(i))
    for p in (p for p in phones if p.label in metrics.BILABIALS):
        if len(chosen) >= count:
            break
        chosen.add(int(np.argmin(np.abs(trace.times_s - p.centre_s))))
    return sorted(chosen)[:count]


def box_around(points: np.ndarray, margin: float, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) around (k, 2) points, grown by `margin` of its larger side."""
    lo, hi = np.nanmin(points, axis=0), np.nanmax(points, axis=0)
    pad = margin * float(np.max(hi - lo))
    left, top = np.floor(lo - pad).astype(int)
    right, bottom = np.ceil(hi + pad).astype(int)
    return max(0, left), max(0, top), min(size[0], right), min(size[1], bottom)


def crop_boxes(trace: FaceTrace) -> dict[str, tuple[int, int, int, int]]:
    """Fixed crop boxes for the clip, from the landmarks' median position over all frames."""
    median = np.nanmedian(trace.landmarks, axis=0)
    return {
        "face": box_around(median[list(FACE_BOX)], 0.12, trace.size),
        "mouth": box_around(median[list(MOUTH_BOX)], 0.25, trace.size),
        "eyes": box_around(median[list(EYES_BOX)], 0.08, trace.size),
    }


def phone_at(phones: list[AlignedPhone], time_s: float) -> str:
    hit = next((p for p in phones if p.start_s <= time_s < p.end_s), None)
    return f"{hit.label} ({hit.word})" if hit and hit.word else (hit.label if hit else "-")


def tiles_for(rgb: np.ndarray, boxes: dict[str, tuple[int, int, int, int]]) -> list[Image.Image]:
    """The three views of one frame: small whole frame, 1:1 face, magnified mouth + eyes."""
    frame = Image.fromarray(rgb)
    small = frame.resize((TILE_W, round(TILE_W * rgb.shape[0] / rgb.shape[1])), Image.LANCZOS)
    face = frame.crop(boxes["face"])
    mouth, eyes = frame.crop(boxes["mouth"]), frame.crop(boxes["eyes"])
    zoomed = [im.resize((im.width * ZOOM, im.height * ZOOM), Image.NEAREST) for im in (eyes, mouth)]
    detail = Image.new("RGB", (max(z.width for z in zoomed), sum(z.height for z in zoomed) + 4), BACKGROUND)
    detail.paste(zoomed[0], (0, 0))
    detail.paste(zoomed[1], (0, zoomed[0].height + 4))
    return [small, face, detail]


def grid(images: list[Image.Image], labels: list[str], title: str) -> Image.Image:
    """Images in rows of PER_ROW equal cells, each with its label underneath."""
    font = ImageFont.load_default(size=13)
    cell_w = max(im.width for im in images) + 6
    cell_h = max(im.height for im in images) + LABEL_H
    rows = (len(images) + PER_ROW - 1) // PER_ROW
    sheet = Image.new("RGB", (cell_w * min(PER_ROW, len(images)), cell_h * rows + 22), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 3), title, fill=(255, 255, 255), font=font)
    for k, (im, label) in enumerate(zip(images, labels, strict=True)):
        x, y = (k % PER_ROW) * cell_w + 3, (k // PER_ROW) * cell_h + 22
        sheet.paste(im, (x, y))
        draw.multiline_text((x, y + im.height + 2), label, fill=(230, 230, 160), font=font, spacing=1)
    return sheet


def stack(bands: list[Image.Image]) -> Image.Image:
    out = Image.new("RGB", (max(b.width for b in bands), sum(b.height for b in bands)), BACKGROUND)
    y = 0
    for band in bands:
        out.paste(band, (0, y))
        y += band.height
    return out


def contact_sheet(
    video: Path, phones: list[AlignedPhone], count: int = 16, at_s: list[float] | None = None
) -> Image.Image:
    """The sheet for `video` (see module docstring); `phones` may be empty; `at_s` picks the
    frames nearest to those times instead of the automatic choice."""
    trace = trace_video(video)
    if at_s:
        picks = sorted({int(np.argmin(np.abs(trace.times_s - t))) for t in at_s})
    else:
        picks = pick_frames(trace, phones, count)
    boxes = crop_boxes(trace)
    rel = metrics.relative(trace.aperture)
    views: list[list[Image.Image]] = [[], [], []]
    labels = []
    wanted = set(picks)
    for i, (time_s, rgb) in enumerate(read_frames(video)):
        if i in wanted:
            for band, tile in zip(views, tiles_for(rgb, boxes), strict=True):
                band.append(tile)
            labels.append(f"{time_s:5.2f}s #{i} ap {rel[i]:.0%}\n{phone_at(phones, time_s)}")
    titles = [
        f"{video.name}: whole frames",
        f"face at 1:1 ({trace.size[0]}x{trace.size[1]} video)",
        f"eyes and mouth at {ZOOM}x",
    ]
    return stack([grid(v, labels, t) for v, t in zip(views, titles, strict=True)])


def resolve(target: str, workdir: Path) -> tuple[Path, Path | None]:
    """(video, transcript or None) for an MP4 path or a clip name / audio path (rendered here)."""
    path = Path(target)
    if path.suffix.lower() in {".mp4", ".mov", ".mkv"}:
        return path, None
    audio = path if path.suffix else ROOT / "examples" / f"{target}.wav"
    video = workdir / f"{audio.stem}_720p.mp4"
    render_clip(ROOT / "examples" / "portrait.png", audio, video, "720p")
    transcript = audio.with_suffix(".txt")
    return video, transcript if transcript.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", help="an MP4, or a clip name / audio file to render at 720p")
    parser.add_argument("--out", type=Path, default=Path("sheet.png"))
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--transcript", type=Path, help="transcript of the video's speech")
    parser.add_argument("--at", type=float, nargs="+", metavar="SECONDS", help="show these times")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        video, transcript = resolve(args.target, Path(tmp))
        transcript = args.transcript or transcript
        phones = align_file(video, transcript.read_text()) if transcript else []
        contact_sheet(video, phones, args.frames, args.at).save(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

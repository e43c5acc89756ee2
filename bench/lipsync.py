"""Lip-sync benchmark: render sample clips at 720p and print issue 2's four figures per clip.

    python bench/lipsync.py [--clips speech speech_short espeak_long] [--out bench/out]
                            [--image examples/portrait.png] [--reuse] [--video CLIP=PATH ...]
                            [--turbo]

A clip is a name in examples/ (NAME.wav + NAME.txt, the transcript) or a path to an audio file
with its transcript beside it (same name, .txt). Each clip is rendered with talkies.animate at
720p, in turbo mode with --turbo (or, with --reuse, an existing OUT/NAME_720p.mp4 is taken as
is; --video judges any MP4), then measured independently of the engine (bench/evaluation:
forced alignment of the transcript on the MP4's own audio, face mesh re-detected on the
decoded frames). Writes OUT/NAME_720p.mp4, OUT/NAME_lipsync.png (aperture vs reference,
per-phone hits and misses), OUT/NAME_motion.json (the engine's curves, read only to say
whether a miss is the motion plan's or the renderer's) and OUT/lipsync.json.
Exit status 0 when every figure of every clip meets its target, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.evaluation.clip import ClipMeasurement, measure_video, render_clip  # noqa: E402
from bench.evaluation.diagnose import closure_blame, pause_blame, transfer_table  # noqa: E402
from bench.evaluation.metrics import Figure  # noqa: E402
from bench.evaluation.plots import plot_clip  # noqa: E402

EXAMPLES = ROOT / "examples"
DEFAULT_CLIPS = ("speech", "speech_short", "espeak_long")


def clip_audio(name: str) -> Path:
    """The audio file of a clip given by name (examples/NAME.wav) or path."""
    path = Path(name)
    return path if path.suffix else EXAMPLES / f"{name}.wav"


def run_clip(
    name: str, args: argparse.Namespace, videos: dict[str, Path]
) -> tuple[ClipMeasurement, dict[str, np.ndarray] | None]:
    """Render (unless given or reused) and measure one clip; also the engine's curves when
    this run rendered it (or a saved motion JSON sits beside a reused render), for diagnosis."""
    audio = clip_audio(name)
    transcript = audio.with_suffix(".txt").read_text()
    video = videos.get(name) or args.out / f"{audio.stem}_720p.mp4"
    motion_json = args.out / f"{audio.stem}_motion.json"
    if name not in videos and not (args.reuse and video.exists()):
        started = time.monotonic()
        result = render_clip(args.image, audio, video, "720p", args.turbo)
        print(f"  rendered {video} in {time.monotonic() - started:.1f} s", file=sys.stderr)
        motion_json.write_text(result.motion.to_json())
    curves = None
    if name not in videos and motion_json.exists():
        raw = json.loads(motion_json.read_text())["curves"]
        curves = {k: np.asarray(v, np.float32) for k, v in raw.items()}
    measured = measure_video(video, transcript, source_audio=audio)
    shown = {k: curves[k] for k in ("jaw_open", "lip_press") if k in curves} if curves else None
    plot_clip(measured, args.out / f"{audio.stem}_lipsync.png", shown)
    return measured, curves


def cell(f: Figure) -> str:
    if f.n == 0:
        return "n/a"
    if f.name.startswith("A/V"):
        return f"{f.value:+.0f} ms {'ok' if f.passed else 'FAIL'}"
    hits = round(f.value * f.n)
    return f"{f.value:.0%} ({hits}/{f.n}) {'ok' if f.passed else 'FAIL'}"


def print_table(results: dict[str, ClipMeasurement]) -> None:
    names = [f.name for f in next(iter(results.values())).figures]
    header = ["clip", "frames", "face", *names, "mux delay"]
    rows = [header, ["", "", "", ">= 90%", ">= 80%", "[-60, +40]", ">= 90%", ""]]
    for name, m in results.items():
        rows.append(
            [Path(name).stem, str(len(m.trace.times_s)), f"{m.trace.detected.mean():.0%}"]
            + [cell(f) for f in m.figures]
            + [f"{m.mux_delay_ms:+.0f} ms"]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def print_details(results: dict[str, ClipMeasurement]) -> None:
    for name, m in results.items():
        for f in m.figures:
            if f.note or f.failures:
                misses = "; ".join(f.failures[:8]) + (" ..." if len(f.failures) > 8 else "")
                print(f"{Path(name).stem} {f.name}: {f.note} {misses}".rstrip())


def print_diagnosis(name: str, m: ClipMeasurement, curves: dict[str, np.ndarray]) -> None:
    """Point each failure at the motion plan or the renderer (uses the engine's curves)."""
    figures = {f.name: f for f in m.figures}
    lines = []
    if not figures["p/b/m closed"].passed:
        lines += closure_blame(m, curves)
    if not figures["pauses closed"].passed:
        lines += pause_blame(m, curves)
    if lines:
        lines += ["rendered aperture by engine jaw_open:", *transfer_table(m, curves)]
    for line in lines:
        print(f"  {Path(name).stem}: {line}")


def write_json(results: dict[str, ClipMeasurement], path: Path) -> None:
    data = {
        Path(name).stem: {
            "video": str(m.video),
            "passed": m.passed,
            "mux_delay_ms": m.mux_delay_ms,
            "face_detected": float(m.trace.detected.mean()),
            "figures": [f.__dict__ for f in m.figures],
        }
        for name, m in results.items()
    }
    path.write_text(json.dumps(data, indent=1, default=str))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", nargs="+", default=list(DEFAULT_CLIPS))
    parser.add_argument("--image", type=Path, default=EXAMPLES / "portrait.png")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--reuse", action="store_true", help="measure existing renders in --out")
    parser.add_argument("--turbo", action="store_true", help="render with turbo_mode")
    parser.add_argument("--video", nargs="*", default=[], metavar="CLIP=PATH", help="judge this MP4")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    videos = {k: Path(v) for k, v in (item.split("=", 1) for item in args.video)}
    clips = list(dict.fromkeys([*args.clips, *videos]))
    runs = {name: run_clip(name, args, videos) for name in clips}
    results = {name: measured for name, (measured, _) in runs.items()}
    print_table(results)
    print_details(results)
    for name, (measured, curves) in runs.items():
        if curves:
            print_diagnosis(name, measured, curves)
    write_json(results, args.out / "lipsync.json")
    passed = all(m.passed for m in results.values())
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

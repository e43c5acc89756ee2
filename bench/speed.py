"""How fast talkies makes a video, against the floor set by the encoder alone.

For each resolution (and each audio clip given) a fresh child process runs `talkies.animate` on
the sample portrait and reports:

  - end-to-end frames per second: frames / wall time of animate() (decode, analyse, plan,
    render, encode, mux), and the wall time of each stage (from the progress reports);
  - the encoder floor, measured in the same process right after: `media.encode_video` with the
    same size, fps, preset and voice on (a) copies of the resized source frame (what a still
    video costs; x264 finds nothing changed, so this floor is low) and (b) the very frames the
    run produced, decoded back from its MP4 beforehand (the honest floor: same content);
  - ratio = animate() wall time / encode-alone (b) wall time: 1.0 would mean rendering and
    analysis cost nothing on top of encoding;
  - peak memory: the child's ru_maxrss (peak resident set size, whole process: Python, numpy,
    mediapipe and pocketsphinx models included), read after animate() and before (b) holds
    all frames in memory; plus the resident size right after importing talkies, for scale.

A child per configuration keeps each peak its own. Usage:

    python bench/speed.py                       # 720p and 1080p on examples/speech.wav
    python bench/speed.py --turbo               # the same with turbo_mode
    python bench/speed.py --audio examples/espeak_long.wav --resolution 720p
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    args = _parse()
    if args.child:
        print(json.dumps(_measure(args.resolution[0], args.turbo, args.image, args.audio[0])))
        return 0
    rows = []
    for audio in args.audio:
        for resolution in args.resolution:
            rows.append(_run_child(resolution, args.turbo, args.image, audio))
    _print_table(rows)
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resolution", nargs="+", default=["720p", "1080p"], choices=["720p", "1080p"])
    p.add_argument("--turbo", action="store_true")
    p.add_argument("--image", default=str(ROOT / "examples" / "portrait.png"))
    p.add_argument("--audio", nargs="+", default=[str(ROOT / "examples" / "speech.wav")])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def _run_child(resolution: str, turbo: bool, image: str, audio: str) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--resolution",
        resolution,
        "--image",
        image,
        "--audio",
        audio,
    ]
    done = subprocess.run(cmd + (["--turbo"] if turbo else []), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"child failed ({resolution}, {audio}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KB on Linux


def _measure(resolution: str, turbo: bool, image: str, audio: str) -> dict:
    import talkies
    from talkies import media

    rss_import = _rss_mb()
    stages: dict[str, float] = {}
    out = Path(tempfile.mkdtemp()) / "bench.mp4"
    options = talkies.AnimateOptions(resolution=resolution, turbo_mode=turbo)
    start = time.perf_counter()
    result = talkies.animate(
        image, audio, options, output=out, progress=lambda p: stages.setdefault(p.stage, time.perf_counter())
    )
    wall = time.perf_counter() - start
    peak = _peak_mb()
    marks = [start, *stages.values(), start + wall]
    stage_s = {name: marks[i + 2] - marks[i + 1] for i, name in enumerate(stages)}

    voice = media.load_audio(audio)
    size = (result.width, result.height)
    still = media.resize_image(media.load_image(image), size)
    t = time.perf_counter()
    media.encode_video((still for _ in range(result.n_frames)), voice, out.with_name("still.mp4"),
                       result.fps, size, turbo=turbo)  # fmt: skip
    still_s = time.perf_counter() - t
    frames = _decode_frames(out)
    t = time.perf_counter()
    media.encode_video(iter(frames), voice, out.with_name("same.mp4"), result.fps, size, turbo=turbo)
    same_s = time.perf_counter() - t
    return {
        "audio": Path(audio).name,
        "resolution": resolution,
        "size": f"{result.width}x{result.height}",
        "turbo": turbo,
        "frames": result.n_frames,
        "wall_s": wall,
        "stage_s": stage_s,
        "still_s": still_s,
        "same_s": same_s,
        "peak_mb": peak,
        "rss_import_mb": rss_import,
    }


def _decode_frames(path: Path) -> list:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _print_table(rows: list[dict]) -> None:
    head = (
        f"{'audio':<16} {'res':<6} {'size':<10} {'turbo':<5} {'frames':>6} {'e2e s':>7} {'e2e fps':>8} "
        f"{'enc fps':>8} {'still fps':>9} {'ratio':>6} {'peak MB':>8} {'import MB':>9}  stages (s)"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        n = r["frames"]
        stages = " ".join(f"{k}={v:.2f}" for k, v in r["stage_s"].items())
        turbo = "yes" if r["turbo"] else "no"
        print(
            f"{r['audio']:<16} {r['resolution']:<6} {r['size']:<10} {turbo:<5} {n:>6} "
            f"{r['wall_s']:>7.2f} {n / r['wall_s']:>8.1f} {n / r['same_s']:>8.1f} {n / r['still_s']:>9.1f} "
            f"{r['wall_s'] / r['same_s']:>6.2f} {r['peak_mb']:>8.0f} {r['rss_import_mb']:>9.0f}  {stages}"
        )
    print(
        "\ne2e fps: frames / animate() wall time.  enc fps: encode_video alone on the same frames (decoded\n"
        "back from the output first).  still fps: encode_video alone on copies of the source frame.\n"
        "ratio: animate() wall / encode-alone wall on the same frames.  peak MB: ru_maxrss of the run's\n"
        "process after animate().  import MB: resident size right after `import talkies`."
    )


if __name__ == "__main__":
    raise SystemExit(main())

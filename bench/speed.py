"""How fast talkies makes a video, against the floor set by the encoder alone.

For each resolution, turbo setting and audio clip, a fresh child process loads the engine and
runs `talkies.animate` on the sample portrait twice (cold: the first call of the process, which
builds the recogniser and the face-mesh graphs; warm: the second, as in a server's worker), and
reports:

  - end-to-end frames per second: frames / wall time of animate() (decode, analyse, plan,
    render, encode, mux), cold and warm, and the wall time of each stage of the cold run (from
    the progress reports);
  - time to first frame: from the call to the first frame handed to the encoder (the first
    "render" progress report), cold and warm;
  - the encoder floor, measured in the same process right after: `media.encode_video` with the
    same size, fps, preset and voice on (a) copies of the resized source frame (what a still
    video costs; x264 finds nothing changed, so this floor is low) and (b) the very frames the
    run produced, decoded back from its MP4 beforehand (the honest floor: same content);
  - ratio = animate() wall time (cold) / encode-alone (b) wall time: 1.0 would mean rendering
    and analysis cost nothing on top of encoding;
  - peak memory: the child's ru_maxrss (peak resident set size of the process: Python, numpy,
    mediapipe and the models included), read after the two runs and before (b) holds all
    frames in memory; and of the speech-analysis helper processes, their peaks (VmHWM, summed;
    the pages they share with the parent are counted in each, so this overstates them) and
    their proportional set size (Pss) after the runs; and the largest peak of the forked
    processes that drew the frames (ru_maxrss of reaped children, shared pages counted);
  - the engine's import time (`import talkies.pipeline`, before the clock starts).

And once per invocation: `talkies --version`, median wall time of 7 runs in new interpreters.

    python bench/speed.py                       # 720p and 1080p on examples/speech.wav
    python bench/speed.py --turbo both          # also with turbo_mode, and the speed-up
    python bench/speed.py --long                # + the 30 s clip at 1080p and 60 s at 720p
    python bench/speed.py --audio examples/espeak_long.wav --resolution 720p
    python bench/speed.py --turbo both --repeat 3   # three rounds: medians and ranges as well
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEECH_30S = ROOT / "examples" / "speech_30s.wav"


def main() -> int:
    args = _parse()
    if args.child:
        print(json.dumps(_measure(args.resolution[0], args.turbo == "on", args.image, args.audio[0])))
        return 0
    turbos = {"off": [False], "on": [True], "both": [False, True]}[args.turbo]
    plan = [(audio, res, turbo) for audio in args.audio for res in args.resolution for turbo in turbos]
    if args.long:
        plan += [(str(SPEECH_30S), "1080p", False), (str(_clip_60s()), "720p", False)]
    rounds = [
        [_run_child(res, turbo, args.image, audio) for audio, res, turbo in plan] for _ in range(args.repeat)
    ]
    _print_table([row for rows in rounds for row in rows])
    for k, rows in enumerate(rounds, start=1):
        _print_turbo_speedups(rows, f"round {k}: " if args.repeat > 1 else "")
    if args.repeat > 1:
        _print_spread(rounds)
    version_ms = _version_wall_s() * 1000
    print(f"\ntalkies --version: {version_ms:.0f} ms (median wall of 7 runs, each a new interpreter)")
    return 0


def _parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resolution", nargs="+", default=["720p", "1080p"], choices=["720p", "1080p"])
    p.add_argument("--turbo", choices=["off", "on", "both"], default="off")
    p.add_argument("--long", action="store_true", help="also the 30 s clip at 1080p and a 60 s clip at 720p")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        metavar="N",
        help="run the whole plan N times over, interleaved, and print each figure's median and range "
        "(a shared machine's speed drifts from minute to minute)",
    )
    p.add_argument("--image", default=str(ROOT / "examples" / "portrait.png"))
    p.add_argument("--audio", nargs="+", default=[str(ROOT / "examples" / "speech.wav")])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args()


def _clip_60s() -> Path:
    """examples/speech_30s.wav twice over: 60 s of real speech (made once, in the temp dir)."""
    path = Path(tempfile.gettempdir()) / "talkies-bench-speech_60s.wav"
    if not path.exists():
        with wave.open(str(SPEECH_30S)) as w:
            params, frames = w.getparams(), w.readframes(w.getnframes())
        n = 60 * params.framerate * params.sampwidth * params.nchannels
        with wave.open(str(path), "wb") as out:
            out.setparams(params)
            out.writeframes((frames * 3)[:n])
    return path


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
    done = subprocess.run(
        [*cmd, "--turbo", "on" if turbo else "off"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"child failed ({resolution}, {audio}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 1e6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KB on Linux


def _helpers_mb() -> tuple[float, float]:
    """Over this process's descendants (the speech-analysis helpers): the sum of their peak
    resident sizes (VmHWM, which counts the pages they share with this process in full), and
    of their proportional set sizes now (Pss: a shared page split between its sharers)."""
    peak = pss = 0.0
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except FileNotFoundError:  # a thread that ended meanwhile
                continue
            for child in children:
                todo.append(int(child))
                peak += _proc_kb(f"/proc/{child}/status", "VmHWM:") / 1e3
                pss += _proc_kb(f"/proc/{child}/smaps_rollup", "Pss:") / 1e3
    return peak, pss


def _proc_kb(path: str, key: str) -> float:
    lines = Path(path).read_text().splitlines()
    return float(next((line.split()[1] for line in lines if line.startswith(key)), "0"))


def _run_once(animate, options, image: str, audio: str, out: Path) -> tuple[float, float, dict, object]:
    """(wall s, time to first frame s, stage start times, result) of one animate() call."""
    marks: dict[str, float] = {}

    def progress(p) -> None:
        marks.setdefault(p.stage, time.perf_counter())

    start = time.perf_counter()
    result = animate(image, audio, options, output=out, progress=progress)
    wall = time.perf_counter() - start
    stage_at = {name: at - start for name, at in marks.items()}
    return wall, stage_at.get("render", wall), {"start": start, "wall": wall, **stage_at}, result


def _measure(resolution: str, turbo: bool, image: str, audio: str) -> dict:
    t = time.perf_counter()
    import talkies.pipeline

    import_s = time.perf_counter() - t
    from talkies import AnimateOptions, media

    rss_import = _rss_mb()
    out = Path(tempfile.mkdtemp()) / "bench.mp4"
    options = AnimateOptions(resolution=resolution, turbo_mode=turbo)
    wall, first_s, marks, result = _run_once(talkies.pipeline.animate, options, image, audio, out)
    warm_wall, warm_first_s, _, _ = _run_once(talkies.pipeline.animate, options, image, audio, out)
    peak, (helpers_peak, helpers_pss) = _peak_mb(), _helpers_mb()
    drawers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1e3  # reaped children
    names = [n for n in ("load", "analyse", "plan", "render") if n in marks]
    ends = [*(marks[n] for n in names[1:]), marks["wall"]]
    stage_s = {n: end - marks[n] for n, end in zip(names, ends, strict=True)}

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
        "warm_wall_s": warm_wall,
        "first_frame_s": first_s,
        "warm_first_frame_s": warm_first_s,
        "stage_s": stage_s,
        "still_s": still_s,
        "same_s": same_s,
        "peak_mb": peak,
        "helpers_peak_mb": helpers_peak,
        "helpers_pss_mb": helpers_pss,
        "drawers_peak_mb": drawers_peak,
        "rss_import_mb": rss_import,
        "import_s": import_s,
    }


def _decode_frames(path: Path) -> list:
    import av

    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def _version_wall_s() -> float:
    walls = []
    for _ in range(7):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "talkies", "--version"], capture_output=True, check=True)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls)


def _print_table(rows: list[dict]) -> None:
    head = (
        f"{'audio':<22} {'res':<6} {'size':<10} {'turbo':<5} {'frames':>6} {'e2e s':>6} {'e2e fps':>7} "
        f"{'warm fps':>8} {'1st frame s':>11} {'enc fps':>7} {'still fps':>9} {'ratio':>5} "
        f"{'peak MB':>7} {'helpers MB':>10} {'drawers MB':>10} {'import':>9}  stages (s, cold)"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        n = r["frames"]
        stages = " ".join(f"{k}={v:.2f}" for k, v in r["stage_s"].items())
        turbo = "yes" if r["turbo"] else "no"
        first = f"{r['first_frame_s']:.2f}/{r['warm_first_frame_s']:.2f}"
        imported = f"{r['import_s']:.1f}s/{r['rss_import_mb']:.0f}MB"
        helpers = f"{r['helpers_peak_mb']:.0f}/{r['helpers_pss_mb']:.0f}"
        print(
            f"{r['audio']:<22} {r['resolution']:<6} {r['size']:<10} {turbo:<5} {n:>6} {r['wall_s']:>6.2f} "
            f"{n / r['wall_s']:>7.1f} {n / r['warm_wall_s']:>8.1f} {first:>11} {n / r['same_s']:>7.1f} "
            f"{n / r['still_s']:>9.1f} {r['wall_s'] / r['same_s']:>5.2f} {r['peak_mb']:>7.0f} "
            f"{helpers:>10} {r['drawers_peak_mb']:>10.0f} {imported:>9}  {stages}"
        )
    print(
        "\ne2e fps: frames / animate() wall time, the process's first call (cold).  warm fps: its second\n"
        "call.  1st frame s: call to the first frame handed to the encoder, cold/warm.  enc fps:\n"
        "encode_video alone on the same frames (decoded back from the output first).  still fps: on\n"
        "copies of the source frame.  ratio: animate() wall (cold) / encode-alone wall on the same\n"
        "frames.  peak MB: ru_maxrss of the process after both calls.  helpers MB: the speech\n"
        "helpers' peak resident sizes summed (pages shared with the process counted in each) / their\n"
        "proportional set size after the calls.  drawers MB: the largest peak resident size of the\n"
        "forked processes that drew the frames (ru_maxrss of reaped children; the pages they share\n"
        "with the process counted in full).  import: `import talkies.pipeline` time and the\n"
        "resident size after it."
    )


def _print_spread(rounds: list[list[dict]]) -> None:
    """Per configuration, over the rounds: median [min - max] of the cold e2e fps, the ratio and
    the warm time to the first frame; and of the turbo speed-ups, each taken within a round."""
    print(f"\nover {len(rounds)} rounds, median [min - max]:")

    def spread(values: list[float], digits: int) -> str:
        return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f} - {max(values):.{digits}f}]"

    for i, first in enumerate(rounds[0]):
        rows = [rows[i] for rows in rounds]
        fps = [r["frames"] / r["wall_s"] for r in rows]
        ratio = [r["wall_s"] / r["same_s"] for r in rows]
        warm_first = [r["warm_first_frame_s"] for r in rows]
        turbo = "turbo" if first["turbo"] else "normal"
        print(
            f"  {first['audio']} {first['resolution']} {turbo}: e2e fps {spread(fps, 1)}, "
            f"ratio {spread(ratio, 2)}, 1st frame warm {spread(warm_first, 2)} s"
        )
    for r in rounds[0]:
        if r["turbo"] and (ups := [u for rows in rounds if (u := _turbo_speedup(rows, r)) is not None]):
            print(f"  turbo speed-up {r['audio']} {r['resolution']}, cold: {spread(ups, 2)}x")


def _turbo_speedup(rows: list[dict], like: dict) -> float | None:
    """Cold speed-up of turbo over normal in one round, for `like`'s audio and resolution."""
    turbo, normal = _row_like(rows, like, True), _row_like(rows, like, False)
    return normal["wall_s"] / turbo["wall_s"] if turbo and normal else None


def _row_like(rows: list[dict], like: dict, turbo: bool) -> dict | None:
    """The row of `rows` with `like`'s audio and resolution and this turbo setting, if any."""
    key = (like["audio"], like["resolution"])
    return next((r for r in rows if r["turbo"] == turbo and (r["audio"], r["resolution"]) == key), None)


def _print_turbo_speedups(rows: list[dict], prefix: str = "") -> None:
    for r in rows:
        if r["turbo"] and (base := _row_like(rows, r, False)) is not None:
            print(
                f"{prefix}turbo speed-up {r['audio']} {r['resolution']}: {base['wall_s'] / r['wall_s']:.2f}x "
                f"cold, {base['warm_wall_s'] / r['warm_wall_s']:.2f}x warm"
            )


if __name__ == "__main__":
    raise SystemExit(main())

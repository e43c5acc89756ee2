"""Any-voice benchmark (issue 11): singing, many languages, noise, long silences, pauses, blinks.

    python bench/voices.py [--out bench/out/voices] [--only NAME ...] [--reuse] [--image PNG]

Builds the corpus of bench/evaluation/voices.py (espeak-ng languages, Festival singing, a
synthetic melody, LibriVox recordings of pocketsphinx-testdata with pink noise, babble and
music, words after 1-10 s of room tone, phrases between long pauses), renders each clip at 720p
with talkies.animate (examples/portrait.png), re-detects the face on the decoded frames
(bench/evaluation/redetect.py) and prints per clip what issue 11 asks:

  shut      share of loud voiced frames (within 12 dB of the clip's loud voice, voiced by an
            autocorrelation test of the audio: nothing the engine computed) whose inner-lip gap
            is below 10% of the clip's aperture range (0.5th..99.5th percentile)
  notes     sustained voiced stretches over 1 s, and how many of them have any shut frame
  p/b/m, r  (noisy English) bilabial closures and peak lag correlation against the phone truth:
            a forced alignment of the transcript on the clean recording
  words     (after silence) words whose aperture rises above the rest by at least MOUTHED
  pauses    share of frames closed (< 15% of max aperture) inside the pauses put into the
            clip (450 and 800 ms), from 150 ms after the pause starts to 200 ms before it ends
  blinks    re-detected blinks on the longer clips: durations, frames fully closed, partial share

Exit status 0 when every figure meets its target.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.evaluation import MeasurementError  # noqa: E402
from bench.evaluation.alignment import AlignedPhone, align_file  # noqa: E402
from bench.evaluation.metrics import bilabial_closure, lag_correlations, relative  # noqa: E402
from bench.evaluation.redetect import FaceTrace, trace_video  # noqa: E402
from bench.evaluation.voices import RATE, Clip, build_corpus, read_wav  # noqa: E402

SHUT_BELOW = 0.10  # share of the aperture range
LOUD_WITHIN_DB = 12.0
SUSTAINED_S = 1.0
MOUTHED = 0.035  # aperture (gap / eye-corner distance) above the resting mouth
PAUSE_MIN_S, PAUSE_IN_S, PAUSE_OUT_S = 0.35, 0.15, 0.20
CLOSED_BELOW = 0.15
FULL_CLOSURE = 0.85  # share of a rendered shut eye's closure reading that counts as fully closed
TARGETS = {"shut": 0.20, "pbm10": 0.85, "r10": 0.70, "pbm5": 0.70, "pauses": 0.95}


@dataclass
class Row:
    name: str
    kind: str
    figures: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --- the audio, judged without the engine ---------------------------------------------------


def frame_voicing(x: np.ndarray, times_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(level dB, voiced bool) of 40 ms windows of x (16 kHz) centred on `times_s`. Voiced: the
    normalised autocorrelation peaks above 0.5 at a lag of 1.7-12.5 ms (80-600 Hz)."""
    half = int(0.02 * RATE)
    level, voiced = np.zeros(times_s.size), np.zeros(times_s.size, bool)
    for i, t in enumerate(times_s):
        c = int(t * RATE)
        w = x[max(0, c - half) : c + half].astype(np.float64)
        if w.size < 2 * half:
            w = np.pad(w, (0, 2 * half - w.size))
        level[i] = 10 * np.log10(np.mean(w**2) + 1e-12)
        w = (w - w.mean()) * np.hanning(w.size)
        ac = np.correlate(w, w, "full")[w.size - 1 :]
        if ac[0] <= 0:
            continue
        lags = ac[int(RATE / 600) : int(RATE / 80)] / ac[0]
        voiced[i] = lags.max() > 0.5
    return level, voiced


def loud_voiced(audio: Path, times_s: np.ndarray) -> np.ndarray:
    level, voiced = frame_voicing(read_wav(audio), times_s)
    if not voiced.any():
        return voiced
    loud = np.percentile(level[voiced], 95)
    return voiced & (level >= loud - LOUD_WITHIN_DB)


def shut_mask(trace: FaceTrace) -> np.ndarray:
    a = trace.aperture.astype(np.float64)
    lo, hi = np.nanpercentile(a, 0.5), np.nanpercentile(a, 99.5)
    return np.isfinite(a) & ((a - lo) / max(hi - lo, 1e-9) < SHUT_BELOW)


def sustained_runs(audio: Path, times_s: np.ndarray) -> list[tuple[int, int]]:
    """Frame ranges of voiced stretches (within 20 dB of the loud voice) over SUSTAINED_S."""
    level, voiced = frame_voicing(read_wav(audio), times_s)
    if not voiced.any():
        return []
    ok = voiced & (level >= np.percentile(level[voiced], 95) - 20)
    edges = np.diff(np.concatenate([[0], ok.astype(np.int8), [0]]))
    runs = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True)
    fps = 1.0 / float(np.median(np.diff(times_s)))
    return [(s, e) for s, e in runs if (e - s) / fps > SUSTAINED_S]


# --- figures ----------------------------------------------------------------------------------


def measure_voice(row: Row, clip: Clip, trace: FaceTrace) -> None:
    loud = loud_voiced(clip.truth_audio or clip.audio, trace.times_s)  # the voice, not the noise
    shut = shut_mask(trace)
    share = float(np.mean(shut[loud])) if loud.any() else float("nan")
    row.figures["shut"] = share
    if clip.kind in ("language", "singing") and not share <= TARGETS["shut"]:
        row.failures.append(f"shut {share:.0%} of {loud.sum()} loud voiced frames")
    if clip.kind == "singing":
        row.figures["openings_per_s"], row.figures["loud_peaks_per_s"] = openings_and_peaks(clip, trace)
        runs = sustained_runs(clip.audio, trace.times_s)
        trim = max(1, round(0.1 * trace.fps))
        bad = [(s, e) for s, e in runs if shut[s + trim : e - trim].any()]
        row.figures["notes"] = len(runs)
        row.figures["notes_shut"] = len(bad)
        row.failures += [f"note {s / trace.fps:.2f}-{e / trace.fps:.2f}s has shut frames" for s, e in bad]


def openings_and_peaks(clip: Clip, trace: FaceTrace) -> tuple[float, float]:
    """(mouth openings per second, loudness peaks per second): peaks of the re-detected aperture
    rising at least 20% of its range above the dips either side, and peaks of the audio's
    level (40 ms windows at the frame times) standing 6 dB over theirs. A melody sung one
    opening per syllable gives about as many of one as of the other."""
    from scipy.signal import find_peaks

    a = np.nan_to_num(trace.aperture.astype(np.float64), nan=float(np.nanmin(trace.aperture)))
    span = float(np.percentile(a, 99.5) - np.percentile(a, 0.5))
    openings, _ = find_peaks(a, prominence=0.2 * span)
    level, _ = frame_voicing(read_wav(clip.audio), trace.times_s)
    peaks, _ = find_peaks(np.maximum(level, level.max() - 50.0), prominence=6.0)
    seconds = float(trace.times_s[-1] - trace.times_s[0]) or 1.0
    return len(openings) / seconds, len(peaks) / seconds


def measure_truth(row: Row, clip: Clip, trace: FaceTrace) -> None:
    """p/b/m and correlation against the clean recording's alignment."""
    assert clip.transcript and clip.truth_audio
    phones = align_file(clip.truth_audio, clip.transcript)
    pbm = bilabial_closure(phones, trace.times_s, trace.aperture, trace.fps)
    _, corr = lag_correlations(phones, trace.times_s, trace.aperture)
    row.figures["pbm"], row.figures["r"] = pbm.value, float(corr.max())
    if clip.snr_db is not None:
        key = "10" if clip.snr_db >= 10 else "5" if clip.snr_db <= 5 else ""
        if f"pbm{key}" in TARGETS and pbm.value < TARGETS[f"pbm{key}"]:
            row.failures.append(f"p/b/m {pbm.value:.0%} < {TARGETS[f'pbm{key}']:.0%}")
        if f"r{key}" in TARGETS and corr.max() < TARGETS[f"r{key}"]:
            row.failures.append(f"r {corr.max():.2f} < {TARGETS[f'r{key}']:.2f}")
    row.notes += list(pbm.failures[:6])


def words_of(phones: list[AlignedPhone]) -> list[tuple[str, float, float]]:
    out: list[tuple[str, float, float]] = []
    for p in phones:
        if not p.word:
            continue
        if out and out[-1][0] == p.word and abs(out[-1][2] - p.start_s) < 1e-6:
            out[-1] = (p.word, out[-1][1], p.end_s)
        else:
            out.append((p.word, p.start_s, p.end_s))
    return out


def align_after(audio: Path, transcript: str, skip_s: float) -> list[AlignedPhone]:
    """Forced alignment of the part of `audio` after `skip_s`, on the clip's clock. The judge's
    aligner has the same weakness as the engine's recogniser (a long silence drags its
    running normalisation away), so it is given the words with only 0.5 s in front."""
    import tempfile

    from bench.evaluation.voices import write_wav

    x = read_wav(audio)[int(skip_s * RATE) :]
    with tempfile.TemporaryDirectory() as tmp:
        phones = align_file(write_wav(Path(tmp) / "tail.wav", x), transcript)
    return [AlignedPhone(p.label, p.start_s + skip_s, p.end_s + skip_s, p.word) for p in phones]


def measure_words(row: Row, clip: Clip, trace: FaceTrace) -> None:
    assert clip.transcript
    words = words_of(align_after(clip.audio, clip.transcript, max(0.0, clip.lead_s - 0.5)))
    a = trace.aperture.astype(np.float64)
    rest = float(np.nanmedian(a[trace.times_s < max(clip.lead_s - 0.3, 0.2)]))
    mouthed = 0
    for word, start, end in words:
        inside = a[(trace.times_s >= start - 0.04) & (trace.times_s <= end + 0.04)]
        rise = float(np.nanmax(inside) - rest) if np.isfinite(inside).any() else 0.0
        mouthed += rise >= MOUTHED
        if rise < MOUTHED:
            row.failures.append(f"'{word}' {start:.2f}-{end:.2f}s rises {rise:.3f} (< {MOUTHED})")
    row.figures["words"] = len(words)
    row.figures["mouthed"] = mouthed


def measure_pauses(row: Row, clip: Clip, trace: FaceTrace) -> None:
    """Frames closed inside the pauses put into the clip (known exactly, `clip.gaps`)."""
    rel = relative(trace.aperture)
    hits: list[bool] = []
    for start, end in clip.gaps:
        if end - start <= PAUSE_MIN_S:
            continue
        inside = rel[(trace.times_s >= start + PAUSE_IN_S) & (trace.times_s < end - PAUSE_OUT_S)]
        closed = [bool(np.isfinite(v) and v < CLOSED_BELOW) for v in inside]
        hits += closed
        if not all(closed):
            row.notes.append(f"pause {start:.2f}-{end:.2f}s: {sum(closed)}/{len(closed)} closed")
    share = float(np.mean(hits)) if hits else float("nan")
    row.figures["pauses"] = share
    if hits and share < TARGETS["pauses"]:
        row.failures.append(f"pauses closed {share:.0%} < 95%")


def shut_eye_reading(image: Path) -> float:
    """What the re-detected closure (1 - lid gap / open lid gap) reads on this portrait rendered
    with both eyes shut (blink 1) at 720p. mediapipe keeps a small gap between the lid
    landmarks of a closed eye, so a shut eye reads ~0.6, not 1; a blink counts as fully closed
    on frames reading at least FULL_CLOSURE of this."""
    from bench.evaluation.redetect import face_landmarks
    from bench.liveliness import eye_openness
    from talkies import face, media, render
    from talkies.tracks import MotionTrack

    picture = media.load_image(str(image))
    rig = face.analyze_portrait(media.resize_image(picture, media.output_size(*picture.shape[1::-1], "720p")))
    ones, zeros = np.ones(1, np.float32), np.zeros(1, np.float32)
    readings = []
    for blink in (zeros, ones):
        track = MotionTrack(25.0, {"blink_left": blink, "blink_right": blink})
        readings.append(eye_openness(face_landmarks(next(render.frames(rig, track)))[None])[0])
    return float(1.0 - readings[1] / readings[0])


def measure_blinks(trace: FaceTrace, shut_reads: float) -> dict[str, float]:
    """Blink durations and full closures, from the re-detected lids (bench/liveliness.py's
    openness: lid gap over eye width, as a share of the clip's median); a frame is fully
    closed when its closure reads FULL_CLOSURE of a rendered shut eye (`shut_reads`)."""
    from bench.liveliness import BLINK_CLOSED, BLINK_PEAK, eye_openness

    openness = eye_openness(trace.landmarks)
    closure = np.nan_to_num(1.0 - openness / np.nanmedian(openness), nan=0.0)
    closed = np.concatenate([[False], closure > BLINK_CLOSED, [False]])
    edges = np.diff(closed.astype(np.int8))
    durations, full = [], []
    for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if closure[s:e].max() >= BLINK_PEAK:
            durations.append(1000.0 * (e - s + 1) / trace.fps)
            full.append(int(np.sum(closure[s:e] >= FULL_CLOSURE * shut_reads)))
    if not durations:
        return {"blinks": 0}
    full_arr = np.asarray(full)
    return {
        "blinks": len(durations),
        "blink_ms_min": min(durations),
        "blink_ms_median": float(np.median(durations)),
        "blink_ms_max": max(durations),
        "blinks_2_full_frames": float(np.mean(full_arr >= 2)),
        "blinks_partial": float(np.mean(full_arr == 0)),
    }


# --- running ----------------------------------------------------------------------------------


def render(clip: Clip, image: Path, out: Path, reuse: bool) -> Path:
    video = out / f"{clip.name}_720p.mp4"
    if reuse and video.exists():
        return video
    import talkies

    started = time.monotonic()
    result = talkies.animate(
        str(image), str(clip.audio), talkies.AnimateOptions(resolution="720p"), str(video)
    )
    (out / f"{clip.name}_motion.json").write_text(result.motion.to_json())
    print(f"  rendered {clip.name} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return video


def measure(clip: Clip, video: Path) -> tuple[Row, FaceTrace]:
    trace = trace_video(video)
    row = Row(clip.name, clip.kind)
    if clip.kind in ("language", "singing"):
        measure_voice(row, clip, trace)
    if clip.kind == "noisy":
        measure_voice(row, clip, trace)
        measure_truth(row, clip, trace)
    if clip.kind == "leading_silence":
        measure_words(row, clip, trace)
        if row.figures["mouthed"] < row.figures["words"]:
            row.failures.append("not every word mouthed")
    if clip.kind == "pauses":
        measure_pauses(row, clip, trace)
    return row, trace


def fmt(row: Row) -> str:
    parts = []
    for key, value in row.figures.items():
        parts.append(f"{key} {value:.0%}" if key in ("shut", "pbm", "pauses") else f"{key} {value:.3g}")
    status = "ok" if not row.failures else "FAIL"
    return f"{row.name:<20} {row.kind:<16} {'  '.join(parts):<60} {status}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "voices")
    parser.add_argument("--only", nargs="*", default=None, help="clip names (or prefixes)")
    parser.add_argument("--image", type=Path, default=ROOT / "examples" / "portrait.png")
    parser.add_argument("--reuse", action="store_true", help="measure existing renders in --out")
    parser.add_argument("--blinks", type=Path, default=ROOT / "examples" / "speech_30s.wav")
    args = parser.parse_args(argv)
    clips, skipped = build_corpus(args.out / "corpus", set(args.only) if args.only else None)
    rows = []
    for clip in clips:
        try:
            row, _ = measure(clip, render(clip, args.image, args.out, args.reuse))
        except MeasurementError as e:
            row = Row(clip.name, clip.kind, failures=[f"not measured: {e}"])
        rows.append(row)
        print(fmt(row), flush=True)
        for line in row.failures + row.notes:
            print(f"    {line}", flush=True)
    blink_clip = Clip("blinks_" + args.blinks.stem, "blinks", args.blinks)
    shut_reads = shut_eye_reading(args.image)
    blinks = measure_blinks(trace_video(render(blink_clip, args.image, args.out, args.reuse)), shut_reads)
    blinks["shut_eye_reads"] = shut_reads
    print("blinks on", args.blinks.name, json.dumps({k: round(v, 3) for k, v in blinks.items()}))
    blink_ok = (
        blinks.get("blinks", 0) > 0
        and blinks["blink_ms_min"] >= 150
        and blinks["blink_ms_max"] <= 350
        and blinks["blinks_2_full_frames"] > 0.5
        and blinks["blinks_partial"] < 0.25
    )
    if skipped:
        print("skipped (tool missing):", ", ".join(skipped))
    failed = [r.name for r in rows if r.failures] + ([] if blink_ok else ["blinks"])
    (args.out / "voices.json").write_text(
        json.dumps([r.__dict__ for r in rows] + [{"blinks": blinks}], indent=1, default=str)
    )
    print("PASS" if not failed else f"FAIL: {', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())

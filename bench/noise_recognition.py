"""Speech under steady noise, before rendering (issue 11): what the recogniser still hears and
how the planned mouth follows it, on more noise than bench/voices.py renders.

    python bench/noise_recognition.py [--snr 10 5] [--seeds 1 7 11] [--oracle]

Every LibriVox recording of pocketsphinx-testdata (five clips of 3-7 s, one reader) and its five
card-game commands (another speaker, 1-4 s: "eight of spades four of clubs seven of hearts"),
all with transcripts, is mixed with pink noise at each SNR and seed (bench/evaluation/voices.py's
noise and mixing), analysed by talkies' speech stage and planned by its mouth planner at 25 fps.
Against the forced alignment of the transcript on the clean recording it prints, per mix, and
per SNR the mean and minimum over each speaker's clips and over all:

  viseme  share of the truth's speech frames whose recognised phone is in the same viseme class
  r       peak lag correlation of the planned jaw opening with the truth's reference openness
          (bench/evaluation/metrics.py, as bench/voices.py computes it on the rendered face)
  p/b/m   share of the truth's bilabials during which the planned lips close: jaw opening times
          (1 - lip press) under 15% of its maximum within the phone +-1 frame

The planned curves are what the renderer draws; rendering and re-detecting the face moves r by a
few hundredths (bench/voices.py does that on two of these clips). --oracle replaces the
recognised phones by the truth (confidence 0.95): what the mouth would do with a perfect
recogniser in the same noise. Needs Debian's pocketsphinx-testdata. About 45 s per SNR here.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `bench` importable
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.evaluation.alignment import AlignedPhone, align_file  # noqa: E402
from bench.evaluation.metrics import bilabial_closure, lag_correlations  # noqa: E402
from bench.evaluation.voices import RATE, cards, librivox, mix, pink_noise, write_wav  # noqa: E402

SPEAKERS = {  # name -> (loader, clip ids)
    "librivox": (librivox, ("0870", "0880", "0890", "0920", "0930")),
    "cards": (cards, ("001", "002", "003", "004", "005")),
}
FPS = 25.0


def viseme_agreement(truth: list[AlignedPhone], heard, duration_s: float) -> float:
    """Share of the truth's speech frames (10 ms) where `heard` has the same viseme class."""
    from talkies.audio.phoneset import viseme_class

    grid = np.arange(0.0, duration_s, 0.01)

    def classes(phones) -> np.ndarray:
        found = np.full(grid.size, "SIL", dtype=object)
        for p in phones:
            found[(grid >= p.start_s) & (grid < p.end_s)] = viseme_class(p.label)
        return found

    want, got = classes(truth), classes(heard)
    spoken = want != "SIL"
    return float(np.mean(want[spoken] == got[spoken])) if spoken.any() else float("nan")


def measure(x: np.ndarray, truth: list[AlignedPhone], oracle: bool) -> tuple[float, float, float]:
    """(viseme agreement, r, p/b/m) of the (n,) 16 kHz mix."""
    from talkies.audio import analyze_speech
    from talkies.motion import MOUTH_LEAD_S, mouth
    from talkies.tracks import Audio, Phone

    speech = analyze_speech(Audio(x.astype(np.float32)[None, :], RATE))
    if oracle:
        phones = tuple(Phone(p.label, p.start_s, p.end_s, 0.95) for p in truth)
        speech = dataclasses.replace(speech, phones=phones)
    times = np.arange(int(speech.duration_s * FPS)) / FPS
    planned = mouth.plan_mouth(speech, times, FPS, MOUTH_LEAD_S)
    r = float(lag_correlations(truth, times, planned["jaw_open"])[1].max())
    aperture = planned["jaw_open"] * (1.0 - planned["lip_press"])
    pbm = bilabial_closure(truth, times, aperture, FPS).value
    return viseme_agreement(truth, speech.phones, speech.duration_s), r, pbm


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--snr", type=float, nargs="+", default=[10.0, 5.0], help="dB")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 7, 11], help="pink noise seeds")
    parser.add_argument("--oracle", action="store_true", help="the truth's phones, not the recogniser's")
    args = parser.parse_args(argv)

    clips = {
        (speaker, clip_id): found
        for speaker, (load, ids) in SPEAKERS.items()
        for clip_id in ids
        if (found := load(clip_id)) is not None
    }
    if not clips:
        print("needs pocketsphinx-testdata (apt-get install pocketsphinx-testdata)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        truths = {}
        for (speaker, clip_id), (clean, text) in clips.items():
            truths[speaker, clip_id] = align_file(write_wav(Path(tmp) / f"{clip_id}.wav", clean), text)
    print(f"{'mix':<16} {'viseme':>7} {'r':>6} {'p/b/m':>6}")
    for snr in args.snr:
        rows: dict[str, list[tuple[float, float, float]]] = {speaker: [] for speaker in SPEAKERS}
        for (speaker, clip_id), (clean, _) in clips.items():
            for seed in args.seeds:
                figures = measure(
                    mix(clean, pink_noise(clean.size, seed), snr), truths[speaker, clip_id], args.oracle
                )
                rows[speaker].append(figures)
                print(f"{clip_id}@{snr:g}dB/{seed:<5} {figures[0]:7.0%} {figures[1]:6.3f} {figures[2]:6.0%}")
        groups = {**rows, "all": [row for speaker_rows in rows.values() for row in speaker_rows]}
        for name, group in groups.items():
            if not group:
                continue
            table = np.array(group)  # (nan where a clip has no p, b or m)
            mean, low = np.nanmean(table, axis=0), np.nanmin(table, axis=0)
            print(f"{snr:g} dB {name:<8} mean {mean[0]:7.0%} {mean[1]:6.3f} {mean[2]:6.0%}")
            print(f"{snr:g} dB {name:<8} min  {low[0]:7.0%} {low[1]:6.3f} {low[2]:6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Dev tool: plot the planned curves of a sample recording against its phone timeline.

    python tests/motion_plot.py speech out.png                  # forced-aligned phones
    python tests/motion_plot.py espeak_long out.png --phones recognised --start 7 --end 10
    python tests/motion_plot.py speech out.png --phones audio   # talkies.audio's SpeechTrack

Top panel: jaw_open, lip_press and the aperture the renderer will show (jaw x (1 - press)),
with the lip-sync thresholds (15% / 40% of the clip's max); the aligned phones below the axis
(red p/b/m, green open vowels, grey silence), the phones the planner was given above it.
Then lip shapes, eyes / breath / brows, head angles.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from motion_fixtures import ALIGNED, RECOGNISED
from motion_helpers import (
    BILABIAL,
    OPEN_VOWELS,
    aperture,
    lipsync_scores,
    phones_of,
    portrait_rig,
    read_wav,
    recorded_speech,
)

from talkies import motion
from talkies.options import AnimateOptions
from talkies.tracks import Audio, SpeechTrack, frame_count


def speech_for(name: str, phones: str) -> SpeechTrack:
    if phones == "audio":
        from talkies.audio import analyze_speech

        samples, rate = read_wav(name)
        return analyze_speech(Audio(samples[None, :], rate))
    rows = ALIGNED[name] if phones == "aligned" else RECOGNISED[name]
    return recorded_speech(name, phones_of(rows, 1.0 if phones == "aligned" else 0.7))


def _phone_labels(ax, phones, start: float, end: float, y: float, colour_code: bool) -> None:
    for p in phones:
        if start <= p.start_s <= end:
            if colour_code:
                colour = {True: "red"}.get(p.label in BILABIAL) or (
                    "green" if p.label in OPEN_VOWELS else "grey" if p.label == "SIL" else "none"
                )
                ax.axvspan(p.start_s, p.end_s, ymax=0.06, color=colour, alpha=0.3)
            ax.text(
                0.5 * (p.start_s + p.end_s),
                y,
                p.label,
                ha="center",
                fontsize=8,
                color="k" if colour_code else "b",
            )


def plot(name: str, phones: str, out: str, start: float, end: float | None, fps: int, seed: int) -> None:
    speech = speech_for(name, phones)
    n = frame_count(speech.duration_s, fps)
    track = motion.plan(speech, portrait_rig(), n, AnimateOptions(fps=fps, seed=seed))
    print(lipsync_scores(track, phones_of(ALIGNED[name])))
    t, end = np.arange(n) / fps, end or speech.duration_s
    fig, ax = plt.subplots(
        4, 1, figsize=(22, 13), sharex=True, gridspec_kw={"height_ratios": [3, 1.5, 1.3, 1.3]}
    )
    ap = aperture(track)
    ax[0].plot(t, track.get("jaw_open"), ".-", label="jaw_open")
    ax[0].plot(t, track.get("lip_press"), ".-", color="r", label="lip_press")
    ax[0].plot(t, ap, lw=3, color="k", alpha=0.4, label="aperture")
    ax[0].plot(
        np.arange(speech.n_hops) * speech.hop_s, speech.loudness, color="orange", alpha=0.5, label="loudness"
    )
    for share, style in ((0.15, ":"), (0.4, "--")):
        ax[0].axhline(share * ap.max(), color="k", ls=style)
    _phone_labels(ax[0], phones_of(ALIGNED[name]), start, end, -0.08, True)
    if phones != "aligned":
        _phone_labels(ax[0], speech.phones, start, end, 1.08, False)
    ax[0].set_ylim(-0.12, 1.15)
    ax[0].set_title(f"{name}: phones={phones}, {fps} fps (aligned phones below, given phones above)")
    for i, names in enumerate(
        [("lip_round", "lip_wide", "lip_tuck"), ("blink_left", "blink_right", "breath", "brow_raise")],
        start=1,
    ):
        for curve in names:
            ax[i].plot(t, track.get(curve), label=curve)
    for curve in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg"):
        ax[3].plot(t, track.get(curve), label=curve)
    for a in ax:
        a.legend(loc="upper right")
    ax[0].set_xlim(start, end)
    fig.tight_layout()
    fig.savefig(out, dpi=60)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=sorted(ALIGNED))
    parser.add_argument("out")
    parser.add_argument("--phones", choices=["aligned", "recognised", "audio"], default="aligned")
    parser.add_argument("--start", type=float, default=0.0)
    parser.add_argument("--end", type=float, default=None)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    plot(args.name, args.phones, args.out, args.start, args.end, args.fps, args.seed)


if __name__ == "__main__":
    main()

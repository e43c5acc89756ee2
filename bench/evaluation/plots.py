"""Diagnostic figure of one measured clip: re-detected aperture against the reference.

The plot is for a person looking for why a figure failed: the re-detected aperture (share of the
clip max) over time, the reference openness built from the alignment, the 15% / 40% thresholds,
each bilabial and open vowel marked green (pass) or red (miss), the pauses shaded, and, when
given, the engine's own curves in grey so a miss can be pinned on the motion plan (the curve
never asked for it) or on the renderer (the curve asked, the pixels did not follow).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from bench.evaluation import metrics
from bench.evaluation.clip import ClipMeasurement

SECONDS_PER_ROW = 5.0


def plot_clip(
    m: ClipMeasurement, out: str | Path, engine_curves: dict[str, np.ndarray] | None = None
) -> Path:
    """Write a PNG to `out`; `engine_curves` are per-frame curves at the video's fps (optional)."""
    t, rel = m.trace.times_s, metrics.relative(m.trace.aperture)
    ref = metrics.reference_openness(m.phones, t)
    lag_s = m.figures[2].value / 1000.0
    duration = float(t[-1]) + 1.0 / m.trace.fps
    rows = max(1, int(np.ceil(duration / SECONDS_PER_ROW)))
    fig, axes = plt.subplots(rows, 1, figsize=(18, 3.2 * rows), squeeze=False)
    for row, ax in enumerate(axes[:, 0]):
        ax.set_xlim(row * SECONDS_PER_ROW, (row + 1) * SECONDS_PER_ROW)
        ax.set_ylim(-0.05, 1.25)
        _draw_row(ax, m, t, rel, ref, engine_curves)
    axes[0, 0].set_title(
        f"{m.video.name}: aperture (blue) vs reference openness (orange); "
        f"best lag {lag_s * 1000:+.0f} ms (+ = mouth lags)"
    )
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
    return Path(out)


def _draw_row(ax, m: ClipMeasurement, t, rel, ref, engine_curves) -> None:
    for start, end in metrics.pauses(m.phones):
        ax.axvspan(start, end, color="0.9")
    ax.plot(t, ref, color="tab:orange", lw=1, label="reference")
    if engine_curves:
        for (name, curve), style in zip(engine_curves.items(), ("-", "--", ":"), strict=False):
            n = min(len(curve), len(t))
            ax.plot(t[:n], curve[:n], color="0.45", ls=style, lw=0.9, label=f"engine {name}")
    ax.plot(t, rel, color="tab:blue", marker=".", ms=3, lw=1.2, label="aperture / max")
    ax.axhline(metrics.CLOSED_BELOW, color="tab:red", lw=0.6, ls="--")
    ax.axhline(metrics.OPEN_ABOVE, color="tab:green", lw=0.6, ls="--")
    _mark_phones(ax, m, t, rel)


def _mark_phones(ax, m: ClipMeasurement, t, rel) -> None:
    """Label every phone; colour bilabials and open vowels by whether they met their target."""
    slack = 1.0 / m.trace.fps + 1e-6
    for p in m.phones:
        if p.label == "SIL":
            continue
        colour = "0.3"
        if p.label in metrics.BILABIALS:
            window = rel[(t >= p.start_s - slack) & (t <= p.end_s + slack)]
            ok = window.size > 0 and np.nanmin(window) < metrics.CLOSED_BELOW
            colour = "green" if ok else "red"
        elif p.label in metrics.OPEN_VOWELS:
            value = rel[int(np.argmin(np.abs(t - p.centre_s)))]
            colour = "green" if value > metrics.OPEN_ABOVE else "red"
        ax.text(p.centre_s, 1.12, p.label, ha="center", fontsize=6.5, color=colour, clip_on=True)
        ax.axvline(p.start_s, color="0.8", lw=0.4)

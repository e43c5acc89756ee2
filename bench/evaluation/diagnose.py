"""Why a lip-sync figure failed: blame the motion plan or the renderer, with numbers.

The figures themselves never look at the engine. This module does, after the fact, to point a
failure at the right stage: for each missed closure it asks whether the engine's own curves
asked for one (lip_press up or jaw_open down in the window). If they did, the pixels did not
follow and the renderer is to blame; if they did not, the plan (or the phones it was built
from) missed it. The transfer table shows how the rendered aperture responds to jaw_open,
which exposes a dead zone or a jump at jaw_open = 0 at a glance.
"""

from __future__ import annotations

import itertools

import numpy as np

from bench.evaluation import metrics
from bench.evaluation.clip import ClipMeasurement

ASKED_PRESS = 0.5  # lip_press at or above this asks for shut lips
ASKED_JAW = 0.02  # jaw_open at or below this (with no press) also asks for shut lips
JAW_BINS = (0.0, 0.001, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.01)


def _curve(curves: dict[str, np.ndarray], name: str, n: int) -> np.ndarray:
    c = np.asarray(curves.get(name, np.zeros(n)), np.float64)
    return np.pad(c[:n], (0, max(0, n - c.size)), mode="edge")


def closure_blame(m: ClipMeasurement, curves: dict[str, np.ndarray]) -> list[str]:
    """One line per missed p/b/m: what the engine's curves asked for in the phone +-1 frame."""
    t, rel = m.trace.times_s, metrics.relative(m.trace.aperture)
    press, jaw = _curve(curves, "lip_press", t.size), _curve(curves, "jaw_open", t.size)
    slack = 1.0 / m.trace.fps + 1e-6
    lines = []
    for p in m.phones:
        if p.label not in metrics.BILABIALS:
            continue
        window = (t >= p.start_s - slack) & (t <= p.end_s + slack)
        if np.nanmin(rel[window], initial=np.inf) < metrics.CLOSED_BELOW:
            continue
        asked = press[window].max() >= ASKED_PRESS or jaw[window].min() <= ASKED_JAW
        culprit = "renderer: asked, not shut" if asked else "motion: never asked"
        seen = np.nanmin(rel[window])
        lines.append(
            f"{p.label} {p.start_s:.2f}-{p.end_s:.2f}s ({p.word}): aperture min {seen:.0%}, "
            f"lip_press max {press[window].max():.2f}, jaw_open min {jaw[window].min():.3f} -> {culprit}"
        )
    return lines


def pause_blame(m: ClipMeasurement, curves: dict[str, np.ndarray]) -> list[str]:
    """One line per pause over 350 ms: closed share of frames and the engine's jaw_open there."""
    t, rel = m.trace.times_s, metrics.relative(m.trace.aperture)
    jaw, press = _curve(curves, "jaw_open", t.size), _curve(curves, "lip_press", t.size)
    lines = []
    for start, end in metrics.pauses(m.phones):
        inside = (t >= start) & (t < end)
        closed = float(np.mean(rel[inside] < metrics.CLOSED_BELOW)) if inside.any() else float("nan")
        seen = np.nanmedian(rel[inside])
        lines.append(
            f"pause {start:.2f}-{end:.2f}s: {closed:.0%} closed, aperture median {seen:.0%}, "
            f"jaw_open median {np.median(jaw[inside]):.3f}, lip_press max {press[inside].max():.2f}"
        )
    return lines


def transfer_table(m: ClipMeasurement, curves: dict[str, np.ndarray]) -> list[str]:
    """Rendered aperture (share of max) by jaw_open bin, frames without lip_press only."""
    rel = metrics.relative(m.trace.aperture)
    jaw, press = _curve(curves, "jaw_open", rel.size), _curve(curves, "lip_press", rel.size)
    lines = []
    for lo, hi in itertools.pairwise(JAW_BINS):
        sel = (press < 0.05) & (jaw >= lo) & (jaw < hi) & np.isfinite(rel)
        if sel.any():
            lines.append(
                f"jaw_open [{lo:.3f}, {min(hi, 1.0):.3f}): {sel.sum():4d} frames, aperture median "
                f"{np.median(rel[sel]):.0%} (min {rel[sel].min():.0%}, max {rel[sel].max():.0%})"
            )
    pressed = (press >= ASKED_PRESS) & np.isfinite(rel)
    if pressed.any():
        median = np.median(rel[pressed])
        lines.append(f"lip_press >= {ASKED_PRESS}: {pressed.sum():4d} frames, aperture median {median:.0%}")
    return lines

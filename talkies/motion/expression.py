"""Expression planner -> brow_raise, brow_furrow, smile, frown (the slow, non-speech face curves).

Why it works this way. Brows go up on some emphatic words, not on every stress: a brow flash
on a sparse choice of the strongest accents reads as engaged, one on every accent as
twitchy. The prompt's moods set held face targets (a smile, a frown, furrowed or raised
brows) that change with a short ease where the prompt says "then", and scale the brow
flashes, as does an aroused voice (prosody.arousal); a "raises eyebrows" action is a
longer, larger raise in its time window.
"""

from __future__ import annotations

import numpy as np

from talkies.motion import prompt, prosody, timeline
from talkies.motion.prompt import Modifiers

BROW_RAISE = 0.4  # brow raise on the clip's strongest accent
BROW_MIN_STRENGTH = 0.7
BROW_CHANCE = 0.5
BROW_GAP_S = 2.5
BROW_WIDTH_S = 0.7
ACTION_BROW = 0.8  # "raises her eyebrows": height, and how long the raise lasts
ACTION_BROW_S = 1.6


def plan_expression(
    times_s: np.ndarray,
    accents: list[prosody.Accent],
    rng: np.random.Generator,
    mods: Modifiers,
    arousal: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """{"brow_raise", "brow_furrow", "smile", "frown"}: (n,) float64 0..1 at `times_s`. The
    brow flashes scale with the mood and with the voice's `arousal` at `times_s` (none: 0)."""
    brow = np.zeros(times_s.size)
    for accent in prosody.pick(accents, BROW_MIN_STRENGTH, BROW_GAP_S, BROW_CHANCE, rng):
        lift = BROW_RAISE * accent.strength * prosody.bump(times_s, accent.time_s, BROW_WIDTH_S)
        brow = np.maximum(brow, lift)
    step = timeline.step(times_s)
    duration_s = float(times_s[-1]) + step if times_s.size else 0.0
    mood = prompt.mood_curves(mods, times_s, duration_s)
    aroused = np.zeros(times_s.size) if arousal is None else arousal
    raised = mood["brow_raise"] + prosody.motion_scale(mods.brow_scale, aroused, prosody.BROW_DEPTH) * brow
    for cue in mods.of_kind("action"):
        if cue.name == "raise_brows":
            start, end = prompt.window_of(cue, mods, duration_s)
            width = min(ACTION_BROW_S, end - start)
            shape = np.clip(1.6 * prosody.bump(times_s, start + 0.1 + width / 2, width), 0.0, 1.0)
            raised = np.maximum(raised, ACTION_BROW * cue.strength * shape)
    # A furrow and a raise pull the brows opposite ways: the raise wins while it lasts.
    furrow = mood["brow_furrow"] * (1.0 - np.clip(raised, 0.0, 1.0))
    return {
        "brow_raise": np.clip(raised, 0.0, 1.0),
        "brow_furrow": np.clip(furrow, 0.0, 1.0),
        "smile": np.clip(mood["smile"], 0.0, 1.0),
        "frown": np.clip(mood["frown"], 0.0, 1.0),
    }

"""Expression planner -> brow_raise, smile (the slow, non-speech face curves).

Why it works this way. Brows go up on some emphatic words, not on every stress: a brow flash
on a sparse choice of the strongest accents reads as engaged, one on every accent as
twitchy. The prompt's mood (a later issue) sets a constant smile and scales the brows;
frown, brow_furrow and gaze stay neutral until then.
"""

from __future__ import annotations

import numpy as np

from talkies.motion import prosody
from talkies.motion.prompt import Modifiers

BROW_RAISE = 0.4  # brow raise on the clip's strongest accent
BROW_MIN_STRENGTH = 0.7
BROW_CHANCE = 0.5
BROW_GAP_S = 2.5
BROW_WIDTH_S = 0.7


def plan_expression(
    times_s: np.ndarray, accents: list[prosody.Accent], rng: np.random.Generator, mods: Modifiers
) -> dict[str, np.ndarray]:
    """{"brow_raise", "smile"}: (n,) float64 0..1 at `times_s`."""
    brow = np.zeros(times_s.size)
    for accent in prosody.pick(accents, BROW_MIN_STRENGTH, BROW_GAP_S, BROW_CHANCE, rng):
        lift = BROW_RAISE * accent.strength * prosody.bump(times_s, accent.time_s, BROW_WIDTH_S)
        brow = np.maximum(brow, lift)
    return {
        "brow_raise": np.clip(mods.brow_scale * brow, 0.0, 1.0),
        "smile": np.full(times_s.size, np.clip(mods.smile, 0.0, 1.0)),
    }

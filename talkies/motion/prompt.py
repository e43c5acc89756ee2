"""The seam between the free-text prompt and the planners.

A later issue adds a vocabulary (moods such as "smiles warmly" or "serious", actions such as
"nods" or "looks left", camera moves such as "camera slowly pushes in"). Planners already read
every knob from `Modifiers`, so that work only has to fill this dataclass in.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Modifiers:
    """Multipliers and offsets the prompt can apply; the defaults are neutral."""

    head_scale: float = 1.0  # amplitude of head drift and nods
    nod_scale: float = 1.0  # extra multiplier for nods on accents
    blink_rate_scale: float = 1.0
    brow_scale: float = 1.0  # brow raises on emphasis
    smile: float = 0.0  # constant smile 0..1 added to the face
    body_scale: float = 1.0  # torso sway and breathing depth


NEUTRAL = Modifiers()


def modifiers(prompt: str) -> Modifiers:
    """Turn the prompt into planner modifiers. No vocabulary yet: every prompt is neutral."""
    del prompt  # accepted and ignored until the vocabulary lands
    return NEUTRAL

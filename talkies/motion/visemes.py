"""Phone -> mouth targets and dominance, for Cohen-Massaro coarticulation (see mouth.py).

Each phone names a target for every mouth channel and, per channel, how strongly it insists
on that target ("dominance"). Dominance per channel is what makes coarticulation come out
right: a T barely cares about the lips, so the rounding of the vowel in "two" spreads over it,
while W insists on rounding and P/B/M on closed lips. Vowels dominate the jaw; consonants other
than labials are light on it, so short consonants between vowels do not clap the mouth shut.

Targets are 0..1 in the units of tracks.CURVES: jaw_open 1 = widest speech opening.
Diphthongs are two targets in sequence (the onset holds the first `split` of the phone).
"""

from __future__ import annotations

from dataclasses import dataclass

# The mouth channels, in the column order used throughout the mouth planner.
CHANNELS = ("jaw_open", "lip_round", "lip_wide", "lip_press", "lip_tuck")

BILABIALS = frozenset({"P", "B", "M"})
LABIODENTALS = frozenset({"F", "V"})
OPEN_VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY"})


Five = tuple[float, float, float, float, float]  # one value per channel


@dataclass(frozen=True)
class Viseme:
    """target and strength: one value per channel (CHANNELS order); reach_before_s and
    reach_after_s: per channel, time constants (s) of the exponential fall of dominance
    outside the phone (anticipation and carry-over)."""

    target: Five
    strength: Five
    reach_before_s: Five
    reach_after_s: Five


# Vowels reach further than consonants, and further ahead than behind; their lip shapes
# (rounding, spreading) reach furthest: "two" rounds during the t, up to 200 ms ahead.
_VOWEL_BEFORE: Five = (0.045, 0.09, 0.07, 0.04, 0.04)
_VOWEL_AFTER: Five = (0.035, 0.06, 0.05, 0.03, 0.03)
_CONSONANT_BEFORE: Five = (0.03, 0.03, 0.03, 0.03, 0.03)
_CONSONANT_AFTER: Five = (0.025, 0.025, 0.025, 0.025, 0.025)


def _vowel(jaw: float, rnd: float, wide: float) -> Viseme:
    return Viseme((jaw, rnd, wide, 0.0, 0.0), (1.0, 0.8, 0.8, 1.0, 1.0), _VOWEL_BEFORE, _VOWEL_AFTER)


def _consonant(target: Five, strength: Five) -> Viseme:
    return Viseme(target, strength, _CONSONANT_BEFORE, _CONSONANT_AFTER)


_LIGHT = (0.1, 0.1, 0.1, 0.3, 0.3)  # hardly any dominance: the neighbours decide

VOWELS: dict[str, Viseme] = {
    "AA": _vowel(1.0, 0.0, 0.2),
    "AE": _vowel(0.9, 0.0, 0.5),
    "AH": _vowel(0.85, 0.05, 0.2),
    "AO": _vowel(0.9, 0.5, 0.0),
    "EH": _vowel(0.6, 0.0, 0.45),
    "IH": _vowel(0.45, 0.0, 0.5),
    "IY": _vowel(0.3, 0.0, 0.8),
    "UH": _vowel(0.4, 0.6, 0.0),
    "UW": _vowel(0.25, 1.0, 0.0),
    "ER": _vowel(0.35, 0.4, 0.0),
}

CONSONANTS: dict[str, Viseme] = {
    "P": _consonant((0.0, 0.1, 0.0, 1.0, 0.0), (1.0, 0.1, 0.3, 1.0, 0.5)),
    "F": _consonant((0.08, 0.0, 0.2, 0.0, 1.0), (0.8, 0.2, 0.2, 0.5, 1.0)),
    "TH": _consonant((0.2, 0.0, 0.25, 0.0, 0.0), (0.7, 0.1, 0.2, 0.3, 0.3)),
    "T": _consonant((0.2, 0.0, 0.3, 0.0, 0.0), (0.8, 0.1, 0.15, 0.3, 0.3)),
    "L": _consonant((0.3, 0.0, 0.2, 0.0, 0.0), (0.6, 0.1, 0.1, 0.3, 0.3)),
    "S": _consonant((0.1, 0.0, 0.4, 0.0, 0.0), (0.9, 0.1, 0.3, 0.3, 0.3)),
    "SH": _consonant((0.15, 0.6, 0.0, 0.0, 0.0), (0.8, 0.6, 0.3, 0.3, 0.3)),
    "K": _consonant((0.3, 0.0, 0.1, 0.0, 0.0), (0.5, 0.1, 0.1, 0.3, 0.3)),
    "HH": _consonant((0.45, 0.0, 0.1, 0.0, 0.0), _LIGHT),
    "R": _consonant((0.2, 0.45, 0.0, 0.0, 0.0), (0.6, 0.5, 0.2, 0.3, 0.3)),
    "W": _consonant((0.1, 0.95, 0.0, 0.0, 0.0), (0.8, 1.0, 0.5, 0.3, 0.3)),
    "Y": _consonant((0.15, 0.0, 0.55, 0.0, 0.0), (0.7, 0.1, 0.5, 0.3, 0.3)),
}

# Phones that share a mouth shape with one of the tables' keys.
SAME_SHAPE: dict[str, str] = {
    "B": "P", "M": "P", "V": "F", "DH": "TH", "D": "T", "N": "T", "Z": "S",
    "ZH": "SH", "CH": "SH", "JH": "SH", "G": "K", "NG": "K",
}  # fmt: skip

# Diphthongs: (onset, offset, share of the phone held by the onset).
DIPHTHONGS: dict[str, tuple[str, str, float]] = {
    "AW": ("AA", "UH", 0.6),
    "AY": ("AA", "IY", 0.6),
    "EY": ("EH", "IY", 0.6),
    "OW": ("AO", "UW", 0.55),
    "OY": ("AO", "IY", 0.6),
}

# Unknown labels are treated as a weak, neutral half-open shape.
UNKNOWN = _consonant((0.35, 0.0, 0.1, 0.0, 0.0), _LIGHT)

# The mouth at rest in a pause: lips together, nothing pursed or spread.
REST = (0.0, 0.0, 0.0, 0.0, 0.0)


def is_vowel(label: str) -> bool:
    return label in VOWELS or label in DIPHTHONGS


def shapes(label: str) -> list[tuple[float, Viseme]]:
    """[(share of the phone's duration, viseme), ...] for an ARPAbet label without stress."""
    if label in DIPHTHONGS:
        onset, offset, split = DIPHTHONGS[label]
        return [(split, VOWELS[onset]), (1.0 - split, VOWELS[offset])]
    key = SAME_SHAPE.get(label, label)
    viseme = VOWELS.get(key) or CONSONANTS.get(key) or UNKNOWN
    return [(1.0, viseme)]

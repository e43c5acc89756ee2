"""The phone vocabulary every stage speaks: ARPAbet without stress digits, and "SIL".

The speech stage labels its phones with it; the motion stage reads phones from the speech stage
or from a caller (tests, a hand-made track) through the same `normalise`, so a label means the
same thing on both sides: stress digits dropped, case folded, fillers and anything unknown
("+NSN+", "<sil>", "sp") taken as silence.
"""

from __future__ import annotations

SILENCE = "SIL"

VOWELS = frozenset(["AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"])
CONSONANTS = frozenset(
    [
        "B",
        "CH",
        "D",
        "DH",
        "F",
        "G",
        "HH",
        "JH",
        "K",
        "L",
        "M",
        "N",
        "NG",
        "P",
        "R",
        "S",
        "SH",
        "T",
        "TH",
        "V",
        "W",
        "Y",
        "Z",
        "ZH",
    ]
)
PHONES = VOWELS | CONSONANTS | {SILENCE}


def normalise(label: str) -> str:
    """ARPAbet label without stress digits ("aa1" -> "AA"); anything unknown -> "SIL"."""
    base = label.strip().upper().rstrip("012")
    return base if base in PHONES else SILENCE


def is_silence(label: str) -> bool:
    return normalise(label) == SILENCE

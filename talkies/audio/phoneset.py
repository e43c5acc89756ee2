"""The ARPAbet phone set of the recogniser and the coarse mouth-shape (viseme) classes used to
compare two phone sequences. The motion stage has its own, finer viseme table; these classes
only say whether two phones would move the mouth in the same way."""

from __future__ import annotations

from talkies.phones import PHONES, SILENCE, normalise

__all__ = ["PHONES", "SILENCE", "VISEME_CLASS", "normalise", "viseme_class"]

_CLASSES = {
    "CLOSED": "P B M",
    "LIP_TEETH": "F V",
    "ROUNDED": "UW UH OW OY W ER",
    "OPEN": "AA AE AH AO AW AY EH",
    "SPREAD": "IY IH EY Y",
    "TONGUE": "T D N L S Z TH DH K G NG HH CH JH SH ZH R",
}

VISEME_CLASS: dict[str, str] = {p: c for c, phones in _CLASSES.items() for p in phones.split()}
VISEME_CLASS[SILENCE] = SILENCE


def viseme_class(label: str) -> str:
    return VISEME_CLASS[normalise(label)]

"""The prompt vocabulary: free text -> `Modifiers` (motion scales, face targets, timed cues).

    mods = modifiers("She smiles warmly and nods, then looks to the left. Camera slowly zooms in.")

Why it works this way. The reference API's prompt is a "mini-screenplay": a mood, a few
actions, a camera move, in an order. A keyword list would miss "smiling", "nodding" or
"glances left", so every word is first reduced to a crude stem (inflections off: smiles,
smiling, smiled -> smil) and looked up in a small lexicon of synonyms per concept. The text is
cut into clauses at "then" (and "after that", "next", "finally", full stops): each clause is a
*slot*, and the clip's duration is later shared equally between the slots, so "nods, then looks
left" nods in the first half and turns in the second. "at the end" (or "in the end", "to
finish") puts its clause into the clip's last seconds. Words such as "slightly" or "very"
scale the strength of the cue they belong to; "not" / "without" cancel it.

A mood sets the face (smile, frown, brows) from its slot on, and scales how much everything
moves; actions are gestures placed in their slot (nods, head shakes, looks, tilts, brow
raises); camera cues drive `zoom`. Everything understood, and every content word that was
not, is kept in `Modifiers.understood` / `Modifiers.ignored`; `Modifiers.summary()` says it in
one line, which the pipeline sends with its "plan" progress report (the CLI prints it, the
service writes it to the job's logs); it is also logged at DEBUG (logger
"talkies.motion.prompt"). See docs/prompt.md for the vocabulary.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass, field

import numpy as np

from talkies.curves import ramp

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mood:
    """What a mood does: face targets (0..1 curves held while it lasts) and motion scales."""

    smile: float = 0.0
    frown: float = 0.0
    brow_raise: float = 0.0  # held brow raise (surprise)
    brow_furrow: float = 0.0
    pitch_deg: float = 0.0  # held head pitch (sad: chin down)
    head: float = 1.0  # amplitude of head drift
    nod: float = 1.0  # nods on accents
    brow: float = 1.0  # brow raises on emphasis
    blink: float = 1.0  # blink rate
    body: float = 1.0  # sway and breath


MOODS: dict[str, Mood] = {
    "happy": Mood(smile=0.6, brow_raise=0.05, head=1.15, nod=1.2, brow=1.2, body=1.1),
    "serious": Mood(frown=0.12, brow_furrow=0.3, head=0.7, nod=0.8, brow=0.6, blink=0.9, body=0.9),
    "sad": Mood(
        frown=0.5, brow_furrow=0.25, pitch_deg=-2.5, head=0.6, nod=0.6, brow=0.5, blink=0.9, body=0.8
    ),
    "angry": Mood(frown=0.35, brow_furrow=0.8, head=1.2, nod=1.3, brow=0.3, blink=0.8, body=1.1),
    "surprised": Mood(brow_raise=0.6, head=1.1, nod=0.9, brow=1.2, blink=0.6),
    "calm": Mood(smile=0.15, head=0.6, nod=0.6, brow=0.6, blink=0.9, body=0.7),
    "energetic": Mood(smile=0.25, brow_raise=0.05, head=1.5, nod=1.5, brow=1.4, blink=1.1, body=1.3),
}

ACTIONS = ("nod", "shake", "look_left", "look_right", "look_up", "look_down", "look_camera",
           "tilt_left", "tilt_right", "tilt", "raise_brows")  # fmt: skip
CAMERA = ("push_in", "pull_out", "static")


@dataclass(frozen=True)
class Cue:
    """One thing the prompt asked for, placed in time.

    kind: "mood", "action" or "camera"; name: a key of MOODS, one of ACTIONS or CAMERA;
    strength: 1 ordinary, below 1 slight, above 1 strong; slot: clause index in time order;
    at_end: "at the end" (the clip's last seconds, after every slot); speed: 1 ordinary,
    below 1 slow, above 1 fast; words: the prompt's words that matched (for the log).
    """

    kind: str
    name: str
    strength: float = 1.0
    slot: int = 0
    at_end: bool = False
    speed: float = 1.0
    words: str = ""


@dataclass(frozen=True)
class Modifiers:
    """Multipliers and offsets the planners apply; the defaults are neutral.

    The scalar fields are the whole clip's motion scales (product of the moods asked for);
    `cues` are the timed moods, actions and camera moves; `n_slots` how many clauses share
    the clip in time (see `windows`).
    """

    head_scale: float = 1.0  # amplitude of head drift and nods
    nod_scale: float = 1.0  # extra multiplier for nods on accents
    blink_rate_scale: float = 1.0
    brow_scale: float = 1.0  # brow raises on emphasis
    smile: float = 0.0  # smile 0..1 of the first mood (the face curves follow `cues` in time)
    body_scale: float = 1.0  # torso sway and breathing depth
    cues: tuple[Cue, ...] = ()
    n_slots: int = 1
    understood: tuple[str, ...] = ()
    ignored: tuple[str, ...] = field(default=())

    def of_kind(self, kind: str) -> list[Cue]:
        return [c for c in self.cues if c.kind == kind]

    def summary(self) -> str:
        """One line for users: what was understood and what was ignored."""
        if not self.understood and not self.ignored:
            return ""
        said = "; ".join(self.understood) or "nothing"
        text = f"prompt understood: {said}"
        return text + (f"; ignored: {', '.join(repr(w) for w in self.ignored)}" if self.ignored else "")


NEUTRAL = Modifiers()

# --- words ---------------------------------------------------------------------------------
# Plain English; every list is stemmed at import (see `stem`), so inflections match.

_MOOD_WORDS = {
    "happy": "smile smiling happy happily cheerful cheery joy joyful joyous grin laugh glad delighted "
    "friendly pleased beaming beam content merry amused",
    "serious": "serious seriously stern sternly grave gravely solemn solemnly earnest strict severe "
    "somber sombre frown frowning focused determined businesslike stoic intense",
    "sad": "sad sadly unhappy sorrow sorrowful melancholy melancholic gloomy upset depressed cry crying "
    "tearful grief grieving mourn downcast heartbroken miserable disappointed",
    "angry": "angry angrily anger furious furiously mad annoyed irritated rage enraged frustrated "
    "hostile livid outraged",
    "surprised": "surprised surprise shocked shock amazed astonished startled stunned wow awe",
    "calm": "calm calmly relaxed relax peaceful peacefully serene tranquil composed gentle quiet "
    "quietly soothing placid mellow",
    "energetic": "energetic energetically excited excitedly exciting lively enthusiastic "
    "enthusiastically animated dynamic passionate passionately vivid upbeat bubbly vigorous "
    "spirited eager hyper",
}
_INTENSIFY_WORDS = {
    0.4: "barely",
    0.5: "slight slightly little bit subtle subtly faint faintly",
    0.6: "mild mildly",
    0.7: "soft softly gentle gently somewhat",
    1.2: "warm warmly much",
    1.3: "very really deep deeply firm firmly lot",
    1.4: "broad broadly big wide widely strong strongly",
    1.5: "extremely huge hugely",
}
_SPEED_WORDS = {0.5: "slow slowly gradual gradually", 2.0: "quick quickly fast rapid rapidly",
                2.5: "sudden suddenly"}  # fmt: skip
_NEGATE_WORDS = "not no never without dont doesnt isnt nor stop avoid"
_LOOK_WORDS = "look glance gaze turn peer stare eye peek glimpse face watch"
_DIRECTION_WORDS = {"left": "left leftward", "right": "right rightward", "up": "up upward upwards "
                    "sky ceiling", "down": "down downward downwards floor ground",
                    "camera": "camera viewer lens audience us"}  # fmt: skip
_BROW_WORDS = "brow brows eyebrow eyebrows"
_RAISE_WORDS = "raise raising lift arch"
_IN_WORDS = "in closer close forward toward towards nearer"
_OUT_WORDS = "out back away wider backward backwards"
_STATIC_WORDS = "static still fixed locked steady stationary tripod motionless"
# Words that carry no instruction (pronouns, articles, speech verbs ...): never "ignored".
_FILLER_WORDS = (
    "a an the she he they it i we you her his their its him them this that these those person man "
    "woman boy girl speaker subject someone people and or but while as with to at of on in into "
    "from for by is are was be being been am do does did has have had so just also both "
    "talk talks talking speak speaks speaking say says saying sing sings singing tell tells explain "
    "explains present presents describe describes read reads narrate video clip shot frame "
    "camera head face eyes one time moment there here own herself himself themselves toward "
    "towards over around about throughout whole all entire stay stays remain remains keep keeps "
    "continue continues begin begins start starts end then after next afterwards later first "
    "second again together same way like look looks looking seem seems appear appears gesture mood "
    "expression tone style manner body during when while directly straight softly up down"
)


def stem(word: str) -> str:
    """A crude English stem: plural -s, -ing, -ed, -ly and a final -e removed, -y -> -i, doubled
    final consonants undone (smiles, smiling, smiled -> smil; nodding -> nod; happy -> happi)."""
    w = word.lower().replace("'", "")
    for suffix in ("ingly", "edly", "ing", "ed"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            return w.rstrip("e") if len(w) > 3 else w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "i"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    if w.endswith("ly") and len(w) > 4:
        return w[:-2]
    if w.endswith("y") and len(w) > 3:
        return w[:-1] + "i"
    return w.rstrip("e") if len(w) > 3 else w


def _stems(words: str) -> set[str]:
    return {stem(w) for w in words.split()}


_MOOD_OF = {stem(w): mood for mood, words in _MOOD_WORDS.items() for w in words.split()}
_INTENSIFY = {stem(w): k for k, words in _INTENSIFY_WORDS.items() for w in words.split()}
_SPEED = {stem(w): k for k, words in _SPEED_WORDS.items() for w in words.split()}
_DIRECTION = {stem(w): d for d, words in _DIRECTION_WORDS.items() for w in words.split()}
_NEGATE, _LOOK, _BROW, _RAISE = map(_stems, (_NEGATE_WORDS, _LOOK_WORDS, _BROW_WORDS, _RAISE_WORDS))
_IN, _OUT, _STATIC, _FILLER = map(_stems, (_IN_WORDS, _OUT_WORDS, _STATIC_WORDS, _FILLER_WORDS))
_CUE_STEMS = set(_MOOD_OF) | _stems("nod shake tilt zoom push pull") | _LOOK | _BROW | _RAISE
_PUSH = _stems("push zoom dolly dollies")
_CAMERA_VERBS = _PUSH | _stems("pull widen move come")

# "then" and its kin start the next slot; "finally" puts what follows at the end; full stops
# and semicolons only separate clauses.
_SEPARATOR = re.compile(
    r"(\bthen\b|\bafter that\b|\bafterwards?\b|\bnext\b|\blater\b|\bfinally\b|\beventually\b"
    r"|\b(?:at|in|towards?|near) the (?:very )?end\b|\bto finish\b|\bat last\b|[.;!?])"
)
_ADVANCE = re.compile(r"then|after that|afterwards?|next|later")
_END_BEFORE = re.compile(r"finally|eventually")

# --- parsing ---------------------------------------------------------------------------------


@dataclass
class _Clause:
    words: list[str]  # as written, lower case
    slot: int
    at_end: bool
    used: set[int] = field(default_factory=set)
    stems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stems = [stem(w) for w in self.words]

    def strength_near(self, i: int, span: int = 3) -> float:
        """Intensifiers within `span` words of word i (either side), multiplied."""
        scale = 1.0
        for j in range(max(0, i - span), min(len(self.stems), i + span + 1)):
            if j != i and j not in self.used and self.stems[j] in _INTENSIFY:
                scale *= _INTENSIFY[self.stems[j]]
                self.used.add(j)
        return float(np.clip(scale, 0.3, 2.0))

    def speed(self) -> float:
        found = [j for j, s in enumerate(self.stems) if s in _SPEED]
        self.used.update(found)
        return _SPEED[self.stems[found[0]]] if found else 1.0

    def negated(self, i: int) -> list[int]:
        return [j for j in range(max(0, i - 3), i) if self.stems[j] in _NEGATE]

    def find(self, i: int, wanted: set[str] | dict, ahead: int = 5) -> int | None:
        """Index of the first word after word i (within `ahead`) whose stem is in `wanted`."""
        for j in range(i + 1, min(len(self.stems), i + 1 + ahead)):
            if self.stems[j] in wanted:
                return j
        return None

    def says(self, *words: str) -> bool:
        return any(w in self.words for w in words)


def modifiers(prompt: str) -> Modifiers:
    """Parse `prompt` (any text; "" is neutral) into Modifiers, and log what was understood and
    what was ignored."""
    if not prompt or not prompt.strip():
        return NEUTRAL
    clauses = _clauses(prompt)
    cues: list[Cue] = []
    ignored: list[str] = []
    for clause in clauses:
        found, negated = _read_clause(clause)
        cues += found
        ignored += negated
        ignored += [
            w for j, (w, s) in enumerate(zip(clause.words, clause.stems, strict=True))
            if j not in clause.used and s not in _FILLER and len(w) > 1
        ]  # fmt: skip
    n_slots = max((c.slot for c in clauses if not c.at_end), default=0) + 1
    mods = _combine(cues, n_slots, ignored)
    if mods.understood or mods.ignored:
        log.debug("%s", mods.summary())  # users see it in the pipeline's progress report
    return mods


def _clauses(prompt: str) -> list[_Clause]:
    """The prompt cut at separators; each clause knows its slot and whether it is "at the end"."""
    parts = _SEPARATOR.split(prompt.lower().replace("\u2019", "'"))
    clauses: list[_Clause] = []
    slot, advance, end_next = 0, False, False
    for k, part in enumerate(parts):
        if k % 2:  # a separator
            sep = part.strip()
            if _ADVANCE.fullmatch(sep):
                advance = True
            elif _END_BEFORE.fullmatch(sep):
                end_next = True
            elif sep not in ".;!?":  # "at the end": of what follows, or else of what came before
                following = parts[k + 1] if k + 1 < len(parts) else ""
                if re.search(r"[a-z]", following):
                    end_next = True
                elif clauses:
                    clauses[-1].at_end, clauses[-1].slot = True, 0
            continue
        words = [w.replace("'", "") for w in re.findall(r"[a-z']+", part)]
        if not words:
            continue
        if advance and any(not c.at_end for c in clauses):
            slot += 1
        advance = False
        clauses.append(_Clause(words, 0 if end_next else slot, end_next))
        end_next = False
    return clauses


def _read_clause(c: _Clause) -> tuple[list[Cue], list[str]]:
    """Cues found in one clause, and the phrases that were negated (reported as ignored)."""
    cues: list[Cue] = []
    negated: list[str] = []

    def add(kind: str, name: str, i: int, *extra: int | None, strength: float | None = None) -> None:
        span = [i, *(j for j in extra if j is not None)]
        c.used.update(span)
        words = " ".join(c.words[min(span) : max(span) + 1])
        if nots := c.negated(min(span)):
            c.used.update(nots)
            negated.append(f"{c.words[nots[0]]} {words}")
            return
        level = c.strength_near(i) if strength is None else strength
        cues.append(Cue(kind, name, level, c.slot, c.at_end, c.speed(), words))

    for i, s in enumerate(c.stems):
        if i in c.used:
            continue
        if s == "nod":
            add("action", "nod", i)
        elif s in ("shak", "wag") and (j := c.find(i, _stems("head no"), 3)) is not None:
            add("action", "shake", i, j)
        elif (j := _brow_raise(c, i)) is not None:
            add("action", "raise_brows", i, j)
        elif s in ("tilt", "cock", "lean"):
            j = c.find(i, _stems("left right"), 5)
            add("action", f"tilt_{c.stems[j]}" if j is not None else "tilt", i, j)
        elif s in _LOOK and (j := c.find(i, _DIRECTION, 5)) is not None:
            add("action", f"look_{_DIRECTION[c.stems[j]]}", i, j)
        elif s in _CAMERA_VERBS:
            _camera(c, i, s, add)
        elif s in _STATIC and c.says("camera", "shot", "frame", "framing"):
            add("camera", "static", i, strength=1.0)
        elif s in _MOOD_OF and not (s in _INTENSIFY and _cue_ahead(c, i)):
            add("mood", _MOOD_OF[s], i)
    return cues, negated


def _brow_raise(c: _Clause, i: int) -> int | None:
    """For "raises her eyebrows" or "eyebrows go up" at word i: the index of the other word."""
    if c.stems[i] in _BROW:
        return c.find(i, _RAISE | {"up", "go"}, 3)
    return c.find(i, _BROW, 4) if c.stems[i] in _RAISE else None


def _cue_ahead(c: _Clause, i: int) -> bool:
    """True when a cue word follows word i closely (then word i qualifies it: "a warm smile")."""
    return c.find(i, _CUE_STEMS, 3) is not None


def _camera(c: _Clause, i: int, s: str, add) -> None:
    inward, outward = c.find(i, _IN, 3), c.find(i, _OUT, 3)
    about_camera = c.says("camera", "shot", "lens") or s in _PUSH
    if s in ("pull", "widen") or (outward is not None and (inward is None or outward < inward)):
        if about_camera or s == "widen" or (s == "pull" and outward == i + 1):
            add("camera", "pull_out", i, outward)
    elif about_camera and (inward is not None or s in _PUSH):
        add("camera", "push_in", i, inward)


def _combine(cues: list[Cue], n_slots: int, ignored: list[str]) -> Modifiers:
    """Fold the cues into Modifiers: motion scales are the product over the moods (each
    softened by its strength), the first mood's smile is the scalar `smile`. A mood said twice
    in one clause counts once."""
    unique: dict[tuple, Cue] = {}
    for cue in cues:
        key = (cue.kind, cue.name, cue.slot, cue.at_end)
        if key not in unique or cue.strength > unique[key].strength:
            unique[key] = cue
    cues = list(unique.values())
    scales = dict(head=1.0, nod=1.0, brow=1.0, blink=1.0, body=1.0)
    moods = [c for c in cues if c.kind == "mood"]
    for cue in moods:
        mood = MOODS[cue.name]
        for scale in scales:
            scales[scale] *= 1.0 + (getattr(mood, scale) - 1.0) * min(cue.strength, 1.5)
    understood = [_describe(c, n_slots) for c in cues]
    first = min(moods, key=lambda c: (c.at_end, c.slot), default=None)
    return Modifiers(
        head_scale=scales["head"],
        nod_scale=scales["nod"],
        blink_rate_scale=scales["blink"],
        brow_scale=scales["brow"],
        smile=float(np.clip(MOODS[first.name].smile * first.strength, 0, 1)) if first else 0.0,
        body_scale=scales["body"],
        cues=tuple(cues),
        n_slots=n_slots,
        understood=tuple(dict.fromkeys(understood)),
        ignored=tuple(dict.fromkeys(ignored)),
    )


def _describe(cue: Cue, n_slots: int) -> str:
    when = " at the end" if cue.at_end else (f" in part {cue.slot + 1} of {n_slots}" if n_slots > 1 else "")
    level = "" if abs(cue.strength - 1) < 1e-6 else f" x{cue.strength:.2g}"
    pace = "" if cue.speed == 1 else (" slowly" if cue.speed < 1 else " quickly")
    return f"{cue.kind} {cue.name}{level}{pace}{when} ({cue.words!r})"


# --- time: where the cues fall in the clip ---------------------------------------------------

END_SHARE = 0.3  # "at the end" takes at most this share of the clip
END_S = 2.5  # and at most this many seconds


def windows(mods: Modifiers, duration_s: float) -> tuple[list[tuple[float, float]], tuple[float, float]]:
    """(slot windows, end window) in seconds: the slots share the clip equally, except for the
    last seconds when some cue is "at the end"."""
    end_len = min(END_S, END_SHARE * duration_s) if any(c.at_end for c in mods.cues) else 0.0
    body_end = duration_s - end_len
    edges = np.linspace(0.0, body_end, mods.n_slots + 1)
    return [(float(a), float(b)) for a, b in itertools.pairwise(edges)], (body_end, duration_s)


def window_of(cue: Cue, mods: Modifiers, duration_s: float) -> tuple[float, float]:
    slots, end = windows(mods, duration_s)
    return end if cue.at_end else slots[min(cue.slot, len(slots) - 1)]


MOOD_EASE_S = 0.6  # a change of mood takes this long


def mood_curves(mods: Modifiers, times_s: np.ndarray, duration_s: float) -> dict[str, np.ndarray]:
    """{"smile", "frown", "brow_raise", "brow_furrow", "pitch_deg"}: (n,) float64 held face
    targets; each mood holds from the start of its window until the next mood begins."""
    names = ("smile", "frown", "brow_raise", "brow_furrow", "pitch_deg")
    out = {name: np.zeros(times_s.size) for name in names}
    moods = sorted(mods.of_kind("mood"), key=lambda c: window_of(c, mods, duration_s)[0])
    for cue in moods:
        start = window_of(cue, mods, duration_s)[0]
        # The first mood holds from the very start (no fade-in on the first frame).
        rise = np.ones(times_s.size) if start <= 0 else ramp(times_s, start - MOOD_EASE_S / 2, MOOD_EASE_S)
        mood = MOODS[cue.name]
        for name in names:
            target = getattr(mood, name) * (cue.strength if name != "pitch_deg" else 1.0)
            target = float(np.clip(target, 0.0, 1.0)) if name != "pitch_deg" else target
            out[name] = out[name] + rise * (target - out[name])
    return out

"""The prompt vocabulary (talkies.motion.prompt) and what the planners do with it."""

from __future__ import annotations

import numpy as np
import pytest
from motion_helpers import phones_of, portrait_rig, sequence, synthetic_speech

from talkies import motion
from talkies.motion import prompt
from talkies.options import AnimateOptions
from talkies.tracks import MotionTrack, SpeechTrack, frame_count

RIG = portrait_rig()


def names(text: str, kind: str | None = None) -> list[str]:
    return [c.name for c in prompt.modifiers(text).cues if kind is None or c.kind == kind]


def speech(seconds: float = 8.0) -> SpeechTrack:
    rows, duration = sequence("AA:0.2 M:0.1 IY:0.2 " * int(seconds / 0.5))
    return synthetic_speech(phones_of(rows), duration)


def plan(text: str, seconds: float = 8.0, seed: int = 0) -> MotionTrack:
    s = speech(seconds)
    return motion.plan(s, RIG, frame_count(s.duration_s, 25), AnimateOptions(prompt=text, seed=seed))


@pytest.mark.parametrize(
    "word", ["smile", "smiles", "smiling", "smiled", "happy", "happily", "grins", "cheerful"]
)
def test_smile_inflections_and_synonyms_mean_happy(word: str) -> None:
    assert names(f"she {word}", "mood") == ["happy"]


@pytest.mark.parametrize(
    ("text", "mood"),
    [
        ("he looks serious", "serious"),
        ("a stern expression", "serious"),
        ("sadly", "sad"),
        ("gloomy and upset", "sad"),
        ("furious", "angry"),
        ("she gets angry", "angry"),
        ("looks astonished", "surprised"),
        ("relaxed, peaceful", "calm"),
        ("very excited", "energetic"),
        ("speaks energetically", "energetic"),
    ],
)
def test_moods(text: str, mood: str) -> None:
    assert names(text, "mood") == [mood]


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("nods", "nod"),
        ("nodding along", "nod"),
        ("shakes her head", "shake"),
        ("shaking his head", "shake"),
        ("looks left", "look_left"),
        ("glances to the left", "look_left"),
        ("turns his head to the right", "look_right"),
        ("gazes upward", "look_up"),
        ("looks down", "look_down"),
        ("looks into the camera", "look_camera"),
        ("raises her eyebrows", "raise_brows"),
        ("eyebrows go up", "raise_brows"),
        ("tilts her head", "tilt"),
        ("tilting the head to the left", "tilt_left"),
    ],
)
def test_actions(text: str, action: str) -> None:
    assert names(text, "action") == [action]


@pytest.mark.parametrize(
    ("text", "camera", "speed"),
    [
        ("camera slowly pushes in", "push_in", 0.5),
        ("zooms in slowly", "push_in", 0.5),
        ("the camera quickly zooms in", "push_in", 2.0),
        ("camera pulls out", "pull_out", 1.0),
        ("zoom out", "pull_out", 1.0),
        ("static camera", "static", 1.0),
    ],
)
def test_camera(text: str, camera: str, speed: float) -> None:
    (cue,) = prompt.modifiers(text).of_kind("camera")
    assert (cue.name, cue.speed) == (camera, speed)


def test_intensity_words_scale_the_cue() -> None:
    (warm,) = prompt.modifiers("smiles warmly").cues
    (slight,) = prompt.modifiers("smiles slightly").cues
    (plain,) = prompt.modifiers("smiles").cues
    assert slight.strength < plain.strength == 1.0 < warm.strength


def test_then_orders_cues_in_time_and_at_the_end_comes_last() -> None:
    mods = prompt.modifiers("She nods, then looks to the left. At the end the camera zooms in.")
    by_name = {c.name: c for c in mods.cues}
    assert mods.n_slots == 2
    assert (by_name["nod"].slot, by_name["look_left"].slot) == (0, 1)
    assert by_name["push_in"].at_end and not by_name["nod"].at_end
    slots, end = prompt.windows(mods, 20.0)
    assert slots == [(0.0, 8.75), (8.75, 17.5)] and end == (17.5, 20.0)
    # "at the end" after its clause applies to that clause; "finally" to what follows.
    assert prompt.modifiers("smiles at the end").cues[0].at_end
    assert prompt.modifiers("nods. finally she smiles").of_kind("mood")[0].at_end


def test_negation_and_unknown_words_are_reported_as_ignored() -> None:
    mods = prompt.modifiers("not smiling; she dances with a guitar, then nods")
    assert names("not smiling") == []
    assert [c.name for c in mods.cues] == ["nod"]
    assert {"not smiling", "dances", "guitar"} <= set(mods.ignored)
    summary = mods.summary()
    assert "action nod" in summary and "ignored: " in summary and "'guitar'" in summary


def test_empty_prompt_is_neutral_and_says_nothing() -> None:
    assert prompt.modifiers("") == prompt.NEUTRAL == prompt.modifiers("   ")
    assert prompt.NEUTRAL.summary() == ""


def test_moods_scale_motion_as_documented() -> None:
    calm, energetic = prompt.modifiers("calm"), prompt.modifiers("energetic")
    assert calm.head_scale < 1 < energetic.head_scale
    assert prompt.modifiers("surprised").blink_rate_scale < 1


def test_smile_and_serious_give_different_mouth_corners_in_the_track() -> None:
    warm, serious = plan("she smiles warmly"), plan("he looks serious")
    assert warm.get("smile").min() > 0.6 and warm.get("frown").max() == 0
    assert serious.get("smile").max() == 0 and serious.get("frown").min() > 0.05
    assert serious.get("brow_furrow").mean() > 0.1


def test_nods_then_looks_left_is_a_pitch_oscillation_then_a_yaw_turn() -> None:
    track, plain = plan("nods, then looks left"), plan("")
    fps, n = track.fps, track.n_frames
    first, second = slice(0, n // 2), slice(n // 2 + int(0.6 * fps), n)
    pitch = track.get("head_pitch_deg") - plain.get("head_pitch_deg")
    yaw = track.get("head_yaw_deg") - plain.get("head_yaw_deg")
    # Three chin-down cycles of ~4 degrees in the first half, none in the second.
    dips = np.flatnonzero((pitch[1:-1] < pitch[:-2]) & (pitch[1:-1] <= pitch[2:]) & (pitch[1:-1] < -2))
    assert len(dips) == 3 and all(d < n // 2 for d in dips)
    assert np.abs(yaw[first]).max() < 1.0
    assert yaw[second].max() < -6.0  # image left
    assert track.get("gaze_x_deg")[second].mean() < -8.0  # the eyes go with the head


def test_camera_push_in_slowly_zooms_over_the_whole_clip() -> None:
    zoom = plan("camera slowly pushes in").get("zoom")
    assert zoom[0] == 0 and zoom[-1] > 0.1
    assert np.all(np.diff(zoom) >= -1e-7)
    assert zoom[len(zoom) // 2] == pytest.approx(zoom[-1] / 2, rel=0.15)
    assert plan("camera pulls out").get("zoom")[0] > 0.1


def test_prompt_tracks_stay_within_limits_and_are_reproducible() -> None:
    text = "Energetic! Shakes head, raises eyebrows, then tilts left and smiles broadly. Finally zooms out."
    a, b = plan(text, seconds=6.0, seed=3), plan(text, seconds=6.0, seed=3)
    motion.check_track(a, a.n_frames, 25)
    assert a.to_json() == b.to_json()
    mods = prompt.modifiers(text)
    slots, end = prompt.windows(mods, 6.0)
    middle = int(25 * sum(slots[1]) / 2)
    assert a.get("head_roll_deg")[middle] < -3  # tilted to the image's left in the second part
    assert a.get("zoom")[0] > 0.1 and a.get("zoom")[-1] < 0.01 and end[0] > 4.0
    assert a.get("brow_raise").max() > 0.6


def test_mood_and_voice_arousal_multiply_within_bounds() -> None:
    from talkies.motion import prosody

    level = np.array([-1.0, 0.0, 1.0])
    for text in ("calm", "energetic", ""):
        scale = prompt.modifiers(text).head_scale
        got = prosody.motion_scale(scale, level, prosody.HEAD_DEPTH)
        np.testing.assert_allclose(got, np.clip(scale * np.exp(prosody.HEAD_DEPTH * level), 0.35, 2.0))
        assert got[0] < got[1] < got[2] and got[1] == pytest.approx(scale)
    very = prompt.modifiers("extremely energetic and angry and happy")
    assert very.head_scale * np.exp(prosody.HEAD_DEPTH) > prosody.MOTION_SCALE[1]
    assert prosody.motion_scale(very.head_scale, level, prosody.HEAD_DEPTH)[2] == prosody.MOTION_SCALE[1]
    assert prosody.motion_scale(0.1, level, prosody.HEAD_DEPTH)[0] == prosody.MOTION_SCALE[0]

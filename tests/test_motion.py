"""motion.plan and motion.check_track on small synthetic speech (and, marked slow, on the sample
recordings with their forced-aligned phones)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from motion_fixtures import ALIGNED, RECOGNISED
from motion_helpers import (
    aperture,
    lipsync_scores,
    phones_of,
    portrait_rig,
    recorded_speech,
    sequence,
    synthetic_speech,
)

from talkies import motion
from talkies.errors import InvalidMotionError
from talkies.motion import prompt
from talkies.options import AnimateOptions
from talkies.tracks import CURVES, MotionTrack, Phone, SpeechTrack, frame_count

RIG = portrait_rig()


def speech_of(spec: str, confidence: float = 1.0, **kwargs) -> SpeechTrack:
    rows, duration = sequence(spec)
    return synthetic_speech(phones_of(rows, confidence), duration, **kwargs)


def plan(speech: SpeechTrack, fps: int = 25, seed: int = 0, prompt_text: str = "") -> MotionTrack:
    options = AnimateOptions(fps=fps, seed=seed, prompt=prompt_text)
    return motion.plan(speech, RIG, frame_count(speech.duration_s, fps), options)


def frames_in(track: MotionTrack, start_s: float, end_s: float) -> np.ndarray:
    """Indices of the frames whose time lies in [start_s, end_s]."""
    t = np.arange(track.n_frames) / track.fps
    return np.flatnonzero((t >= start_s - 1e-9) & (t <= end_s + 1e-9))


def phone(speech: SpeechTrack, index: int) -> Phone:
    return speech.phones[index]


# --- shape of the output ----------------------------------------------------------------------


def test_plan_gives_every_curve_as_float32_of_n_frames_within_limits() -> None:
    speech = speech_of("HH:0.06 EH:0.1 L:0.06 OW:0.2")
    n = frame_count(speech.duration_s, 25) + 3  # the caller decides the frame count
    track = motion.plan(speech, RIG, n, AnimateOptions())
    assert track.fps == 25 and set(track.curves) == set(CURVES)
    for name, curve in track.curves.items():
        assert curve.dtype == np.float32 and curve.shape == (n,), name
    motion.check_track(track, n, 25)  # within every limit


def test_same_seed_gives_identical_curves_and_another_seed_other_liveliness() -> None:
    speech = speech_of("M:0.08 AA:0.2 " * 30)
    first, again, other = plan(speech, seed=7), plan(speech, seed=7), plan(speech, seed=8)
    assert all(np.array_equal(first.curves[k], again.curves[k]) for k in CURVES)
    assert not np.array_equal(first.get("head_yaw_deg"), other.get("head_yaw_deg"))
    assert not np.array_equal(first.get("blink_left"), other.get("blink_left"))
    assert np.array_equal(first.get("jaw_open"), other.get("jaw_open"))  # the mouth follows the audio only


def test_prompt_changes_the_face_but_not_the_mouth() -> None:  # vocabulary: tests/test_prompt.py
    speech = speech_of("AA:0.2 M:0.1 AA:0.2")
    assert prompt.modifiers("") == prompt.Modifiers()
    warm, plain = plan(speech, prompt_text="smiles warmly"), plan(speech)
    assert warm.get("smile").min() > 0.5 and plain.get("smile").max() == 0
    assert np.array_equal(warm.get("jaw_open"), plain.get("jaw_open"))


@pytest.mark.parametrize("fps", [1, 5, 60])
def test_messy_phones_at_any_frame_rate_still_give_a_valid_track(fps: int) -> None:
    rows = [("ah0", 0.3, 0.5), ("m", 0.45, 0.52), ("XX", 0.52, 0.6), ("AA1", 0.6, 0.6), ("SIL", 0.6, 0.9)]
    rows += [("B", 0.1, 0.2), ("OY", 0.9, 1.4), ("P", 1.35, 2.5)]  # unsorted, overlapping, past the end
    speech = synthetic_speech(phones_of(rows), 2.0)
    track = plan(speech, fps)
    motion.check_track(track, frame_count(2.0, fps), fps)
    if fps >= 5:  # at 1 fps every frame is "near" the p, and the closure rightly wins
        assert track.get("jaw_open").max() > 0.3


# --- mouth: bilabials, open vowels, pauses ---------------------------------------------------


@pytest.mark.parametrize("fps", [25, 30, 60])
@pytest.mark.parametrize(
    "spec",
    [
        "M:0.08 AA:0.15 M:0.08 AA:0.15",
        "B:0.03 AA:0.06 P:0.04 AA:0.05 M:0.03 AE:0.07",  # short bilabials between short vowels
        "AH:0.05 B:0.03 AH:0.04 M:0.05 AY:0.09 P:0.03 AO:0.05",
    ],
)
def test_bilabials_close_and_open_vowels_open_on_frames(spec: str, fps: int) -> None:
    speech = speech_of(spec)
    track = plan(speech, fps)
    scores = lipsync_scores(track, speech.phones)
    assert scores.bilabials_closed == 1.0, scores
    assert scores.open_vowels_open == 1.0, scores


def test_closure_is_full_and_starts_before_the_release() -> None:
    speech = speech_of("AA:0.3 M:0.1 AA:0.3")
    track = plan(speech, fps=60)
    m = phone(speech, 2)
    shut = frames_in(track, 0.0, speech.duration_s)[track.get("lip_press") > 0.99]
    assert shut.size and track.get("jaw_open")[shut].max() < 0.01
    t = shut / 60
    assert t.max() - t.min() >= 0.07 - 1 / 60  # held about 70 ms at least
    # Fully shut between 40 ms and 120 ms before the release (the mouth leads by MOUTH_LEAD_S).
    assert 0.04 <= m.end_s - motion.MOUTH_LEAD_S - t.min() <= 0.12
    assert t.max() <= m.end_s


def test_lip_press_stays_off_away_from_bilabials() -> None:
    speech = speech_of("B:0.07 AA:0.3 B:0.05 AH:0.07 B:0.04 L:0.05 IY:0.2")
    track = plan(speech, fps=25)
    press = track.get("lip_press")
    aa, ah = phone(speech, 2), phone(speech, 4)
    assert press[frames_in(track, aa.start_s + 0.1, aa.end_s - 0.1)].max() < 0.05
    centre = int(np.argmin(np.abs(np.arange(track.n_frames) / 25 - 0.5 * (ah.start_s + ah.end_s))))
    assert press[centre] < 0.1  # a short vowel between two b's is still seen open


def test_long_pause_closes_the_mouth() -> None:
    speech = speech_of("AA:0.25 SIL:0.6 AA:0.25")
    track = plan(speech)
    pause = phone(speech, 2)
    inside = frames_in(track, pause.start_s, pause.end_s)
    closed = aperture(track)[inside] < 0.15 * aperture(track).max()
    assert closed.mean() >= 0.9
    assert track.get("jaw_open")[inside[2:-2]].max() < 0.01  # lips together, not just "small"


def test_long_pause_rests_the_lips_lightly_pressed_not_hard() -> None:
    # Lips that merely touch read as parted on a photo that smiles with teeth: a resting mouth
    # presses them lightly together, and lets go as speech resumes.
    speech = speech_of("AA:0.25 SIL:0.6 AA:0.25")
    track = plan(speech)
    pause, after = phone(speech, 2), phone(speech, 3)
    press = track.get("lip_press")
    inside = frames_in(track, pause.start_s + 0.05, pause.end_s - 0.05)
    assert press[inside].min() >= 0.2 and press[inside].max() <= 0.8
    assert press[frames_in(track, after.start_s + 0.05, after.end_s - 0.05)].max() < 0.05


def _with_dip(speech: SpeechTrack, start_s: float, end_s: float, level: float) -> SpeechTrack:
    """The track with its loudness dropped to `level` over [start_s, end_s), voiced there
    (a murmur, like an /m/)."""
    loud, voicing = speech.loudness.copy(), speech.voicing.copy()
    t = np.arange(loud.size) * speech.hop_s
    inside = (t >= start_s) & (t < end_s)
    loud[inside], voicing[inside] = level, 1.0
    return dataclasses.replace(speech, loudness=loud, voicing=voicing)


@pytest.mark.parametrize("hidden", ["K", "SIL", "UW"])
def test_a_deep_loudness_dip_closes_the_lips_where_the_recogniser_heard_no_bilabial(hidden: str) -> None:
    # "picture" heard as "k-icture", the "m" of "me" heard as a short silence, the "m" of
    # "moon" swallowed by its vowel: the dip in loudness still says the lips may have closed.
    spec = "AA:0.25 UW:0.3 AA:0.25" if hidden == "UW" else f"AA:0.25 {hidden}:0.08 AA:0.25"
    speech = speech_of(spec, confidence=0.75)
    middle = phone(speech, 2)
    at = 0.5 * (middle.start_s + middle.end_s)
    dipped = _with_dip(speech, at - 0.04, at + 0.04, 0.05)
    window = frames_in(dipped_track := plan(dipped), at - 0.08, at + 0.08)
    assert aperture(dipped_track)[window].min() < 0.05
    if hidden != "SIL":  # (a synthetic silence is itself a dip, though unvoiced)
        assert plan(speech).get("lip_press")[window].max() < 0.05  # no dip, no closure


def test_a_dip_on_a_confidently_recognised_k_is_left_a_k() -> None:
    speech = speech_of("AA:0.25 K:0.08 AA:0.25", confidence=0.95)
    k = phone(speech, 2)
    track = plan(_with_dip(speech, k.start_s, k.end_s, 0.05))
    assert track.get("lip_press")[frames_in(track, k.start_s - 0.1, k.end_s + 0.1)].max() < 0.05


def test_a_dip_on_a_sound_that_cannot_hide_a_bilabial_leaves_the_lips_alone() -> None:
    # "s" and "f" are quiet too, but the lips cannot be shut while making them; and a short
    # unvoiced gap between vowels is any stop, where the mouth shape holds.
    speech = speech_of("AA:0.25 S:0.08 AA:0.25")
    s = phone(speech, 2)
    track = plan(_with_dip(speech, s.start_s, s.end_s, 0.05))
    assert track.get("lip_press")[frames_in(track, s.start_s - 0.1, s.end_s + 0.1)].max() < 0.05
    gap = speech_of("AA:0.25 SIL:0.08 AA:0.25")
    assert plan(gap).get("lip_press")[frames_in(track, s.start_s - 0.1, s.end_s + 0.1)].max() < 0.05


def test_clip_starts_and_ends_with_the_mouth_closed() -> None:
    rows = [("SIL", 0.0, 0.15), ("AA", 0.15, 0.45), ("SIL", 0.45, 0.6)]  # edge pauses under 350 ms
    track = plan(synthetic_speech(phones_of(rows), 0.6))
    assert track.get("jaw_open")[0] < 0.05 and track.get("jaw_open")[-1] < 0.05


def test_short_pause_holds_the_shape_and_medium_pause_relaxes_it() -> None:
    def lowest_in_pause(pause_s: float) -> float:
        speech = speech_of(f"AA:0.25 SIL:{pause_s} AA:0.25")
        track = plan(speech, fps=60)
        pause = phone(speech, 2)
        return float(track.get("jaw_open")[frames_in(track, pause.start_s, pause.end_s)].min())

    open_jaw = float(plan(speech_of("AA:0.6"), fps=60).get("jaw_open").max())
    held, relaxed = lowest_in_pause(0.08), lowest_in_pause(0.25)
    assert held > 0.6 * open_jaw
    assert relaxed < 0.7 * held


def test_vowel_rounding_anticipates_across_consonants() -> None:
    speech = speech_of("IY:0.2 S:0.08 T:0.08 UW:0.25")
    track = plan(speech, fps=100)
    s = phone(speech, 2)
    rounding = track.get("lip_round")
    assert rounding[frames_in(track, s.start_s + 0.02, s.start_s + 0.04)].max() > 0.2  # "stew": rounds early
    assert rounding[frames_in(track, 0.5, 0.6)].max() < 0.1  # but not in the middle of the "ee"


# --- mouth: no flicker, trust, loudness, acoustic path -----------------------------------------


def _one_frame_spikes(curve: np.ndarray, size: float) -> int:
    """Frames that stand out from both neighbours by more than `size` in the same direction."""
    up = (curve[1:-1] - np.maximum(curve[:-2], curve[2:])) > size
    down = (np.minimum(curve[:-2], curve[2:]) - curve[1:-1]) > size
    return int(up.sum() + down.sum())


@pytest.mark.parametrize("short", ["UW:0.06", "IY:0.06", "F:0.06", "T:0.03", "UW:0.03"])
def test_a_short_phone_does_not_flicker(short: str) -> None:
    speech = speech_of(f"AA:0.3 {short} AA:0.3 {short} EH:0.3")
    track = plan(speech, fps=25)
    for name in ("jaw_open", "lip_round", "lip_wide", "lip_tuck"):
        assert _one_frame_spikes(track.get(name), 0.25) == 0, name


def test_no_mouth_shape_is_shorter_than_about_70_ms() -> None:
    speech = speech_of("AA:0.3 IY:0.05 AA:0.3")
    wide = plan(speech, fps=100).get("lip_wide")
    above_half = np.flatnonzero(wide > 0.5 * wide.max())
    assert (above_half.max() - above_half.min() + 1) / 100 >= 0.07


def test_doubtful_phones_weigh_less_than_sure_ones() -> None:
    def lowest_jaw(confidence: float) -> float:
        rows, duration = sequence("AA:0.3 UW:0.04 AA:0.3")
        phones = tuple(
            Phone(p.label, p.start_s, p.end_s, confidence if p.label == "UW" else 1.0)
            for p in phones_of(rows)
        )
        speech = synthetic_speech(phones, duration)
        flat = np.where(speech.speech, 0.9, 0.0).astype(np.float32)  # acoustics hear no "oo"
        jaw = plan(dataclasses.replace(speech, openness=flat), fps=100).get("jaw_open")
        return float(jaw[55:95].min())

    assert lowest_jaw(0.0) > lowest_jaw(1.0) + 0.05


def test_low_confidence_phones_defer_to_the_acoustic_estimate() -> None:
    # The phones say "oo" (small, rounded), the acoustics say wide open and unrounded.
    rows, duration = sequence("UW:0.5")
    jaws = []
    for confidence in (1.0, 0.1):
        speech = synthetic_speech(phones_of(rows, confidence), duration)
        speech = dataclasses.replace(speech, openness=np.where(speech.speech, 0.9, 0).astype(np.float32))
        jaws.append(plan(speech).get("jaw_open").max())
    assert jaws[1] > jaws[0] + 0.15


def test_loudness_scales_opening_but_quiet_vowels_still_open() -> None:
    speech = speech_of("AA:0.4 SIL:0.5 AA:0.4")
    second = phone(speech, 3)
    quiet = speech.loudness.copy()
    quiet[int(second.start_s / speech.hop_s) :] *= 0.2
    track = plan(dataclasses.replace(speech, loudness=quiet))
    jaw = track.get("jaw_open")
    loud_peak = jaw[frames_in(track, 0.5, 0.9)].max()
    quiet_peak = jaw[frames_in(track, second.start_s, second.end_s)].max()
    assert 0.55 * loud_peak < quiet_peak < 0.9 * loud_peak


def test_without_phones_the_mouth_follows_the_acoustic_opening() -> None:
    rows, duration = sequence("AA:0.2 T:0.1 IY:0.2 SIL:0.6 AO:0.3")
    speech = dataclasses.replace(synthetic_speech(phones_of(rows), duration), phones=(), language="")
    track = plan(speech, fps=25)
    t = np.arange(track.n_frames) / 25
    expected = np.interp(t, np.arange(speech.n_hops) * speech.hop_s, speech.openness)
    assert np.corrcoef(expected, track.get("jaw_open"))[0, 1] > 0.8
    pause = frames_in(track, 1.1, 1.4)  # the middle of the 600 ms silence
    assert track.get("jaw_open")[pause].max() < 0.01


def test_silent_clip_keeps_the_mouth_shut_and_the_face_alive() -> None:
    n = 100
    zeros = np.zeros(n, np.float32)
    speech = SpeechTrack(1.0 * n / 100, 0.01, (), zeros, zeros, zeros, zeros, zeros, zeros, zeros > 0, "")
    track = plan(speech)
    assert track.get("jaw_open").max() == 0.0
    assert np.ptp(track.get("head_yaw_deg")) > 0.0


# --- liveliness ------------------------------------------------------------------------------------


def _blinks(curve: np.ndarray) -> list[np.ndarray]:
    """Frame index runs where the eye is (partly) closed."""
    closed = np.flatnonzero(curve > 0.05)
    return np.split(closed, np.flatnonzero(np.diff(closed) > 1) + 1) if closed.size else []


def test_blink_rate_is_human_and_higher_while_talking() -> None:
    talking = speech_of("AA:0.2 M:0.08 IY:0.2 S:0.1 " * 100)  # ~58 s of speech
    silent = dataclasses.replace(
        talking, phones=(), speech=np.zeros_like(talking.speech), openness=np.zeros_like(talking.openness)
    )
    minutes = talking.duration_s / 60
    rates = {
        name: np.mean([len(_blinks(plan(s, seed=seed).get("blink_left"))) / minutes for seed in range(4)])
        for name, s in (("talking", talking), ("rest", silent))
    }
    assert 10 <= rates["rest"] <= 24 and 18 <= rates["talking"] <= 34
    assert rates["talking"] > rates["rest"]


def test_blinks_last_150_to_350_ms_close_faster_than_they_open_and_mostly_shut_two_frames() -> None:
    speech = speech_of("AA:0.2 M:0.08 IY:0.2 S:0.1 " * 60)
    depths, close_share = [], []
    for seed in range(3):
        track = plan(speech, fps=100, seed=seed)
        left, right = track.get("blink_left"), track.get("blink_right")
        assert np.corrcoef(left, right)[0, 1] > 0.95  # both eyes together
        for run in _blinks(left):
            assert 0.15 <= (len(run) + 1) / 100 <= 0.35
            peak = run[np.argmax(left[run])]
            depths.append(left[peak])
            close_share.append((peak - run[0]) / len(run))
    assert np.median(close_share) < 0.45
    assert 0.03 < np.mean(np.array(depths) < 0.99) < 0.25  # partial blinks: fewer than a quarter
    at_25 = plan(speech, fps=25).get("blink_left")
    shut = [int(np.sum(at_25[r] > 0.99)) for r in _blinks(at_25)]
    assert np.mean(np.array(shut) >= 2) > 0.75, shut  # the lids stay shut for two frames


def test_head_moves_smoothly_within_a_few_degrees() -> None:
    speech = speech_of("AA:0.2 M:0.08 IY:0.2 S:0.1 SIL:0.4 " * 20)
    track = plan(speech, fps=25)
    for name in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg"):
        angle = track.get(name)
        assert np.abs(angle).max() < 7.0, name
        assert np.std(angle) > 0.2, f"{name} is dead still"
        assert np.abs(np.diff(angle)).max() < 1.0, f"{name} jumps"  # 25 degrees a second
        spectrum = np.abs(np.fft.rfft((angle - angle.mean()) * np.hanning(angle.size))) ** 2
        fast = np.fft.rfftfreq(angle.size, 1 / 25) > 6.0
        assert spectrum[fast].sum() < 0.001 * spectrum.sum(), f"{name} jitters"


def test_body_curves_only_move_when_the_photo_shows_a_body() -> None:
    speech = speech_of("AA:0.2 M:0.08 IY:0.2 " * 10)
    options = AnimateOptions()
    n = frame_count(speech.duration_s, 25)
    with_body = motion.plan(speech, portrait_rig(body=True), n, options)
    face_only = motion.plan(speech, portrait_rig(body=False), n, options)
    assert np.ptp(with_body.get("torso_sway_px")) > 1.0
    assert not face_only.get("torso_sway_px").any()
    assert np.ptp(with_body.get("breath")) > np.ptp(face_only.get("breath")) > 0.0


# --- check_track ---------------------------------------------------------------------------------


def track_of(n: int = 50, fps: float = 25, **curves: np.ndarray) -> MotionTrack:
    base = {"jaw_open": np.zeros(n, np.float32), "head_yaw_deg": np.zeros(n, np.float32)}
    return MotionTrack(fps=fps, curves={**base, **curves})


def test_check_track_accepts_a_fitting_track() -> None:
    motion.check_track(track_of(jaw_open=np.full(50, 1.02, np.float32)), 50, 25)


@pytest.mark.parametrize(
    ("track", "words"),
    [
        (track_of(fps=30), ["30 fps", "25 fps"]),
        (track_of(n=40), ["jaw_open", "(40,)", "50 frames"]),
        (track_of(jaw_open=np.full(50, 1.5, np.float32)), ["jaw_open", "1.5", "1.05"]),
        (track_of(blink_left=-np.ones(50, np.float32)), ["blink_left", "-1", "-0.05"]),
        (track_of(head_yaw_deg=np.full(50, 90.0, np.float32)), ["head_yaw_deg", "90", "45"]),
        (track_of(jaw_open=np.array([np.nan] * 50, np.float32)), ["jaw_open", "NaN"]),
        (track_of(jaw_opn=np.zeros(50, np.float32)), ["jaw_opn", "unknown"]),
        (MotionTrack(fps=25, curves={}), ["no curves"]),
    ],
)
def test_check_track_names_the_value_and_the_expectation(track: MotionTrack, words: list[str]) -> None:
    with pytest.raises(InvalidMotionError) as caught:
        motion.check_track(track, 50, 25)
    assert all(w in str(caught.value) for w in words), str(caught.value)
    assert caught.value.field == "motion"


def test_a_track_survives_its_json_round_trip() -> None:
    speech = speech_of("AA:0.2 M:0.08 IY:0.2")
    track = plan(speech)
    back = MotionTrack.from_json(track.to_json())
    motion.check_track(back, track.n_frames, 25)


# --- the sample recordings, phones from a forced alignment / a phone loop ----------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["speech", "speech_short", "espeak_long"])
def test_sample_recordings_meet_the_lip_sync_rules_on_curves(name: str) -> None:
    truth = phones_of(ALIGNED[name])
    track = plan(recorded_speech(name, truth))
    scores = lipsync_scores(track, truth)
    assert scores.bilabials_closed >= 0.9 and scores.open_vowels_open >= 0.8, scores
    assert scores.pauses_closed >= 0.9, scores
    # Noisy phone-loop labels lose some closures (that is the audio stage's to improve), but the
    # mouth must still open on most open vowels and shut in the pauses.
    noisy = lipsync_scores(plan(recorded_speech(name, phones_of(RECOGNISED[name], 0.7))), truth)
    assert noisy.open_vowels_open >= 0.6 and noisy.pauses_closed >= 0.9, noisy

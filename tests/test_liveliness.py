"""Liveliness acceptance (issue 4) on rendered, decoded frames, with bench/liveliness.py's
measurements; and those measurements checked on synthetic data, so they can be trusted.

Fast renders use 10 fps and the short clips; the 30 s figures (blinks per minute, head pose
while speaking) are marked slow. The voice's arousal scaling the motion is checked on the
planned curves (no rendering)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from motion_helpers import portrait_rig  # noqa: E402

from bench import liveliness as lv  # noqa: E402
from talkies.motion import expression, prosody, timeline  # noqa: E402
from talkies.motion.prompt import NEUTRAL  # noqa: E402
from talkies.tracks import Phone, SpeechTrack, frame_count  # noqa: E402

EXAMPLES = ROOT / "examples"


# --- the measurements, on data whose answer is known ---------------------------------------


def _rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Image axes (x right, y down, z away): + yaw turns the face (normal -z) towards +x,
    + pitch lifts the chin (normal towards -y), + roll is clockwise on screen."""
    y, p, r = np.radians([yaw, pitch, roll])
    r_yaw = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    r_pitch = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    r_roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return r_roll @ r_yaw @ r_pitch


def _head(size: int = 720) -> np.ndarray:
    """(478, 3) a rounded face: points on the front of an ellipsoid, centred in the frame."""
    rng = np.random.default_rng(1)
    u, v = rng.uniform(-1, 1, 478), rng.uniform(-1, 1, 478)
    keep = u**2 + v**2 < 1
    u, v = np.where(keep, u, u * 0.7), np.where(keep, v, v * 0.7)
    depth = -np.sqrt(np.clip(1 - u**2 - v**2, 0.05, 1))
    return np.column_stack([size / 2 + 80 * u, size / 2 + 100 * v, 70 * depth]).astype(np.float64)


def test_head_angles_recovers_known_rotations_with_talkies_signs() -> None:
    rest = _head()
    centre = rest.mean(axis=0)
    truth = np.array([[0, 0, 0], [5, 0, 0], [-8, 2, 0], [0, -4, 3], [3, 3, -2]], float)
    frames = np.stack([(rest - centre) @ _rotation(*a).T + centre for a in truth])
    got = lv.head_angles(rest, frames[:, :, :2], (720, 720))
    np.testing.assert_allclose(got, truth, atol=0.6)


def test_find_blinks_counts_dips_and_their_durations() -> None:
    fps = 25.0
    openness = np.full(int(60 * fps), 0.3)
    for start, closure in ((100, [0.5, 1.0, 0.4]), (600, [0.3, 0.6, 0.6, 0.3]), (1000, [0.25])):
        openness[start : start + len(closure)] *= 1 - np.array(closure)
    blinks = lv.find_blinks(openness, fps)
    assert blinks.count == 2  # the third never closes past 35 %
    assert blinks.durations_ms == (160.0, 200.0)
    assert blinks.per_min == pytest.approx(2.0)


def test_high_band_share_separates_smooth_motion_from_shake() -> None:
    fps, t = 25.0, np.arange(750) / 25.0
    smooth = np.column_stack([10 * np.sin(2 * np.pi * 0.3 * t), 5 * np.cos(2 * np.pi * 0.7 * t)])
    share, fast = lv.high_band_share(smooth, fps)
    assert share < 1e-3 and fast < 0.05
    shaky = smooth + np.column_stack([np.sin(2 * np.pi * 9 * t), np.zeros_like(t)])
    share, fast = lv.high_band_share(shaky, fps)
    assert 0.005 < share < 0.05 and fast == pytest.approx(np.sqrt(0.5), rel=0.1)


def test_corner_height_is_positive_for_raised_corners() -> None:
    face = np.zeros((2, 478, 2))
    face[:, 468], face[:, 473] = (0, 0), (60, 0)  # irises 60 px apart
    face[:, 13], face[:, 14] = (30, 100), (30, 104)
    face[0, 61], face[0, 291] = (10, 96), (50, 96)  # corners 6 px above the lips' middle (102)
    face[1, 61], face[1, 291] = (10, 105), (50, 105)
    np.testing.assert_allclose(lv.corner_height(face), [6 / 60, -3 / 60])


# --- rendered clips ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Render on demand, once per module: name -> lv.Rendered (720p, 10 fps)."""
    made: dict[str, lv.Rendered] = {}
    root = tmp_path_factory.mktemp("liveliness")

    def get(name: str, audio: str, prompt: str = "") -> lv.Rendered:
        if name not in made:
            made[name] = lv.render(
                EXAMPLES / "portrait.png", EXAMPLES / audio, root / f"{name}.mp4", prompt, fps=10
            )
        return made[name]

    return get


def test_smiling_and_serious_prompts_give_different_mouth_corners(clips) -> None:
    warm = lv.measure_corners(clips("smile", "speech_short.wav", "she smiles warmly"))
    serious = lv.measure_corners(clips("serious", "speech_short.wav", "he looks serious"))
    assert warm["corner_height_iod_median"] - serious["corner_height_iod_median"] > 0.01


def test_nods_then_looks_left_on_rendered_frames(clips) -> None:
    figures = lv.measure_nod_look(clips("nod_look", "speech.wav", "nods, then looks left"))
    assert figures["pitch_dips_first_half"] >= 2
    assert figures["pitch_range_first_half_deg"] > 4
    assert figures["yaw_mean_second_half_deg"] < figures["yaw_mean_first_half_deg"] - 5


def test_background_is_untouched_by_the_renderer_and_only_the_codec_costs(clips) -> None:
    r = clips("nod_look", "speech.wav", "nods, then looks left")
    far = lv.far_background(r.source)
    assert far.mean() > 0.1  # the astronaut photo has background far from her
    assert lv.psnr(lv.rendered_frames(r), r.source, far).min() >= 40.0
    decoded = lv.psnr((rgb for _, rgb in lv.read_frames(r.video)), r.source, far)
    assert decoded.min() > decoded[0] - 1.0  # no frame worse than the still first frame


def test_two_faces_with_a_mask_the_masked_face_speaks_the_other_blinks(tmp_path) -> None:
    import talkies
    from talkies import audio, face, media, motion
    from talkies.tracks import MotionTrack, frame_count

    # The planned track, with one sure blink for the silent face (the planner's are random).
    image, mask = EXAMPLES / "two_faces.png", EXAMPLES / "two_faces_mask.png"
    voice = media.load_audio(str(EXAMPLES / "speech_short.wav"))
    picture = media.load_image(str(image))
    rig = face.analyze_portrait(
        media.resize_image(picture, media.output_size(1024, 512, "720p")), media.load_mask(str(mask))
    )
    options = talkies.AnimateOptions(resolution="720p", fps=10)
    track = motion.plan(audio.analyze_speech(voice), rig, frame_count(voice.duration_s, 10), options)
    others = np.zeros(track.n_frames, np.float32)
    others[15:18] = (0.6, 1.0, 0.5)
    track = MotionTrack(track.fps, track.curves | {"blink_others": others})
    video = tmp_path / "two.mp4"
    talkies.animate(
        str(image),
        str(EXAMPLES / "speech_short.wav"),
        talkies.AnimateOptions(resolution="720p", fps=10, motion=track),
        output=str(video),
        mask=str(mask),
    )
    figures = lv.measure_two_faces(lv.Rendered(video, rig.image, track, mask))
    assert figures["both_found_share"] > 0.95
    assert figures["speaker_aperture_vs_loudness_r"] > 0.3
    assert figures["other_aperture_range"] < 0.25 * figures["speaker_aperture_range"]
    assert figures["other_blinks"] >= 1


@pytest.mark.slow
def test_thirty_seconds_of_speech_meet_the_blink_head_and_jitter_figures(tmp_path) -> None:
    r = lv.render(EXAMPLES / "portrait.png", EXAMPLES / "speech_30s.wav", tmp_path / "s30.mp4")
    f = lv.measure_speech(r)
    assert f["detected_share"] > 0.98
    assert 10 <= f["blinks_per_min"] <= 32
    assert f["blink_ms_min"] >= 80 and f["blink_ms_max"] <= 400
    assert 1.5 <= f["yaw_std_speaking_deg"] <= 6 and 1.5 <= f["pitch_std_speaking_deg"] <= 6
    assert f["forehead_energy_above_6hz"] < 0.05
    assert f["background_psnr_rendered_min_db"] >= 40


# --- arousal from the voice scales the motion (planned curves, no rendering) ------------------


def _voice(excited: bool, phones: bool = True, seconds: float = 12.0) -> SpeechTrack:
    """Two phrases (0.5-5.5 s and 6.5-11.5 s) of made-up speech. Excited: loud with strong
    contrasts, pitch swinging +-6 semitones, 6.5 syllables a second. Flat: quiet and even,
    +-0.3 semitones, 2.5 syllables a second. Same pauses, so the planners draw the same."""
    rate, swing, vowel, consonant = (6.5, 6.0, 1.0, 0.15) if excited else (2.5, 0.3, 0.35, 0.25)
    hop = 0.01
    t = np.arange(int(seconds / hop) + 1) * hop
    rows: list[tuple[str, float, float]] = [("SIL", 0.0, 0.5)]
    for start, end in ((0.5, 5.5), (6.5, 11.5)):
        edges = np.arange(start, end - 1e-9, 1.0 / rate)
        for k, a in enumerate(edges):
            b = min(a + 1.0 / rate, end)
            rows += [("T", a, a + 0.4 * (b - a)), ("AA" if k % 2 else "IY", a + 0.4 * (b - a), b)]
        rows.append(("SIL", end, 6.5 if start < 6 else seconds))
    loud, speech = np.zeros(t.size), np.zeros(t.size, bool)
    for k, (label, a, b) in enumerate(rows):
        inside = (t >= a) & (t < b)
        if label != "SIL":
            speech[inside] = True
            accent = 1.0 if not excited or k % 6 == 2 else 0.6  # the excited voice stresses some
            loud[inside] = vowel * accent if label in ("AA", "IY") else consonant
    base = 150.0 if excited else 120.0
    pitch = np.where(speech, base * 2 ** (swing * np.sin(2 * np.pi * 0.7 * t) / 12), 0.0)
    zeros = np.zeros(t.size, np.float32)
    return SpeechTrack(
        seconds,
        hop,
        tuple(Phone(*row) for row in rows) if phones else (),
        loud.astype(np.float32),
        pitch.astype(np.float32),
        speech.astype(np.float32),
        zeros,
        zeros,
        zeros,
        speech,
        "en" if phones else "",
    )


def _while_speaking_std(track, speech: SpeechTrack, name: str) -> float:
    times = np.arange(track.n_frames) / track.fps
    return float(np.std(track.get(name)[timeline.speaking(speech, times)]))


def test_arousal_reads_a_loud_wide_fast_voice_above_a_quiet_monotone_slow_one() -> None:
    excited, flat = _voice(True), _voice(False)
    times = np.arange(0, 12, 0.04)
    hot, cold = prosody.arousal_cues(excited, times), prosody.arousal_cues(flat, times)
    talking = timeline.speaking(excited, times)
    for cue in ("level", "variability", "pitch_st", "rate_hz"):
        assert hot[cue][talking].mean() > cold[cue][talking].mean(), cue
    assert hot["pitch_st"].mean() == pytest.approx(6 / np.sqrt(2), rel=0.2)  # a sine's std
    assert hot["rate_hz"][talking].mean() == pytest.approx(6.5, rel=0.15)
    assert cold["rate_hz"][talking].mean() == pytest.approx(2.5, rel=0.15)
    up, down = prosody.arousal(excited, times), prosody.arousal(flat, times)
    assert up.min() > 0.3 and down.max() < -0.3 and up.mean() - down.mean() > 1.0
    assert np.abs(np.diff(up)).max() < 0.02  # smooth in time: no jumps frame to frame
    # Without phones the syllables are counted on the loudness: the same ordering.
    bare_hot = prosody.arousal_cues(_voice(True, phones=False), times)["rate_hz"][talking].mean()
    bare_cold = prosody.arousal_cues(_voice(False, phones=False), times)["rate_hz"][talking].mean()
    assert bare_hot == pytest.approx(6.5, rel=0.25) and bare_cold == pytest.approx(2.5, rel=0.25)


def test_calm_read_speech_reads_near_neutral_arousal() -> None:
    """The LibriVox reading in examples/, analysed as the engine does (a few seconds)."""
    from talkies import audio, media

    track = audio.analyze_speech(media.load_audio(str(EXAMPLES / "speech.wav")))
    level = prosody.arousal(track, np.arange(0, track.duration_s, 0.04))
    assert abs(level.mean()) < 0.15 and np.abs(level).max() < 0.35
    gain = prosody.motion_scale(1.0, level, prosody.HEAD_DEPTH)
    assert 0.9 < gain.mean() < 1.1


def test_an_excited_voice_moves_the_head_and_brows_more_than_a_flat_one_same_seed() -> None:
    from talkies import motion
    from talkies.options import AnimateOptions

    rig = portrait_rig()
    excited, flat = _voice(True), _voice(False)
    frames = frame_count(12.0, 25)
    hot = motion.plan(excited, rig, frames, AnimateOptions(seed=5))
    cold = motion.plan(flat, rig, frames, AnimateOptions(seed=5))
    for name in ("head_yaw_deg", "head_pitch_deg", "head_roll_deg"):
        ratio = _while_speaking_std(hot, excited, name) / _while_speaking_std(cold, flat, name)
        assert 1.3 < ratio < 2.2, (name, ratio)  # exp(0.3) / exp(-0.3) at most, x1.82
    assert np.ptp(hot.get("torso_sway_px")) > np.ptp(cold.get("torso_sway_px"))
    # Brow flashes on the same accents and draws: higher with the excited voice's arousal.
    times = np.arange(frames) / 25.0
    accents = [prosody.Accent(t, 1.0) for t in np.arange(1.0, 11.0, 1.0)]
    brows = [
        expression.plan_expression(times, accents, timeline.rng(5, 4), NEUTRAL, prosody.arousal(v, times))
        for v in (excited, flat)
    ]
    assert brows[1]["brow_raise"].max() > 0.1
    assert brows[0]["brow_raise"].max() > 1.4 * brows[1]["brow_raise"].max()
    # Deterministic: the same inputs and seed give the same curves.
    assert motion.plan(excited, rig, frames, AnimateOptions(seed=5)).to_json() == hot.to_json()
    # Mood and arousal multiply, within bounds: calm on a flat voice still moves, energetic on
    # an excited one stays within the head limits.
    lively = motion.plan(excited, rig, frames, AnimateOptions(seed=5, prompt="very energetic"))
    quiet = motion.plan(flat, rig, frames, AnimateOptions(seed=5, prompt="calm"))
    motion.check_track(lively, frames, 25)
    yaw_lively = _while_speaking_std(lively, excited, "head_yaw_deg")
    yaw_quiet = _while_speaking_std(quiet, flat, "head_yaw_deg")
    assert yaw_lively > 1.5 * _while_speaking_std(hot, excited, "head_yaw_deg") / 1.3
    assert yaw_quiet > 0.3 * _while_speaking_std(cold, flat, "head_yaw_deg")
    assert np.abs(lively.get("head_yaw_deg")).max() < 12.0
    scale = prosody.motion_scale(3.0, np.ones(3), prosody.HEAD_DEPTH)
    assert np.all(scale == prosody.MOTION_SCALE[1])

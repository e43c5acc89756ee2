"""`animate()`: the orchestrator. It reads like the data-flow diagram in design.md: one call per
stage, in order. Everything heavy lives in the stage modules."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from talkies import audio, blas, face, media, motion, render
from talkies.options import AnimateOptions
from talkies.tracks import MotionTrack, frame_count

Source = str | Path | bytes


@dataclass(frozen=True)
class Progress:
    """One progress report. `stage` is one of "load", "analyse", "plan", "render";
    `done` of `total` units (frames while rendering)."""

    stage: str
    done: int
    total: int
    message: str


ProgressFn = Callable[[Progress], None]


@dataclass(frozen=True)
class Result:
    path: Path
    duration_s: float
    width: int
    height: int
    fps: int
    n_frames: int
    motion: MotionTrack
    elapsed_s: float
    # Seconds from the call to the first frame handed to the encoder (what a viewer of a
    # stream would wait for).
    first_frame_s: float = 0.0


def animate(
    image: Source,
    sound: Source,
    options: AnimateOptions | None = None,
    output: str | Path = "talking.mp4",
    mask: Source | None = None,
    progress: ProgressFn | None = None,
) -> Result:
    """Make the person in `image` speak `sound`; write an MP4 to `output`.

    A progress callback may raise `talkies.errors.Cancelled` to stop between frames; the output
    path is then left untouched (the video is written to a temporary file and moved in place only
    when complete). Raises `talkies.errors.InputError` subclasses for bad input.
    """
    with blas.one_thread():  # the engine uses the cores itself (blas.py)
        return _animate(image, sound, options, output, mask, progress)


def _animate(
    image: Source,
    sound: Source,
    options: AnimateOptions | None,
    output: str | Path,
    mask: Source | None,
    progress: ProgressFn | None,
) -> Result:
    started = time.monotonic()
    options = options or AnimateOptions()
    report = progress or (lambda p: None)
    options.validate()

    # 1. Decode and check the inputs before any heavy work.
    report(Progress("load", 0, 1, "loading inputs"))
    picture = media.load_image(image)
    voice = media.load_audio(sound, options.audio_limit_s(), options.audio_limit_note())  # stops there
    options.check_audio_duration(voice.duration_s)
    speaker_mask = media.load_mask(mask) if mask is not None else None
    size = media.output_size(picture.shape[1], picture.shape[0], options.resolution)
    n_frames = frame_count(voice.duration_s, options.fps)

    # 2. Analyse the speech (in a helper process, on the other core) while this process
    #    analyses the portrait and builds what the renderer needs of it.
    pending = audio.analyse_in_background(voice) if options.concurrent else None
    try:
        report(Progress("analyse", 0, 2, "analysing portrait"))
        rig = face.analyze_portrait(media.resize_image(picture, size), speaker_mask)
        puppet = render.prepare(rig, turbo=options.turbo_mode)
        analysing = f"{rig.faces_note}; analysing speech"
        report(Progress("analyse", 1, 2, analysing))
        tick = lambda share: report(Progress("analyse", 1, 2, analysing))  # noqa: E731
        speech = pending.result(tick) if pending else audio.analyze_speech(voice, tick)
    finally:
        if pending:
            pending.abandon()
    report(Progress("analyse", 2, 2, f"speech analysed: {speech.describe()}"))

    # 3. Plan per-frame motion curves (or take the caller's).
    said = motion.modifiers(options.prompt).summary()  # what the prompt asked for reaches the user
    report(Progress("plan", 0, 1, f"planning motion; {said}" if said else "planning motion"))
    track = options.motion or motion.plan(speech, rig, n_frames, options)
    motion.check_track(track, n_frames, options.fps)

    # 4. Render frame by frame straight into the encoder.
    first_frame_at: list[float] = []

    def on_frame(done: int) -> None:
        if not first_frame_at:
            first_frame_at.append(time.monotonic())
        report(Progress("render", done, n_frames, f"rendering frame {done}/{n_frames}"))

    frames = render.frames_of(puppet, track, parallel=options.concurrent)  # drawing helpers start
    drawing = render.is_drawing(puppet)  # ink lines ring at a photo's quality: encoded finer
    try:
        media.encode_video(
            frames,
            voice,
            output,
            options.fps,
            size,
            turbo=options.turbo_mode,
            on_frame=on_frame,
            drawing=drawing,
        )
    finally:  # the helpers go however encoding ended, even before it asked for a frame
        with contextlib.suppress(ValueError):  # (a producer thread still inside it closes it itself)
            frames.close()

    return Result(
        path=Path(output),
        duration_s=voice.duration_s,
        width=size[0],
        height=size[1],
        fps=options.fps,
        n_frames=n_frames,
        motion=track,
        elapsed_s=time.monotonic() - started,
        first_frame_s=first_frame_at[0] - started,
    )

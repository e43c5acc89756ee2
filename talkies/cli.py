"""`talkies` on the command line: a thin wrapper over `talkies.animate`.

This is the only module of the library that reads argv, and the one place where errors become
exit codes: 0 done, 2 bad input or usage (one line on stderr, `talkies: error: ...`), 1 any
other talkies error, 130 interrupted. The video is written atomically by the library, so no
failure or Ctrl-C leaves a partial file at the output path.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from talkies.errors import InputError, InvalidMotionError, TalkiesError
from talkies.formats import ACCEPTED_AUDIO, ACCEPTED_IMAGES

PROG = "talkies"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (the console script exits with it)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors: argparse has said what it had to
        return e.code if isinstance(e.code, int) else EXIT_USAGE
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args) or EXIT_OK)
    except InputError as e:
        return _fail(e.message, EXIT_USAGE)
    except TalkiesError as e:
        return _fail(str(e) or type(e).__name__, EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)


def build_parser() -> argparse.ArgumentParser:
    from talkies import __version__

    parser = _Parser(prog=PROG, description="Make a photo talk: one portrait and a voice in, an MP4 out.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    _add_animate(commands)
    _add_live(commands)
    _add_service_commands(commands)
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (argparse's own prints the usage)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see `{self.prog} --help`)\n")


def _add_animate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("animate", help="make the person in IMAGE speak AUDIO", description=_ANIMATE_HELP)
    p.add_argument("image", metavar="IMAGE", help=f"portrait: {ACCEPTED_IMAGES}")
    p.add_argument("audio", metavar="AUDIO", help=f"voice or song: {ACCEPTED_AUDIO}")
    p.add_argument("-o", "--output", default="talking.mp4", help="MP4 to write (default: %(default)s)")
    # No `choices`: the library's own validation names the value and what is allowed.
    p.add_argument(
        "--resolution", default="1080p", metavar="{720p,1080p}", help="short side (default: 1080p)"
    )
    p.add_argument("--turbo", action="store_true", help="faster render and encode, slightly lower quality")
    p.add_argument("--prompt", default="", help="mood, actions and camera, e.g. 'smiles warmly, nods'")
    p.add_argument("--seed", type=int, default=0, help="same inputs and seed give the same video")
    p.add_argument("--fps", type=int, default=25, help="frames per second (default: 25)")
    p.add_argument("--mask", metavar="MASK", help="image marking who speaks (white) when several faces show")
    p.add_argument("--motion-in", metavar="JSON", help="render these motion curves instead of planning them")
    p.add_argument("--motion-out", metavar="JSON", help="also write the motion curves used, to edit or reuse")
    p.add_argument("--verbose", action="store_true", help="also show the native libraries' own log lines")
    p.set_defaults(func=_animate)


_ANIMATE_HELP = """Make the person in IMAGE speak AUDIO and write an MP4 (H.264 + AAC) lasting as long as
the audio. At most 30 s of audio at 1080p and 60 s at 720p."""


def _add_live(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("live", help="stream AUDIO in real time", description=_LIVE_HELP)
    p.add_argument("image", metavar="IMAGE", help=f"portrait: {ACCEPTED_IMAGES}")
    p.add_argument("audio", metavar="AUDIO", help=f"voice: {ACCEPTED_AUDIO}")
    p.add_argument("-o", "--output", default="live.mp4", help="MP4 a viewer saw (default: %(default)s)")
    p.add_argument("--resolution", default="720p", metavar="{720p,1080p}", help="short side (default: 720p)")
    p.add_argument("--turbo", action="store_true", help="faster render and encode, slightly lower quality")
    p.add_argument("--prompt", default="", help="mood, actions and camera, e.g. 'smiles warmly, nods'")
    p.add_argument("--seed", type=int, default=0, help="same inputs and seed give the same motion")
    p.add_argument("--chunk-ms", type=float, default=20.0, help="audio chunk length fed (default: 20 ms)")
    p.add_argument("--verbose", action="store_true", help="also show the native libraries' own log lines")
    p.set_defaults(func=_live)


_LIVE_HELP = """Stream AUDIO through live mode at real-time pace, as a microphone would, and write what a
viewer of the stream saw (a fragmented MP4) with the latency from each chunk arriving to the
frame showing it leaving the engine."""


def _add_service_commands(commands: argparse._SubParsersAction) -> None:
    """`serve` and `worker` come from the service package, when it is there. Imported here so
    that the HTTP stack is only loaded by the commands that need it (they import it lazily)."""
    try:
        from talkies.service.commands import register
    except ModuleNotFoundError as e:
        if e.name not in ("talkies.service", "talkies.service.commands"):
            raise
        return
    register(commands)


def _animate(args: argparse.Namespace) -> int:
    from talkies import pipeline  # the engine (mediapipe, pocketsphinx) loads only when needed
    from talkies.options import AnimateOptions
    from talkies.tracks import MotionTrack

    output = _output_path(args.output, "output")
    motion_out = _output_path(args.motion_out, "motion_out") if args.motion_out else None
    motion = MotionTrack.from_json(_read_text(args.motion_in)) if args.motion_in else None
    options = AnimateOptions(
        resolution=args.resolution,
        turbo_mode=args.turbo,
        prompt=args.prompt,
        seed=args.seed,
        fps=args.fps,
        motion=motion,
    )
    options.validate()  # before loading anything: a typo in an option fails at once
    with _native_stderr_silenced(not args.verbose) as stderr, _ProgressReport(stderr) as progress:
        result = pipeline.animate(
            args.image, args.audio, options, output=output, mask=args.mask, progress=progress
        )
    if motion_out is not None:
        motion_out.write_text(result.motion.to_json())
    size_mb = result.path.stat().st_size / 1e6
    rate = result.n_frames / max(result.elapsed_s, 1e-9)
    print(
        f"wrote {result.path}: {result.duration_s:.2f} s, {result.width}x{result.height}, "
        f"{result.fps} fps ({result.n_frames} frames), {size_mb:.1f} MB, in {result.elapsed_s:.1f} s "
        f"({rate:.1f} frames/s, the first after {result.first_frame_s:.1f} s)"
    )
    return EXIT_OK


def _live(args: argparse.Namespace) -> int:
    from talkies import live  # the engine loads only when needed

    output = _output_path(args.output, "output")
    options = live.LiveOptions(
        resolution=args.resolution, turbo_mode=args.turbo, prompt=args.prompt, seed=args.seed
    )
    options.validate()
    with _native_stderr_silenced(not args.verbose) as stderr:

        def progress(p: live.Progress) -> None:
            stderr.write(
                f"{PROG}: live: {p.received_s:.1f} s in, {p.shown_s:.1f} s shown, "
                f"latency {p.latency_ms:.0f} ms\n"
            )

        rec = live.record_file(args.image, args.audio, options, output, args.chunk_ms / 1000, progress)
    d = rec.done
    print(
        f"wrote {rec.path}: {rec.audio_in_s:.2f} s streamed in {rec.wall_s:.2f} s, {d.frames} frames "
        f"({d.frames / max(rec.wall_s, 1e-9):.1f} frames/s out for {options.fps} of audio); latency from a "
        f"chunk arriving to its frame leaving: median {d.latency_median_ms:.0f} ms, p95 "
        f"{d.latency_p95_ms:.0f} ms (mouth look-ahead {1000 * d.lookahead_s:.0f} ms); "
        f"setup {rec.setup_s:.1f} s"
    )
    return EXIT_OK


def _output_path(name: str, field: str) -> Path:
    """Check early, before any work, that `name` can be written."""
    path = Path(name)
    if path.is_dir():
        raise InputError(f"{field} {name!r} is a directory; give a file name", field=field)
    if not path.parent.is_dir():
        raise InputError(f"{field} directory {str(path.parent)!r} does not exist", field=field)
    return path


def _read_text(name: str) -> str:
    try:
        return Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidMotionError(
            f"cannot read motion track {name!r}: {getattr(e, 'strerror', None) or e}"
        ) from e


@contextlib.contextmanager
def _native_stderr_silenced(enabled: bool) -> Iterator[TextIO]:
    """Point file descriptor 2 at /dev/null for the duration, and yield a stream to the real
    stderr for our own progress lines.

    mediapipe's C++ code (TensorFlow Lite, absl) writes a dozen INFO/WARNING lines straight to
    file descriptor 2 before any logging can be configured, burying the progress bar and the one
    error line. Only the command line owns the process's stderr, so this is done here and not in
    the library. Errors are printed after the descriptor is restored."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):  # not a real file (e.g. under test)
        fd = -1
    if not enabled or fd < 0:
        yield sys.stderr
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), fd)
    stream = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        yield stream
    finally:
        stream.close()
        os.dup2(saved, fd)
        os.close(saved)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


class _ProgressReport:
    """Progress on stderr. On a terminal a bar redrawn in place; otherwise (logs, pipes) one
    line per stage and one per tenth of the frames, so a log stays readable."""

    WIDTH = 30
    REDRAW_S = 0.1  # a terminal needs no more than ten updates a second

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._interactive = stream.isatty()
        self._stage = ""
        self._message = ""
        self._shown = 0  # characters on the current terminal line
        self._tenth = -1
        self._last_report = time.monotonic()
        self._render_start = 0.0
        self._last_draw = 0.0

    def __enter__(self) -> _ProgressReport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._shown:
            self._stream.write("\n")
            self._stream.flush()

    def __call__(self, p) -> None:  # p: talkies.pipeline.Progress
        if p.stage == "render":
            self._render(p.done, p.total)
        elif p.message == self._message:  # a stage ticking on (speech analysis does)
            return
        elif self._interactive:
            self._draw(f"{p.message} ...")
        else:
            self._line(p.message)
        self._message = p.message
        self._last_report = time.monotonic()

    def _render(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._stage != "render":  # rendering began when the report before the first frame came
            self._stage, self._render_start = "render", self._last_report
        rate = done / max(now - self._render_start, 1e-9)
        if self._interactive:
            if done < total and now - self._last_draw < self.REDRAW_S:
                return
            self._last_draw = now
            filled = self.WIDTH * done // max(total, 1)
            eta = (total - done) / rate if rate > 0 else 0.0
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self._draw(f"rendering [{bar}] {done}/{total} frames  {rate:5.1f} fps  {eta:4.0f} s left")
        elif (tenth := 10 * done // max(total, 1)) > self._tenth:
            self._tenth = tenth
            self._line(f"rendering: {done}/{total} frames ({100 * done // max(total, 1)}%, {rate:.1f} fps)")

    def _draw(self, text: str) -> None:
        self._stream.write("\r" + text + " " * max(0, self._shown - len(text)))
        self._stream.flush()
        self._shown = len(text)

    def _line(self, text: str) -> None:
        self._stream.write(f"{PROG}: {text}\n")
        self._stream.flush()

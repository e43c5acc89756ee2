"""The command line: arguments to options, progress, exit codes, one-line errors. The engine is
replaced by a fake `talkies.pipeline.animate` here; tests/test_bad_inputs.py runs the real one."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from talkies import cli, pipeline
from talkies.errors import EngineError, InvalidAudioError
from talkies.pipeline import Progress, Result
from talkies.tracks import MotionTrack


class FakeEngine:
    """Stands in for talkies.pipeline.animate: records its call, reports progress, writes a
    small file, or raises `error` after the third frame."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.calls: list[dict] = []

    def __call__(self, image, sound, options=None, output="talking.mp4", mask=None, progress=None) -> Result:
        self.calls.append(
            {"image": image, "sound": sound, "options": options, "output": output, "mask": mask}
        )
        progress(Progress("load", 0, 1, "loading inputs"))
        for done in range(1, 11):
            progress(Progress("render", done, 10, f"rendering frame {done}/10"))
            if done == 3 and self.error is not None:
                raise self.error
        Path(output).write_bytes(b"\x00" * 2000)
        track = options.motion or MotionTrack(fps=25.0, curves={"jaw_open": np.zeros(10, np.float32)})
        return Result(Path(output), 0.4, 720, 720, options.fps, 10, track, 2.0)


@pytest.fixture
def engine(monkeypatch) -> FakeEngine:
    fake = FakeEngine()
    monkeypatch.setattr(pipeline, "animate", fake)
    return fake


def run(*argv: str) -> int:
    return cli.main(list(argv))


def test_animate_passes_every_option_and_reports_the_result(engine, tmp_path, capsys) -> None:
    out = tmp_path / "v.mp4"
    code = run("animate", "me.png", "hi.wav", "-o", str(out), "--resolution", "720p", "--turbo",
               "--prompt", "smiles", "--seed", "7", "--fps", "30", "--mask", "m.png")  # fmt: skip
    assert code == 0
    (call,) = engine.calls
    o = call["options"]
    assert (call["image"], call["sound"], call["mask"], Path(call["output"])) == (
        "me.png",
        "hi.wav",
        "m.png",
        out,
    )
    assert (o.resolution, o.turbo_mode, o.prompt, o.seed, o.fps, o.motion) == (
        "720p",
        True,
        "smiles",
        7,
        30,
        None,
    )
    stdout, stderr = capsys.readouterr()
    assert stdout.startswith(f"wrote {out}: 0.40 s, 720x720, 30 fps (10 frames)")
    # not a terminal: plain progress lines, no carriage returns
    assert "talkies: loading inputs" in stderr and "rendering: 10/10 frames (100%" in stderr
    assert "\r" not in stderr


def test_defaults_match_the_library(engine, tmp_path) -> None:
    assert run("animate", "me.png", "hi.wav", "-o", str(tmp_path / "v.mp4")) == 0
    o = engine.calls[0]["options"]
    assert (o.resolution, o.turbo_mode, o.prompt, o.seed, o.fps) == ("1080p", False, "", 0, 25)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidAudioError("audio is 0.050 s long; at least 0.1 s is needed"), 2),
        (EngineError("warp failed"), 1),
    ],
)
def test_errors_become_one_line_and_an_exit_code(monkeypatch, tmp_path, capsys, error, code) -> None:
    monkeypatch.setattr(pipeline, "animate", FakeEngine(error))
    out = tmp_path / "v.mp4"
    assert run("animate", "me.png", "hi.wav", "-o", str(out)) == code
    err_lines = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert err_lines == [f"talkies: error: {error}"]
    assert not out.exists()


def test_ctrl_c_exits_130(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(pipeline, "animate", FakeEngine(KeyboardInterrupt()))
    assert run("animate", "me.png", "hi.wav", "-o", str(tmp_path / "v.mp4")) == 130
    assert capsys.readouterr().err.endswith("talkies: error: interrupted\n")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--fps", "fast"], "argument --fps: invalid int value: 'fast'"),
        (["--resolution", "4k"], "resolution is '4k'; allowed: '720p', '1080p'"),
        (["--fps", "0"], "fps is 0; it must be an integer from 1 to 60"),
        (["-o", "/nonexistent/dir/v.mp4"], "output directory '/nonexistent/dir' does not exist"),
        (["--motion-in", "/nonexistent.json"], "cannot read motion track '/nonexistent.json'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(monkeypatch, tmp_path, capsys, argv, message) -> None:
    monkeypatch.setattr(pipeline, "animate", lambda *a, **k: pytest.fail("engine must not run"))
    monkeypatch.chdir(tmp_path)
    code = run("animate", "me.png", "hi.wav", *argv)
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("talkies: error: ") and message in err
    assert list(tmp_path.iterdir()) == []


def test_motion_round_trips_through_json_files(engine, tmp_path) -> None:
    track = MotionTrack(fps=25.0, curves={"jaw_open": np.linspace(0, 1, 10, dtype=np.float32)})
    (tmp_path / "in.json").write_text(track.to_json())
    motion_args = ["--motion-in", str(tmp_path / "in.json"), "--motion-out", str(tmp_path / "out.json")]
    code = run("animate", "me.png", "hi.wav", "-o", str(tmp_path / "v.mp4"), *motion_args)
    assert code == 0
    given = engine.calls[0]["options"].motion
    assert np.allclose(given.get("jaw_open"), track.get("jaw_open"))
    written = MotionTrack.from_json((tmp_path / "out.json").read_text())
    assert np.allclose(written.get("jaw_open"), track.get("jaw_open"))


def test_malformed_motion_json_is_bad_input(engine, tmp_path, capsys) -> None:
    (tmp_path / "in.json").write_text('{"fps": 25, "curves": {"jaw_open": [0, "x"]}}')
    assert (
        run(
            "animate",
            "a.png",
            "b.wav",
            "-o",
            str(tmp_path / "v.mp4"),
            "--motion-in",
            str(tmp_path / "in.json"),
        )
        == 2
    )
    assert "motion track is not valid JSON" in capsys.readouterr().err
    assert engine.calls == []


def test_terminal_progress_is_a_bar_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    with cli._ProgressReport(stream) as report:
        report(Progress("analyse", 0, 2, "analysing portrait"))
        for done in range(1, 5):
            report(Progress("render", done, 4, ""))
    text = stream.getvalue()
    assert (
        text.startswith("\ranalysing portrait ...\rrendering [")
        and text.endswith("\n")
        and text.count("\n") == 1
    )
    assert "rendering [##############################] 4/4 frames" in text


def test_no_command_prints_help_and_exits_2(capsys) -> None:
    assert run() == 2
    assert "animate" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "talkies", "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout.startswith("talkies ")


@pytest.mark.slow
def test_live_streams_a_file_in_real_time_and_reports_latency(tmp_path) -> None:
    examples = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "live.mp4"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "talkies",
            "live",
            str(examples / "portrait.png"),
            str(examples / "speech_short.wav"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"wrote {out}: 2.99 s streamed" in run.stdout and "75 frames" in run.stdout
    assert "latency from a chunk arriving to its frame leaving: median" in run.stdout
    assert "mouth look-ahead 120 ms" in run.stdout and out.stat().st_size > 10_000


def test_live_refuses_a_bad_option_before_loading_anything(capsys) -> None:
    assert cli.main(["live", "a.png", "b.wav", "--resolution", "4k"]) == cli.EXIT_USAGE
    assert "resolution is '4k'" in capsys.readouterr().err

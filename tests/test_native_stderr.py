"""talkies.animate used as a library prints none of mediapipe's native log lines (absl,
TensorFlow Lite) on the process's stderr."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_animate_writes_no_native_chatter_to_stderr(tmp_path: Path) -> None:
    script = (
        "import talkies\n"
        "talkies.animate('examples/portrait.png', 'examples/speech_short.wav',"
        " talkies.AnimateOptions(resolution='720p', turbo_mode=True),"
        f" output={str(tmp_path / 'out.mp4')!r})\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "TensorFlow Lite" not in done.stderr and "W0000" not in done.stderr, done.stderr
    assert "absl::InitializeLog" not in done.stderr, done.stderr

"""Cancel during speech analysis (issue 14, acceptance 3).

The worker's progress callback looks at the cancel flag on every report outside rendering, so
a cancel lands at the engine's next report; the engine reports while it analyses speech (at
least about every second of CPU, stage "analyse"). End to end: a 60 s clip cancelled while
its speech is analysed ends cancelled within 2 s."""

from __future__ import annotations

import time
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest

from talkies.errors import Cancelled
from talkies.pipeline import Progress
from talkies.service.settings import Settings
from talkies.service.worker import ProgressReporter

from .helpers import APP, V15, data_uri, wait_done
from .servers import REPO, Server

EXAMPLES = REPO / "examples"


class _Store:
    def __init__(self) -> None:
        self.cancelled, self.asked = False, 0

    def log(self, job_id: str, message: str, level: str = "INFO") -> None:
        pass

    def cancel_requested(self, job_id: str) -> bool:
        self.asked += 1
        return self.cancelled


def test_every_report_outside_rendering_looks_at_the_cancel_flag() -> None:
    store = _Store()
    report = ProgressReporter(store, "j", Settings(cancel_check_interval_s=60.0))  # type: ignore[arg-type]
    report(Progress("analyse", 0, 2, "analysing speech"))
    store.cancelled = True
    with pytest.raises(Cancelled):
        report(Progress("analyse", 1, 2, "analysing speech"))  # at once, not after the interval
    assert store.asked == 2


def test_rendering_looks_at_the_flag_at_most_every_interval() -> None:
    store = _Store()
    report = ProgressReporter(store, "j", Settings(cancel_check_interval_s=60.0))  # type: ignore[arg-type]
    for done in range(1, 50):
        report(Progress("render", done, 100, f"rendering frame {done}/100"))
    assert store.asked == 1


# ---- end to end, real engine ------------------------------------------------------------------


def _clip_60s(folder: Path) -> bytes:
    """examples/speech_30s.wav twice: 60 s of real speech."""
    with wave.open(str(EXAMPLES / "speech_30s.wav")) as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    rate = params.framerate
    n = 60 * rate * params.sampwidth * params.nchannels
    data = (frames * 3)[:n]
    path = folder / "speech_60s.wav"
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(data)
    return path.read_bytes()


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("cancel-analysis"),
        env={"TALKIES_ENGINE": "talkies:animate", "TALKIES_WORKERS": "1", "TALKIES_STALE_AFTER_S": "120"},
    ).start()
    yield running
    running.close()  # SIGKILL: an analysis that ignored the cancel does not hold up teardown


@pytest.mark.slow
def test_60s_clip_cancelled_during_speech_analysis_ends_cancelled_within_2s(
    real_server: Server, tmp_path: Path
) -> None:
    body = {
        "image_url": data_uri((EXAMPLES / "portrait.png").read_bytes(), "image/png"),
        "audio_url": data_uri(_clip_60s(tmp_path), "audio/wav"),
        "resolution": "720p",
    }
    with real_server.client() as c:
        r = c.post(f"/queue/{V15}", json=body)
        assert r.status_code == 200, r.text
        job = r.json()["request_id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            logs = c.get(f"/queue/{APP}/requests/{job}/status", params={"logs": 1}).json().get("logs") or []
            if any("analysing speech" in line["message"] for line in logs):
                break
            time.sleep(0.05)
        else:
            pytest.fail("speech analysis never started")
        time.sleep(1.0)  # well inside the analysis of 60 s (tens of seconds of CPU)
        cancelled_at = time.monotonic()
        assert c.put(f"/queue/{APP}/requests/{job}/cancel").status_code == 202
        try:
            done = wait_done(c, job, timeout_s=2.0)
        except TimeoutError:
            pytest.fail("not cancelled within 2 s of the cancel")
        took = time.monotonic() - cancelled_at
        print(f"cancelled during speech analysis of 60 s: ended {took:.2f} s after the cancel")
        assert done["error_type"] == "client_cancelled", done
        assert took < 2.0
        said = [line["message"] for line in done["logs"]]
        assert not [m for m in said if m.startswith(("planning motion", "rendering"))], "it ended in analysis"

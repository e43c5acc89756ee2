"""The live page in a real headless Chromium (Debian's `chromium`, driven by Playwright with the
system browser): Chromium's fake capture device plays examples/speech.wav as the microphone,
the page streams it to `talkies serve`, plays the fMP4 it gets back through Media Source
Extensions, and the test checks that video frames play and that the face changes with the
speech. A screenshot of the page is kept in the test's output folder (its path is printed)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import REPO, Server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
EXAMPLES = REPO / "examples"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium package")


@pytest.fixture(scope="module")
def page_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("live-page"), None, {"TALKIES_WORKERS": "0"}).start()
    yield running
    running.close()


@pytest.mark.slow
def test_the_live_page_plays_a_face_that_talks_with_the_microphone(
    page_server: Server, tmp_path: Path
) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    args = [
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={EXAMPLES / 'speech.wav'}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 1100})
            console: list[str] = []
            page.on("console", lambda m: console.append(m.text))
            page.goto(f"{page_server.url}/live")
            page.set_input_files("#photo", str(EXAMPLES / "portrait.png"))
            page.click("#mic")
            try:
                page.wait_for_function("window.liveStats.media > 50", timeout=90_000)
            except sync_api.TimeoutError:
                page.screenshot(path=str(tmp_path / "live_page.png"))
                status = page.inner_text("#status")
                pytest.fail(f"no video came: {status}; console: {console}\n{page_server.log_tail(30)}")
            mouths, shown_at = [], 0.5
            for _ in range(20):  # the mouth region at 20 moments of the speech as it plays
                shown_at += 0.2  # (from 0.7 s to 4.5 s: its pauses and a stalled frame or two among them)
                page.wait_for_function(
                    f"document.getElementById('video').currentTime > {shown_at}", timeout=60_000
                )
                mouths.append(page.evaluate(_MOUTH_PIXELS))
            page.screenshot(path=str(tmp_path / "live_page.png"))
            state = page.evaluate(
                "(() => { const v = document.getElementById('video'); const q = v.getVideoPlaybackQuality();"
                " return {t: v.currentTime, w: v.videoWidth, h: v.videoHeight, frames: q.totalVideoFrames,"
                " errors: window.liveStats.errors, media: window.liveStats.media}; })()"
            )
            page.click("#stop")
        finally:
            browser.close()
    print(f"screenshot: {tmp_path / 'live_page.png'}", state)
    assert state["errors"] == [], state["errors"]
    assert (state["w"], state["h"]) == (720, 720)
    assert state["frames"] > 40 and state["t"] > 1.0
    distinct = {hashlib.sha1(bytes(m)).hexdigest() for m in mouths}
    assert len(distinct) >= 6, f"the mouth did not move: {len(distinct)} distinct of {len(mouths)}"
    spread = max(sum(m) for m in mouths) - min(sum(m) for m in mouths)
    assert spread > 0, "the mouth region stayed the same"


# Grey levels round the mouth of examples/portrait.png (x 0.39-0.48, y 0.27-0.29 of the frame).
_MOUTH_PIXELS = """(() => {
  const v = document.getElementById('video'), c = document.createElement('canvas');
  c.width = 24; c.height = 12;
  const g = c.getContext('2d');
  const w = v.videoWidth, h = v.videoHeight;
  g.drawImage(v, w * 0.36, h * 0.24, w * 0.15, h * 0.08, 0, 0, 24, 12);
  const d = g.getImageData(0, 0, 24, 12).data, out = [];
  for (let i = 0; i < d.length; i += 4) out.push((d[i] + d[i + 1] + d[i + 2]) / 3 | 0);
  return out;
})()"""

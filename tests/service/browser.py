"""The system Chromium driven by Playwright for the page tests (no browser download: Debian's
/usr/bin/chromium), and where their screenshots are kept."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from .servers import REPO

CHROMIUM = os.environ.get("TALKIES_TEST_CHROMIUM", "/usr/bin/chromium")
# Screenshots are also copied here (gitignored) so a person can look at them after a run.
SHOTS = REPO / "test-output" / "screenshots"
LAPTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


@contextmanager
def chromium() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set TALKIES_TEST_CHROMIUM)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page, folder: Path, name: str) -> Path:  # page: playwright Page
    """Save a full-page screenshot in the test's folder and a copy under test-output/."""
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)
    return path

"""The playground at `/`, in a real headless Chromium (Debian's, driven by Playwright): the form
built from the schema is filled with the shipped sample, submitted to the queue, its logs and
progress show, the finished video plays, and the request is in the history; then the same on a
server with API keys, where the page asks for the key and sends it. Screenshots of each run, at
laptop and phone width, are kept (pytest's tmp dir and test-output/screenshots/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .browser import LAPTOP, PHONE, chromium, screenshot
from .servers import REPO, Server

KEY = "playground-key"
SAMPLES = REPO / "talkies" / "service" / "static" / "playground" / "samples"
RENDER_S = 90  # the real engine on 3 s of speech, 720p turbo, on a busy 2-core machine


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Plain http, the real engine (the page's snippets then show the http recipes)."""
    env = {"TALKIES_ENGINE": "talkies:animate", "TALKIES_WORKERS": "1", "TALKIES_STALE_AFTER_S": "60"}
    running = Server(tmp_path_factory.mktemp("playground"), env=env).start()
    yield running
    running.close()


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {"TALKIES_API_KEYS": KEY, "TALKIES_WORKERS": "1"}
    running = Server(tmp_path_factory.mktemp("playground-keyed"), env=env).start()
    yield running
    running.close()


def _generate(page, prompt: str | None = None) -> str:
    """Fill the form with the sample, submit, wait for logs and a playing video; the request id."""
    page.wait_for_selector('.field[data-field="audio_url"]')
    page.click("#sample")
    page.wait_for_function(
        "document.querySelector('.field[data-field=image_url] .drop').style.backgroundImage"
    )
    page.wait_for_selector(".field[data-field=audio_url] audio", state="attached")
    assert page.is_checked("input[name=resolution][value='720p']") and page.is_checked(
        "input[name=turbo_mode]"
    )
    if prompt is not None:
        page.fill("textarea[name=prompt]", prompt)
    page.click("#run")
    page.wait_for_selector("#logs li", timeout=30_000)
    page.wait_for_selector("#player:not([hidden])", timeout=RENDER_S * 1000)
    playing = "(() => { const v = document.getElementById('video'); return v.currentTime > 0.3; })()"
    page.wait_for_function(playing, timeout=20_000)
    messages = page.locator("#logs li").all_inner_texts()
    assert any("rendering frame" in m for m in messages), messages
    assert any("completed in" in m for m in messages), messages
    request_id = page.get_attribute("#facts dd.mono", "title")
    assert request_id and page.get_attribute("#download", "href").endswith(".mp4")
    return request_id


def _run_curl_snippet(snippet: str, folder: Path) -> None:
    """Run the page's curl code in bash, beside the sample files it names: it must queue a
    request (its status query answers with the id it printed)."""
    for name in ("portrait.jpg", "speech_short.wav"):
        shutil.copy(SAMPLES / name, folder / name)
    lines = snippet.splitlines()
    script = "\n".join([*lines[:-2], 'echo "ID=$ID"', lines[-2].split("#")[0]])
    done = subprocess.run(["bash", "-c", script], cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    request_id = done.stdout.split("ID=", 1)[1].split()[0]
    assert f'"request_id":"{request_id}"' in done.stdout, done.stdout


def _run_js_snippet(snippet: str, project: Path) -> None:
    """Run the page's JavaScript code with the official client (npm-installed by the JS
    client tests' fixture), beside the sample files it reads."""
    for name in ("portrait.jpg", "speech_short.wav"):
        shutil.copy(SAMPLES / name, project / name)
    (project / "talk.mjs").write_text(snippet)
    env = {**os.environ, "FAL_KEY": KEY}
    done = subprocess.run(
        ["node", "talk.mjs"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    request_id, url, duration = done.stdout.strip().splitlines()[-1].split()
    assert request_id and url.endswith(".mp4") and float(duration) > 0


def test_playground_renders_the_sample_and_lists_it(real: Server, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(real.url + "/")
        assert page.locator("a[href='/live']").count() == 1
        assert page.is_hidden("#key-box"), "no key asked for when none is configured"
        request_id = _generate(page)
        facts = page.locator("#facts").text_content() or ""
        assert "Render time" in facts and "Video length" in facts
        page.click("#code-box summary")
        page.click(".tabs [data-lang=python]")
        code = page.inner_text("#snippet")
        assert "fal_client.subscribe" in code and f"FAL_RUN_HOST=127.0.0.1:{real.port}" in code
        assert 'fal_client.encode_file("portrait.jpg")' in code
        page.click(".tabs [data-lang=js]")
        assert "requestMiddleware" in page.inner_text("#snippet")
        page.click(".tabs [data-lang=curl]")
        curl = page.inner_text("#snippet")
        assert f"BASE={real.url}" in curl
        _run_curl_snippet(curl, tmp_path)
        item = page.locator(f".history-list li[data-request-id='{request_id}']")
        item.wait_for(timeout=10_000)
        assert "Done" in item.inner_text()
        assert item.locator("img").evaluate("img => img.complete && img.naturalWidth > 0"), "input thumbnail"
        screenshot(page, tmp_path, "playground-laptop")
        log = real.log_tail(100_000)
        assert "TensorFlow Lite" not in log and "W0000" not in log and "absl::" not in log, "native chatter"
        assert f"request_id={request_id}" in log and "event=job" in log

        phone = browser.new_page(viewport=PHONE, is_mobile=True)
        phone.goto(real.url + "/")
        phone.locator(f".history-list li[data-request-id='{request_id}']").click()
        phone.wait_for_selector("#player:not([hidden])")
        phone.wait_for_function("document.getElementById('video').readyState >= 2")
        phone.click("#json-box summary")
        shown = phone.inner_text("#json")
        assert '"resolution": "720p"' in shown and '"content_type": "video/mp4"' in shown, shown
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow} px wider than a phone"
        screenshot(phone, tmp_path, "playground-phone")
        assert errors == []


def test_playground_asks_for_the_api_key_and_sends_it(
    keyed: Server, tmp_path: Path, node_project: Path
) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP)
        page.goto(keyed.url + "/")
        page.wait_for_selector("#key-box.needed")
        page.wait_for_function("document.getElementById('history-note').textContent.includes('API key')")
        page.click("#sample")
        page.wait_for_selector(".field[data-field=audio_url] audio", state="attached")
        page.click("#run")
        page.wait_for_selector("#form-error:not([hidden])")
        assert "API key" in page.inner_text("#form-error")
        page.fill("#api-key", KEY)
        page.dispatch_event("#api-key", "change")
        request_id = _generate(page, prompt="playable")
        page.locator(f".history-list li[data-request-id='{request_id}']").wait_for(timeout=10_000)
        screenshot(page, tmp_path, "playground-keyed-laptop")
        page.click("#code-box summary")
        page.click(".tabs [data-lang=js]")
        _run_js_snippet(page.inner_text("#snippet"), node_project)
        page.set_viewport_size(PHONE)
        screenshot(page, tmp_path, "playground-keyed-phone")
    with keyed.client() as c:
        assert c.get("/v1/models/requests/by-endpoint").status_code == 401, "history needs the key"


def test_playground_python_code_runs_against_an_https_server(server: Server, tmp_path: Path) -> None:
    """On the shared https server (the test CA), the page's Python code, run with the
    environment it names, renders with the official fal-client."""
    with chromium() as browser:
        page = browser.new_page(viewport=LAPTOP, ignore_https_errors=True)
        page.goto(server.url + "/")
        page.wait_for_selector('.field[data-field="audio_url"]')
        page.click("#sample")
        page.wait_for_selector(".field[data-field=audio_url] audio", state="attached")
        page.click("#run")
        page.wait_for_function(
            "document.getElementById('status-pill').textContent === 'Done'", timeout=30_000
        )
        page.click("#code-box summary")
        page.click(".tabs [data-lang=python]")
        code = page.inner_text("#snippet")
    assert "--self-signed-tls" not in code, "an https server needs no http workaround"
    run_with = next(line for line in code.splitlines() if line.startswith("# run with: "))
    env_words = run_with.removeprefix("# run with: ").removesuffix(" python talk.py").split()
    env = dict(word.split("=", 1) for word in env_words)
    assert env["FAL_RUN_HOST"] == server.host and env["FAL_QUEUE_RUN_HOST"] == server.host + "/queue"
    for name in ("portrait.jpg", "speech_short.wav"):
        shutil.copy(SAMPLES / name, tmp_path / name)
    (tmp_path / "talk.py").write_text(code)
    assert server.pki is not None
    full_env = {**os.environ, **env, "SSL_CERT_FILE": str(server.pki.bundle)}
    done = subprocess.run(
        [sys.executable, "talk.py"], cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    url, duration = done.stdout.strip().splitlines()[-1].split()
    assert url.startswith(server.url + "/files/") and float(duration) > 0

"""End to end with the real engine: the unmodified Python client renders the sample portrait
speaking the 3 s sample through `talkies serve`, and the MP4 it gets back is checked with PyAV."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import av
import httpx
import pytest

from .servers import REPO, Pki, Server

pytest.importorskip("fal_client")
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("real-engine"),
        pki,
        # The real engine holds the GIL (and so the heartbeat) for ~1.6 s analysing this clip.
        env={"TALKIES_ENGINE": "talkies:animate", "TALKIES_WORKERS": "1", "TALKIES_STALE_AFTER_S": "30"},
    ).start()
    yield running
    running.close()


@pytest.mark.slow
def test_python_client_renders_a_real_clip(real_server: Server, pki: Pki) -> None:
    script = textwrap.dedent(f"""
        import json, fal_client
        logs = []
        def on_update(update):
            logs[:] = [line["message"] for line in getattr(update, "logs", None) or []] or logs
        result = fal_client.subscribe("fal-ai/bytedance/omnihuman/v1.5", arguments={{
            "image_url": fal_client.encode_file({str(EXAMPLES / "portrait.png")!r}),
            "audio_url": fal_client.encode_file({str(EXAMPLES / "speech_short.wav")!r}),
            "resolution": "720p", "prompt": "smiles warmly"}}, with_logs=True, on_queue_update=on_update)
        print(json.dumps({{"result": result, "logs": logs}}))
    """)
    env = {
        **os.environ,
        "FAL_KEY": "test-key",
        "SSL_CERT_FILE": str(pki.bundle),
        "FAL_RUN_HOST": real_server.host,
        "FAL_QUEUE_RUN_HOST": f"{real_server.host}/queue",
    }
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"{run.stderr}\n--- server log ---\n{real_server.log_tail(40)}"
    out = json.loads(run.stdout.strip().splitlines()[-1])
    video = out["result"]["video"]
    assert video["content_type"] == "video/mp4" and video["file_name"].endswith(".mp4")
    assert abs(out["result"]["duration"] - 3.0) < 0.05
    assert any(line.startswith("rendering frame") for line in out["logs"]), out["logs"]
    assert "analysing portrait" in out["logs"]

    with httpx.Client(verify=str(pki.ca)) as c:
        data = c.get(video["url"]).content
    assert len(data) == video["file_size"]
    with av.open(io.BytesIO(data)) as container:
        picture, sound = container.streams.video[0], container.streams.audio[0]
        assert (picture.codec_context.width, picture.codec_context.height) == (720, 720)
        assert sound.codec_context.name == "aac" and sound.rate > 0
        assert abs(container.duration / 1e6 - 3.0) < 0.15
        frames = sum(1 for _ in container.decode(video=0))
    assert abs(frames - 75) <= 1, "25 fps for 3 s"

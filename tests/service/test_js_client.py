"""Interop with the unmodified official JS client (@fal-ai/client 1.10.1, Node) against
`talkies serve`.

The JS client hard-codes its hosts; it is pointed at the server with its documented
`requestMiddleware` (fal-protocol.md §6 recipe D), which rewrites https://queue.fal.run,
https://fal.run and https://rest.fal.ai to the server. Upload PUTs go straight to the
`upload_url` the server returned. Node trusts the test CA through NODE_EXTRA_CA_CERTS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from .helpers import V15, png_bytes, wav_bytes
from .servers import Pki, Server

CLIENT = "@fal-ai/client@1.10.1"
OFFLINE = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "network", "E404")


@pytest.fixture(scope="session")
def node_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the client installed by npm (skipped only if the registry is unreachable)."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node/npm are not installed")
    folder = tmp_path_factory.mktemp("js-client")
    (folder / "package.json").write_text('{"name": "talkies-interop", "private": true, "type": "module"}')
    install = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", CLIENT],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if install.returncode != 0:
        if any(marker in install.stderr for marker in OFFLINE):
            pytest.skip(f"npm registry unreachable: {install.stderr.strip()[:300]}")
        raise RuntimeError(f"npm install {CLIENT} failed:\n{install.stderr}")
    (folder / "portrait.png").write_bytes(png_bytes(40))
    (folder / "voice.wav").write_bytes(wav_bytes(1.0))
    return folder


PRELUDE = """
import { readFileSync } from "node:fs";
import { fal, ValidationError } from "@fal-ai/client";
const BASE = process.env.TALKIES_URL;
const APP = "__APP__";
const rewrite = (url) => url
  .replace(/^https:\\/\\/queue\\.fal\\.run\\//, `${BASE}/queue/`)
  .replace(/^https:\\/\\/fal\\.run\\//, `${BASE}/`)
  .replace(/^https:\\/\\/rest\\.fal\\.ai\\//, `${BASE}/`);
const middleware = async (req) => ({ ...req, url: rewrite(req.url) });
fal.config({ credentials: "test-key", requestMiddleware: middleware });
const dataUri = (name, type) => `data:${type};base64,${readFileSync(name).toString("base64")}`;
const inputs = (extra = {}) => ({ image_url: dataUri("portrait.png", "image/png"),
                                  audio_url: dataUri("voice.wav", "audio/wav"), ...extra });
const print = (value) => console.log(JSON.stringify(value));
""".replace("__APP__", V15)


def run_node(project: Path, server: Server, pki: Pki, body: str) -> dict:
    (project / "scenario.mjs").write_text(PRELUDE + textwrap.dedent(body))
    env = {**os.environ, "TALKIES_URL": server.url, "NODE_EXTRA_CA_CERTS": str(pki.ca)}
    run = subprocess.run(
        ["node", "scenario.mjs"], cwd=project, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, f"{run.stderr}\n--- server log ---\n{server.log_tail(30)}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["polling", "streaming"])
def test_subscribe(node_project: Path, server: Server, pki: Pki, mode: str) -> None:
    out = run_node(
        node_project,
        server,
        pki,
        """
        const statuses = [];
        let logs = [];
        const result = await fal.subscribe(APP, {
          input: inputs({ prompt: "slow 15" }), logs: true, mode: "__MODE__", pollInterval: 100,
          onQueueUpdate: (update) => {
            statuses.push(update.status);
            if (update.logs) logs = update.logs.map((line) => line.message);  // the log so far
          },
        });
        print({ statuses, logs, data: result.data, requestId: result.requestId });
    """.replace("__MODE__", mode),
    )
    assert out["data"]["video"]["content_type"] == "video/mp4" and out["data"]["duration"] == 0.6
    assert out["requestId"], "x-fal-request-id reaches the JS result"
    assert "IN_PROGRESS" in out["statuses"] and out["statuses"][-1] == "COMPLETED"
    assert "analysing portrait" in out["logs"] and "rendering frame 15/15" in out["logs"]
    assert len(out["logs"]) == len(set(out["logs"])), "each log line once (the stream sends new ones only)"


def test_storage_upload_and_blob_inputs(node_project: Path, server: Server, pki: Pki) -> None:
    out = run_node(
        node_project,
        server,
        pki,
        """
        const png = new Blob([readFileSync("portrait.png")], { type: "image/png" });
        const url = await fal.storage.upload(png);
        const back = Buffer.from(await (await fetch(url)).arrayBuffer());
        const result = await fal.subscribe(APP, { input: {
          image_url: url, audio_url: new Blob([readFileSync("voice.wav")], { type: "audio/wav" }) } });
        print({ url, same: back.equals(readFileSync("portrait.png")), video: result.data.video });
    """,
    )
    assert out["url"].startswith(f"{server.url}/files/") and out["same"]
    assert out["video"]["file_size"] > 0


def test_validation_error(node_project: Path, server: Server, pki: Pki) -> None:
    out = run_node(
        node_project,
        server,
        pki,
        """
        const caught = {};
        try {
          await fal.subscribe(APP, { input: inputs({ prompt: "input_error" }), pollInterval: 100 });
        } catch (e) {
          Object.assign(caught, { validation: e instanceof ValidationError, status: e.status,
                                  fieldErrors: e.fieldErrors });
          caught.imageErrors = e.getFieldErrors("image_url").length;
        }
        try {
          await fal.queue.submit(APP, { input: { image_url: "data:image/png;base64,iVBORw0KGgo=" } });
        } catch (e) {
          const validation = e instanceof ValidationError;
          caught.submit = { validation, status: e.status, fieldErrors: e.fieldErrors };
        }
        print(caught);
    """,
    )
    assert out["validation"] and out["status"] == 422 and out["imageErrors"] == 1
    assert out["fieldErrors"][0]["type"] == "face_detection_error"
    assert out["submit"]["validation"] and out["submit"]["status"] == 422
    assert out["submit"]["fieldErrors"][0]["loc"] == ["body", "audio_url"]

"""The API description: /openapi.json is a valid OpenAPI document with fal-like field docs,
response schemas and the API-key scheme; /docs and /redoc render with the network off."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from openapi_spec_validator import validate

from talkies.service.app import create_app
from talkies.service.settings import Settings

from .browser import LAPTOP, chromium, screenshot
from .servers import Server


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("openapi")), maintain=False).openapi()


def test_openapi_document_is_valid(client: httpx.Client) -> None:
    served = client.get("/openapi.json").json()
    validate(served)  # openapi-spec-validator: raises on any violation


def test_inputs_are_described_like_fals_schema(spec: dict) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["ResolutionEnum"]["enum"] == ["720p", "1080p"]
    v15 = schemas["OmniHumanV15Input"]["properties"]
    assert v15["resolution"]["$ref"] == "#/components/schemas/ResolutionEnum"
    assert v15["audio_url"]["description"].startswith(
        "The URL of the audio file to generate the video. Audio must be under 30s long for 1080p "
        "generation and under 60s long for 720p generation."
    )
    for name, field in v15.items():
        assert field.get("description"), name
    assert all("examples" in v15[name] for name in ("prompt", "resolution", "turbo_mode"))
    assert "data:image/png;base64," in v15["image_url"]["description"]


def test_queue_routes_have_response_schemas_and_real_status_codes(spec: dict) -> None:
    paths = spec["paths"]
    submit = paths["/queue/fal-ai/bytedance/omnihuman/v1.5"]["post"]["responses"]
    assert submit["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SubmitResponse")
    assert (
        "runner errors" in submit["422"]["description"]
        or "result and in the webhook" in submit["422"]["description"]
    )
    status = paths["/queue/{app}/requests/{request_id}/status"]["get"]
    assert sorted(status["responses"]) == ["200", "202", "401", "404"]
    assert {p["name"] for p in status["parameters"]} >= {"app", "request_id"}
    cancel = paths["/queue/{app}/requests/{request_id}/cancel"]["put"]["responses"]
    assert sorted(cancel) == ["202", "400", "401", "404"]
    result = paths["/queue/{app}/requests/{request_id}"]["get"]["responses"]
    assert result["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/OmniHumanOutput")


def test_api_key_security_scheme(spec: dict) -> None:
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}
    assert spec["paths"]["/queue/fal-ai/bytedance/omnihuman/v1.5"]["post"]["security"] == [{"ApiKey": []}]
    assert "security" not in spec["paths"]["/files/{file_id}/{name}"]["get"]


@pytest.mark.parametrize(
    ("page_path", "ready"), [("/docs", ".swagger-ui .opblock"), ("/redoc", "redoc-wrap, .redoc-wrap")]
)
def test_docs_render_with_the_network_off(server: Server, tmp_path: Path, page_path: str, ready: str) -> None:
    origin = server.url
    refused: list[str] = []
    with chromium() as browser:
        context = browser.new_context(ignore_https_errors=True, viewport=LAPTOP)

        def only_this_server(route) -> None:  # every request elsewhere fails, as offline
            if route.request.url.startswith(origin):
                route.continue_()
            else:
                refused.append(route.request.url)
                route.abort()

        context.route("**/*", only_this_server)
        page = context.new_page()
        page.goto(origin + page_path)
        page.wait_for_selector(ready, timeout=15000)
        assert "omnihuman" in page.content().lower()
        screenshot(page, tmp_path, "docs" + page_path.replace("/", "-"))
        context.close()
    assert refused == [], f"the docs page asked the network for {refused}"


def test_the_root_is_the_playground_page(client: httpx.Client) -> None:
    for method in ("GET", "HEAD"):
        r = client.request(method, "/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), method
    assert "/playground/app.js" in client.get("/").text
    assert client.get("/playground/app.js").status_code == 200
    assert client.get("/playground/samples/speech_short.wav").headers["content-type"].startswith("audio/")

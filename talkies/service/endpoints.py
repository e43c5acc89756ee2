"""The two endpoints this server impersonates, with the reference API's input and output schema.

`fal-ai/bytedance/omnihuman` takes an image and audio (< 30 s); `.../omnihuman/v1.5` adds a
prompt, a speaker mask, turbo mode and the resolution ("1080p" by default, 30 s of audio;
"720p" allows 60 s). The pydantic models give request validation and the OpenAPI docs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from talkies.options import MAX_PROMPT_CHARS

V1 = "fal-ai/bytedance/omnihuman"
V15 = "fal-ai/bytedance/omnihuman/v1.5"

URL_HELP = "A data: URI, the URL of a file uploaded to this server, or an http(s) URL."


class OmniHumanInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    image_url: str = Field(description="The portrait to animate. " + URL_HELP)
    audio_url: str = Field(description="The speech or song to lip-sync (< 30 s). " + URL_HELP)


class OmniHumanV15Input(OmniHumanInput):
    audio_url: str = Field(description="The speech or song (< 30 s at 1080p, < 60 s at 720p). " + URL_HELP)
    prompt: str | None = Field(
        None, max_length=MAX_PROMPT_CHARS, description="Mood, actions and camera, e.g. 'smiles warmly, nods'."
    )
    mask_url: str | None = Field(None, description="White marks the person who speaks. " + URL_HELP)
    resolution: Literal["720p", "1080p"] = Field("1080p", description="Short side of the video.")
    turbo_mode: bool = Field(False, description="Faster rendering at slightly lower quality.")


class File(BaseModel):
    url: str
    content_type: str
    file_name: str
    file_size: int


class OmniHumanOutput(BaseModel):
    video: File
    duration: float = Field(description="Length of the video in seconds.")


@dataclass(frozen=True)
class Endpoint:
    id: str
    model: type[OmniHumanInput]
    # Input fields that name files, in the order they are resolved.
    file_fields: tuple[str, ...]

    def options(self, payload: OmniHumanInput) -> dict[str, Any]:
        """Keyword arguments of talkies.AnimateOptions for this request."""
        if not isinstance(payload, OmniHumanV15Input):
            return {}
        return {
            "resolution": payload.resolution,
            "turbo_mode": payload.turbo_mode,
            "prompt": payload.prompt or "",
        }


ENDPOINTS: dict[str, Endpoint] = {
    V1: Endpoint(V1, OmniHumanInput, ("image_url", "audio_url")),
    V15: Endpoint(V15, OmniHumanV15Input, ("image_url", "audio_url", "mask_url")),
}

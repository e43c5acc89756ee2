"""The two endpoints this server impersonates, with the reference API's input and output schema.

`fal-ai/bytedance/omnihuman` takes an image and audio (< 30 s); `.../omnihuman/v1.5` adds a
prompt, a speaker mask, turbo mode and the resolution ("1080p" by default, 30 s of audio;
"720p" allows 60 s). The pydantic models give request validation, the OpenAPI docs (field
descriptions and examples in fal's words, a named ResolutionEnum as fal's schema has) and the
playground's form, which is generated from that schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from talkies.options import MAX_PROMPT_CHARS

V1 = "fal-ai/bytedance/omnihuman"
V15 = "fal-ai/bytedance/omnihuman/v1.5"

URL_HELP = (
    " A data: URI (data:image/png;base64,...), the URL of a file uploaded to this server"
    " (fal_client.upload_file), or an http(s) URL (https://example.com/portrait.jpg)."
)
# No `examples` on the URL fields: an example there is a request that queues a real job (for
# Swagger's "Try it" and for schema-driven fuzzers alike); the descriptions show the forms.


class ResolutionEnum(StrEnum):
    """The short side of the video."""

    p720 = "720p"
    p1080 = "1080p"


class OmniHumanInput(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        title="OmniHumanInput",
        json_schema_extra={"x-fal-order-properties": ["image_url", "audio_url"]},
    )

    image_url: str = Field(
        title="Image Url",
        description="The URL of the image used to generate the video (one person, face visible)." + URL_HELP,
    )
    audio_url: str = Field(
        title="Audio Url",
        description="The URL of the audio file to generate the video. Audio must be under 30s long."
        + URL_HELP,
    )


class OmniHumanV15Input(OmniHumanInput):
    model_config = ConfigDict(
        title="OmniHumanv15Input",
        json_schema_extra={
            "x-fal-order-properties": [
                "image_url",
                "audio_url",
                "prompt",
                "resolution",
                "turbo_mode",
                "mask_url",
            ]
        },
    )

    audio_url: str = Field(
        title="Audio Url",
        description="The URL of the audio file to generate the video. Audio must be under 30s long for "
        "1080p generation and under 60s long for 720p generation." + URL_HELP,
    )
    prompt: str | None = Field(
        None,
        title="Prompt",
        max_length=MAX_PROMPT_CHARS,
        description="The text prompt used to guide the video generation: mood, actions and camera.",
        examples=["smiles warmly and nods, camera slowly pushes in"],
    )
    mask_url: str | None = Field(
        None,
        title="Mask Url",
        description="An image marking the person who speaks in white, when several faces show." + URL_HELP,
    )
    resolution: ResolutionEnum = Field(
        ResolutionEnum.p1080,
        title="Resolution",
        description="The resolution of the generated video. Defaults to 1080p. 720p generation is faster. "
        "1080p generation is limited to 30s audio and 720p generation is limited to 60s audio.",
        examples=["1080p"],
    )
    turbo_mode: bool = Field(
        False,
        title="Turbo Mode",
        description="Generate a video at a faster rate with a slight quality trade-off.",
        examples=[False],
    )


class File(BaseModel):
    url: str = Field(description="The URL where the file can be downloaded from.")
    content_type: str = Field(description="The mime type of the file.", examples=["video/mp4"])
    file_name: str = Field(description="The name of the file.", examples=["talkies-7ac5537d.mp4"])
    file_size: int = Field(description="The size of the file in bytes.", examples=[1824075])


class OmniHumanOutput(BaseModel):
    model_config = ConfigDict(title="OmniHumanOutput")

    video: File = Field(description="The generated video file (H.264 + AAC MP4).")
    duration: float = Field(description="Duration of audio input/video output, in seconds.", examples=[4.2])


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
            "resolution": ResolutionEnum(payload.resolution).value,
            "turbo_mode": payload.turbo_mode,
            "prompt": payload.prompt or "",
        }


ENDPOINTS: dict[str, Endpoint] = {
    V1: Endpoint(V1, OmniHumanInput, ("image_url", "audio_url")),
    V15: Endpoint(V15, OmniHumanV15Input, ("image_url", "audio_url", "mask_url")),
}

"""The two ends of the pipeline: decoding the inputs and encoding the video.

    load_image(src)  -> (H, W, 3) uint8 RGB          (Pillow)
    load_mask(src)   -> (h, w) float32 0..1           (Pillow)
    load_audio(src)  -> tracks.Audio                  (PyAV)
    output_size(w, h, resolution) -> (W, H)
    resize_image(img, (W, H)) -> img                  (OpenCV)
    encode_video(frames, voice, output, fps, size, turbo, on_frame)   (PyAV: libx264 + AAC)

A source is a path (str or Path) or the file's bytes. Every bad input raises a
talkies.errors.InputError subclass whose message names what was found and what is allowed.
"""

from talkies.media.image import load_image, load_mask, output_size, resize_image
from talkies.media.sound import load_audio
from talkies.media.video import encode_video

__all__ = ["encode_video", "load_audio", "load_image", "load_mask", "output_size", "resize_image"]

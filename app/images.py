"""Images as the page sends them: enlarged with crisp pixels, transparency shown over a
checkerboard, encoded by inference's PNG/GIF helpers."""
from __future__ import annotations

import numpy as np

from inference.images import encode_gif, encode_png, on_checkerboard, upscale

# Browsers smooth an image drawn larger or smaller than its pixels; generated pixels stay square.
CRISP_CSS = "<style>[data-testid='stImage'] img { image-rendering: pixelated; }</style>"


def enlarge(images: np.ndarray, size: int) -> np.ndarray:
    """Uint8 [..., H, W, C] enlarged by a whole factor to about ``size`` pixels (0: as it is)."""
    if not size:
        return images
    return upscale(images, max(1, size // max(images.shape[-3:-1])))


def png_bytes(image: np.ndarray, size: int = 0) -> bytes:
    """One uint8 image [H, W, C] as PNG, alpha kept (a download); compress level 1, as these are
    encoded on every slider move."""
    return encode_png(enlarge(image, size), compress_level=1)


def shown_png(image: np.ndarray, size: int = 0) -> bytes:
    """One uint8 image as the page shows it: enlarged, then any transparency over a checkerboard
    whose squares are ``CHECKER_PX`` whatever the enlargement."""
    return encode_png(on_checkerboard(enlarge(image, size)), compress_level=1)


def gif_bytes(frames: np.ndarray, size: int = 0, duration_ms: int = 80) -> bytes:
    """Frames [M, H, W, C] as a looping GIF that plays forward then back; a GIF has no partial
    transparency, so alpha is shown over the checkerboard."""
    return encode_gif(on_checkerboard(enlarge(frames, size)), duration_ms, loop=0, boomerang=True)

"""A user's image as the target of a projection: decoded, checked, and fitted to a generator's size.

Uploads come from anywhere (a photo of a digit on paper, a drawing, a screenshot), so the checks
are strict where a silent guess would mislead and lenient where a fix is obvious: too small, blank,
huge or not an image at all is refused with a message that says so; a bigger or non-square image is
padded to a square and shrunk, and dark ink on a light page is inverted when the generator draws
light on dark (as MNIST's do). Every such fix is reported back in ``notes``.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import InferenceError

MAX_FILE_BYTES = 20 * 2**20      # an upload bigger than this is not a digit sketch
MAX_PIXELS = 25_000_000          # decoded size limit (checked before the pixels are decoded)
MAX_ASPECT = 4.0                 # wider than this is a strip, not one image
BLANK_STD = 2.0                  # grey levels: below this spread the image shows nothing


@dataclass
class Target:
    """The image to match: uint8 [H, W, C] at the generator's size, and what was done to get it."""
    image: np.ndarray
    notes: list[str] = field(default_factory=list)

    def as_model_input(self) -> np.ndarray:
        """float32 [1, C, H, W] in [-1, 1]."""
        return (self.image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1.0)


def _decode(data: bytes, name: str) -> Image.Image:
    if len(data) == 0:
        raise InferenceError(f"{name} is empty: give a PNG or JPEG image")
    if len(data) > MAX_FILE_BYTES:
        raise InferenceError(f"{name} is {len(data) / 2**20:,.1f} MiB; the limit is {MAX_FILE_BYTES // 2**20} MiB: "
                             "give a smaller image (a digit needs only a few hundred pixels a side)")
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        if w * h > MAX_PIXELS:
            raise InferenceError(f"{name} is {w:,}x{h:,} pixels; the limit is {MAX_PIXELS:,} pixels: give a smaller image")
        img.load()
    except InferenceError:
        raise
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise InferenceError(f"{name} is not an image GAN Studio can read ({type(exc).__name__}: {exc}); "
                             "give a PNG or JPEG file") from None
    return img


def read_target(source: bytes | str | os.PathLike | np.ndarray, image_shape, *, name: str | None = None,
                light_on_dark: bool = True) -> Target:
    """Bytes of an image file, a path, or a uint8 array [H, W] / [H, W, C] -> a Target of ``image_shape`` (C, H, W).

    ``light_on_dark``: the generator draws light on a dark background (see projection.draws_light_on_dark),
    so an image on a light page is inverted; False leaves the tones as they are."""
    c, h, w = (int(x) for x in image_shape)
    notes: list[str] = []
    if isinstance(source, np.ndarray):
        arr = source
        label = name or "the image"
        if arr.dtype != np.uint8 or arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise InferenceError(f"{label} must be uint8 [H, W] or [H, W, C], got {arr.dtype} {list(arr.shape)}")
        img = Image.fromarray(arr[..., 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    else:
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            label = name or str(path)
            if not path.is_file():
                raise InferenceError(f"image file not found: {path}")
            if path.stat().st_size > MAX_FILE_BYTES:
                raise InferenceError(f"{label} is {path.stat().st_size / 2**20:,.1f} MiB; the limit is "
                                     f"{MAX_FILE_BYTES // 2**20} MiB: use a smaller image")
            data = path.read_bytes()
        else:
            data, label = bytes(source), name or "the upload"
        img = _decode(data, label)
    iw, ih = img.size
    if iw < w or ih < h:
        raise InferenceError(f"{label} is {iw}x{ih} pixels, smaller than the generator's {w}x{h}: "
                             f"give an image at least {w}x{h}")
    if max(iw, ih) / min(iw, ih) > MAX_ASPECT:
        raise InferenceError(f"{label} is {iw}x{ih} pixels: too long and thin to be one image "
                             f"(at most {MAX_ASPECT:g}:1); crop it to the one {'digit' if c == 1 else 'picture'}")
    transparent = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if c == 4:
        # a generator that draws transparency is matched in it: an image without any is wholly opaque
        img = img.convert("RGBA")
    elif transparent:
        # a drawing on a transparent page: put the ink on the page colour that contrasts with it
        rgba = np.asarray(img.convert("RGBA"))
        opaque = rgba[..., 3] > 127
        ink = float(rgba[..., :3][opaque].mean()) if opaque.any() else 0.0
        page = Image.new("RGBA", img.size, (255, 255, 255, 255) if ink < 128 else (0, 0, 0, 255))
        img = Image.alpha_composite(page, img.convert("RGBA"))
    img = img.convert({1: "L", 3: "RGB"}.get(c, "RGBA"))
    arr = np.asarray(img)
    if float(arr.std()) < BLANK_STD:
        raise InferenceError(f"{label} is blank (one flat colour, grey level {int(arr.mean())}): "
                             "give an image that shows something")
    if light_on_dark and c < 4:  # a transparent page has no tone to read the ink against
        border = np.concatenate([arr[0].ravel(), arr[-1].ravel(), arr[:, 0].ravel(), arr[:, -1].ravel()])
        if float(border.mean()) > 127:
            arr = 255 - arr
            notes.append("inverted: the generator draws light on dark")
    if iw != ih:
        side = max(iw, ih)
        background = 0 if c == 4 else np.median(np.concatenate([arr[0].ravel(), arr[-1].ravel()])).astype(np.uint8)
        square = np.full((side, side) + arr.shape[2:], background, np.uint8)  # with alpha: a clear margin
        top, left = (side - ih) // 2, (side - iw) // 2
        square[top:top + ih, left:left + iw] = arr
        arr = square
        notes.append(f"padded to a square from {iw}x{ih}")
    if arr.shape[0] != h or arr.shape[1] != w:
        arr = np.asarray(Image.fromarray(arr).resize((w, h), Image.Resampling.LANCZOS if arr.shape[0] > 4 * h
                                                     else Image.Resampling.BILINEAR, reducing_gap=2.0))
        notes.append(f"resized from {max(iw, ih)}x{max(iw, ih)} to {w}x{h}")
    if arr.ndim == 2:
        arr = arr[..., None]
    return Target(np.ascontiguousarray(arr, np.uint8), notes)

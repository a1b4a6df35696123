"""One image file decoded into a square uint8 array, as a folder's read settings ask.

Whatever the file holds (palette with or without a transparent colour, 16-bit gray, gray with
alpha, CMYK, a GIF's first frame...) comes out as gray ``[size, size]``, RGB ``[size, size, 3]``
or RGBA ``[size, size, 4]``, 8 bits a channel:

- ``transparency="composite"``: every transparent pixel is blended over ``background`` before
  scaling (scaling first would mix the colour hidden under transparent pixels, often black, into
  the edges); the result is gray or RGB.
- ``transparency="alpha"``: the alpha channel is kept (opaque images get alpha 255), always RGBA;
  Pillow scales RGBA with premultiplied alpha, so hidden colours do not bleed into edges either.

A file's declared size is checked before any pixel is decoded: a 30000x30000 header (an image
bomb: a few kilobytes that decode to gigabytes) is refused with its size, never decoded.
"""
from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image, ImageOps

from dataio.registry import DataError

TRANSPARENCY_MODES = ("composite", "alpha")
DEFAULT_TRANSPARENCY = "composite"
DEFAULT_BACKGROUND = "#ffffff"
# 8192x8192: a large photo (a 48-megapixel phone picture is 8000x6000) still reads; a bomb does not.
MAX_PIXELS = 8192 * 8192
_SIXTEEN_BIT_MODES = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_GRAY_MODES = {"1", "L", "F"}
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ImageRefused(DataError):
    """The file is an image we will not decode (the message says why); the folder skips it."""


def parse_colour(text: str) -> tuple[int, int, int]:
    """"#rrggbb" -> (r, g, b); a ValueError naming the expected form otherwise."""
    if not isinstance(text, str) or not _HEX_COLOUR.fullmatch(text):
        raise ValueError(f"a colour is written #rrggbb (e.g. #ffffff for white), not {text!r}")
    return tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def decode(data: bytes, size: int, transparency: str = DEFAULT_TRANSPARENCY,
           background: tuple[int, int, int] = (255, 255, 255)) -> np.ndarray:
    """The image in ``data`` (a file's bytes) scaled so its short side is ``size`` and centre-cropped."""
    with open_header(data) as image:
        # JPEGs can decode at 1/2, 1/4 or 1/8 scale directly: much faster for large photos.
        image.draft(None, (size, size))
        palette = image.mode in ("P", "PA")
        image = _eight_bit(image)
    if image.mode in ("LA", "RGBA") and transparency == "composite":
        image = _composite(image, background)
    image = ImageOps.fit(image, (size, size), method=Image.Resampling.BICUBIC)
    pixels = np.asarray(image)
    if transparency == "alpha":
        return _rgba(pixels, image.mode)
    # GIFs are always palette images: one whose colours are all gray counts as gray.
    if palette and pixels.ndim == 3 and (pixels == pixels[:, :, :1]).all():
        return np.ascontiguousarray(pixels[:, :, 0])
    return pixels


def open_header(source) -> Image.Image:
    """The image (bytes, a path or an open file) with its header read and nothing decoded;
    ImageRefused when it declares too many pixels. Every reader of users' images checks through here."""
    with warnings.catch_warnings():
        # Pillow warns from 89 megapixels and refuses from 179; ours is lower, and says why in one line.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        except Image.DecompressionBombError as error:
            raise ImageRefused(_too_big(str(error).split(" pixels")[0].split("(")[-1] + " pixels")) from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        image.close()
        raise ImageRefused(_too_big(f"{width}x{height} pixels"))
    return image


def _too_big(declared: str) -> str:
    return (f"declares {declared}, more than the {MAX_PIXELS:,} a folder image may have (an image bomb, "
            "or a picture to shrink before training on it); not decoded")


def _eight_bit(image: Image.Image) -> Image.Image:
    """The image as L, LA, RGB or RGBA (8 bits a channel), transparency kept where it has any."""
    mode = image.mode
    if mode in _SIXTEEN_BIT_MODES:
        # Pillow's convert("L") clips 16-bit values at 255 (a nearly white picture); scale instead.
        wide = np.asarray(image).astype(np.float64)
        return Image.fromarray(np.clip(np.rint(wide / 257), 0, 255).astype(np.uint8), "L")
    if mode in ("P", "PA"):
        # A palette with a transparent entry (tRNS) or alpha keeps it: RGBA, not RGB.
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "La"):
        return image.convert("LA")
    if mode in ("RGBA", "RGBa"):
        return image.convert("RGBA")
    if mode in ("L", "RGB"):
        image.load()
        return image
    if mode in _GRAY_MODES:
        return image.convert("L")
    if "transparency" in image.info:  # an RGB or gray file with one colour marked transparent
        return image.convert("RGBA")
    return image.convert("RGB")  # CMYK, YCbCr, LAB...


def _composite(image: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    """``image`` blended over a flat ``background``: round((c a + b (255 - a)) / 255), the same
    integer formula as inference.images.on_background, so a viewer and the reader agree."""
    pixels = np.asarray(image).astype(np.int32)
    alpha = pixels[..., -1:]
    colour = pixels[..., :-1]
    if image.mode == "LA" and len(set(background)) == 1:
        back = np.array(background[:1], np.int32)  # gray over gray stays gray
    else:
        colour = np.repeat(colour, 3, axis=-1) if image.mode == "LA" else colour
        back = np.array(background, np.int32)
    blended = (colour * alpha + back * (255 - alpha) + 127) // 255
    out = blended.astype(np.uint8)
    return Image.fromarray(out[..., 0] if out.shape[-1] == 1 else out, "L" if out.shape[-1] == 1 else "RGB")


def _rgba(pixels: np.ndarray, mode: str) -> np.ndarray:
    """Any of L, LA, RGB, RGBA pixels as RGBA [H, W, 4]."""
    if mode == "L":
        pixels = pixels[..., None]
    colour, alpha = (pixels[..., :-1], pixels[..., -1:]) if mode in ("LA", "RGBA") else \
        (pixels, np.full(pixels.shape[:2] + (1,), 255, np.uint8))
    if colour.shape[-1] == 1:
        colour = np.repeat(colour, 3, axis=-1)
    return np.ascontiguousarray(np.concatenate([colour, alpha], axis=-1))

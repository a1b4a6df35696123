"""One file decoded as the folder's settings ask: palette transparency kept, 16-bit gray scaled (not
clipped), alpha composited over the background or kept, and image bombs refused before decoding."""
import io

import numpy as np
import pytest
from PIL import Image, ImageFile

from dataio.image_file import MAX_PIXELS, ImageRefused, decode, parse_colour

from tests.dataio.common import bomb_png


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **options)
    return buffer.getvalue()


def half_transparent() -> Image.Image:
    """Left half opaque red, right half fully transparent with black hidden under it."""
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[:, :16] = (255, 0, 0, 255)
    return Image.fromarray(pixels, "RGBA")


def test_alpha_is_composited_over_the_background_or_kept():
    data = png_bytes(half_transparent())
    white = decode(data, 32, "composite", (255, 255, 255))
    assert white.shape == (32, 32, 3)
    assert white[5, 2].tolist() == [255, 0, 0] and white[5, 30].tolist() == [255, 255, 255]
    assert decode(data, 32, "composite", (0, 0, 80))[5, 30].tolist() == [0, 0, 80]
    kept = decode(data, 32, "alpha")
    assert kept.shape == (32, 32, 4) and kept[5, 2].tolist() == [255, 0, 0, 255] and kept[5, 30, 3] == 0
    # Scaled down, the edge is red at partial alpha: the black hidden under the transparency never bleeds in.
    small = decode(data, 8, "alpha")
    edge = small[4, 4]
    assert 0 < edge[3] < 255 and edge[:3].tolist() == [255, 0, 0]
    assert decode(data, 8, "composite", (255, 255, 255))[4, 4, 1] > 0  # blended toward white, not black


def test_half_transparent_pixels_blend_by_the_rounded_formula():
    pixels = np.array([[[200, 100, 0, 128]]], np.uint8).repeat(32, 0).repeat(32, 1)
    out = decode(png_bytes(Image.fromarray(pixels, "RGBA")), 32, "composite", (0, 50, 255))
    expected = [(c * 128 + b * 127 + 127) // 255 for c, b in zip((200, 100, 0), (0, 50, 255))]
    assert out[0, 0].tolist() == expected


def test_a_palette_with_a_transparent_entry_keeps_its_alpha():
    image = Image.new("P", (32, 32), 0)
    image.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    image.paste(1, (0, 0, 16, 32))  # left half green, right half the transparent entry 0
    data = png_bytes(image, transparency=0)
    kept = decode(data, 32, "alpha")
    assert kept[3, 3].tolist() == [0, 200, 0, 255] and kept[3, 30, 3] == 0
    assert decode(data, 32, "composite", (255, 255, 255))[3, 30].tolist() == [255, 255, 255]
    opaque = decode(png_bytes(image), 32, "alpha")  # no tRNS: every pixel opaque
    assert (opaque[..., 3] == 255).all()


@pytest.mark.parametrize("mode", ["I;16", "I"])
def test_sixteen_bit_gray_is_scaled_to_eight_bits_not_clipped(mode):
    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    if mode == "I;16":  # how Pillow opens a 16-bit gray PNG
        data = png_bytes(Image.fromarray(ramp))
    else:  # 32-bit integers (older Pillows open 16-bit PNGs so; PNG cannot store them: a TIFF)
        buffer = io.BytesIO()
        Image.fromarray(ramp.astype(np.int32), "I").save(buffer, format="TIFF")
        data = buffer.getvalue()
    out = decode(data, 32)
    assert out.shape == (32, 32) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - np.rint(ramp / 257)).max() <= 1  # resampling may move a value by one
    assert out.max() == 255 and out[16, 0] == 128  # 32768 / 257; Pillow's convert("L") clips it to 255


def test_gray_with_alpha_stays_gray_over_a_gray_background_and_is_rgba_when_kept():
    pixels = np.zeros((32, 32, 2), np.uint8)
    pixels[:, :16] = (90, 255)
    data = png_bytes(Image.fromarray(pixels, "LA"))
    gray = decode(data, 32, "composite", (255, 255, 255))
    assert gray.shape == (32, 32) and gray[0, 0] == 90 and gray[0, 30] == 255
    assert decode(data, 32, "composite", (255, 0, 0))[0, 30].tolist() == [255, 0, 0]
    assert decode(data, 32, "alpha")[0, 0].tolist() == [90, 90, 90, 255]


@pytest.mark.parametrize("width,height", [(30000, 30000), (9000, 9000)])
def test_an_image_bomb_is_refused_from_its_header_without_decoding(monkeypatch, width, height):
    assert width * height > MAX_PIXELS
    decoded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: decoded.append(self) or None)
    with pytest.raises(ImageRefused, match=r"declares .*pixels.*image bomb"):
        decode(bomb_png(width, height), 64)
    assert decoded == []


def test_colours_are_written_rrggbb():
    assert parse_colour("#ff8000") == (255, 128, 0) and parse_colour("#FFFFFF") == (255, 255, 255)
    for bad in ("white", "#fff", "ff8000", "#ff80001"):
        with pytest.raises(ValueError, match="#rrggbb"):
            parse_colour(bad)

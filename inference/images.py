"""Images: model output to uint8, transparency over a checkerboard or a colour, grids, PNG and GIF
files (numpy + Pillow only)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from studio.outputs import write_atomically

from .errors import InferenceError
from .limits import check_bytes


def to_uint8(raw: np.ndarray, output_range: tuple[float, float]) -> np.ndarray:
    """Map model output float [N, C, H, W] from `output_range` to uint8 [N, H, W, C].

    Values outside the range are clipped and NaN (a diverged model) becomes the low end,
    so a bad model gives black pixels rather than garbage from an unsafe cast.
    """
    lo, hi = output_range
    x = (np.asarray(raw, np.float32) - lo) * (255.0 / (hi - lo))
    x = np.nan_to_num(x, nan=0.0, posinf=255.0, neginf=0.0)
    x = np.rint(np.clip(x, 0.0, 255.0)).astype(np.uint8)
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


CHECKER_SQUARE = 8  # pixels a side of one square of the checkerboard, in the image as given
CHECKER_SHADES = (204, 255)  # light gray and white, as image editors draw transparency
BACKGROUNDS_HELP = "'checkerboard' or a colour #rrggbb"


def on_checkerboard(images: np.ndarray, square: int = CHECKER_SQUARE) -> np.ndarray:
    """Uint8 [..., H, W, 4] blended over a gray-and-white checkerboard (its top-left square gray),
    as RGB [..., H, W, 3]: how a viewer shows transparency. Images without alpha come back as they
    are. Enlarge first (``upscale``) for squares of ``square`` screen pixels."""
    images = np.asarray(images)
    if images.shape[-1] != 4:
        return images
    rows, cols = np.indices(images.shape[-3:-1]) // max(1, int(square))
    return _blend(images, np.where((rows + cols) % 2 == 0, *CHECKER_SHADES)[..., None])


def on_background(images: np.ndarray, background: str = "checkerboard", square: int = CHECKER_SQUARE) -> np.ndarray:
    """Uint8 [..., H, W, 4] over ``background`` ('checkerboard' or '#rrggbb') as RGB; images without
    alpha come back as they are."""
    colour = background_colour(background)
    images = np.asarray(images)
    if colour is None:
        return on_checkerboard(images, square)
    return _blend(images, np.array(colour)) if images.shape[-1] == 4 else images


def background_colour(background: str) -> tuple[int, int, int] | None:
    """'#rrggbb' -> (r, g, b), 'checkerboard' -> None; InferenceError for anything else."""
    if background == "checkerboard":
        return None
    try:
        if not (isinstance(background, str) and len(background) == 7 and background[0] == "#"):
            raise ValueError
        return tuple(int(background[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]
    except ValueError:
        raise InferenceError(f"a background is {BACKGROUNDS_HELP}, not {background!r}") from None


def _blend(rgba: np.ndarray, board: np.ndarray) -> np.ndarray:
    # round((c a + b (255 - a)) / 255) in integers: the formula the folder reader composites with
    # (dataio/image_file.py), so a picture looks the same read as data and drawn by a model.
    colour, alpha = rgba[..., :3].astype(np.int32), rgba[..., 3:].astype(np.int32)
    return ((colour * alpha + board.astype(np.int32) * (255 - alpha) + 127) // 255).astype(np.uint8)


def _check_images(images: np.ndarray, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8:
        raise InferenceError(f"{what} must be uint8 (see Generator.generate), got {images.dtype}")
    if images.ndim == 3:  # [N, H, W]: grayscale without a channel axis
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4) or images.shape[0] < 1:
        raise InferenceError(f"{what} must be [N, H, W, C] with C in 1, 3, 4, got {images.shape}")
    return images


def image_grid(images: np.ndarray, nrow: int = 8, padding: int = 2, pad_value: int = 0) -> np.ndarray:
    """Tile uint8 [N, H, W, C] into one uint8 [H', W', C] image, `nrow` images per row.

    Like torchvision's make_grid: `padding` pixels around and between the tiles, so grids
    from training samples and from the app look the same.
    """
    images = _check_images(images, "images")
    if isinstance(nrow, bool) or not isinstance(nrow, (int, np.integer)) or nrow < 1:
        raise InferenceError(f"nrow must be an integer >= 1, got {nrow!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
        raise InferenceError(f"padding must be an integer >= 0, got {padding!r}")
    n, h, w, c = images.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    shape = (rows * (h + padding) + padding, cols * (w + padding) + padding, c)
    check_bytes("the grid", shape, 1)
    grid = np.full(shape, pad_value, np.uint8)
    for i, image in enumerate(images):
        y = padding + (i // cols) * (h + padding)
        x = padding + (i % cols) * (w + padding)
        grid[y:y + h, x:x + w] = image
    return grid


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement of [..., H, W, C] by an integer factor (crisp pixels)."""
    if isinstance(factor, bool) or not isinstance(factor, (int, np.integer)) or factor < 1:
        raise InferenceError(f"the scale factor must be an integer >= 1, got {factor!r}")
    if factor == 1:
        return image
    shape = np.shape(image)
    check_bytes(f"images enlarged {factor}x", (*shape[:-3], shape[-3] * factor, shape[-2] * factor, shape[-1]),
                np.asarray(image).itemsize, "use a smaller scale")
    return np.repeat(np.repeat(image, factor, axis=-3), factor, axis=-2)


def to_pil(image: np.ndarray) -> Image.Image:
    """One uint8 image [H, W], [H, W, 1], [H, W, 3] or [H, W, 4] as a Pillow image."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or \
            (image.ndim == 3 and image.shape[-1] not in (1, 3, 4)):
        raise InferenceError(f"an image must be uint8 [H, W, C] with C in 1, 3, 4, "
                             f"got {image.dtype} {image.shape}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]  # Pillow wants grayscale as 2-D ("L")
    return Image.fromarray(np.ascontiguousarray(image))


def _writable(path: str | Path) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InferenceError(f"cannot create the folder for {path}: {exc}") from None
    return path


def encode_png(image: np.ndarray, compress_level: int = 6) -> bytes:
    """One uint8 image (e.g. an image_grid) as the bytes of a PNG file; a low ``compress_level``
    (1) is several times faster, for images encoded on every slider move."""
    buffer = io.BytesIO()
    to_pil(image).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()


def save_png(image: np.ndarray, path: str | Path) -> Path:
    """Write one uint8 image (e.g. an image_grid) as PNG; returns the path (which must end in .png)."""
    path = _with_suffix(path, ".png")
    return _write(encode_png(image), path)


def _with_suffix(path: str | Path, suffix: str) -> Path:
    """Refuse a name whose suffix says another format: GIF bytes in a .png open nowhere as a PNG."""
    if Path(path).suffix.lower() != suffix:
        raise InferenceError(f"{path}: this writes a {suffix[1:].upper()} file, so its name must end in {suffix}")
    return Path(path)


def _write(data: bytes, path: str | Path) -> Path:
    path = _writable(path)
    try:  # whole or not at all: a killed write leaves the old file, never half a new one
        write_atomically(path, data)
    except OSError as exc:
        raise InferenceError(f"cannot write {path}: {exc}") from None
    return path


def encode_gif(frames: np.ndarray, duration_ms: int = 80, loop: int | None = 0, boomerang: bool = False) -> bytes:
    """Uint8 frames [M, H, W, C] as the bytes of an animated GIF.

    loop: 0 repeats forever, k repeats k more times, None plays once. boomerang plays the
    frames forward then backward (without doubling the two end frames), which turns an
    interpolation between two latents into a seamless loop.
    Note: Pillow merges identical consecutive frames into one longer frame.
    """
    frames = _check_images(frames, "frames")
    if boomerang and len(frames) > 2:
        frames = np.concatenate([frames, frames[-2:0:-1]])
    images = [to_pil(f) for f in frames]
    options = {"save_all": True, "append_images": images[1:], "duration": int(duration_ms)}
    if loop is not None:
        options["loop"] = int(loop)
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", **options)
    return buffer.getvalue()


def save_gif(
    frames: np.ndarray,
    path: str | Path,
    duration_ms: int = 80,
    loop: int | None = 0,
    boomerang: bool = False,
) -> Path:
    """Write uint8 frames [M, H, W, C] as an animated GIF (see encode_gif); returns the path."""
    path = _with_suffix(path, ".gif")
    return _write(encode_gif(frames, duration_ms, loop, boomerang), path)

"""A run's fixed-latent sample grids (samples/step_NNNNNNN.png) as one animation: how it learned.

Torch-free (Pillow, numpy, and for MP4 the ffmpeg binary that the imageio-ffmpeg package ships), so
``python -m training timelapse`` and the app's run view make the same file::

    steps, frames = collect_frames(run)              # uint8 [M, H, W, C], one frame per grid, by step
    data = encode_timelapse(frames, "gif", fps=4)    # GIF through inference.images.encode_gif

GIF is always possible. MP4 (H.264) needs imageio-ffmpeg (requirements.txt); where it is missing,
or its binary cannot run, ``TimelapseError`` says why and that a GIF works.
"""
from __future__ import annotations

import re
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw

from dataio.image_file import open_header
from inference.images import encode_gif
from studio.errors import UserError
from studio.files import MiB, inside, read_bytes
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder

FORMATS = ("gif", "mp4")
CAPTION_PX = 14      # the strip above each frame that names its step
MAX_FRAMES = 2000    # a grid every step of a long run would make a file nobody can open
FFMPEG_TIMEOUT_S = 300
GRID_LIMIT = 64 * MiB               # a grid of 64 128x128 RGBA images is ~3 MB
MAX_TIMELAPSE_BYTES = 2 * 2**30     # all frames in memory at once: 2000 frames of 600x600 fit


class TimelapseError(RunError):
    """A timelapse that cannot be made; the message says why and what to do."""


def grid_step(path: Path) -> int:
    return int(re.fullmatch(r"step_(\d+)", path.stem).group(1))


def collect_frames(run: RunFolder, caption: bool = True) -> tuple[list[int], np.ndarray]:
    """(steps, frames): every saved grid of ``run`` in step order as uint8 RGB [M, H, W, 3], each
    with a 'step N' strip above it when ``caption``. Grids of another size (a resumed run with
    another grid) are padded to the largest."""
    grids = sorted(run.sample_grids(), key=grid_step)
    if not grids:
        raise TimelapseError(f"run {run.id} has no sample grids yet: the first is written when training starts, "
                             f"then one every `sample_every` steps (samples/step_NNNNNNN.png).")
    if len(grids) > MAX_FRAMES:
        raise TimelapseError(f"run {run.id} has {len(grids):,} sample grids, more than a timelapse takes "
                             f"({MAX_FRAMES:,}); its sample_every is too small for one.")
    sizes = [_grid_size(run, path) for path in grids]  # headers only: nothing decoded before all are checked
    height, width = max(h for h, _ in sizes), max(w for _, w in sizes)
    need = len(grids) * (height + CAPTION_PX) * width * 3
    if need > MAX_TIMELAPSE_BYTES:
        raise TimelapseError(f"run {run.id}: {len(grids):,} frames of up to {width}x{height} pixels would need "
                             f"{need / 2**30:,.1f} GiB of memory, more than the {MAX_TIMELAPSE_BYTES / 2**30:g} GiB a "
                             "timelapse may take; its grids are too many or too large for one.")
    images, steps = [], []
    for path in grids:
        with _open_grid(run, path) as image:
            try:
                images.append(np.asarray(image.convert("RGB")))
            except OSError as error:
                raise TimelapseError(f"run {run.id}: sample grid {path.name} cannot be read ({error}).") from None
        steps.append(grid_step(path))
    height, width = max(i.shape[0] for i in images), max(i.shape[1] for i in images)
    top = CAPTION_PX if caption else 0
    frames = np.zeros((len(images), height + top, width, 3), np.uint8)
    for frame, image, step in zip(frames, images, steps):
        frame[top:top + image.shape[0], :image.shape[1]] = image
        if caption:
            canvas = Image.fromarray(frame)
            ImageDraw.Draw(canvas).text((3, 1), f"step {step:,}", fill=(255, 255, 255))
            frame[:] = np.asarray(canvas)
    return steps, frames


def grid_png(run: RunFolder, path: Path) -> bytes:
    """A sample grid's bytes, for a viewer (the app's run view) as for the timelapse: a regular file
    inside the run's folder, of bounded size, whose header declares no more pixels than dataio allows
    a user's image (a PNG bomb is refused, not decoded); TimelapseError saying which otherwise."""
    data, image = _checked_grid(run, path)
    image.close()
    return data


@contextmanager
def _open_grid(run: RunFolder, path: Path) -> Iterator[Image.Image]:
    """A sample grid with its header read (nothing decoded), checked as ``grid_png`` says."""
    _, image = _checked_grid(run, path)
    with image:
        yield image


def _checked_grid(run: RunFolder, path: Path) -> tuple[bytes, Image.Image]:
    try:
        inside(path, run.path, what="sample grid")
        data = read_bytes(path, limit=GRID_LIMIT, what="sample grid")
        return data, open_header(data)
    except (UserError, OSError) as error:
        why = str(getattr(error, "strerror", None) or error).replace(str(path), path.name)
        raise TimelapseError(f"run {run.id}: " + (why if path.name in why else f"sample grid {path.name} {why}")) from None


def _grid_size(run: RunFolder, path: Path) -> tuple[int, int]:
    with _open_grid(run, path) as image:
        return image.height, image.width


def ffmpeg_binary() -> str:
    """The ffmpeg that imageio-ffmpeg ships (a maintained build, installed from PyPI with the package)."""
    try:
        import imageio_ffmpeg  # optional: only MP4 needs it, and a GIF never should
    except ImportError:
        raise TimelapseError("MP4 needs the imageio-ffmpeg package (`pip install -r requirements.txt` installs "
                             "it); a .gif needs nothing more.") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:
        raise TimelapseError(f"imageio-ffmpeg has no ffmpeg binary for this machine ({error}); write a .gif "
                             "instead.") from None


def encode_mp4(frames: np.ndarray, fps: float) -> bytes:
    """H.264 in yuv420p (what browsers and players open), frames piped raw into ffmpeg."""
    # yuv420p halves the chroma resolution: both sides must be even, so pad by a black pixel where odd.
    m, h, w, _ = frames.shape
    padded = np.zeros((m, h + h % 2, w + w % 2, 3), np.uint8)
    padded[:, :h, :w] = frames
    with tempfile.TemporaryDirectory(prefix="gan-studio-timelapse-") as folder:
        out = Path(folder) / "timelapse.mp4"  # a file, not a pipe: +faststart puts the index first, for browsers
        command = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{padded.shape[2]}x{padded.shape[1]}", "-r", f"{fps:g}", "-i", "-",
                   "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(out)]
        try:
            done = subprocess.run(command, input=padded.tobytes(), capture_output=True, timeout=FFMPEG_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise TimelapseError(f"ffmpeg could not make the MP4 ({error}); write a .gif instead.") from None
        if done.returncode != 0 or not out.is_file():
            why = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise TimelapseError(f"ffmpeg could not make the MP4 ({why}); write a .gif instead.")
        return out.read_bytes()


def encode_timelapse(frames: np.ndarray, fmt: str, fps: float = 4.0) -> bytes:
    if fmt not in FORMATS:
        raise TimelapseError(f"a timelapse is a {' or '.join(FORMATS)}, not {fmt!r}.")
    if not 0.1 <= fps <= 60:
        raise TimelapseError(f"--fps {fps:g}: give a frame rate between 0.1 and 60.")
    if fmt == "gif":
        return encode_gif(frames, duration_ms=round(1000 / fps))
    return encode_mp4(frames, fps)


def make_timelapse(run: RunFolder, fmt: str, fps: float = 4.0, caption: bool = True) -> tuple[bytes, list[int]]:
    """The file's bytes and the steps of its frames."""
    steps, frames = collect_frames(run, caption)
    return encode_timelapse(frames, fmt, fps), steps

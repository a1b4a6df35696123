"""training/runfolder/timelapse.py: a real run's sample grids as a GIF (one frame per grid, in step
order, each with its step above it) or an MP4, and what happens without imageio-ffmpeg."""
from __future__ import annotations

import io
import os
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

from training.cli.main import main
from training.runfolder import timelapse
from training.runfolder.folder import create_run
from training.runfolder.timelapse import CAPTION_PX, TimelapseError, collect_frames, grid_png, make_timelapse
from training.session import build_session
from training.trainer import Trainer

from tests.dataio.common import bomb_png
from tests.helpers import small_config


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_train):
    """gan-mlp-mnist for 30 steps with a grid every 10: grids at steps 0, 10, 20 and 30."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = small_config(steps=30, sample_every=10)
        run = create_run(tmp_path_factory.mktemp("timelapse") / "runs", "grids", config.to_dict())
        assert Trainer(build_session(config, dataset=mnist_train), run).train() == "finished"
    finally:
        torch.set_num_threads(threads)
    return run


def grids(run) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in run.sample_grids()]


def test_a_gif_has_one_frame_per_grid_in_step_order(trained, tmp_path, capsys):
    out = tmp_path / "run.gif"
    assert main(["timelapse", str(trained.path), "--out", str(out), "--no-caption"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    expected = grids(trained)
    assert [p.stem for p in trained.sample_grids()] == [f"step_{s:07d}" for s in (0, 10, 20, 30)]
    with Image.open(out) as gif:
        assert gif.format == "GIF" and gif.n_frames == 4
        frames = [np.asarray(frame.convert("RGB")).astype(int) for frame in ImageSequence.Iterator(gif)]
    for i, frame in enumerate(frames):
        distances = [np.abs(frame - grid).mean() for grid in expected]
        assert distances[i] < 1.0 and int(np.argmin(distances)) == i  # frame i is grid i (GIF's palette aside)


def test_frames_carry_their_step_above_the_grid(trained):
    steps, frames = collect_frames(trained)
    plain = grids(trained)
    assert steps == [0, 10, 20, 30]
    assert frames.shape == (4, plain[0].shape[0] + CAPTION_PX, plain[0].shape[1], 3)
    assert np.array_equal(frames[:, CAPTION_PX:], np.stack(plain))
    assert frames[:, :CAPTION_PX].any(axis=(1, 2, 3)).all()  # text in every strip
    assert not np.array_equal(frames[1, :CAPTION_PX], frames[2, :CAPTION_PX])  # "step 10" is not "step 20"


def test_an_mp4_has_one_frame_per_grid(trained, tmp_path):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg", reason="MP4 needs imageio-ffmpeg (requirements.txt)")
    out = tmp_path / "run.mp4"
    assert main(["timelapse", str(trained.path), "--out", str(out), "--fps", "2"]) == 0
    data = out.read_bytes()
    assert data[4:8] == b"ftyp"
    frames, seconds = imageio_ffmpeg.count_frames_and_secs(str(out))
    assert frames == 4 and seconds == pytest.approx(2.0, abs=0.1)


def test_without_imageio_ffmpeg_an_mp4_says_why_and_a_gif_still_works(trained, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails, as where it is not installed
    with pytest.raises(TimelapseError, match="MP4 needs the imageio-ffmpeg package.*a .gif needs nothing more"):
        make_timelapse(trained, "mp4")
    data, steps = make_timelapse(trained, "gif")
    assert Image.open(io.BytesIO(data)).n_frames == len(steps) == 4


@pytest.fixture
def drawn(tmp_path):
    """A run folder with two small grids written by hand (no training), for files that replace one."""
    run = create_run(tmp_path / "runs", "hand", {})
    for step in (0, 10):
        Image.new("RGB", (20, 12), (step * 20, 0, 0)).save(run.sample_path(step))
    return run


def _fifo(path):
    path.unlink()
    os.mkfifo(path)


def _bomb(path):
    path.write_bytes(bomb_png())


def _link_out(path):
    path.unlink()
    path.symlink_to(path.parents[3] / "outside.png")
    Image.new("RGB", (20, 12)).save(path.parents[3] / "outside.png")


@pytest.mark.parametrize("spoil, words", [
    (_fifo, "sample grid step_0000010.png is a named pipe, not a regular file"),
    (_bomb, "sample grid step_0000010.png declares 900000000 pixels.*not decoded"),
    (_link_out, "sample grid step_0000010.png leads outside"),
])
def test_a_grid_that_would_hang_exhaust_or_leak_is_refused_before_decoding(drawn, spoil, words):
    assert grid_png(drawn, drawn.sample_path(10)).startswith(b"\x89PNG")
    spoil(drawn.sample_path(10))
    with pytest.raises(TimelapseError, match=words):
        collect_frames(drawn)
    with pytest.raises(TimelapseError, match=words):  # what the app's run view shows
        grid_png(drawn, drawn.sample_path(10))


def test_frames_that_would_not_fit_in_memory_are_refused_before_decoding(drawn, monkeypatch):
    monkeypatch.setattr(timelapse, "MAX_TIMELAPSE_BYTES", 1000)
    with pytest.raises(TimelapseError, match="2 frames of up to 20x12 pixels would need"):
        collect_frames(drawn)

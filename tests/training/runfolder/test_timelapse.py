"""training/runfolder/timelapse.py: a real run's sample grids as a GIF (one frame per grid, in step
order, each with its step above it) or an MP4, and what happens without imageio-ffmpeg."""
from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image, ImageSequence

from training.cli.main import main
from training.runfolder.folder import create_run
from training.runfolder.timelapse import CAPTION_PX, TimelapseError, collect_frames, make_timelapse
from training.session import build_session
from training.trainer import Trainer

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

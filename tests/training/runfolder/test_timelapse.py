"""`python -m training timelapse`: a real run's sample grids as a GIF (one frame per grid, in step
order) or an MP4, never over an existing file without --force, and a clear line for a run with none."""
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


def test_an_existing_file_is_replaced_only_with_force(trained, tmp_path, capsys):
    out = tmp_path / "taken.gif"
    out.write_bytes(b"mine")
    assert main(["timelapse", str(trained.path), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["timelapse", str(trained.path), "--out", str(out), "--force"]) == 0
    assert Image.open(out).n_frames == 4
    assert main(["timelapse", str(trained.path), "--out", str(tmp_path / "run.png")]) == 2
    assert "must end in .gif or .mp4" in capsys.readouterr().err


def test_a_run_with_no_grids_yet_gets_a_clear_message(tmp_path, capsys):
    run = create_run(tmp_path / "runs", "fresh", small_config().to_dict())
    out = tmp_path / "none.gif"
    assert main(["timelapse", str(run.path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run ") and "has no sample grids yet" in err and len(err.splitlines()) == 1
    assert not out.exists()

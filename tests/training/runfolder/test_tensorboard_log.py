"""training/runfolder/tensorboard_log.py, read back with TensorBoard's own reader: rows as scalars
under their kind's prefix, grids as images, one file per process that sorts after the ones before
it, a resumed process's START dropping the steps it re-does, and no tensorboard package: a warning,
no files. Torch-free (a training run's files: tests/training/test_run_writer.py)."""
from __future__ import annotations

import io
import logging
import sys

import numpy as np
import pytest
from PIL import Image

from training.runfolder.files import RunError
from training.runfolder.tensorboard_log import FOLDER, TensorBoardLog, event_file_name, open_log

from tests.helpers import tensorboard_events


def steps(accumulator, tag):
    return [event.step for event in accumulator.Scalars(tag)]


def png(height=10, width=12, channels=3) -> bytes:
    buffer = io.BytesIO()
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze()).save(buffer, format="PNG")
    return buffer.getvalue()


def test_rows_become_scalars_under_their_kind_and_grids_images(tmp_path):
    log = TensorBoardLog(tmp_path / FOLDER)
    log.row({"step": 10, "epoch": 0, "time": 1.5, "loss_d": 0.693, "loss_g": 2.5, "images_per_s": None})
    log.row({"kind": "eval", "step": 10, "epoch": 0, "fid": 31.25, "best": True, "reference": "mnist test"})
    log.row({"kind": "samples", "step": 10, "time": 1.5, "grid_diversity": 0.25})
    picture = png(10, 12, 4)
    log.image(10, picture, (10, 12, 4))
    log.close()
    found = tensorboard_events(tmp_path / FOLDER)
    assert set(found.Tags()["scalars"]) == {"train/epoch", "train/time", "train/loss_d", "train/loss_g", "eval/epoch",
                                            "eval/fid", "samples/time", "samples/grid_diversity"}
    # flags, text and missing values are no scalars
    (loss,) = found.Scalars("train/loss_d")
    assert (loss.step, loss.value) == (10, pytest.approx(0.693))
    assert found.Scalars("eval/fid")[0].value == 31.25
    (grid,) = found.Images("samples/grid")
    assert (grid.step, grid.height, grid.width, grid.encoded_image_string) == (10, 10, 12, picture)


def test_a_resumed_process_writes_a_new_file_and_drops_the_steps_it_redoes(tmp_path):
    first = TensorBoardLog(tmp_path / FOLDER)
    for step in range(1, 8):  # a process killed after step 7, its last checkpoint at step 4
        first.row({"step": step, "loss_d": float(step)})
    first.row({"kind": "eval", "step": 6, "fid": 40.0})
    first.image(6, png(), (10, 12, 3))
    first.close()

    resumed = TensorBoardLog(tmp_path / FOLDER, resume_step=4)
    resumed.flush()
    found = tensorboard_events(tmp_path / FOLDER)
    # every series loses its steps after 4 at once, also those the resumed run has not written again yet
    assert steps(found, "train/loss_d") == [1, 2, 3, 4]
    assert steps(found, "eval/fid") == [] and found.Images("samples/grid") == []
    resumed.row({"step": 5, "loss_d": 50.0})
    resumed.close()
    found = tensorboard_events(tmp_path / FOLDER)
    assert [(e.step, e.value) for e in found.Scalars("train/loss_d")] == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 50)]
    files = sorted(p.name for p in (tmp_path / FOLDER).iterdir())
    assert len(files) == 2 and files[1] == resumed.path.name  # the resumed process's file is read last


def test_a_new_file_sorts_after_the_others_even_within_the_same_second(tmp_path):
    later = tmp_path / f"events.out.tfevents.{9_999_999_990:010d}.host.1.0"  # a file "from the future"
    later.write_bytes(b"")
    name = event_file_name(tmp_path)
    assert name.startswith("events.out.tfevents.9999999991.") and sorted([name, later.name])[-1] == name


def test_a_link_in_place_of_the_folder_is_refused(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / FOLDER).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(RunError, match="not a folder of this run"):
        TensorBoardLog(tmp_path / "run" / FOLDER)
    assert not list((tmp_path / "elsewhere").iterdir())


def test_without_the_tensorboard_package_a_run_warns_once_and_writes_none(tmp_path, monkeypatch, caplog):
    for name in [n for n in sys.modules if n == "tensorboard" or n.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)  # what an environment without it gives: ImportError
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    (tmp_path / "run").mkdir()
    with caplog.at_level(logging.WARNING, logger="training"):
        assert open_log(tmp_path / "run", 0) is None
    assert "tensorboard is not installed" in caplog.text and "tensorboard=false" in caplog.text
    assert not (tmp_path / "run" / FOLDER).exists()

"""training/cli/timelapse.py: `python -m training timelapse RUN --out FILE` writes the whole animation
or nothing, never over a file without --force, and says in one line why it cannot."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training.cli.main import main
from training.runfolder.folder import create_run

from tests.helpers import small_config


@pytest.fixture
def grid_run(tmp_path):
    """A run folder with sample grids at steps 0, 10 and 20, as the trainer writes them."""
    run = create_run(tmp_path / "runs", "grids", small_config(steps=20).to_dict())
    run.samples_dir.mkdir(parents=True, exist_ok=True)
    for i, step in enumerate((0, 10, 20)):
        pixels = np.full((30, 30), 60 * i + 40, np.uint8)
        Image.fromarray(pixels).save(run.sample_path(step))
    return run


def test_the_animation_is_written_and_its_path_printed(grid_run, tmp_path, capsys):
    out = tmp_path / "out" / "run.gif"  # a folder that does not exist yet is made
    assert main(["timelapse", grid_run.id, "--runs-dir", str(grid_run.path.parent), "--out", str(out)]) == 0
    printed, said = capsys.readouterr()
    assert printed.strip() == str(out) and "3 frame(s), steps 0..20" in said
    assert Image.open(out).n_frames == 3
    assert not list(out.parent.glob(".*.tmp"))


def test_an_existing_file_is_replaced_only_with_force(grid_run, tmp_path, capsys):
    out = tmp_path / "taken.gif"
    out.write_bytes(b"mine")
    assert main(["timelapse", str(grid_run.path), "--out", str(out)]) == 2
    assert "exists; pass --force" in capsys.readouterr().err and out.read_bytes() == b"mine"
    assert main(["timelapse", str(grid_run.path), "--out", str(out), "--force"]) == 0
    assert Image.open(out).n_frames == 3
    assert main(["timelapse", str(grid_run.path), "--out", str(tmp_path / "run.png")]) == 2
    assert "must end in .gif or .mp4" in capsys.readouterr().err


def test_a_run_with_no_grids_yet_gets_a_clear_message(tmp_path, capsys):
    run = create_run(tmp_path / "runs", "fresh", small_config().to_dict())
    out = tmp_path / "none.gif"
    assert main(["timelapse", str(run.path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: run ") and "has no sample grids yet" in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_an_unknown_run_is_refused(tmp_path, capsys):
    assert main(["timelapse", "no-such-run", "--runs-dir", str(tmp_path), "--out", str(tmp_path / "x.gif")]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err and not (tmp_path / "x.gif").exists()

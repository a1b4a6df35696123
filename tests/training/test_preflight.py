"""training/preflight.py: what train and resume check before they touch a run folder: the batch
against the data, steps left to train, and which checkpoint a resume can use (a damaged, foreign or
crafted last.pt falls back to the newest intact one; none intact leaves the run as it was)."""
from __future__ import annotations

import os
import pickle
from types import SimpleNamespace

import pytest
import torch

from training import config as configs
from training.cli.main import main
from training.preflight import check_data, check_steps, pick_checkpoint

from tests.helpers import file_hashes, image_folder, tiny_config, tiny_run, training_rows

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


class RunsACommand:
    """A pickle that runs a shell command when unpickled without weights_only=True."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_the_batch_must_fit_the_images_each_process_gets(tmp_path):
    config = tiny_config(tmp_path, batch_size=16)
    images = SimpleNamespace(images=range(20), class_names=[])
    check_data(config, images)
    with pytest.raises(configs.ConfigError, match=r"10 for each of 2 processes\): lower it \(e.g. --set batch_size=10"):
        check_data(config, images, processes=2)
    with pytest.raises(configs.ConfigError, match="needs a labelled dataset"):
        check_data(config.replace(conditional=True), images)


def test_a_damaged_foreign_or_crafted_last_pt_falls_back_to_the_newest_intact_checkpoint(tmp_path, capsys):
    run = tiny_run(tmp_path / "runs", image_folder(tmp_path / "images", 32))
    marker = tmp_path / "the-pickle-ran"
    run.last_checkpoint.write_bytes(pickle.dumps(RunsACommand(marker)))
    foreign = torch.load(run.checkpoints_dir / "step_0000010.pt", weights_only=True)
    first = next(iter(foreign["generator"]))
    foreign["generator"][first] = torch.zeros(3)  # another run's nets: a tensor of another shape
    torch.save(foreign, run.checkpoints_dir / "step_0000010.pt")

    picked = pick_checkpoint(run, tiny_config(tmp_path / "images"))
    assert picked.path.name == "step_0000005.pt" and picked.step == 5
    (note,) = picked.notes()
    assert "last.pt (unreadable: not a plain checkpoint" in note and "step_0000010.pt (its nets do not fit" in note

    assert main(["resume", run.id, "--runs-dir", str(run.path.parent), "--set", "steps=12"]) == 0
    assert not marker.exists(), "a crafted pickle was executed"
    assert "resuming from step_0000005.pt (step 5) instead" in run.log_path.read_text()
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == 12
    assert [row["step"] for row in training_rows(run)] == list(range(1, 13))  # 6..10 recomputed, once each
    capsys.readouterr()


def test_a_run_with_no_intact_checkpoint_is_refused_and_left_as_it_was(tmp_path, capsys):
    run = tiny_run(tmp_path / "runs", image_folder(tmp_path / "images", 32))
    for path in run.checkpoints_dir.iterdir():
        path.write_bytes(path.read_bytes()[:1000])  # truncated, as by a full disk
    before = file_hashes(run.path)
    capsys.readouterr()
    assert main(["resume", run.id, "--runs-dir", str(run.path.parent), "--set", "steps=20"]) == 2
    err = capsys.readouterr().err
    assert "has no checkpoint this resume can use: last.pt (unreadable: truncated or damaged" in err
    assert "The run is left as it was" in err and "Traceback" not in err
    assert file_hashes(run.path) == before and run.read_status()["state"] == "finished"


def test_a_resume_needs_steps_left_and_says_how_to_give_more(tmp_path):
    run = SimpleNamespace(id="r")
    config = tiny_config(tmp_path, steps=4200)
    picked = SimpleNamespace(step=4800)
    with pytest.raises(configs.ConfigError, match=r"already at step 4,800, past steps=4,200.*--set steps=7200"):
        check_steps(run, config, picked)
    check_steps(run, config, SimpleNamespace(step=4199))

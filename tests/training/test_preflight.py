"""training/preflight.py: what train and resume check before they touch a run folder: the batch
against the data, steps left to train, and which checkpoint a resume can use (a damaged, foreign or
crafted last.pt falls back to the newest intact one; none intact leaves the run as it was)."""
from __future__ import annotations

import os
import pickle
import shutil
from types import SimpleNamespace

import pytest
import torch

from training import config as configs
from training.checkpoint import CheckpointError
from training.cli.main import main
from training.preflight import check_data, check_steps, check_unchanged, pick_checkpoint
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder

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
    run = RunFolder(tmp_path / "r")
    config = tiny_config(tmp_path, steps=4200)
    picked = SimpleNamespace(step=4800)
    with pytest.raises(configs.ConfigError, match=r"already at step 4,800, past steps=4,200.*--set steps=7200"):
        check_steps(run, config, picked)
    check_steps(run, config, SimpleNamespace(step=4199))


def test_a_resume_whose_rows_cannot_be_cut_back_is_refused_before_it_begins(tmp_path):
    run = RunFolder(tmp_path / "r")
    run.path.mkdir()
    os.mkfifo(run.metrics_path)  # cutting it back to the checkpoint's step would wait on it forever
    with pytest.raises(RunError, match="run r: unreadable: metrics.jsonl is a named pipe"):
        check_steps(run, tiny_config(tmp_path, steps=4200), SimpleNamespace(step=10))


def test_another_runs_checkpoint_of_the_same_shapes_is_refused_and_one_from_before_run_ids_accepted(tmp_path):
    images = image_folder(tmp_path / "images", 32)
    theirs = tiny_run(tmp_path / "runs", images)
    mine = RunFolder(tmp_path / "runs" / "mine")
    shutil.copytree(theirs.path, mine.path)  # every checkpoint of another run, shapes and all
    mine.write_status(run_uid="0123456789abcdef")
    config = tiny_config(images)
    with pytest.raises(CheckpointError, match=r"no checkpoint this resume can use: last.pt \(it belongs to another "
                                              rf"run \('{theirs.id}'.*not to mine"):
        pick_checkpoint(mine, config)
    old = torch.load(mine.last_checkpoint, weights_only=True)
    del old["run"]
    torch.save(old, mine.last_checkpoint)
    picked = pick_checkpoint(mine, config)
    assert picked.path == mine.last_checkpoint and picked.step == 10
    assert picked.notes() == ["last.pt was written before checkpoints named their run: taken as this run's own"]


def test_a_resume_may_tune_how_a_run_trains_but_not_what_it_trains_on_or_what_it_trains(tmp_path):
    run = SimpleNamespace(id="r", config_path=tmp_path / "r" / "config.json")
    stored = tiny_config(tmp_path).to_dict()
    check_unchanged(run, stored, configs.build_config({**stored, "lr_g": 1e-3, "steps": 99, "ema": True}))
    check_unchanged(run, stored, configs.build_config({**stored, "data_root": str(tmp_path / "." / "")}))
    with pytest.raises(configs.ConfigError, match=r"would change dataset \('folder' -> 'mnist'\), image_size \(28 -> "
                                                  r"32\).*start a new run from its config: `python -m training train "
                                                  r"--config \S+config.json --set dataset=mnist --set image_size=32`"):
        check_unchanged(run, stored, configs.build_config({**stored, "dataset": "mnist", "image_size": 32}))
    with pytest.raises(configs.ConfigError, match=r"would change data_root"):
        check_unchanged(run, stored, configs.build_config({**stored, "data_root": str(tmp_path / "other")}))

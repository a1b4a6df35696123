"""The command-line parts of fine-tuning and hub folders (training/cli/weights.py): train --init-from
records where the run started; a mistake in --init-from, --hub or upgrade --weights ends the command
with one line and status 2, before a run folder or a model file exists."""
from __future__ import annotations

import hashlib
import json
import re

import pytest

from training.cli.main import main
from training.runfolder.folder import create_run, list_runs

from tests.helpers import REPO_ROOT, file_hashes, image_folder

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism", "restore_logging")
SHIPPED_WEIGHTS = REPO_ROOT / "exported" / "mnist-dcgan.generator.safetensors"


def train(tmp_path, *extra: str) -> list[str]:
    images = image_folder(tmp_path / "images", 16)
    return ["train", "--preset", "dcgan-mnist-tuned", "--data-root", str(images), "--runs-dir", str(tmp_path / "runs"),
            "--set", "dataset=folder", "--set", "batch_size=8", "--set", "steps=1", "--set", "eval_every=0",
            "--set", "tensorboard=false", "--device", "cpu", *extra]


def test_a_run_from_a_shipped_model_records_the_file_and_its_hash(tmp_path, capsys):
    assert main(train(tmp_path, "--init-from", "mnist-dcgan")) == 0
    (run,) = list_runs(tmp_path / "runs")
    config = json.loads(run.config_path.read_text())
    assert config["init_from"] == str(SHIPPED_WEIGHTS) and config["freeze_d"] == 0
    assert config["init_from_sha256"] == hashlib.sha256(SHIPPED_WEIGHTS.read_bytes()).hexdigest()
    assert config["init_from_d_sha256"] == ""  # no discriminator was shipped: D started from the seed


@pytest.mark.parametrize("extra,message", [
    (["--init-from", "nothing"], "init_from 'nothing': no .*nothing.generator.safetensors"),
    (["--init-from", "mnist-dcgan", "--set", "latent_dim=64"], r"\[6272, 64\] here\). .*--set latent_dim=100"),
    (["--init-from", "mnist-dcgan", "--freeze-d", "1"], "no discriminator's file beside it"),
    (["--freeze-d", "2"], "freeze_d=2 keeps D's first layers as init_from loaded them"),
])
def test_a_wrong_init_from_is_one_line_before_any_run_folder(tmp_path, capsys, extra, message):
    assert main(train(tmp_path, *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    assert re.search(message, err), err
    assert not list(list_runs(tmp_path / "runs"))


def test_hub_and_upgrade_weights_refuse_before_writing(tmp_path, capsys):
    run = create_run(tmp_path / "runs", "r", {"steps": 1})
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    before = file_hashes(tmp_path)
    runs = ["--runs-dir", str(tmp_path / "runs")]
    for argv, message in (
            (["export", run.id, "--hub", str(taken), *runs], "is not empty (notes.txt); pass --force"),
            (["export", run.id, "--hub", str(taken), "--force", *runs], "holds notes.txt, which is not a file of a hub"),
            (["export", run.id, "--hub", str(tmp_path / "new"), "--out", str(tmp_path / "m.onnx"), *runs],
             "give --hub or --out, not both"),
            (["upgrade", str(REPO_ROOT / "exported" / "mnist-dcgan.onnx"), "--weights", "--out", str(tmp_path / "c.onnx")],
             "--weights writes beside MODEL")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "\n" not in err.strip(), err
    assert file_hashes(tmp_path) == before and not (tmp_path / "new").exists()

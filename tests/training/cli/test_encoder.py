"""training/cli/encoder.py: `python -m training train-encoder MODEL.onnx` writes an encoder beside the
model (or at --out) and prints where; it never overwrites one without --force, and refuses a missing
or class-conditional model in one line before any training."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inference import Generator
from inference.encoder import Encoder, encoder_path
from training.cli.main import main

from tests.helpers import REPO_ROOT, file_hashes, make_exact_encoder, make_onnx_generator, make_philox_generator

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


@pytest.fixture
def model_with_encoder(tmp_path):
    """A philox toy generator with an encoder already beside it."""
    model = make_philox_generator(tmp_path / "toy.onnx")
    make_exact_encoder(model)
    return model


def test_cli_refuses_to_overwrite_and_refuses_conditional_models(model_with_encoder, tmp_path):
    model = model_with_encoder
    before = file_hashes(model.parent)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "training", "train-encoder", *map(str, args)], cwd=REPO_ROOT,
                              env=env, capture_output=True, text=True, timeout=120)
    again = cli(model, "--steps", "2")
    assert again.returncode == 2 and "exists; pass --force" in again.stderr and "Traceback" not in again.stderr
    assert file_hashes(model.parent) == before  # nothing written, nothing trained
    conditional = make_onnx_generator(tmp_path / "cgan.onnx", num_classes=10)
    refused = cli(conditional, "--steps", "2")
    assert refused.returncode == 2 and "class-conditional" in refused.stderr
    assert not encoder_path(conditional).exists()
    missing = cli(tmp_path / "nope.onnx")
    assert missing.returncode == 2 and "no such model file" in missing.stderr


def test_an_encoder_written_to_out_fits_its_model_and_its_path_is_printed(tmp_path, capsys):
    model = make_philox_generator(tmp_path / "toy.onnx")
    out = tmp_path / "encoders" / "toy-e.onnx"
    assert main(["train-encoder", str(model), "--steps", "2", "--out", str(out)]) == 0
    printed, said = capsys.readouterr()
    assert printed.strip() == str(out) and "toy-e.onnx: 2 steps on" in said and "held-out z mse" in said
    encoder = Encoder.load(out, Generator.load(model, device="cpu"))
    assert encoder.metadata["train_steps"] == "2" and not encoder_path(model).exists()


def test_an_out_that_is_not_onnx_is_refused_before_training(model_with_encoder, tmp_path, capsys):
    before = file_hashes(tmp_path)
    assert main(["train-encoder", str(model_with_encoder), "--out", str(tmp_path / "e.pt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --out") and ".onnx" in err and file_hashes(tmp_path) == before

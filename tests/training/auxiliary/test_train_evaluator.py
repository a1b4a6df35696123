"""training/auxiliary/train_evaluator.py: python -m training train-evaluator writes a new evaluator file
by default, refuses to replace one (the shipped one above all) before any training, and resumes an
interrupted training by its output's name."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest

import training.auxiliary.train_evaluator
from evaluation.evaluators import Evaluator, default_evaluator_file
from training.auxiliary.evaluator_net import EvaluatorError
from training.auxiliary.train_evaluator import output_path, train_evaluator
from training.cli.main import main

from tests.helpers import REPO_ROOT
from tests.training.auxiliary.common import mnist_splits

pytestmark = pytest.mark.usefixtures("one_thread")
SHIPPED = REPO_ROOT / "exported" / "evaluators" / "mnist-cnn.onnx"


def test_a_new_evaluator_goes_to_a_new_file_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_EVALUATORS", str(tmp_path))
    when = datetime(2026, 12, 1, 10, 20, 30, tzinfo=timezone.utc)
    assert output_path("mnist", now=when) == tmp_path / "mnist-cnn-20261201-102030.onnx"
    assert default_evaluator_file("mnist") == tmp_path / "mnist-cnn.onnx"
    (tmp_path / "mine.onnx").write_bytes(b"")
    with pytest.raises(EvaluatorError, match="exists; pass --force"):
        output_path("mnist", tmp_path / "mine.onnx")
    assert output_path("mnist", tmp_path / "mine.onnx", force=True) == tmp_path / "mine.onnx"
    with pytest.raises(EvaluatorError, match=r"must end in \.onnx"):
        output_path("mnist", tmp_path / "mine.pt")


def test_the_shipped_evaluator_is_refused_before_any_training(capsys):
    before = hashlib.sha256(SHIPPED.read_bytes()).hexdigest()
    assert main(["train-evaluator", "--dataset", "mnist", "--out", str(SHIPPED)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "shipped" in err and "--force" in err
    assert hashlib.sha256(SHIPPED.read_bytes()).hexdigest() == before


def test_train_evaluator_writes_a_new_file_and_resumes_by_dataset(tmp_path, monkeypatch, mnist_test, capsys):
    train, test = mnist_splits(mnist_test, 256, 64)
    splits = {"train": train, "test": test}
    monkeypatch.setattr(training.auxiliary.train_evaluator, "load_dataset", lambda name, root, split, *size: splits[split])
    monkeypatch.setenv("GAN_STUDIO_EVALUATORS", str(tmp_path / "evaluators"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["train-evaluator", "--dataset", "mnist", "--epochs", "1"]) == 1  # 256 images: below the target
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (made,) = (tmp_path / "evaluators").glob("mnist-cnn-*.onnx")
    assert printed["file"] == str(made) and Evaluator(made).dataset == "mnist"
    assert (tmp_path / "home" / ".cache" / "gan-studio" / "evaluator-training" / "mnist-cnn.ckpt.pt").is_file()
    assert not (tmp_path / "evaluators" / "mnist-cnn.onnx").exists()



def test_a_file_in_the_way_or_an_unknown_dataset_is_refused_before_any_data_is_loaded(tmp_path, monkeypatch):
    def no_loading(*args):
        raise AssertionError("the data was loaded before the refusal")

    monkeypatch.setattr(training.auxiliary.train_evaluator, "load_dataset", no_loading)
    (tmp_path / "mine.onnx").write_bytes(b"an evaluator")
    with pytest.raises(EvaluatorError, match=r"mine.onnx exists; pass --force to replace it, or leave out --out"):
        train_evaluator("mnist", out=tmp_path / "mine.onnx")
    with pytest.raises(EvaluatorError, match="no evaluator recipe for dataset 'cifar10'; choose from mnist, fashion-mnist"):
        train_evaluator("cifar10", out=tmp_path / "new.onnx")
    assert (tmp_path / "mine.onnx").read_bytes() == b"an evaluator"


def test_a_named_output_resumes_by_its_own_name_and_records_the_command(tmp_path, monkeypatch, mnist_test):
    train, test = mnist_splits(mnist_test, 128, 64)
    monkeypatch.setattr(training.auxiliary.train_evaluator, "load_dataset", lambda name, root, split, *size:
                        {"train": train, "test": test}[split])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    card, path = train_evaluator("mnist", epochs=1, out=tmp_path / "mine.onnx")
    assert path == tmp_path / "mine.onnx" and Evaluator(path).dataset == "mnist"
    assert (tmp_path / "home" / ".cache" / "gan-studio" / "evaluator-training" / "mine.ckpt.pt").is_file()
    assert card["metadata"]["training_command"] == "python -m training train-evaluator --dataset mnist --epochs 1"
    assert json.loads(path.with_suffix(".json").read_text())["test_accuracy"] == card["test_accuracy"]


def test_a_folder_needs_its_root_and_the_datasets_no_image_size(capsys, tmp_path):
    assert main(["train-evaluator", "--dataset", "folder"]) == 2
    assert "pass --data-root DIR (one subfolder per class)" in capsys.readouterr().err
    assert main(["train-evaluator", "--dataset", "mnist", "--image-size", "32", "--out", str(tmp_path / "m.onnx")]) == 2
    assert "--image-size is for a folder; the mnist evaluator reads 28x28" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()

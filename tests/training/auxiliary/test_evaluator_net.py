"""training/auxiliary/evaluator_net.py, evaluator_export.py and train_evaluator.py: the evaluator CNN trains
(resumably), exports to the file evaluation reads, and never replaces an evaluator by accident."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import pytest
import torch

from evaluation.evaluators import Evaluator, default_evaluator_file
from training.cli.main import main
from training.export.evaluator import export_evaluator
from training.auxiliary.evaluator_net import EvaluatorError, TrainSettings, fit
from training.auxiliary.train_evaluator import output_path

from tests.helpers import REPO_ROOT

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


@dataclass
class Split:
    images: torch.Tensor  # uint8 [N, 1, 28, 28]
    labels: torch.Tensor
    class_names: list

    def __len__(self) -> int:
        return len(self.images)


def test_fit_resumes_and_the_export_is_an_evaluator(tmp_path, mnist_test):
    images, labels = torch.from_numpy(mnist_test.images[:512]), torch.from_numpy(mnist_test.labels[:512])
    train = Split(images[:384], labels[:384], [str(i) for i in range(10)])
    test = Split(images[384:], labels[384:], train.class_names)
    settings = TrainSettings("mnist", epochs=1, batch_size=64)
    checkpoint = tmp_path / "ckpt.pt"
    first = fit(settings, train, test, checkpoint)
    assert len(first.history) == 1 and checkpoint.exists() and not first.model.training
    again = fit(settings, train, test, checkpoint)  # the checkpoint is finished: nothing more to train
    assert again.history == first.history and again.test_accuracy == pytest.approx(first.test_accuracy)
    out = tmp_path / "tiny-cnn.onnx"
    card = export_evaluator(first.model, out, dataset="mnist", test_accuracy=first.test_accuracy,
                            class_names=train.class_names, settings=settings, wall_time_s=first.elapsed_s,
                            history=first.history, command="test", n_test=len(test), test_images=test.images[:32])
    ev = Evaluator(out)
    feats, logits = ev.run(test.images.numpy().astype(np.float32) / 127.5 - 1)
    assert feats.shape == (128, 128) and logits.shape == (128, 10) and ev.dataset == "mnist"
    with torch.no_grad():
        ref_logits, _ = first.model(test.images.float() / 127.5 - 1)
    assert np.abs(logits - ref_logits.numpy()).max() < 1e-3
    assert json.loads(out.with_suffix(".json").read_text())["test_accuracy"] == card["test_accuracy"]
    assert card["export"]["parity_max_abs_diff"] <= 1e-3


def test_train_evaluator_writes_a_new_file_and_resumes_by_dataset(tmp_path, monkeypatch, mnist_test, capsys):
    import training.auxiliary.train_evaluator

    images, labels = torch.from_numpy(mnist_test.images[:320]), torch.from_numpy(mnist_test.labels[:320])
    splits = {"train": Split(images[:256], labels[:256], [str(i) for i in range(10)]),
              "test": Split(images[256:], labels[256:], [str(i) for i in range(10)])}
    monkeypatch.setattr(training.auxiliary.train_evaluator, "load_dataset", lambda name, root, split, *size: splits[split])
    monkeypatch.setenv("GAN_STUDIO_EVALUATORS", str(tmp_path / "evaluators"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert main(["train-evaluator", "--dataset", "mnist", "--epochs", "1"]) == 1  # 256 images: below the target
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (made,) = (tmp_path / "evaluators").glob("mnist-cnn-*.onnx")
    assert printed["file"] == str(made) and Evaluator(made).dataset == "mnist"
    assert (tmp_path / "home" / ".cache" / "gan-studio" / "evaluator-training" / "mnist-cnn.ckpt.pt").is_file()
    assert not (tmp_path / "evaluators" / "mnist-cnn.onnx").exists()

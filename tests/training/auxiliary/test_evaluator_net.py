"""training/auxiliary/evaluator_net.py: the evaluator CNN trains (resumably), and what it learned
exports to the file evaluation reads."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from evaluation.evaluators import Evaluator
from training.auxiliary.evaluator_net import TrainSettings, fit
from training.export.evaluator import export_evaluator

from tests.training.auxiliary.common import mnist_splits

pytestmark = pytest.mark.usefixtures("one_thread")


def test_fit_resumes_and_the_export_is_an_evaluator(tmp_path, mnist_test):
    train, test = mnist_splits(mnist_test, 384, 128)
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



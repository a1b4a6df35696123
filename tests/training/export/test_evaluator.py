"""training/export/evaluator.py: the evaluator CNN becomes the file evaluation.evaluators reads, with
its metadata and card, and nothing reaches the final name unless onnxruntime agrees with PyTorch."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import training.export.evaluator as export_module
from evaluation.evaluators import Evaluator
from training.auxiliary.evaluator_net import EvaluatorCNN, EvaluatorError, TrainSettings
from training.export.evaluator import export_evaluator

pytestmark = pytest.mark.usefixtures("one_thread")
HISTORY = [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.3}, {"epoch": "polish 1", "loss": 0.2}]


def network() -> EvaluatorCNN:
    torch.manual_seed(0)
    net = EvaluatorCNN()
    with torch.no_grad():  # running statistics of its own, so the export has real batch norms to fold
        for m in net.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    return net.eval()


def export(net, out, **changes):
    images = torch.randint(0, 256, (16, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    options = dict(dataset="mnist", test_accuracy=0.99123, class_names=[str(i) for i in range(10)],
                   settings=TrainSettings("mnist", epochs=2), wall_time_s=12.345, history=HISTORY,
                   command="python -m training train-evaluator --dataset mnist", n_test=10_000, test_images=images)
    return export_evaluator(net, out, **(options | changes))


def test_the_export_is_an_evaluator_that_computes_what_pytorch_does(tmp_path):
    net = network()
    out = tmp_path / "evaluators" / "mnist-cnn-test.onnx"
    card = export(net, out)
    evaluator = Evaluator(out)
    assert (evaluator.dataset, evaluator.feature_dim, evaluator.class_names) == ("mnist", 128, [str(i) for i in range(10)])
    images = np.random.default_rng(2).uniform(-1, 1, (5, 1, 28, 28)).astype(np.float32)
    features, logits = evaluator.run(images)
    with torch.no_grad():
        want_logits, want_features = net(torch.from_numpy(images))
    np.testing.assert_allclose(logits, want_logits.numpy(), atol=1e-3)
    np.testing.assert_allclose(features, want_features.numpy(), atol=1e-3)
    # Only the file and its card: the temporary export folder is gone.
    assert sorted(p.name for p in out.parent.iterdir()) == ["mnist-cnn-test.json", "mnist-cnn-test.onnx"]
    assert json.loads(out.with_suffix(".json").read_text()) == card


def test_the_card_says_how_the_network_was_trained_and_checked(tmp_path):
    out = tmp_path / "cnn.onnx"
    card = export(network(), out)
    assert card["name"] == "cnn" and card["kind"] == "evaluator"
    assert card["test_accuracy"] == 0.9912 and card["target_accuracy"] == 0.993
    meta = card["metadata"]
    assert meta["test_accuracy"] == "0.9912" and meta["test_split"] == "mnist test (10,000)"
    assert meta["input_range"] == "-1,1" and meta["outputs"] == "logits,features" and meta["num_classes"] == "10"
    training = card["training"]
    assert training["epochs"] == 2 and training["polish_epochs"] == 1 and training["wall_time_s"] == 12.3
    assert training["parameters"] == sum(p.numel() for p in network().parameters())
    assert card["export"]["opset"] == 18 and card["export"]["size_bytes"] == out.stat().st_size
    assert 0 <= card["export"]["parity_max_abs_diff"] <= 1e-3


def test_an_export_onnxruntime_disagrees_with_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(export_module, "parity_error", lambda *args: 0.5)
    out = tmp_path / "cnn.onnx"
    with pytest.raises(EvaluatorError, match="onnxruntime differs from PyTorch by 5.00e-01; nothing written"):
        export(network(), out)
    assert list(tmp_path.iterdir()) == []

"""training/export/small_net.py: a small network exported with a dynamic batch and its metadata,
checked by onnx.checker, and the largest difference between onnxruntime and PyTorch measured."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from training.export.small_net import OPSET, export_checked, parity_error

pytestmark = pytest.mark.usefixtures("one_thread")


class TwoHeads(nn.Module):
    """An image to (scores, features), as the evaluator CNN returns them."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 6))
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        features = self.body(x)
        return self.head(features), features


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    net = TwoHeads().eval()
    folder = tmp_path_factory.mktemp("export")
    path = export_checked(net, (1, 7, 7), folder, "image", ["scores", "features"], {"gan_studio.kind": "test", "note": "x"})
    return net, path


def test_the_file_is_checked_has_the_names_the_metadata_and_the_opset(exported):
    _, path = exported
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["scores", "features"]
    assert {p.key: p.value for p in proto.metadata_props} == {"gan_studio.kind": "test", "note": "x"}
    assert any(o.domain in ("", "ai.onnx") and o.version >= OPSET for o in proto.opset_import)


@pytest.mark.parametrize("batch", [1, 5])
def test_any_batch_size_runs_and_matches_pytorch(exported, batch):
    net, path = exported
    x = np.random.default_rng(batch).standard_normal((batch, 1, 7, 7)).astype(np.float32)
    scores, features = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})
    with torch.no_grad():
        want_scores, want_features = net(torch.from_numpy(x))
    assert scores.shape == (batch, 2) and features.shape == (batch, 6)
    np.testing.assert_allclose(scores, want_scores.numpy(), atol=1e-5)
    np.testing.assert_allclose(features, want_features.numpy(), atol=1e-5)


def test_parity_error_is_the_largest_difference_over_every_output(exported):
    net, path = exported
    x = np.random.default_rng(3).standard_normal((4, 1, 7, 7)).astype(np.float32)
    assert parity_error(net, path, x, "image", ["scores", "features"]) < 1e-5
    changed = TwoHeads().eval()
    changed.load_state_dict(net.state_dict())
    with torch.no_grad():
        changed.body[-1].bias[2] += 0.25  # moves one feature, and the scores through it
    error = parity_error(changed, path, x, "image", ["scores", "features"])
    with torch.no_grad():
        moved_scores = (changed(torch.from_numpy(x))[0] - net(torch.from_numpy(x))[0]).abs().max().item()
    assert error == pytest.approx(max(0.25, moved_scores), abs=1e-5)


class OneHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(16, 3)

    def forward(self, x):  # the batch axis is declared dynamic by this argument's name
        return self.linear(x.flatten(1))


def test_a_single_output_network_is_compared_too(tmp_path):
    torch.manual_seed(1)
    net = OneHead().eval()
    path = export_checked(net, (1, 4, 4), tmp_path, "image", ["z"], {})
    x = np.ones((2, 1, 4, 4), np.float32)
    assert parity_error(net, path, x, "image", ["z"]) < 1e-5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checked.onnx", "raw.onnx"]  # the caller's folder only

"""A generator's PyTorch weights recovered from its ONNX file (training/export/onnx_weights.py): export's
rewrites undone (sub-pixel phases back into transposed kernels, folded batch norms back into norms),
the recovered net drawing what the run's own generator draws, in eval mode exactly and in training
mode (batch statistics, what fine-tuning runs) closely; a file it cannot map back refused."""
from __future__ import annotations

import json
import os

import pytest
import torch

from training.export.generator import load_generator
from training.export.onnx_weights import PARITY_BOUND, RecoveryError, recover_generator

from tests.training.export.common import LATENT_DIM

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def exported(dcgan_export):
    """(the run's generator as export took it, its .onnx)."""
    generator, _, _ = load_generator(dcgan_export.run)
    return generator, dcgan_export.model


def test_the_recovered_generator_draws_what_the_runs_generator_draws(exported):
    original, path = exported
    recovered = recover_generator(path)
    assert recovered.parity_max_abs_diff <= PARITY_BOUND and recovered.calibrated_norms == 2  # project.1, net.1
    assert recovered.config.model == "dcgan" and recovered.config.g_width == 8 and not recovered.generator.training
    z = torch.randn(256, LATENT_DIM).clamp(-1, 1)
    with torch.no_grad():
        assert (recovered.generator(z) - original(z)).abs().max() < 1e-5  # eval mode: the same function
        # the transposed kernels themselves come back tap for tap (the image layer was never rewritten)
        assert torch.equal(recovered.generator.net[3].weight, original.net[3].weight)
        # training mode normalises by the batch: recovered statistics make that draw nearly the same too
        trained_mode = recovered.generator.train()(z)
        assert (trained_mode - original.eval()(z)).abs().mean() < 0.05
    recovered.generator.eval()


def test_a_folded_norm_keeps_the_layers_scale_and_the_bias_goes_where_the_net_has_one(exported):
    original, path = exported
    generator = recover_generator(path).generator
    # Linear without a bias, then BatchNorm1d: the product of the layer's and the norm's scales is the original's
    norm, folded = generator.project[1], original.project[1]
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    original_scale = folded.weight / torch.sqrt(folded.running_var + folded.eps)
    assert generator.project[0].bias is None
    assert torch.allclose(generator.project[0].weight * scale[:, None], original.project[0].weight * original_scale[:, None],
                          atol=1e-6)


def test_a_file_whose_card_cannot_rebuild_its_net_is_refused(exported, tmp_path):
    _, path = exported
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(RecoveryError, match="no card copy.json beside it"):
        recover_generator(copy)
    card = json.loads(path.with_suffix(".json").read_text())
    card["training"]["config"]["g_width"] = 16  # another net than the graph holds
    copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(RecoveryError, match=r"generator.project.0.weight is \[784, 12\] in the graph, \[1568, 12\]"):
        recover_generator(copy)
    del card["training"]["config"]
    copy.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(RecoveryError, match="not a model card with a training config"):
        recover_generator(copy)
    copy.with_suffix(".json").unlink()
    os.mkfifo(copy.with_suffix(".json"))  # read, it would wait for a writer forever
    with pytest.raises(RecoveryError, match="not a model card .*copy.json is a named pipe"):
        recover_generator(copy)

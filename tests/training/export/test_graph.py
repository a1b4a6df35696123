"""The export-time graph rewrites (training/export/graph.py): equal to the originals, and every model
family still exports within the parity bound."""
from __future__ import annotations

import copy
import json

import numpy as np
import onnx
import pytest
import torch
from torch import nn

from training import config as configs
from training.checkpoint import save_checkpoint
from training.export.generator import PARITY_BOUND, export_run
from training.models import build_models
from training.export.graph import (SubPixelConv2d, absorb_activations, fold_batch_norms, input_shapes,
                                 norms_after_transposed_convs, optimize_for_export, replace_transposed_convs)
from training.runfolder.folder import create_run

TOL = 2e-5


def _randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Non-trivial batch-norm scales, shifts and running statistics (the layers keep their own
    random init), in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                if m.affine:
                    m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                    m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.5)
                if m.track_running_stats:
                    m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
                    m.running_var.copy_(torch.rand(m.num_features, generator=g) * 2 + 0.2)
            elif type(m).__name__ == "ConditionalBatchNorm2d":
                m.scale.weight.copy_(torch.rand(m.scale.weight.shape, generator=g) + 0.5)
                m.shift.weight.copy_(torch.randn(m.shift.weight.shape, generator=g) * 0.5)
    return module.eval().requires_grad_(False)


def _close(a: torch.Tensor, b: torch.Tensor) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float((a - b).abs().max())


# --- ConvTranspose2d -> SubPixelConv2d ------------------------------------------------------

GEOMETRIES = [  # kernel, stride, padding, output_padding
    (5, 2, 2, 1),  # DCGAN / Keras
    (4, 2, 1, 0),  # SNGAN
    (5, 1, 2, 0),  # Keras, stride 1
    (3, 2, 1, 1),
    (4, 2, 0, 1),
    (2, 2, 0, 0),
    (3, 3, 0, 2),
    (5, 2, 3, 1),
    (1, 1, 0, 0),
    ((5, 3), 2, (2, 1), (1, 0)),  # non-square kernel, padding and output padding
]


@pytest.mark.parametrize("compact,phases", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("k,s,p,op", GEOMETRIES)
def test_subpixel_conv_equals_conv_transpose(k, s, p, op, compact, phases):
    torch.manual_seed(0)
    for bias in (True, False):
        deconv = nn.ConvTranspose2d(5, 3, k, s, p, op, bias=bias).eval()
        for hw in [(7, 7), (5, 9), (1, 3)]:
            for batch in (1, 7):
                x = torch.randn(batch, 5, *hw)
                with torch.no_grad():
                    want = deconv(x)
                    if want.numel() == 0:  # padding larger than the output: nothing to compare
                        continue
                    got = SubPixelConv2d(deconv, hw, compact, phases)(x)
                assert _close(got, want) < TOL, (k, s, p, op, hw, batch, bias)


def test_subpixel_conv_kernel_sizes():
    """The usual generator layers become crop-free convolutions with the expected kernels."""
    dcgan = SubPixelConv2d(nn.ConvTranspose2d(8, 4, 5, 2, 2, 1), (7, 7))
    assert dcgan.conv.kernel_size == (3, 3) and dcgan.conv.padding == (1, 1) and dcgan.conv.out_channels == 16
    assert dcgan.crop == (0, 0) and dcgan.out_hw == (14, 14)
    stride1 = SubPixelConv2d(nn.ConvTranspose2d(8, 4, 5, 1, 2), (7, 7))
    assert stride1.conv.kernel_size == (5, 5) and stride1.conv.padding == (2, 2) and stride1.conv.out_channels == 4
    assert isinstance(stride1.shuffle, nn.Identity)
    sngan = SubPixelConv2d(nn.ConvTranspose2d(8, 4, 4, 2, 1), (7, 7), compact=True)
    assert sngan.conv.kernel_size == (2, 2) and sngan.crop == (1, 1)
    # one convolution per phase, with exactly the transposed kernel's 25 taps
    exact = SubPixelConv2d(nn.ConvTranspose2d(8, 4, 5, 2, 2, 1), (7, 7), phases=True)
    assert [c.kernel_size for c in exact.convs] == [(3, 3), (3, 2), (2, 3), (2, 2)]
    assert all(c.out_channels == 4 for c in exact.convs) and exact.crop == (0, 0)


def test_subpixel_conv_rejects_other_sizes_and_layers():
    deconv = nn.ConvTranspose2d(2, 2, 4, 2, 1)
    with pytest.raises(ValueError, match="built for inputs"):
        SubPixelConv2d(deconv, (4, 4))(torch.randn(1, 2, 5, 5))
    with pytest.raises(ValueError, match="cannot rewrite"):
        SubPixelConv2d(nn.ConvTranspose2d(2, 2, 4, 2, 1, groups=2), (4, 4))
    with pytest.raises(ValueError, match="cannot rewrite"):
        SubPixelConv2d(nn.ConvTranspose2d(2, 2, 3, 2, 1, dilation=2), (4, 4))


# --- batch norm folding and activations --------------------------------------------------------

class _Net(nn.Module):
    latent_dim, num_classes = 6, 0

    def __init__(self):
        super().__init__()
        self.project = nn.Sequential(nn.Linear(6, 16 * 9, bias=False), nn.BatchNorm1d(16 * 9), nn.LeakyReLU(0.2))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(16, 12, 5, 1, 2, bias=False), nn.BatchNorm2d(12), nn.ReLU(),
            nn.ConvTranspose2d(12, 10, 5, 2, 2, 1), nn.BatchNorm2d(10, affine=False), nn.LeakyReLU(0.3),
            nn.Conv2d(10, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Tanh(),
            nn.ConvTranspose2d(8, 3, 4, 2, 1), nn.Sigmoid(),
        )

    def forward(self, z, labels=None):
        return self.net(self.project(z).view(-1, 16, 3, 3))


def test_fold_batch_norms_and_absorb_activations_keep_the_function():
    net = _randomize(_Net())
    z = torch.randn(7, 6)
    want = net(z)
    model = copy.deepcopy(net)
    shapes = input_shapes(model)
    assert fold_batch_norms(model, shapes) == 4
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert _close(model(z), want) < TOL
    phases = copy.deepcopy(model)
    assert replace_transposed_convs(phases, phases=True) == 2  # not the 3-channel image layer
    assert absorb_activations(phases) == 2
    assert _close(phases(z), want) < TOL
    # every transposed convolution, as one convolution each
    assert replace_transposed_convs(model, shapes, select=lambda m: True) == 3
    assert absorb_activations(model) == 3
    kinds = [type(m).__name__ for m in model.net]
    assert kinds.count("SubPixelConv2d") == 3 and "ConvTranspose2d" not in kinds
    assert _close(model(z), want) < TOL
    assert _close(model(z[:1]), want[:1]) < TOL


def test_norms_that_must_not_be_folded_stay():
    train_mode = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).train()
    batch_stats = _randomize(nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4, track_running_stats=False)))
    not_adjacent = _randomize(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4)))
    for model in (train_mode, batch_stats, not_adjacent):
        assert fold_batch_norms(model) == 0
    # BatchNorm1d after a Linear on 3-D input normalizes dim 1, not the Linear's features
    seq = _randomize(nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4)))
    assert fold_batch_norms(seq, {seq[0]: (2, 4, 4)}) == 0
    assert fold_batch_norms(seq, None) == 0  # shapes unknown: a Linear is left alone
    assert fold_batch_norms(seq, {seq[0]: (2, 4)}) == 1


def test_norms_after_transposed_convs_found_across_the_module_tree():
    class Loop(nn.Module):  # SNGAN's shape: the norm of the next step follows the transposed conv
        latent_dim = 4

        def __init__(self):
            super().__init__()
            self.ups = nn.ModuleList([nn.ConvTranspose2d(4, 8, 4, 2, 1), nn.ConvTranspose2d(8, 8, 4, 2, 1)])
            self.norms = nn.ModuleList([nn.BatchNorm2d(8), nn.BatchNorm2d(8)])
            self.side = nn.BatchNorm2d(4)

        def forward(self, z, labels=None):
            h = self.side(z.view(-1, 4, 1, 1))
            h = self.ups[0](h)
            h = self.ups[1](torch.relu(self.norms[0](h)))
            return torch.relu(h) + self.norms[1](h)  # the norm still takes the layer's output

    net = _randomize(Loop())
    found = norms_after_transposed_convs(net)
    assert found == {net.ups[0]: net.norms[0], net.ups[1]: net.norms[1]}
    optimized = optimize_for_export(net)  # both kept: their norms cannot be folded here
    assert not any(isinstance(m, SubPixelConv2d) for m in optimized.modules())
    z = torch.randn(3, 4)
    assert _close(optimized(z), net(z)) < TOL


# --- every model family --------------------------------------------------------------------

FAMILIES = {  # name: (preset, overrides)
    "mlp-gan": ("gan-mlp-mnist", ["g_width=32"]),
    "wgan-mlp": ("wgan-mnist", ["g_width=16"]),
    "dcgan": ("dcgan-mnist", ["g_width=16"]),
    "dcgan-rgb32": ("dcgan-cifar10", ["g_width=8"]),
    "dcgan-conditional": ("cgan-mnist", ["g_width=16"]),
    "dcgan-keras": ("dcgan-keras-mnist", ["g_width=8"]),
    "sngan": ("sngan-mnist", ["g_width=8"]),
    "sngan-conditional": ("sngan-mnist", ["g_width=8", "conditional=true"]),
    "fastgan-64": ("fastgan-folder-64", ["g_width=4"]),
    "fastgan-128-rgba": ("fastgan-folder-128", ["g_width=2", "channels=4", "transparency=alpha"]),
}


def _family(name: str):
    preset, overrides = FAMILIES[name]
    config = configs.resolve(preset, overrides)
    num_classes = 10 if config.conditional else 0
    torch.manual_seed(len(name))
    return config, num_classes, _randomize(build_models(config, num_classes).generator, seed=len(name))


def _inputs(generator, n: int):
    z = torch.randn(n, generator.latent_dim, generator=torch.Generator().manual_seed(n))
    return (z, torch.arange(n) % generator.num_classes) if generator.num_classes else (z,)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_optimized_generator_equals_the_original(family):
    _, _, generator = _family(family)
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    optimized = optimize_for_export(generator)
    for n in (1, 7):
        inputs = _inputs(generator, n)
        with torch.no_grad():
            assert _close(optimized(*inputs), generator(*inputs)) < TOL
    # the original is untouched
    assert all(torch.equal(before[k], v) for k, v in generator.state_dict().items())
    subpixel = sum(isinstance(m, SubPixelConv2d) for m in optimized.modules())
    # the image layers, and SNGAN's (each feeds a batch norm in the next loop step), stay ConvTranspose
    expected = {"dcgan": 1, "dcgan-rgb32": 2, "dcgan-conditional": 1, "dcgan-keras": 2}.get(family, 0)
    assert subpixel == expected
    if family == "sngan-conditional":  # class-conditional norms are never folded
        norms = [m for m in optimized.modules() if type(m).__name__ == "ConditionalBatchNorm2d"]
        assert norms and all(isinstance(m.bn, nn.BatchNorm2d) for m in norms)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_export_of_every_family_holds_the_parity_bound(family, tmp_path):
    config, num_classes, generator = _family(family)
    run = create_run(tmp_path / "runs", family, config.to_dict())
    save_checkpoint(run, {"step": 0, "generator": generator.state_dict(), "ema": None,
                          "num_classes": num_classes}, step=0, keep=0)
    out = export_run(run, tmp_path / f"{family}.onnx", metrics={})
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["export"]["parity_max_abs_diff"] <= PARITY_BOUND
    ops = [node.op_type for node in onnx.load(str(out)).graph.node]
    if family.startswith("dcgan"):  # only the image layer stays a transposed convolution
        assert ops.count("ConvTranspose") == 1 and "DepthToSpace" in ops
    if family.startswith("sngan"):
        assert ops.count("ConvTranspose") == 2
    assert "BatchNormalization" not in ops or family.startswith("sngan")
    # and independently of export_run's own check: onnxruntime against the original generator
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    for n in (1, 7):
        inputs = _inputs(generator, n)
        feeds = {"z": inputs[0].numpy(), **({"label": inputs[1].numpy()} if num_classes else {})}
        with torch.no_grad():
            want = generator(*inputs).numpy()
        assert np.abs(session.run(["image"], feeds)[0] - want).max() <= PARITY_BOUND

"""training/models/layers.py: the cheap Dropout keeps nn.Dropout's distribution and interface
(checked statistically, with tolerances a wrong mask fails), trains under bf16 autocast, replays
from the global RNG state, and vanishes from the exported graph; the pieces several architectures
share (the upsampling plan, the class-conditional batch norm) live here and nowhere else."""
from __future__ import annotations

import ast
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from training import config as configs
from training.models import build_models
from training.models.dcgan_keras import KerasDiscriminator
from training.models.layers import MASK_LEVELS, ConditionalBatchNorm2d, Dropout, batch_norm, upsampling_plan

from tests.helpers import REPO_ROOT

N = 10**6
SIGMAS = 6  # a correct mask fails one check in about 5e8; a lane or threshold off by 1% fails them all


def keep_probability(p: float) -> float:
    return round((1 - p) * MASK_LEVELS) / MASK_LEVELS


def assert_rate(kept: torch.Tensor, keep: float) -> None:
    n = kept.numel()
    sigma = math.sqrt(keep * (1 - keep) / n)
    rate = kept.double().mean().item()
    assert abs(rate - keep) <= SIGMAS * sigma, f"kept {rate:.5f} of {n}, expected {keep:.5f} +- {SIGMAS * sigma:.5f}"


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_the_drop_rate_is_p_in_every_lane_of_the_random_words(p):
    torch.manual_seed(0)
    assert abs(keep_probability(p) - (1 - p)) <= 2**-17
    kept = Dropout(p)(torch.ones(N)) != 0
    assert_rate(kept, keep_probability(p))
    # Four int16 draws share one int64 word: each of the four positions must be uniform on its own.
    for lane in range(4):
        assert_rate(kept[lane::4], keep_probability(p))


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_the_mean_is_preserved_kept_elements_scaled_by_exactly_the_inverse_keep_rate(p):
    torch.manual_seed(1)
    y = Dropout(p)(torch.ones(N))
    scale = MASK_LEVELS / round((1 - p) * MASK_LEVELS)
    assert torch.equal(y[y != 0], torch.full_like(y[y != 0], scale))  # float32(65536 / k)
    # Mean of N draws of {0, scale}: expectation 1 exactly, variance (scale - 1) / N.
    assert abs(y.double().mean().item() - 1) <= SIGMAS * math.sqrt((scale - 1) / N)


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])  # the trainer's CUDA layout
def test_the_gradient_is_the_mask_times_the_scale(layout):
    torch.manual_seed(2)
    # Normal draws have no exact zeros, so y != 0 is the mask.
    x = torch.randn(64, 32, 7, 7).contiguous(memory_format=layout).requires_grad_()
    y = Dropout(0.3)(x)
    upstream = torch.randn_like(y)
    y.backward(upstream)
    mask = (y != 0).float()
    scale = MASK_LEVELS / round(0.7 * MASK_LEVELS)
    assert torch.equal(y.detach(), x.detach() * (mask * scale))
    assert torch.equal(x.grad, upstream * (mask * scale))


def test_eval_mode_p_zero_and_p_one_behave_as_nn_dropout():
    x = torch.randn(5, 7, 3)  # 105 elements: not a multiple of the four draws a word holds
    d = Dropout(0.5)
    assert isinstance(d, nn.Dropout) and repr(d) == "Dropout(p=0.5, inplace=False)"
    assert d(x).shape == x.shape and not torch.equal(d(x), x)
    assert d.eval()(x) is x
    assert Dropout(0.0)(x) is x
    assert torch.equal(Dropout(1.0)(x), nn.Dropout(1.0)(x))
    with pytest.raises(ValueError):
        Dropout(1.5)
    inplace = x.clone()
    Dropout(0.5, inplace=True)(inplace)
    assert ((inplace == 0) | torch.isclose(inplace, 2 * x)).all() and (inplace == 0).any()


def test_the_mask_comes_from_the_global_rng_so_seed_and_saved_state_replay_it():
    x = torch.randn(1000)
    torch.manual_seed(3)
    first = Dropout(0.3)(x)
    torch.manual_seed(3)
    assert torch.equal(Dropout(0.3)(x), first)
    state = torch.get_rng_state()  # what the trainer's checkpoint keeps
    second = Dropout(0.3)(x)
    assert not torch.equal(second, first)
    torch.set_rng_state(state)
    assert torch.equal(Dropout(0.3)(x), second)


def test_bfloat16_input_stays_bfloat16_and_is_scaled_in_float32():
    torch.manual_seed(4)
    x = torch.randn(N, dtype=torch.bfloat16, requires_grad=True)
    y = Dropout(0.3)(x)
    y.float().sum().backward()
    assert y.dtype == x.grad.dtype == torch.bfloat16
    kept = y != 0
    assert_rate(kept, keep_probability(0.3))
    scale = MASK_LEVELS / round(0.7 * MASK_LEVELS)
    # Each product rounded once from float32, not x times a scale already rounded to bf16 (0.07% off).
    assert torch.equal(y[kept], (x.detach()[kept].float() * scale).bfloat16())
    assert torch.equal(x.grad, (kept.float() * scale).bfloat16())


def test_a_discriminator_trains_under_bf16_autocast():
    torch.manual_seed(5)
    d = KerasDiscriminator(8, (1, 28, 28), 0.3)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        score = d(torch.randn(4, 1, 28, 28))
    score.float().mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in d.parameters())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_on_cuda_the_rate_and_the_seed_hold():
    x = torch.ones(N, device="cuda")
    torch.manual_seed(6)
    first = Dropout(0.3)(x)
    assert first.device == x.device
    assert_rate(first != 0, keep_probability(0.3))
    torch.manual_seed(6)
    assert torch.equal(Dropout(0.3)(x), first)
    half = Dropout(0.3)(x.half().requires_grad_())
    assert half.dtype == torch.float16 and half.grad_fn is not None


@pytest.mark.parametrize("preset", ["dcgan-keras-mnist", "dcgan-mnist"])
def test_the_models_with_dropout_use_the_cheap_one(preset):
    config = configs.resolve(preset, ["dropout=0.3"])
    dropouts = [m for m in build_models(config).discriminator.modules() if isinstance(m, nn.Dropout)]
    assert dropouts and all(type(m) is Dropout and m.p == 0.3 for m in dropouts)


def test_dropout_exports_to_onnx_as_identity(tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    torch.manual_seed(7)
    d = KerasDiscriminator(8, (1, 28, 28), 0.3).eval()
    x = torch.randn(3, 1, 28, 28)
    path = tmp_path / "d.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(d, (x,), str(path), input_names=["x"], output_names=["score"], dynamo=True,
                          external_data=False, verbose=False)
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert not ops & {"Dropout", "RandomUniform", "RandomUniformLike", "Bernoulli", "Less", "Where"}, ops
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        np.testing.assert_allclose(got, d(x).numpy(), rtol=1e-4, atol=1e-5)


def test_the_upsampling_plan_halves_down_to_a_small_block():
    assert [upsampling_plan(size) for size in (28, 32, 48, 64, 128)] == [(7, 2), (4, 3), (6, 3), (4, 4), (4, 5)]
    for size in (7, 100, 2):
        with pytest.raises(configs.ConfigError, match=f"image_size {size} does not halve down"):
            upsampling_plan(size)


def test_a_conditional_batch_norm_scales_and_shifts_per_class():
    assert type(batch_norm(4, 0, {"momentum": 0.2})) is nn.BatchNorm2d
    norm = batch_norm(4, 3, {"eps": 1e-3})
    assert isinstance(norm, ConditionalBatchNorm2d) and norm.bn.eps == 1e-3 and not norm.bn.affine
    with torch.no_grad():
        norm.scale.weight[2].fill_(2.0)
        norm.shift.weight[2].fill_(5.0)
    x = torch.randn(6, 4, 3, 3)
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    out, plain = norm(x, labels), nn.BatchNorm2d(4, eps=1e-3, affine=False)(x)
    torch.testing.assert_close(out[labels == 0], plain[labels == 0])  # initialised to plain batch norm
    torch.testing.assert_close(out[labels == 2], 2.0 * plain[labels == 2] + 5.0)


def test_no_architecture_imports_another_one():
    """What several models share lives in layers.py (or the package), so each file stands alone."""
    folder = REPO_ROOT / "training" / "models"
    models = {path.stem for path in folder.glob("*.py")} - {"__init__", "layers"}
    borrowed = [f"{path.name} imports training.models.{node.module.rpartition('.')[2]}"
                for path in sorted(folder.glob("*.py"))
                for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.ImportFrom) and node.module
                and node.module.startswith("training.models.") and node.module.rpartition(".")[2] in models]
    assert not borrowed, borrowed

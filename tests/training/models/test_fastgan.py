"""FastGAN (training/models/fastgan.py): images of the configured shape at 64 and 128 px, skip-layer
excitation that really gates the large maps, and a self-supervised D whose reconstruction error is
differentiable, falls when D learns it, and joins D's loss in a real training step."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from tests.helpers import image_folder
from tests.training.models.common import latents, pair, small
from training.config import ConfigError
from training.export.small_net import export_checked
from training.models.fastgan import SkipExcitation

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("preset, size, channels", [("fastgan-folder-64", 64, 3), ("fastgan-folder-128", 128, 3),
                                                     ("fastgan-folder-64", 32, 4), ("fastgan-folder-64", 28, 1)])
def test_the_generator_draws_the_configured_shape_and_d_one_score_each(preset, size, channels):
    extra = dict(transparency="alpha") if channels == 4 else {}
    config = small(preset, image_size=size, channels=channels, **extra)
    g, d = pair(config).generator, pair(config).discriminator
    images = g(latents(config))
    assert images.shape == (4, channels, size, size) and images.abs().max() <= 1
    score, error = d(images, None, reconstruct=True)
    assert d(images).shape == score.shape == (4,) and error.ndim == 0 and error > 0


def test_skip_excitation_gates_the_large_maps_channels_from_the_small_map():
    config = small("fastgan-folder-64")
    g = pair(config).generator.eval()
    assert sorted(g.excite) == ["3", "4"]  # 32 px gated by 4 px, 64 px by 8 px
    z = latents(config)
    with torch.no_grad():
        before = g(z)
        gates = [m for m in g.modules() if isinstance(m, SkipExcitation)]
        for gate in gates:  # gates fully open: the small map no longer has a say
            torch.nn.init.constant_(gate.gate[3].bias, 50.0)
            torch.nn.init.zeros_(gate.gate[3].weight)
        assert (g(z) - before).abs().max() > 1e-3


def test_the_reconstruction_error_is_differentiable_and_falls_on_a_fixed_batch(tmp_path):
    config = small("fastgan-folder-64")
    d = pair(config).discriminator
    torch.manual_seed(0)  # smooth random images: something a 16 px reconstruction can capture
    real = torch.nn.functional.interpolate(torch.rand(8, 3, 4, 4) * 2 - 1, size=64, mode="bilinear")
    optimizer = torch.optim.Adam(d.parameters(), lr=2e-3)
    errors = []
    for _ in range(30):
        _, error = d(real, None, reconstruct=True)
        optimizer.zero_grad()
        error.backward()
        assert all(p.grad is not None for p in d.decoder.parameters())
        optimizer.step()
        errors.append(error.item())
    assert errors[-1] < 0.5 * errors[0], errors


@pytest.mark.parametrize("size", [64, 128])
def test_a_few_real_steps_train_both_nets_and_log_the_reconstruction(tmp_path, size):
    from training.session import build_session
    from training.step import training_step
    from training import config as configs

    images = image_folder(tmp_path / "images", 16, size=size)
    config = configs.resolve(f"fastgan-folder-{size}", ["g_width=4", "d_width=4", "batch_size=4", "eval_every=0"],
                             {"data_root": str(images)})
    session = build_session(config)
    g0 = [p.detach().clone() for p in session.G.parameters()]
    d0 = [p.detach().clone() for p in session.D.decoder.parameters()]
    stats = [training_step(session, step) for step in range(3)]
    assert all(np.isfinite(float(s["reconstruction"])) for s in stats)
    assert any(not torch.equal(a, b) for a, b in zip(g0, session.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, session.D.decoder.parameters()))
    assert "ada_p" in stats[-1]


def test_the_discriminator_exports_to_onnx_with_parity(tmp_path):
    config = small("fastgan-folder-64")
    d = pair(config).discriminator.eval()
    path = export_checked(d, (3, 64, 64), tmp_path, "x", ["score"], {})
    x = np.random.default_rng(0).uniform(-1, 1, (3, 3, 64, 64)).astype(np.float32)
    with torch.no_grad():
        want = d(torch.from_numpy(x)).numpy()
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["score"], {"x": x})[0]
    assert np.abs(got - want).max() < 1e-4


def test_fastgan_is_unconditional_only():
    with pytest.raises(ConfigError, match="no class-conditional version"):
        pair(small("fastgan-folder-64", conditional=True), num_classes=10)

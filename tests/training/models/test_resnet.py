"""SNGAN's ResNet pair (training/models/resnet.py): real training steps on MNIST with DiffAugment, a
schedule and an EMA half-life, then export to ONNX checked against PyTorch by onnxruntime."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from training import config as configs
from training.export.generator import export_run
from training.models import build_models
from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer


@pytest.mark.parametrize("size, channels, classes", [(28, 1, 0), (32, 3, 10)])
def test_the_pair_has_the_shapes_of_its_size(size, channels, classes):
    config = configs.resolve("resnet-mnist", [], dict(image_size=size, channels=channels, g_width=8, d_width=8,
                                                      conditional=bool(classes)))
    models = build_models(config, classes)
    labels = torch.arange(3) % 10 if classes else None
    images = models.generator(torch.randn(3, config.latent_dim), labels)
    assert images.shape == (3, channels, size, size) and images.abs().max() <= 1
    assert models.discriminator(images, labels).shape == (3,)
    blocks = len(models.generator.blocks)
    assert blocks == {28: 2, 32: 3}[size]  # 7 -> 14 -> 28, 4 -> 8 -> 16 -> 32


def test_the_resnet_pair_trains_on_mnist_and_exports(mnist_train, tmp_path, one_thread):
    config = configs.resolve("resnet-mnist", [], dict(
        g_width=16, d_width=16, batch_size=16, steps=4, log_every=2, sample_every=1000, checkpoint_every=4,
        ema_start=0, lr_warmup_steps=1, augment="translation,cutout,color", latent_dim=32))
    run = create_run(tmp_path / "runs", "resnet", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    before = [p.detach().clone() for p in trainer.session.G.parameters()]
    assert trainer.train() == "finished"
    assert all(torch.isfinite(p).all() for p in trainer.session.G.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.session.G.parameters())), "G never learned"
    rows = [r for r in run.read_metrics() if "loss_d" in r]
    assert [r["step"] for r in rows] == [2, 4] and all(np.isfinite(r["loss_d"]) for r in rows)
    assert rows[1]["lr_g"] < rows[0]["lr_g"]  # linear decay after the one warm-up step

    out = export_run(run, tmp_path / "resnet.onnx", metrics={})
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["export"]["parity_max_abs_diff"] <= 1e-3
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    z = np.random.default_rng(0).standard_normal((5, 32)).astype(np.float32)
    image = session.run(["image"], {"z": z})[0]
    assert image.shape == (5, 1, 28, 28) and np.abs(image).max() <= 1
    with torch.no_grad():
        want = trainer.session.ema.model.eval()(torch.from_numpy(z)).numpy()
    assert np.abs(image - want).max() <= 1e-3

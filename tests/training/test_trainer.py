"""The trainer on real MNIST: every preset trains and writes a complete run folder, a short run
measurably improves its samples, SIGINT stops cleanly, a NaN loss ends as `diverged` with the last
good checkpoint kept, EMA turned on at a resume, resumed learning rates, live evaluation. One step's
updates are tests/training/test_step.py's."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from evaluation.metrics.fid import feature_statistics, frechet_distance
from training import config as configs
from training.checkpoint import load_checkpoint
from training.data.dataset import convert_images, load_dataset
from training.latents import sample_latents
from training.run_writer import GRID_SIZE
from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import assert_same_losses, rgba_folder, small_config, training_rows

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")

FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
METRIC_KEYS = {"step", "epoch", "time", "loss_d", "loss_g", "images_per_s"}
SUBSET = 512  # real images per preset run: conversion to 64x64 RGB of all 60k would cost seconds


def subset(data, config, n=SUBSET):
    """The first n real images converted the way the loader converts them for this config."""
    return dataclasses.replace(data, images=convert_images(data.images[:n], config.image_size, config.channels),
                               labels=data.labels[:n])


def parameters(module):
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def zero_gradient(config, module) -> set[str]:
    """Parameters whose gradient is zero by construction: a Wasserstein critic's output bias cancels
    in E[D(x)] - E[D(G(z))] and in the gradient penalty, so (unless clipped) it never moves."""
    if module is None or config.loss not in ("wasserstein", "wgan-gp"):
        return set()
    last = [name for name, m in module.named_modules() if isinstance(m, torch.nn.Linear)][-1]
    return {f"{last}.bias"}


@pytest.fixture(scope="module")
def fashion_train():
    if not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file():
        return None
    return load_dataset("fashion-mnist", FASHION_SYSTEM_DIR, "train")


# ----------------------------------------------------------------------------- every preset
@pytest.mark.parametrize("preset", configs.preset_names())
def test_every_preset_trains_on_real_data(preset, mnist_train, fashion_train, tmp_path):
    values = configs.load_preset(preset)
    data = mnist_train
    if values["dataset"] == "fashion-mnist" and fashion_train is not None:
        data = fashion_train  # its own dataset, from Debian's package
    # svhn/cifar10/folder presets keep their size and channels: MNIST is resized/converted to them;
    # a preset that learns transparency needs images that have it.
    overrides = ["batch_size=16", "steps=3", "log_every=1", "sample_every=1000", "checkpoint_every=3",
                 "keep_checkpoints=1", "eval_every=0"]
    if values.get("transparency") == "alpha":
        folder = rgba_folder(tmp_path / "images", per_class=24, size=values["image_size"])  # 3 batches: one epoch
        config = configs.resolve(preset, overrides, {"data_root": str(folder)})
        dataset = None
    else:
        config = configs.resolve(preset, overrides, {"dataset": data.name})
        dataset = subset(data, config)
    run = create_run(tmp_path / "runs", preset, config.to_dict())
    trainer = Trainer(build_session(config, dataset=dataset), run)
    g_before, d_before = parameters(trainer.session.G), parameters(trainer.session.D)

    assert trainer.train() == "finished"

    # Every parameter tensor of both players moved, and nothing became NaN.
    for name, module, before in (("G", trainer.session.G, g_before), ("D", trainer.session.D, d_before)):
        after = parameters(module)
        unchanged = [k for k in before if torch.equal(before[k], after[k]) and k not in zero_gradient(config, module)]
        assert not unchanged, f"{preset}: {name} parameters never updated: {unchanged}"
        assert all(torch.isfinite(p).all() for p in after.values())

    # config.json round-trips to the very config that trained.
    assert configs.build_config(json.loads(run.config_path.read_text())) == config

    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == 3 and status["total_steps"] == 3
    assert status["pid"] == os.getpid()

    rows = training_rows(run)
    assert [r["step"] for r in rows] == [1, 2, 3]
    for row in rows:
        assert METRIC_KEYS <= row.keys(), row
        assert math.isfinite(row["loss_d"]) and math.isfinite(row["loss_g"])
        assert row["epoch"] == 1 and row["time"] > 0 and row["images_per_s"] > 0
    if config.loss in ("wasserstein", "wgan-gp"):
        assert "wasserstein" in rows[0]
    if config.loss == "wgan-gp":
        assert "gradient_penalty" in rows[0]

    # Sample grids of the untrained and the final generator, readable PNGs of the expected size.
    grids = run.sample_grids()
    assert [p.name for p in grids] == ["step_0000000.png", "step_0000003.png"]
    n, nrow = (100, 10) if config.conditional else (GRID_SIZE, 8)
    with Image.open(grids[-1]) as image:
        image.load()
        assert image.mode == {1: "L", 3: "RGB", 4: "RGBA"}[config.channels]
        side = config.image_size + 2
        assert image.size == (nrow * side + 2, math.ceil(n / nrow) * side + 2)

    # last.pt (and the kept step file) load with weights_only=True and hold the final step.
    state = torch.load(run.last_checkpoint, weights_only=True)
    assert state["step"] == 3 and state["config"] == config.to_dict()
    assert [p.name for p in run.checkpoints()] == ["step_0000003.pt"]
    for key, value in state["generator"].items():
        assert torch.equal(value, trainer.session.G.state_dict()[key])
    if config.ema:
        assert state["ema"] is not None


# ----------------------------------------------------------------------------- sample quality
def test_short_training_improves_samples(mnist_train, mnist_root):
    """Fréchet distance between generated and real test digits, on the top principal components of
    real training digits: 150 DCGAN steps must cut it by at least 35% (measured here: 63 -> 29;
    the real test set scores about 3 against real training images)."""
    test = load_dataset("mnist", mnist_root, "test")
    train_pixels = mnist_train.images[:5000].float().div(255).flatten(1).numpy()
    mean = train_pixels.mean(0)
    _, _, vt = np.linalg.svd(train_pixels - mean, full_matrices=False)
    projection = vt[:32].T

    def features(pixels01: np.ndarray) -> np.ndarray:
        return (pixels01.reshape(len(pixels01), -1) - mean) @ projection

    reference = feature_statistics(features(test.images[:2000].float().div(255).numpy()))
    baseline = frechet_distance(*feature_statistics(features(train_pixels[:2000])), *reference)

    config = configs.resolve("dcgan-mnist", ["batch_size=32", "g_width=16", "d_width=16", "steps=150"])
    trainer = Trainer(build_session(config, dataset=mnist_train), None)
    z = sample_latents(config, 2000, torch.device("cpu"), torch.Generator().manual_seed(123))

    def distance() -> float:
        g = trainer.sampling_generator
        g.eval()
        with torch.no_grad():
            images = g(z)
        g.train()
        lo, hi = trainer.session.G.output_range
        return frechet_distance(*feature_statistics(features(((images - lo) / (hi - lo)).numpy())), *reference)

    before = distance()
    assert trainer.train() == "finished"
    after = distance()
    print(f"Fréchet distance (PCA-32): untrained {before:.2f}, after 150 steps {after:.2f}, real {baseline:.2f}")
    assert baseline < 10 < before  # the figure separates real digits from noise at all
    assert after <= 0.65 * before, f"150 steps improved the distance only from {before:.2f} to {after:.2f}"


# ----------------------------------------------------------------------------- stopping and divergence
def test_sigint_finishes_the_step_checkpoints_and_resumes(mnist_train, tmp_path):
    config = small_config(steps=12, deterministic=True)
    run = create_run(tmp_path, "sigint", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)

    def interrupt(step, row):
        if step == 3:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    previous = signal.getsignal(signal.SIGINT)
    assert trainer.train(interrupt) == "stopped"
    assert signal.getsignal(signal.SIGINT) is previous  # the handler is given back
    status = run.read_status()
    assert status["state"] == "stopped" and status["step"] in (3, 4)
    state = load_checkpoint(run.last_checkpoint)
    assert state["step"] == status["step"]
    assert training_rows(run)[-1]["step"] == status["step"]

    resumed = Trainer(build_session(config, dataset=mnist_train), run)
    resumed.resume_from(run)
    assert resumed.step == status["step"]
    assert resumed.train() == "finished"
    assert run.read_status()["state"] == "finished"
    assert [r["step"] for r in training_rows(run)] == list(range(1, 13))

    # ... and the stop-and-resume logged what an uninterrupted run logs.
    straight = create_run(tmp_path, "straight", config.to_dict())
    Trainer(build_session(config, dataset=mnist_train), straight).train()
    assert_same_losses(training_rows(run), training_rows(straight))


@pytest.mark.parametrize("which", ["loss_d", "loss_g"])
def test_nan_loss_ends_diverged_and_keeps_the_last_good_checkpoint(which, mnist_train, tmp_path):
    config = small_config(checkpoint_every=2)
    run = create_run(tmp_path, "nan", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    calls = {"n": 0}
    name = "discriminator_loss" if which == "loss_d" else "generator_loss"
    original = getattr(trainer.session.loss, name)

    def poisoned(*args):
        loss, stats = original(*args)
        calls["n"] += 1
        if calls["n"] == 5:  # the fifth step's loss
            loss = loss * float("nan")
        return loss, stats

    setattr(trainer.session.loss, name, poisoned)
    assert trainer.train() == "diverged"
    status = run.read_status()
    assert status["state"] == "diverged" and status["step"] == 4
    assert "step 5" in status["message"] and f"{which}=nan" in status["message"]
    state = load_checkpoint(run.last_checkpoint)
    assert state["step"] == 4
    for net in ("generator", "discriminator"):
        assert all(torch.isfinite(v).all() for v in state[net].values() if v.is_floating_point())
    assert [r["step"] for r in training_rows(run)] == [1, 2, 3, 4]  # no NaN row written


# ----------------------------------------------------------------------------- EMA and rates at a resume
def test_ema_turned_on_at_resume_starts_from_the_trained_generator(mnist_train):
    config = small_config("dcgan-mnist", steps=2, g_width=8, d_width=8)
    trainer = Trainer(build_session(config, dataset=mnist_train), None)
    for _ in range(2):
        trainer.train_step()
        trainer.step += 1
    state = trainer.state_dict()
    assert state["ema"] is None
    resumed = Trainer(build_session(dataclasses.replace(config, ema=True, steps=4), dataset=mnist_train), None)
    resumed.load_state_dict(state)
    assert resumed.sampling_generator is resumed.session.ema.model
    trained = trainer.session.G.state_dict().values()
    for average, weights in zip(resumed.session.ema.model.state_dict().values(), trained):
        assert torch.equal(average, weights)  # not the fresh initialisation


def test_resume_with_new_learning_rates_uses_them(mnist_train):
    config = small_config("dcgan-mnist", steps=2, g_width=8, d_width=8)
    trainer = Trainer(build_session(config, dataset=mnist_train), None)
    trainer.train_step()
    trainer.step += 1
    state = trainer.state_dict()
    lowered = dataclasses.replace(config, steps=4, lr_g=5e-5, lr_d=2e-5, beta1=0.0)
    resumed = Trainer(build_session(lowered, dataset=mnist_train), None)
    resumed.load_state_dict(state)
    for optimizer, lr in ((resumed.session.opt_g, 5e-5), (resumed.session.opt_d, 2e-5)):
        assert [g["lr"] for g in optimizer.param_groups] == [lr] * len(optimizer.param_groups)
        assert all(g["betas"][0] == 0.0 for g in optimizer.param_groups)
        assert optimizer.state  # Adam's moments came back with the checkpoint
    resumed.train_step()


# ----------------------------------------------------------------------------- the live-evaluation hook
def test_evaluation_rows_keep_the_best_fid_as_best_pt(mnist_train, tmp_path, monkeypatch):
    config = small_config(steps=6, eval_every=2, checkpoint_every=100)
    run = create_run(tmp_path, "eval", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    fids = iter([30.0, 20.0, 25.0])
    monkeypatch.setattr(trainer, "score", lambda: {"fid": next(fids), "n_generated": config.eval_samples})
    assert trainer.train() == "finished"
    evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
    assert [(r["step"], r["fid"], r.get("best", False)) for r in evals] == [(2, 30.0, True), (4, 20.0, True),
                                                                            (6, 25.0, False)]
    assert all(r["n_generated"] == config.eval_samples and r["eval_seconds"] >= 0 for r in evals)
    assert load_checkpoint(run.checkpoints_dir / "best.pt")["step"] == 4
    assert [r["step"] for r in training_rows(run)] == list(range(1, 7))  # training rows unaffected


def test_a_failing_evaluation_turns_itself_off_and_training_goes_on(mnist_train, tmp_path, monkeypatch, caplog):
    config = small_config(steps=4, eval_every=1)
    run = create_run(tmp_path, "noeval", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    calls = []

    def no_evaluator():
        calls.append(trainer.step)
        raise FileNotFoundError("no evaluator network for this dataset")

    monkeypatch.setattr(trainer, "score", no_evaluator)
    assert trainer.train() == "finished"
    assert calls == [1]  # tried once, then off for the rest of the run
    assert "evaluation turned off" in caplog.text and "no evaluator network" in caplog.text
    assert not [r for r in run.read_metrics() if r.get("kind") == "eval"]
    assert not (run.checkpoints_dir / "best.pt").exists()

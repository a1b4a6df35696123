"""What reaches the run folder: sample grids (fixed latents, eval-mode batch norm, the app's grid
layout), metrics rows, status, the best-FID checkpoint; TensorBoard's copy of the rows and grids
(read back with TensorBoard's reader, after a resume too); and nothing at all from a writer without
a folder (the other torchrun processes)."""
from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from inference import latents
from training import config as configs
from training.checkpoint import load_checkpoint
from training.latents import sample_latents
from training.models import build_models
from training.run_writer import GRID_SIZE, RunWriter, sample_grid
from training.precision import Precision
from training.runfolder.folder import create_run
from training.runfolder.tensorboard_log import FOLDER
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import tensorboard_events

CPU = torch.device("cpu")
FP32 = Precision("fp32", "cpu", "asked for")


def small_config(preset: str = "dcgan-mnist", **changes) -> configs.Config:
    return configs.resolve(preset, [], {"g_width": 8, "d_width": 8, "steps": 10, **changes})


def writer_for(tmp_path, config, num_classes: int = 0, folder: bool = True) -> RunWriter:
    run = create_run(tmp_path / "runs", "writer", config.to_dict()) if folder else None
    return RunWriter(run, config, sample_grid(config, num_classes, CPU))


def decoded(path) -> np.ndarray:
    with Image.open(io.BytesIO(path.read_bytes())) as image:
        return np.asarray(image)


# ----------------------------------------------------------------------------- sample grids
def test_sampling_uses_batch_norm_in_eval_mode(tmp_path):
    config = small_config()
    writer = writer_for(tmp_path, config)
    torch.manual_seed(0)
    generator = build_models(config).generator
    generator(sample_latents(config, 16, CPU))  # running statistics away from their initial values
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append(m.training)) for m in generator.modules()]
    bns = [m for m in generator.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert bns
    stats = [(m.running_mean.clone(), m.running_var.clone(), int(m.num_batches_tracked)) for m in bns]

    writer.write_samples(generator, 0)

    assert seen and not any(seen), "the generator sampled the grid in training mode"
    for m, (mean, var, count) in zip(bns, stats):  # sampling did not update the statistics
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)
        assert int(m.num_batches_tracked) == count
    assert generator.training  # and training mode is back for the next step
    for h in hooks:
        h.remove()
    # The grid is the eval-mode output: writing it twice gives the same bytes.
    first = writer.run.sample_path(0).read_bytes()
    writer.write_samples(generator, 0)
    assert writer.run.sample_path(0).read_bytes() == first


@pytest.mark.parametrize("num_classes", [0, 10])
def test_the_grid_shows_fixed_latents_in_the_usual_layout(tmp_path, num_classes):
    config = small_config("cgan-mnist" if num_classes else "dcgan-mnist")
    grid = sample_grid(config, num_classes, CPU)
    n, nrow = (10 * num_classes, num_classes) if num_classes else (GRID_SIZE, 8)
    # The latents are the contract's for the run's seed (not torch's RNG): the same in every process, after
    # a resume, and image #i is image #i of that seed in inference once the run is exported.
    assert grid.z.dtype == torch.float32
    torch.testing.assert_close(grid.z, torch.from_numpy(latents.sample(
        n, config.latent_dim, seed=config.seed, distribution=config.latent_distribution, bound=config.latent_bound,
        scheme="philox")), rtol=0, atol=0)
    assert grid.nrow == nrow
    if num_classes:
        assert grid.labels.tolist() == [i % num_classes for i in range(n)]  # one column per class
    else:
        assert grid.labels is None

    generator = build_models(config, num_classes).generator
    writer = writer_for(tmp_path, config, num_classes)
    writer.write_samples(generator, 7)
    pixels = decoded(writer.run.sample_path(7))
    generator.eval()
    with torch.no_grad():
        images = generator(grid.z, grid.labels)
    # Expected: output mapped from output_range to 0..255 and rounded, 2-pixel black borders.
    lo, hi = generator.output_range
    tiles = ((images.clamp(lo, hi) - lo) / (hi - lo) * 255).round().to(torch.uint8)[:, 0].numpy()
    side = config.image_size + 2
    assert pixels.shape == (math.ceil(n / nrow) * side + 2, nrow * side + 2)  # "L": one channel
    for i, tile in enumerate(tiles):
        row, col = divmod(i, nrow)
        assert np.array_equal(pixels[2 + row * side:row * side + side, 2 + col * side:col * side + side], tile), i
    borders = np.ones_like(pixels, dtype=bool)
    for i in range(n):
        row, col = divmod(i, nrow)
        borders[2 + row * side:row * side + side, 2 + col * side:col * side + side] = False
    assert not pixels[borders].any()


# ----------------------------------------------------------------------------- metrics rows and status
def test_a_row_averages_the_interval_and_reports_gradient_norms_as_measured(tmp_path):
    writer = writer_for(tmp_path, small_config())
    writer.accumulate({"loss_d": torch.tensor(1.0), "loss_g": 2.0})
    writer.accumulate({"loss_d": torch.tensor(3.0), "loss_g": 4.0, "grad_norm_d": 0.5})
    saved = writer.state_dict()
    sums = {k: saved[k] for k in ("log_sums", "log_count")}  # the grid it carries: tests/training/test_grid_resume.py
    assert sums == {"log_sums": {"loss_d": 4.0, "loss_g": 6.0, "grad_norm_d": 0.5}, "log_count": 2}

    row = writer.flush(step=2, epoch=1, elapsed=1.23456, interval_s=2.0, interval_images=64)
    assert row == {"step": 2, "epoch": 1, "time": 1.235, "loss_d": 2.0, "loss_g": 3.0, "grad_norm_d": 0.5,
                   "images_per_s": 32.0}
    assert writer.run.read_metrics() == [row]
    assert writer.state_dict()["log_sums"] == {} and writer.state_dict()["log_count"] == 0  # the next interval starts empty

    resumed = writer_for(tmp_path, small_config())  # a checkpoint carries a half-full interval
    resumed.load_state_dict(saved)
    assert resumed.flush(2, 1, 1.0, 0.0, 0)["loss_d"] == 2.0


def test_status_follows_the_run(tmp_path):
    config = small_config(steps=10)
    writer = writer_for(tmp_path, config)
    writer.started(step=0, epoch=0, device=CPU, precision=FP32)
    status = writer.run.read_status()
    assert status["state"] == "running" and status["total_steps"] == 10 and status["started"]
    writer.progress(4, 1, {"images_per_s": 100.0, "loss_d": 0.5, "loss_g": 1.5}, remaining_images=600)
    status = writer.run.read_status()
    assert status["eta_s"] == 6 and status["message"] == "step 4: loss_d 0.5000, loss_g 1.5000"
    writer.stopping("SIGTERM")
    assert writer.run.read_status()["state"] == "stopping"
    writer.ended("stopped", 5, 1)
    assert writer.run.read_status()["message"] == "stopped at step 5 of 10"
    writer.diverged(5, "diverged at step 6: loss_d=nan")
    assert writer.run.read_status()["state"] == "diverged"


def test_a_writer_without_a_folder_writes_nothing_but_keeps_the_sums(tmp_path):
    config = small_config()
    writer = writer_for(tmp_path, config, folder=False)
    assert not writer.writes
    writer.started(0, 0, CPU, FP32)
    writer.accumulate({"loss_d": 1.0})
    assert writer.state_dict()["log_count"] == 1
    assert writer.flush(1, 1, 0.1, 0.1, 8)["loss_d"] == 1.0
    writer.write_samples(build_models(config).generator, 1)
    writer.write_checkpoint({"step": 1}, 1)
    writer.ended("finished", 1, 1)
    assert not list(tmp_path.rglob("*"))


# ----------------------------------------------------------------------------- evaluation rows and best.pt
def test_the_lowest_fid_so_far_becomes_best_pt_also_after_a_resume(tmp_path):
    config = small_config()
    writer = writer_for(tmp_path, config)
    scores = lambda fid: {"fid": fid, "coverage": 0.5, "n_generated": 200, "reference": "mnist test"}  # noqa: E731
    state = lambda step: (lambda: {"step": step})  # noqa: E731

    first = writer.write_evaluation(2, 1, 1.0, scores(20.0), 0.5, state(2))
    assert first["best"] and first["kind"] == "eval" and first["eval_seconds"] == 0.5
    worse = writer.write_evaluation(4, 1, 2.0, scores(25.0), 0.5, state(4))
    assert "best" not in worse
    assert load_checkpoint(writer.run.checkpoints_dir / "best.pt")["step"] == 2

    resumed = RunWriter(writer.run, config, writer.grid)  # a new process knows the best only from the rows
    assert "best" not in resumed.write_evaluation(6, 1, 3.0, scores(21.0), 0.5, state(6))
    assert resumed.write_evaluation(8, 1, 4.0, scores(10.0), 0.5, state(8))["best"]
    assert load_checkpoint(writer.run.checkpoints_dir / "best.pt")["step"] == 8
    assert [r["step"] for r in writer.run.read_metrics() if r.get("best")] == [2, 8]
    assert not list(writer.run.checkpoints_dir.glob("step_*.pt"))  # best.pt is no step checkpoint


# ----------------------------------------------------------------------------- tensorboard/
def tensorboard_run(tmp_path, mnist_train, **changes):
    """A real gan-mlp-mnist run of 8 steps: a row every step, grids at 0, 3, 6 and 8, checkpoints at 4 and 8."""
    config = small_config("gan-mlp-mnist", batch_size=16, steps=8, log_every=1, sample_every=3, checkpoint_every=4,
                          **changes)
    run = create_run(tmp_path, "tb", config.to_dict())
    return run, Trainer(build_session(config, dataset=mnist_train), run)


def assert_tensorboard_shows(run, events) -> None:
    """Every number of every metrics row, once, at its step, under its kind's prefix; nothing else."""
    expected: dict[str, list] = {}
    for row in run.read_metrics():
        for key, value in row.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                expected.setdefault(f"{row.get('kind', 'train')}/{key}", []).append((row["step"], value))
    assert set(events.Tags()["scalars"]) == set(expected)
    for tag, points in expected.items():
        shown = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in shown] == [s for s, _ in points], tag
        assert [v for _, v in shown] == pytest.approx([v for _, v in points], rel=1e-6), tag  # float32 in the file


@pytest.mark.usefixtures("one_thread")
def test_a_run_writes_its_rows_and_grids_for_tensorboard(tmp_path, mnist_train, monkeypatch):
    run, trainer = tensorboard_run(tmp_path, mnist_train, eval_every=4)
    fids = iter([30.0, 20.0])
    monkeypatch.setattr(trainer, "score", lambda: {"fid": next(fids), "n_generated": 10, "reference": "mnist test"})
    assert trainer.train() == "finished"
    events = tensorboard_events(run.path / FOLDER)
    assert_tensorboard_shows(run, events)
    assert {"train/loss_d", "train/loss_g", "train/d_real", "eval/fid", "samples/grid_diversity"} <= set(events.Tags()["scalars"])
    grids = events.Images("samples/grid")
    assert [g.step for g in grids] == [0, 3, 6, 8]
    assert grids[-1].encoded_image_string == run.sample_path(8).read_bytes()  # the very PNG of samples/


@pytest.mark.usefixtures("one_thread")
def test_tensorboard_false_writes_no_folder_and_never_imports_it(tmp_path, mnist_train, monkeypatch, caplog):
    for name in [n for n in sys.modules if n == "tensorboard" or n.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, name, None)  # an import now fails, and open_log would warn
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    run, trainer = tensorboard_run(tmp_path, mnist_train, tensorboard=False)
    assert trainer.train() == "finished"
    assert not (run.path / FOLDER).exists() and "tensorboard" not in caplog.text


@pytest.mark.usefixtures("one_thread")
def test_a_resumed_run_shows_each_step_once_with_the_values_it_kept(tmp_path, mnist_train):
    run, trainer = tensorboard_run(tmp_path, mnist_train)

    class Killed(Exception):
        pass

    def kill(step, row):
        if step == 7:  # rows 1-7 and the grid of step 6 written, the last checkpoint at step 4
            raise Killed

    with pytest.raises(Killed):
        trainer.train(kill)
    resumed = Trainer(build_session(trainer.config, dataset=mnist_train), run)
    resumed.resume_from(run)
    run.truncate_metrics(resumed.step)  # as training/process.py does
    assert resumed.step == 4
    seen = {}

    def look(step, row):
        if step == 5:  # before the resumed run draws its grid at step 6
            resumed.writer.tensorboard.flush()
            events = tensorboard_events(run.path / FOLDER)
            seen.update(grids=[g.step for g in events.Images("samples/grid")],
                        losses=[e.step for e in events.Scalars("train/loss_d")])

    assert resumed.train(look) == "finished"
    assert seen == {"grids": [0, 3], "losses": [1, 2, 3, 4, 5]}  # the killed process's steps 5-7 dropped at once
    assert_tensorboard_shows(run, tensorboard_events(run.path / FOLDER))
    assert len(list((run.path / FOLDER).iterdir())) == 2  # one event file per process, in the same folder
    assert tensorboard_events(run.path / FOLDER).Images("samples/grid")[2].encoded_image_string == \
        run.sample_path(6).read_bytes()

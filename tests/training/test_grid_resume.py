"""A run's sample grid is fixed for its whole life: the checkpoint carries the grid's latents and
labels, a resume shows them whatever the current code would draw, and a checkpoint written before
checkpoints carried the grid resumes with the grid those runs showed (torch's RNG, seed + 2)."""
from __future__ import annotations

import dataclasses
import io

import numpy as np
import pytest
import torch
from PIL import Image

from training import run_writer
from training.checkpoint import load_checkpoint, save_checkpoint
from training.latents import sample_latents
from training.run_writer import GRID_SIZE, RunWriter, grid_png, sample_grid
from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import small_config

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")
CPU = torch.device("cpu")


def torch_seed_plus_2(config, n):
    """The grid as the trainer drew it before the contract's latents (git: training/run_writer.py)."""
    return sample_latents(config, n, CPU, torch.Generator().manual_seed(config.seed + 2))


def started_run(tmp_path, mnist_train, steps=6, done=3):
    """A run trained to step ``done`` of ``steps`` (checkpoint at ``done``), as a stopped run leaves it."""
    config = small_config(steps=steps, checkpoint_every=done, sample_every=done)
    run = create_run(tmp_path, "grid", config.to_dict())
    first = Trainer(build_session(dataclasses.replace(config, steps=done), dataset=mnist_train), run)
    assert first.train() == "finished"
    return config, run, first.writer.grid


def last_grid_png(run) -> np.ndarray:
    return np.asarray(Image.open(run.sample_grids()[-1]))


def rendered(generator, grid, output_range) -> np.ndarray:
    generator.eval()
    with torch.no_grad():
        images = generator(grid.z, grid.labels)
    return np.asarray(Image.open(io.BytesIO(grid_png(images, output_range, grid.nrow))))


def test_a_resumed_run_keeps_its_grid_even_when_the_code_would_draw_another(tmp_path, mnist_train, monkeypatch):
    config, run, grid = started_run(tmp_path, mnist_train)
    saved = load_checkpoint(run.last_checkpoint)
    torch.testing.assert_close(saved["grid_z"], grid.z, rtol=0, atol=0)
    assert saved["grid_labels"] is None

    # A newer version draws its grids another way (here: another seed's latents); the run keeps its own.
    other = sample_grid(dataclasses.replace(config, seed=config.seed + 7), 0, CPU)
    assert not torch.equal(other.z, grid.z)
    monkeypatch.setattr("training.trainer.sample_grid", lambda *args: other)
    resumed = Trainer(build_session(config, dataset=mnist_train), run)
    assert torch.equal(resumed.writer.grid.z, other.z)  # before the resume: what the code draws today
    resumed.resume_from(run)
    torch.testing.assert_close(resumed.writer.grid.z, grid.z, rtol=0, atol=0)
    assert resumed.train() == "finished"
    # The last PNG (step 6, after the resume) shows the run's first latents through the final generator.
    assert [p.stem for p in run.sample_grids()] == ["step_0000000", "step_0000003", "step_0000006"]
    np.testing.assert_array_equal(last_grid_png(run),
                                  rendered(resumed.sampling_generator, grid, resumed.session.G.output_range))
    torch.testing.assert_close(load_checkpoint(run.last_checkpoint)["grid_z"], grid.z, rtol=0, atol=0)


def test_a_checkpoint_without_the_grid_resumes_with_the_legacy_torch_grid(tmp_path, mnist_train):
    config, run, grid = started_run(tmp_path, mnist_train)
    old = load_checkpoint(run.last_checkpoint)
    del old["grid_z"], old["grid_labels"]  # what the trainer wrote before checkpoints carried the grid
    save_checkpoint(run, old, old["step"], keep=0)

    resumed = Trainer(build_session(config, dataset=mnist_train), run)
    resumed.resume_from(run)
    legacy = torch_seed_plus_2(config, GRID_SIZE)
    assert not torch.equal(legacy, grid.z)  # the two schemes really differ, so the check below can fail
    torch.testing.assert_close(resumed.writer.grid.z, legacy, rtol=0, atol=0)
    assert resumed.train() == "finished"
    np.testing.assert_array_equal(last_grid_png(run), rendered(
        resumed.sampling_generator, run_writer.SampleGrid(legacy, None, 8), resumed.session.G.output_range))
    # From now on the run's checkpoints carry that grid, so later resumes keep it too.
    torch.testing.assert_close(load_checkpoint(run.last_checkpoint)["grid_z"], legacy, rtol=0, atol=0)


@pytest.mark.parametrize("carried", [True, False])
def test_a_conditional_grid_keeps_its_latents_and_labels_through_a_checkpoint_file(tmp_path, carried):
    config = small_config("cgan-mnist")
    run = create_run(tmp_path, "cgan", config.to_dict())
    writer = RunWriter(run, config, sample_grid(config, 10, CPU))
    state = writer.state_dict()
    if not carried:
        del state["grid_z"], state["grid_labels"]
    save_checkpoint(run, {"step": 0, **state}, 0, keep=0)

    # What a resumed trainer builds before it reads the checkpoint: today's grid shape, other latents.
    fresh = RunWriter(run, config, run_writer.SampleGrid(torch.zeros(100, config.latent_dim), torch.arange(100) % 10, 10))
    fresh.load_state_dict(load_checkpoint(run.last_checkpoint))  # weights_only=True reads it back
    expected = writer.grid.z if carried else torch_seed_plus_2(config, 100)
    torch.testing.assert_close(fresh.grid.z, expected, rtol=0, atol=0)
    assert torch.equal(fresh.grid.labels, torch.arange(100) % 10) and fresh.grid.nrow == 10

"""The training-health monitor on real short runs, each built to go wrong in one way (and a healthy
one that must raise nothing): the finding, the step where its sign began (recomputed here from the
run's own metrics rows), its evidence and remedies, in health.jsonl and status.json."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import torch
from torch import nn

import training.session as session_module
from training.runfolder.health import HealthMonitor, active_findings, grid_diversity, health_line
from training.models import build_models
from training.runfolder.folder import RunFolder, create_run, list_runs
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import small_config, training_rows

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")

# Thresholds small enough for runs of a few hundred steps; the same for the healthy run and the sick ones.
WATCH = dict(health_warmup=50, health_sustain=50, health_window=100)


def train(tmp_path, preset: str, data, name: str = "run", **changes) -> RunFolder:
    config = small_config(preset, **changes)
    run = create_run(tmp_path / "runs", name, config.to_dict())
    Trainer(build_session(config, dataset=data), run).train()
    return run


def found(run: RunFolder, kind: str) -> list[dict]:
    return [e for e in run.read_health() if e["event"] == "found" and e["kind"] == kind]


def first_sustained(rows, holds, warmup: int, sustain: int) -> tuple[int, int]:
    """(the step a stretch of rows that all hold began, the step it had lasted ``sustain`` steps)."""
    began = None
    for row in rows:
        if row["step"] < warmup:
            continue
        if not holds(row):
            began = None
            continue
        began = row["step"] if began is None else began
        if row["step"] - began >= sustain:
            return began, row["step"]
    raise AssertionError("no sustained stretch in the rows")


@pytest.fixture(scope="module")
def overpowered(tmp_path_factory, mnist_train) -> RunFolder:  # mnist_train: skipped without MNIST
    """`python -m training train --preset gan-mlp-mnist` (in this process) with G's rate cut to a
    twentieth of D's (the preset has D at 5x G)."""
    from training.cli.main import main

    threads, root = torch.get_num_threads(), logging.getLogger()
    handlers, level = root.handlers[:], root.level
    torch.set_num_threads(1)
    runs = tmp_path_factory.mktemp("overpowered") / "runs"
    settings = dict(lr_g=2.5e-5, batch_size=64, steps=200, log_every=5, sample_every=1000, checkpoint_every=1000,
                    **WATCH)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stderr.isatty", lambda: False, raising=False)  # the plain log line, not tqdm's bar
            assert main(["train", "--preset", "gan-mlp-mnist", "--runs-dir", str(runs)]
                        + [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]) == 0
    finally:
        torch.set_num_threads(threads)
        for handler in root.handlers:  # the command pointed the root logger at its log.txt and stderr
            if handler not in handlers:
                handler.close()
        root.handlers[:], root.level = handlers, level
    [run] = list_runs(runs)
    return run


def test_a_d_twenty_times_faster_than_g_is_found_overpowering_it(overpowered):
    run = overpowered
    config = run.read_config()
    assert config["lr_d"] / config["lr_g"] == 20

    [finding] = found(run, "d_overpowering")
    rows = training_rows(run)
    began, at = first_sustained(rows, lambda r: r["d_real"] >= 0.99 and r["d_fake"] <= 0.003, 50, 50)
    assert (finding["step"], finding["found_at"]) == (began, at)
    stretch = [r for r in rows if began <= r["step"] <= at]
    assert finding["evidence"]["d_real_mean"] == pytest.approx(np.mean([r["d_real"] for r in stretch]), rel=1e-3)
    assert finding["evidence"]["d_fake_mean"] == pytest.approx(np.mean([r["d_fake"] for r in stretch]), rel=1e-3)
    remedies = " ".join(finding["remedies"])
    # this run's own settings: lr_d 4x lower, smoothing for its BCE loss
    assert "--set lr_d=1.3e-4" in remedies and "20x G's rate" in remedies and "label_smoothing=0.1" in remedies
    assert run.read_status()["health"] == f"D overpowering G since step {began}"


def test_a_healthy_preset_run_raises_no_finding(tmp_path, mnist_train):
    run = train(tmp_path, "gan-mlp-mnist", mnist_train, batch_size=64, steps=300, log_every=5, sample_every=50,
                eval_every=150, eval_samples=200, **WATCH)
    kinds = {r.get("kind", "train") for r in run.read_metrics()}
    assert kinds == {"train", "samples", "eval"}  # every check had its rows to look at
    assert run.read_health() == []
    assert run.read_status()["health"] == "ok"


def test_a_generator_that_ignores_z_is_found_collapsed_on_the_fixed_grid(tmp_path, mnist_train, monkeypatch):
    def z_blind(config, num_classes=0):
        models = build_models(config, num_classes)
        first = models.generator.net[0]
        with torch.no_grad():
            first.weight.zero_()  # every z gives the same hidden units: one image for all latents
        first.weight.requires_grad_(False)
        return models

    monkeypatch.setattr(session_module, "build_models", z_blind)
    run = train(tmp_path, "gan-mlp-mnist", mnist_train, steps=60, sample_every=20, health_warmup=20)
    [finding] = found(run, "mode_collapse")
    assert finding["sign"] == "mode_collapse:grid"
    assert (finding["step"], finding["found_at"]) == (20, 40)  # from the first grid after the warm-up, seen on the next
    assert finding["evidence"]["grid_diversity"] == 0.0
    assert "near duplicates" in finding["summary"] and any("pack=2" in r for r in finding["remedies"])


class LookupGenerator(nn.Module):
    """Real MNIST images picked by z[:, 0] (uniform in [-1, 1]): a generator of full variety that,
    after ``collapse_after`` training steps, returns the first image for every z."""
    output_range = (0.0, 1.0)

    def __init__(self, images: torch.Tensor, latent_dim: int, collapse_after: int):
        super().__init__()
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, 0, tuple(images.shape[1:])
        self.register_buffer("table", images.float() / 255)
        self.offset = nn.Parameter(torch.zeros(()))  # something for the optimiser to hold
        self.calls, self.collapse_after = 0, collapse_after

    def forward(self, z, labels=None):
        if self.training:
            self.calls += 1
        index = ((z[:, 0] + 1) / 2 * len(self.table)).long().clamp(0, len(self.table) - 1)
        if self.calls > self.collapse_after:
            index = torch.zeros_like(index)
        return self.table[index] + self.offset * 0


def test_live_evaluation_finds_a_collapse_and_then_no_progress(tmp_path, mnist_train, monkeypatch):
    def lookup(config, num_classes=0):
        models = build_models(config, num_classes)
        models.generator = LookupGenerator(mnist_train.images[:500], config.latent_dim, collapse_after=15)
        return models

    monkeypatch.setattr(session_module, "build_models", lookup)
    run = train(tmp_path, "gan-mlp-mnist", mnist_train, steps=40, log_every=5, sample_every=10, eval_every=10,
                eval_samples=200, health_warmup=5, health_fid_patience=2)
    evals = {r["step"]: r for r in run.read_metrics() if r.get("kind") == "eval"}
    assert evals[10]["classes_covered"] >= 8 and evals[20]["classes_covered"] == 1  # collapsed at step 16

    collapse = {f["sign"]: f for f in found(run, "mode_collapse")}
    assert {"mode_collapse:classes_covered", "mode_collapse:recall", "mode_collapse:grid"} <= set(collapse)
    assert {f["step"] for f in collapse.values()} == {20}
    classes = collapse["mode_collapse:classes_covered"]["evidence"]
    assert (classes["value"], classes["best"], classes["best_step"]) == (1, evals[10]["classes_covered"], 10)

    [stalled] = found(run, "no_progress")
    assert evals[10]["fid"] < min(evals[s]["fid"] for s in (20, 30))
    assert (stalled["step"], stalled["found_at"]) == (10, 30)  # best at 10, then 2 evaluations without a gain
    assert "mode collapse since step 20" in run.read_status()["health"]


def test_a_critic_without_a_penalty_at_a_high_rate_is_found_oscillating(tmp_path, mnist_train):
    run = train(tmp_path, "wgan-gp-mnist", mnist_train, gp_lambda=0.0, lr_d=1e-2, lr_g=1e-3, n_critic=1, g_width=32,
                d_width=64, steps=100, log_every=4, health_warmup=20, health_sustain=20, health_window=40)
    findings = found(run, "oscillating")
    assert findings, run.read_health()
    first = min(findings, key=lambda f: f["found_at"])
    key = first["evidence"]["series"]
    window = [r[key] for r in training_rows(run) if first["found_at"] - 40 < r["step"] <= first["found_at"]]
    swing = np.mean(np.abs(np.diff(window))) / max(np.median(np.abs(window)), 1.0)
    assert swing >= 1.0 and first["evidence"]["swing"] == pytest.approx(swing, rel=1e-3)
    assert first["step"] == first["found_at"] - 36  # the first row of that 40-step window


def test_an_unclipped_critic_explodes_and_the_divergence_says_so(tmp_path, mnist_train):
    config = small_config("wgan-mnist", clip_value=1000.0, lr_d=2e-3, lr_g=1e-5, n_critic=1, g_width=32, d_width=64,
                          steps=40, log_every=2, health_warmup=4, health_sustain=10)
    run = create_run(tmp_path / "runs", "boom", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    original, calls = trainer.session.loss.discriminator_loss, {"n": 0}

    def poisoned(*args):
        loss, stats = original(*args)
        calls["n"] += 1
        return (loss * float("nan") if calls["n"] == 30 else loss), stats

    trainer.session.loss.discriminator_loss = poisoned
    assert trainer.train() == "diverged"

    rows = training_rows(run)
    exploding = {f["evidence"]["series"]: f for f in found(run, "exploding")}
    assert "wasserstein" in exploding
    began, at = first_sustained(rows, lambda r: abs(r["wasserstein"]) >= 1000, 4, 10)
    assert (exploding["wasserstein"]["step"], exploding["wasserstein"]["found_at"]) == (began, at)

    [divergence] = found(run, "divergence")
    assert divergence["found_at"] == 29 and divergence["step"] == min(f["step"] for f in exploding.values())
    assert any(p.startswith("exploding losses") for p in divergence["evidence"]["preceded_by"])
    assert "loss_d=nan" in divergence["evidence"]["message"]
    assert divergence["evidence"]["last_rows"][-1]["step"] == 28
    assert run.read_status()["state"] == "diverged" and "divergence since step" in run.read_status()["health"]


def test_a_resumed_run_finds_what_an_uninterrupted_one_finds(tmp_path, mnist_train):
    """The sign began before the checkpoint (step 12) and became a finding after it: the resumed
    monitor carries the stretch on from the rows it replays."""
    config = small_config("wgan-mnist", clip_value=1000.0, lr_d=2e-3, lr_g=1e-5, n_critic=1, g_width=32, d_width=64,
                          steps=30, log_every=2, health_warmup=4, health_sustain=10)
    straight = create_run(tmp_path / "runs", "straight", config.to_dict())
    Trainer(build_session(config, dataset=mnist_train), straight).train()
    run = create_run(tmp_path / "runs", "resumed", config.to_dict())
    Trainer(build_session(config.replace(steps=12), dataset=mnist_train), run).train()  # its last checkpoint: step 12
    resumed = Trainer(build_session(config, dataset=mnist_train), run)
    resumed.resume_from(run)
    run.truncate_metrics(resumed.step)  # as `python -m training resume` does
    assert resumed.step == 12 and resumed.train() == "finished"
    events = run.read_health()
    assert events == straight.read_health()
    began, at = first_sustained(training_rows(run), lambda r: abs(r["wasserstein"]) >= 1000, 4, 10)
    assert began < 12 < at
    assert [(e["step"], e["found_at"]) for e in events if e["sign"] == "exploding:wasserstein"] == [(began, at)]


def test_replaying_a_runs_rows_finds_what_the_run_wrote(overpowered):
    """The monitor is plain Python over rows: the app (or anyone) can replay a run folder with it."""
    run = overpowered
    monitor = HealthMonitor(run.read_config())
    replayed = [e for row in run.read_metrics() for e in monitor.observe(row)]
    assert replayed == run.read_health() and replayed
    assert health_line(replayed) == monitor.line() == run.read_status()["health"]
    assert active_findings(replayed) == [e for e in replayed if e["event"] == "found"]


def test_the_runs_table_shows_each_runs_health(overpowered, tmp_path, capsys):
    from training.cli.main import main

    assert main(["runs", "--runs-dir", str(overpowered.path.parent)]) == 0
    [line] = capsys.readouterr().out.splitlines()
    step = found(overpowered, "d_overpowering")[0]["step"]
    assert line.split()[:2] == [overpowered.id, "finished"] and f"health: D overpowering G since step {step}" in line
    create_run(tmp_path / "runs", "quiet", {"preset": "x", "steps": 5})  # no health.jsonl, no health line
    assert main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "health: -" in capsys.readouterr().out


def test_the_progress_line_of_python_m_training_train_ends_with_the_health_line(overpowered):
    step = found(overpowered, "d_overpowering")[0]["step"]
    log = overpowered.log_path.read_text()
    assert f"health: D overpowering G from step {step}: D(x) " in log and "health:   try `--set lr_d=" in log
    [last] = [line for line in log.splitlines() if "step 200/200" in line]
    assert last.endswith(f"images/s, health: D overpowering G since step {step}")


def test_a_resumed_run_drops_the_events_after_its_checkpoint(tmp_path):
    run = create_run(tmp_path, "r", {"steps": 10})
    for event in ({"event": "found", "kind": "exploding", "sign": "s", "step": 2, "found_at": 4},
                  {"event": "cleared", "kind": "exploding", "sign": "s", "step": 6, "began": 2},
                  {"event": "found", "kind": "no_progress", "sign": "n", "step": 3, "found_at": 8}):
        run.append_health(event)
    with open(run.health_path, "a") as f:
        f.write('{"event": "found", "ki')  # a torn last line is passed over
    assert [e["step"] for e in run.read_health()] == [2, 6, 3]
    run.truncate_health(6)
    assert [json.loads(line)["step"] for line in run.health_path.read_text().splitlines()] == [2, 6]


def test_grid_diversity_is_zero_for_copies_and_grows_with_difference():
    rng = np.random.default_rng(0)
    same = np.repeat(rng.integers(0, 256, (1, 28, 28, 1), dtype=np.uint8), 8, axis=0)
    assert grid_diversity(same) == 0.0
    noise = rng.integers(0, 256, (8, 28, 28, 1), dtype=np.uint8)
    # two independent uniform pixels differ by sqrt(1/6) (RMS) on average
    assert grid_diversity(noise) == pytest.approx(np.sqrt(1 / 6), rel=0.02)

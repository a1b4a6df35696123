"""training/evaluate.py: torch draws the samples, evaluation scores them. `python -m training
evaluate` on a generator and on a run, the scores written into a card (or a refusal to compare
them with another evaluator's), and the rows of the live evaluation during training."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from evaluation.features import FEATURE_NETWORK_VARIABLE
from evaluation.metrics import METRICS
from inference import Generator
from training.cli.main import main
from training.config import Config
from training.evaluate import live_scores, sample_images
from training.latents import sample_latents

from tests.evaluation.common import make_feature_network
from tests.helpers import FakeInception, real_image_generator, rgba_folder

pytestmark = pytest.mark.usefixtures("one_thread")

ALWAYS = [key for metric in METRICS if metric.when == "always" for key in metric.keys]


class TinyGenerator(nn.Module):
    """z -> tanh(linear) images [N, 1, 28, 28], optionally conditional, with the attributes a
    project generator has."""

    output_range = (-1.0, 1.0)

    def __init__(self, latent_dim: int = 8, num_classes: int = 0):
        super().__init__()
        self.num_classes = num_classes
        self.net = nn.Linear(latent_dim, 28 * 28)
        self.embed = nn.Embedding(max(num_classes, 1), 28 * 28)

    def forward(self, z, labels=None):
        h = self.net(z) + (self.embed(labels) if labels is not None else 0)
        return torch.tanh(h).view(-1, 1, 28, 28)


def test_samples_come_from_their_own_seeded_latents_with_labels_cycled():
    torch.manual_seed(0)
    g = TinyGenerator(num_classes=10).train()
    config = Config(latent_dim=8)
    state = torch.random.get_rng_state()
    images = sample_images(g, config, 23, seed=4)
    assert torch.equal(state, torch.random.get_rng_state())  # the training RNG stream is untouched
    assert g.training  # its mode is given back
    assert images.shape == (23, 1, 28, 28) and images.dtype == np.float32
    assert np.array_equal(images, sample_images(g, config, 23, seed=4))
    assert np.array_equal(sample_images(g, config, 23, seed=4, batch=5), sample_images(g, config, 23, seed=4, batch=5))
    assert not np.array_equal(images, sample_images(g, config, 23, seed=5))
    z = sample_latents(config, 23, torch.device("cpu"), torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = g.eval()(z, torch.arange(23) % 10).numpy()
    assert np.allclose(images, expected, atol=1e-6)  # the one latent sampler; labels 0, 1, ..., 9, 0, ...


def test_live_scores_hold_every_metric_and_what_makes_them_comparable():
    torch.manual_seed(0)
    row = live_scores(TinyGenerator(), Config(latent_dim=8, dataset="mnist"), 100, seed=3, source="step 5")
    assert list(row)[:len(ALWAYS)] == ALWAYS
    assert all(row[k] is None or math.isfinite(row[k]) for k in ALWAYS)
    assert row["n_generated"] == 100 and row["reference"] == "mnist test (10,000)"
    assert row["feature_network"].endswith(row["feature_network_sha256"][:12])


def test_evaluate_cli_on_generator_gives_every_metric_and_updates_card(tmp_path, mnist_test, capsys):
    images = mnist_test.images[:1000, 0]
    model = real_image_generator(tmp_path / "real.onnx", images)
    assert main(["evaluate", str(model), "--n", "1000", "--kid-subsets", "5", "--update-card"]) == 0
    out = capsys.readouterr().out
    assert "fid" in out and "feature network" in out and "updated the scores" in out
    report = json.loads((tmp_path / "real.eval.json").read_text())
    assert set(report["metrics"]) >= set(ALWAYS)
    assert all(isinstance(v, float) and math.isfinite(v) for v in report["metrics"].values())
    assert report["reference"] == "mnist test (10,000)" and report["n_generated"] == 1000
    assert report["feature_network"].startswith("mnist-cnn.onnx:features(128)")
    m = report["metrics"]
    assert m["classes_covered"] == 10 and m["fid"] < 5 and m["recall"] > 0.5 and m["precision"] > 0.5
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metadata"]["metrics"]["metrics"]["fid"] == pytest.approx(m["fid"])
    # the file itself carries the same scores, for apps that have only the .onnx
    inside = Generator.load(model, device="cpu").metadata["metrics"]
    assert inside["metrics"]["fid"] == pytest.approx(m["fid"]) and inside["reference"] == report["reference"]
    assert card["metadata"]["train_steps"] == Generator.load(model, device="cpu").metadata["train_steps"]
    # a second evaluation with the same evaluator compares with the card it replaces
    assert main(["evaluate", str(model), "--n", "500", "--kid-subsets", "2", "--update-card"]) == 0
    out = capsys.readouterr().out
    assert "compared with the card's scores" in out and "another sample count" in out


def test_update_card_says_so_when_the_card_was_scored_by_another_evaluator(tmp_path, mnist_test, capsys):
    recorded = {"metrics": {"fid": 1.0}, "feature_network": "mnist-cnn.onnx:features(128) sha256:0123456789ab",
                "reference": "mnist test (10,000)", "n_generated": 500}
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:500, 0], metrics=recorded)
    assert main(["evaluate", str(model), "--n", "500", "--kid-subsets", "2", "--update-card"]) == 0
    out = capsys.readouterr().out
    assert "not compared with the card's scores" in out and "sha256:0123456789ab" in out and "1.0000 ->" not in out
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metadata"]["metrics"]["feature_network_sha256"] != "0123456789ab"  # replaced, as asked


def test_inception_joins_the_report_and_the_card(tmp_path, monkeypatch, mnist_test, capsys):
    import training.evaluate

    monkeypatch.setattr(training.evaluate, "inception_extractor", FakeInception)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:300, 0])
    assert main(["evaluate", str(model), "--n", "300", "--kid-subsets", "2", "--inception", "--inception-n", "100",
                 "--update-card"]) == 0
    assert "inception FID:" in capsys.readouterr().out
    report = json.loads((tmp_path / "real.eval.json").read_text())
    assert report["inception"]["n_generated"] == 100 and report["inception"]["reference"] == "mnist test (10,000)"
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metadata"]["metrics"]["metrics"]["fid_inception"] == report["inception"]["metrics"]["fid"]


def test_training_with_eval_every_writes_chartable_rows(tmp_path, mnist_test, capsys):
    runs = tmp_path / "runs"
    argv = ["train", "--preset", "gan-mlp-mnist", "--runs-dir", str(runs), "--set", "steps=4", "--set", "batch_size=32",
            "--set", "eval_every=2", "--set", "eval_samples=200", "--set", "log_every=2", "--set", "sample_every=100",
            "--set", "checkpoint_every=100", "--device", "cpu"]
    assert main(argv) == 0
    (run,) = runs.iterdir()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r.get("kind") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    for r in evals:
        for key in ALWAYS:  # every metric that applies to MNIST, the charted ones among them
            assert isinstance(r[key], (int, float)), key
        assert r["n_generated"] == 200 and r["reference"] == "mnist test (10,000)"
    assert (run / "checkpoints" / "best.pt").exists()
    # The best checkpoint exports with the scores of its own step; the last one with the last step's.
    best = min(evals, key=lambda r: r["fid"])
    for which, row in (("best", best), ("last", evals[-1])):
        out = tmp_path / f"{which}.onnx"
        assert main(["export", str(run), "--checkpoint", which, "--out", str(out)]) == 0
        card = json.loads(out.with_suffix(".json").read_text())
        assert card["training"]["checkpoint"] == which and card["training"]["steps"] == row["step"]
        scores = card["metadata"]["metrics"]
        assert scores["metrics"]["fid"] == row["fid"] and scores["step"] == row["step"]
        assert scores["reference"] == "mnist test (10,000)" and scores["n_generated"] == 200
    # and the run's last checkpoint is scored like an exported file, with torch drawing the samples
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "200", "--kid-subsets", "2", "--runs-dir", str(runs)]) == 0
    report = json.loads((run / "eval.json").read_text())
    assert report["step"] == 4 and report["source"].startswith(f"run {run.name} step 4")
    assert set(report["metrics"]) == set(ALWAYS)


def test_a_folder_run_evaluates_live_in_general_features_keeps_best_and_exports(tmp_path, monkeypatch, capsys):
    """A folder has no evaluator network: its live rows hold FID and KID in the feature network's
    features (a tiny ONNX one here, Inception's place) against all the folder's images."""
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(FEATURE_NETWORK_VARIABLE, str(make_feature_network(tmp_path / "tiny.onnx")))
    folder, runs = rgba_folder(tmp_path / "images", per_class=8, size=16), tmp_path / "runs"
    settings = dict(dataset="folder", data_root=str(folder), image_size=16, channels=3, steps=4, batch_size=8,
                    eval_every=2, eval_samples=40, log_every=2, sample_every=100, checkpoint_every=100, g_width=16,
                    d_width=16, latent_dim=8)
    argv = ["train", "--preset", "gan-mlp-mnist", "--runs-dir", str(runs), "--device", "cpu"]
    assert main(argv + [a for key, value in settings.items() for a in ("--set", f"{key}={value}")]) == 0
    (run,) = runs.iterdir()
    evals = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r.get("kind") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    for r in evals:
        assert all(isinstance(r[key], float) for key in ("fid", "kid_mean", "precision", "recall", "coverage"))
        assert r["n_generated"] == 40 and r["reference"].startswith(f"folder {folder} (all 16 images")
        assert r["feature_network"].startswith("tiny.onnx:features(16)")
    assert (run / "checkpoints" / "best.pt").exists()
    out = tmp_path / "best.onnx"
    assert main(["export", str(run), "--checkpoint", "best", "--out", str(out)]) == 0
    scores = json.loads(out.with_suffix(".json").read_text())["metadata"]["metrics"]
    assert scores["metrics"]["fid"] == min(r["fid"] for r in evals) and scores["reference"] == evals[0]["reference"]
    capsys.readouterr()
    assert main(["evaluate", str(run), "--n", "40", "--kid-subsets", "2", "--runs-dir", str(runs)]) == 0
    printed = capsys.readouterr().out
    assert "feature network: tiny.onnx" in printed and "KID:             unbiased MMD², mean of 2 subsets of 16" in printed

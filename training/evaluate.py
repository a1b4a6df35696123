"""Scoring torch generators: torch draws the samples (from a run's checkpoint, or from the generator
in memory during training) and ``evaluation`` scores them, exactly as it scores an exported file.

    report, json_path, card = evaluate_target("runs/RUN", n=10_000)        # python -m training evaluate
    row = live_scores(trainer.sampling_generator, config, 500, seed=3)      # the trainer's eval rows

Latents come from ``training.latents`` with a separate, seeded ``torch.Generator`` (the training RNG
stream is untouched); a conditional generator gets the labels 0, 1, ..., C-1 in turn, or, when its
classes are clusters (``prior``: their shares), labels in the clusters' proportions.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from evaluation.errors import EvaluationError
from evaluation.evaluators import get_evaluator
from evaluation.features import FEATURE_NETWORK_VARIABLE
from evaluation.provenance import comparison
from evaluation.sampling import asked_labels, sampled_labels
from evaluation.scoring import check_request, evaluate_images, evaluate_model, folder_read_options, scored_in_features
from evaluation.scoring import load_generator as load_onnx_generator
from training.config import Config
from training.export.generator import load_generator, update_scores
from training.export.inception import export_inception_onnx, inception_extractor
from training.latents import sample_latents
from training.runfolder.files import UnreadableFile, read_json_object
from training.runfolder.folder import DEFAULT_RUNS_DIR, find_run

BATCH = 500


def sample_images(generator: nn.Module, config: Config, n: int, seed: int = 0, batch: int = BATCH,
                  device: torch.device | None = None, prior: list[float] | None = None) -> np.ndarray:
    """n images from a torch generator in eval mode, raw output float32 [N, C, H, W] in its
    output_range; its train/eval mode is restored."""
    device = device or next(generator.parameters()).device
    rng = torch.Generator().manual_seed(int(seed))
    num_classes = int(getattr(generator, "num_classes", 0) or 0)
    asked = sampled_labels(n, num_classes, prior, seed)
    was_training = generator.training
    generator.eval()
    parts = []
    try:
        with torch.no_grad():
            for start in range(0, n, batch):
                m = min(batch, n - start)
                z = sample_latents(config, m, torch.device("cpu"), rng).to(device)
                labels = torch.from_numpy(asked[start:start + m]).to(device) if num_classes else None
                parts.append(generator(z, labels).float().cpu().numpy())
    finally:
        generator.train(was_training)
    return np.concatenate(parts)


def ensure_feature_network(dataset: str | None, evaluator=None) -> None:
    """A dataset without an evaluator network is scored in Inception-v3 features: torch is here, so
    export the network once (as ``evaluate --inception`` does) rather than tell the user to."""
    if dataset and scored_in_features(dataset, evaluator) and not os.environ.get(FEATURE_NETWORK_VARIABLE):
        export_inception_onnx()


def evaluate_torch_generator(generator: nn.Module, config: Config, n: int, dataset: str | None = None, seed: int = 0,
                       source: str = "generator", data_root=None, prior: list[float] | None = None,
                       **options) -> dict[str, Any]:
    """The full report (``evaluation.evaluate_images``'s) of ``n`` samples; ``options`` are its own.
    A clustered model (``prior``) is held to no labels: its clusters are not the data's classes."""
    ensure_feature_network(dataset or config.dataset, options.get("evaluator"))
    images = sample_images(generator, config, n, seed, prior=prior)
    labels = asked_labels(n, int(getattr(generator, "num_classes", 0) or 0), prior)
    return evaluate_images(images, dataset or config.dataset, output_range=generator.output_range, seed=seed,
                           data_root=data_root or config.data_root, source=source, latent_seed=seed, labels=labels,
                           read_options=folder_read_options(config), **options)


def live_scores(generator: nn.Module, config: Config, n: int, seed: int, source: str = "generator",
                kid_subsets: int = 10, prior: list[float] | None = None) -> dict[str, Any]:
    """What a live evaluation row of metrics.jsonl holds besides step, epoch and time: every
    registered metric that applies (None where not finite) and the provenance that makes the row
    comparable (feature network and its hash, reference, sample count)."""
    report = evaluate_torch_generator(generator, config, n, seed=seed, source=source, kid_subsets=kid_subsets,
                                      prior=prior)
    return {**report["metrics"], "n_generated": report["n_generated"], "feature_network": report["feature_network"],
            "feature_network_sha256": report["feature_network_sha256"], "reference": report["reference"]}


def evaluate_target(target: str, *, dataset: str | None = None, n: int = 10_000, seed: int = 0,
                    inception: bool = False, inception_n: int | None = None, runs_dir=None, data_root=None,
                    evaluator: str | None = None, progress: Callable[[str], None] | None = None, kid_subsets: int = 100
                    ) -> tuple[dict[str, Any], Path, Path | None]:
    """Score an exported generator (``*.onnx``) or a run (id or folder: its last checkpoint).

    Returns (report, default JSON path, model card path or None)."""
    say = progress or (lambda text: None)
    options = dict(evaluator=evaluator, kid_subsets=kid_subsets, inception_n=inception_n,
                   inception=inception_extractor() if inception else None)
    if target.endswith(".onnx"):
        path = Path(target)
        ensure_feature_network(dataset or load_onnx_generator(path).metadata.get("dataset"), evaluator)
        report = evaluate_model(path, dataset, n, seed, data_root=data_root, progress=say, **options)
        return report, path.with_name(path.stem + ".eval.json"), path.with_suffix(".json")
    run = find_run(target, Path(runs_dir) if runs_dir else DEFAULT_RUNS_DIR)
    dataset = dataset or run.read_config().get("dataset")
    if not dataset:
        raise EvaluationError(f"{target} names no dataset; pass --dataset")
    ensure_feature_network(dataset, evaluator)
    check_request(n, seed, dataset, evaluator, kid_subsets, inception_n)  # before the checkpoint is read
    generator, config, state = load_generator(run)
    step = int(state["step"])
    weights = "ema" if state.get("ema") is not None else "generator"
    say(f"generating {n:,} images with run {run.id} at step {step}, then scoring them")
    options["evaluator"] = get_evaluator(evaluator) if evaluator else None
    source = f"run {run.id} step {step} ({weights} weights)"
    report = evaluate_torch_generator(generator, config, n, dataset, seed, source=source, data_root=data_root,
                                      prior=state.get("class_prior"), step=step, **options)
    card = run.onnx_path.with_suffix(".json")
    return report, run.path / "eval.json", card if card.exists() else None


def card_metrics(card: Path) -> Any:
    """The scores a model card holds (its metadata's "metrics"), read bounded: a card that is a pipe,
    nested past studio.files' depth limit or not one JSON object is an EvaluationError, found by the
    check before any work (``--update-card``) rather than after the whole evaluation."""
    try:
        values = read_json_object(card)
    except (UnreadableFile, FileNotFoundError) as error:
        raise EvaluationError(f"model card {card}: {error}; repair or re-export it before --update-card.") from None
    meta = values.get("metadata")
    if not isinstance(meta, dict):
        raise EvaluationError(f"model card {card} has no \"metadata\" object; re-export it before --update-card.")
    return meta.get("metrics")


def update_card(card: Path, report: dict[str, Any]) -> list[str]:
    """Write ``report`` into the model beside ``card`` (its .onnx and the card); returns the lines
    that compare it with the scores it replaces, or say why they cannot be compared."""
    previous = card_metrics(card)
    lines = comparison(previous, report)
    model = card.with_suffix(".onnx")
    update_scores(model, report)
    return lines + [f"updated the scores in {model} and {card}"]

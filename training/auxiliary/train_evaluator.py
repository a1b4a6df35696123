"""``python -m training train-evaluator``: train the evaluator CNN (``evaluator_net``), export it
(``evaluator_export``), and never write over an evaluator by accident.

Every score records its evaluator's SHA-256, and a retrained evaluator has another hash, so
replacing the shipped ``exported/evaluators/<dataset>-cnn.onnx`` would make every recorded score
incomparable with new ones. The output is therefore a new file by default,
``<evaluators folder>/<dataset>-cnn-<UTC time>.onnx`` (use it with ``evaluate --evaluator``), and an
existing file is replaced only when ``--out`` names it and ``--force`` is given.
"""
from __future__ import annotations

import json
import logging
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path

import torch

from evaluation.evaluators import EVALUATOR_DIR, evaluator_dir
from training.data.dataset import load_dataset
from training.export.evaluator import export_evaluator
from training.auxiliary.evaluator_net import TARGET_ACCURACY, EvaluatorError, checkpoint_path, default_settings, fit

log = logging.getLogger("training")


def output_path(dataset: str, out: str | Path | None = None, force: bool = False,
                now: datetime | None = None) -> Path:
    """Where the new evaluator goes; raises (before any training) when that would replace a file
    without ``force``."""
    if out is None:
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
        path = evaluator_dir() / f"{dataset}-cnn-{stamp}.onnx"
    else:
        path = Path(out)
    if path.suffix != ".onnx":
        raise EvaluatorError(f"the output must end in .onnx, got {path}")
    if path.exists() and not force:
        shipped = path.resolve().parent == EVALUATOR_DIR.resolve()
        why = " (shipped: the scores recorded with it name its hash)" if shipped else ""
        raise EvaluatorError(f"{path} exists{why}; pass --force to replace it, or leave out --out for a new file")
    return path


def train_evaluator(dataset: str, epochs: int | None = None, out: Path | None = None, data_root=None,
                    command: str | None = None, fresh: bool = False, progress=None, polish: int = 0,
                    force: bool = False) -> tuple[dict, Path]:
    """Train, check the test accuracy, export ONNX + card; returns (the card, the .onnx path)."""
    settings = default_settings(dataset, epochs)
    path = output_path(dataset, out, force)
    # an interrupted training is picked up by the next one with the same output name (default: per dataset)
    checkpoint = checkpoint_path(Path(out).stem if out is not None else f"{dataset}-cnn")
    train = load_dataset(dataset, data_root, "train", 28, 1)
    test = load_dataset(dataset, data_root, "test", 28, 1)
    fitted = fit(settings, train, test, checkpoint, fresh, progress, polish)
    command = command or shlex.join(["python", "-m", "training", "train-evaluator", "--dataset", dataset,
                                     "--epochs", str(settings.epochs), *(["--polish", str(polish)] if polish else [])])
    card = export_evaluator(fitted.model, path, dataset=dataset, test_accuracy=fitted.test_accuracy,
                            class_names=train.class_names, settings=settings, wall_time_s=fitted.elapsed_s,
                            history=fitted.history, command=command, n_test=len(test), test_images=test.images[:256])
    target = TARGET_ACCURACY[dataset]
    if fitted.test_accuracy < target:
        log.warning("test accuracy %.4f is below the target %.4f: train longer (--epochs)",
                    fitted.test_accuracy, target)
    return card, path


def main_train_evaluator(args) -> int:
    """Entry for ``python -m training train-evaluator``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    command = shlex.join(["python", "-m", "training", *sys.argv[1:]]) if sys.argv[1:2] == ["train-evaluator"] else None
    card, path = train_evaluator(args.dataset, args.epochs, Path(args.out) if args.out else None, args.data_root,
                                 command=command, fresh=args.fresh, polish=args.polish, force=args.force)
    print(json.dumps({"test_accuracy": card["test_accuracy"], "wall_time_s": card["training"]["wall_time_s"],
                      "file": str(path)}))
    return 0 if card["test_accuracy"] >= TARGET_ACCURACY[args.dataset] else 1

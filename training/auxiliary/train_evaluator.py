"""``python -m training train-evaluator``: train the evaluator CNN (``evaluator_net``), export it
(``evaluator_export``), and never write over an evaluator by accident.

Every score records its evaluator's SHA-256, and a retrained evaluator has another hash, so
replacing the shipped ``exported/evaluators/<dataset>-cnn.onnx`` would make every recorded score
incomparable with new ones. The output is therefore a new file by default,
``<evaluators folder>/<dataset>-cnn-<UTC time>.onnx`` (use it with ``evaluate --evaluator``), and an
existing file is replaced only when ``--out`` names it and ``--force`` is given. A labelled folder's
evaluator (``folder_evaluator``: its own held-out split) is named after the folder,
``folder-<folder name>-cnn-<UTC time>.onnx``; it has no target accuracy, its held-out accuracy is
reported and kept in its card.
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
from training.auxiliary.folder_evaluator import (DEFAULT_IMAGE_SIZE, INPUT_MAPPING, describe_held_out,
                                                 evaluator_name, folder_splits)

log = logging.getLogger("training")


def output_path(dataset: str, out: str | Path | None = None, force: bool = False,
                now: datetime | None = None) -> Path:
    """Where the new evaluator goes (``dataset``: its name, ``folder-<name>`` for a folder); raises
    (before any training) when that would replace a file without ``force``."""
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
                    force: bool = False, image_size: int | None = None) -> tuple[dict, Path]:
    """Train, check the test (a folder's: held-out) accuracy, export ONNX + card; returns (the card, the
    .onnx path). ``image_size``: the side a folder is read at (default 32); the datasets are 28."""
    settings = default_settings(dataset, epochs)
    folder = dataset == "folder"
    if image_size is not None and not folder:
        raise EvaluatorError(f"--image-size is for a folder; the {dataset} evaluator reads 28x28")
    name = evaluator_name(data_root) if folder else dataset
    path = output_path(name, out, force)
    extra, options = {}, {}
    if folder:
        train, test, extra = folder_splits(data_root, image_size or DEFAULT_IMAGE_SIZE)
        options = dict(test_split=describe_held_out(extra), input_mapping=INPUT_MAPPING, extra_card=extra,
                       extra_meta={"folder_fingerprint": extra["folder"]["fingerprint"],
                                   "folder_read": "alpha, composited over black"})
        # the content and read size are part of the name: another folder of the same name starts afresh
        name = f"{name}-{extra['folder']['fingerprint'][:12]}"
    else:
        train = load_dataset(dataset, data_root, "train", 28, 1)
        test = load_dataset(dataset, data_root, "test", 28, 1)
    # an interrupted training is picked up by the next one with the same output name (default: per dataset)
    checkpoint = checkpoint_path(Path(out).stem if out is not None else f"{name}-cnn")
    fitted = fit(settings, train, test, checkpoint, fresh, progress, polish)
    command = command or shlex.join(["python", "-m", "training", "train-evaluator", "--dataset", dataset,
                                     *(["--data-root", str(data_root)] if folder else []),
                                     *(["--image-size", str(image_size)] if folder and image_size else []),
                                     "--epochs", str(settings.epochs), *(["--polish", str(polish)] if polish else [])])
    card = export_evaluator(fitted.model, path, dataset=dataset, test_accuracy=fitted.test_accuracy,
                            class_names=train.class_names, settings=settings, wall_time_s=fitted.elapsed_s,
                            history=fitted.history, command=command, n_test=len(test), test_images=test.images[:256],
                            **options)
    target = TARGET_ACCURACY.get(dataset)
    if target is not None and fitted.test_accuracy < target:
        log.warning("test accuracy %.4f is below the target %.4f: train longer (--epochs)",
                    fitted.test_accuracy, target)
    if folder:
        held_out = extra["folder"]["held_out"]
        log.info("held-out accuracy %.4f on %d images (always guessing the largest class: %.4f)",
                 fitted.test_accuracy, held_out["n"], held_out["chance_accuracy"])
    return card, path


def main_train_evaluator(args) -> int:
    """Entry for ``python -m training train-evaluator``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    command = shlex.join(["python", "-m", "training", *sys.argv[1:]]) if sys.argv[1:2] == ["train-evaluator"] else None
    card, path = train_evaluator(args.dataset, args.epochs, Path(args.out) if args.out else None, args.data_root,
                                 command=command, fresh=args.fresh, polish=args.polish, force=args.force,
                                 image_size=getattr(args, "image_size", None))
    held_out = card.get("folder", {}).get("held_out")
    print(json.dumps({"test_accuracy": card["test_accuracy"], "wall_time_s": card["training"]["wall_time_s"],
                      "file": str(path), **({"held_out": held_out} if held_out else {})}))
    target = TARGET_ACCURACY.get(args.dataset)  # a folder has none: what its accuracy can be depends on its classes
    return 0 if target is None or card["test_accuracy"] >= target else 1

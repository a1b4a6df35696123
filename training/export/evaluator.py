"""The evaluator CNN to ONNX: the file ``evaluation.evaluators.Evaluator`` reads (inputs, outputs and
metadata as ``evaluation.evaluators`` names them) and its card beside it.

Nothing reaches its final name before it has passed ``onnx.checker`` and matched PyTorch in
onnxruntime on 256 test images.
"""
from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from evaluation.evaluators import INPUT_NAME, INPUT_RANGE, OUTPUTS
from training.auxiliary.evaluator_net import FEATURE_DIM, TARGET_ACCURACY, EvaluatorError, pooled_size, to_input
from training.export.generator import machine_description
from training.export.small_net import OPSET, export_checked, parity_error
from training.runfolder.files import atomic_write_json

log = logging.getLogger("training")


def export_evaluator(model: nn.Module, out: Path, *, dataset: str, test_accuracy: float, class_names, settings,
                     wall_time_s: float, history, command: str, n_test: int, test_images: torch.Tensor,
                     test_split: str | None = None, input_mapping: str | None = None, extra_meta: dict | None = None,
                     extra_card: dict | None = None) -> dict:
    """Write ``out`` (ONNX, outputs logits + features, metadata) and ``out.with_suffix('.json')`` (card).

    The input shape is ``test_images``'s ([C, S, S]; 1x28x28 for MNIST and Fashion-MNIST), recorded in
    the metadata ``input_shape`` that ``evaluation.evaluators.Evaluator`` reads. ``test_split`` and
    ``input_mapping`` describe a folder's held-out images and how they were read; ``extra_meta`` and
    ``extra_card`` (a folder's fingerprint and read settings) are added to the metadata and card."""
    model = model.eval()
    input_shape = tuple(int(v) for v in test_images.shape[1:])
    flat = 128 * pooled_size(input_shape[-1]) ** 2
    meta = {
        "gan_studio.evaluator": "1",
        "dataset": dataset,
        "input_name": INPUT_NAME,
        "input_shape": ",".join(map(str, input_shape)),
        "input_range": f"{INPUT_RANGE[0]:g},{INPUT_RANGE[1]:g}",
        "input_mapping": input_mapping or "pixel / 127.5 - 1 (0 -> -1 black background, 255 -> 1)",
        "outputs": ",".join(OUTPUTS),
        "num_classes": str(len(class_names) or 10),
        "class_names": json.dumps(list(class_names)),
        "feature_dim": str(FEATURE_DIM),
        "feature_layer": f"penultimate: Linear({flat}->{FEATURE_DIM})+BN+ReLU",
        "test_accuracy": f"{test_accuracy:.4f}",
        "test_split": test_split or f"{dataset} test ({n_test:,})",
        "architecture": "EvaluatorCNN: conv32-pool-conv64-pool-conv128-pool (3x3, BN, ReLU); fc 128 (BN, ReLU) = features; "
                        f"fc {len(class_names) or 10}",
        "training_command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **(extra_meta or {}),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        checked = export_checked(model, input_shape, Path(tmp), INPUT_NAME, OUTPUTS, meta)
        diff = parity_error(model, checked, to_input(test_images).numpy(), INPUT_NAME, OUTPUTS)
        if not diff <= 1e-3:
            raise EvaluatorError(f"onnxruntime differs from PyTorch by {diff:.2e}; nothing written")
        checked.replace(out)
    card = {
        "name": out.stem,
        "kind": "evaluator",
        "metadata": meta,
        "test_accuracy": round(test_accuracy, 4),
        "target_accuracy": TARGET_ACCURACY.get(dataset),
        **(extra_card or {}),
        "training": {
            "settings": asdict(settings), "epochs": settings.epochs,
            "polish_epochs": sum(1 for h in history if str(h["epoch"]).startswith("polish")),
            "wall_time_s": round(wall_time_s, 1),
            "machine": machine_description(), "torch": torch.__version__, "history": history,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "export": {"opset": OPSET, "parity_max_abs_diff": diff, "size_bytes": out.stat().st_size},
    }
    atomic_write_json(out.with_suffix(".json"), card)
    log.info("wrote %s (%.2f MB, test accuracy %.4f)", out, out.stat().st_size / 1e6, test_accuracy)
    return card

"""Evaluator networks: small CNN classifiers for MNIST and Fashion-MNIST whose penultimate layer is
the feature space of FID, KID, precision/recall and density/coverage, and whose class
probabilities give the classifier score and class coverage.

They are trained by ``python -m training train-evaluator --dataset mnist|fashion-mnist`` and
shipped as ONNX (``exported/evaluators/<dataset>-cnn.onnx``) with two outputs, ``logits`` [N, 10]
and ``features`` [N, 128], so evaluation itself (``training.evaluation``) needs onnxruntime only.

Input: float32 ``[N, 1, 28, 28]`` in ``[-1, 1]`` (-1 black background, 1 white stroke: the pixel
``p`` in 0..255 maps to ``p / 127.5 - 1``), the range the metadata ``input_range`` names.

Training is resumable: a checkpoint with the model, optimiser, schedule and RNG state is written
after every epoch (atomically) and picked up by the next invocation with the same settings.
"""
from __future__ import annotations

import io
import json
import logging
import platform
import shlex
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

log = logging.getLogger("training")

EVALUATOR_DATASETS = ("mnist", "fashion-mnist")
INPUT_NAME = "image"
OUTPUTS = ("logits", "features")
INPUT_RANGE = (-1.0, 1.0)
FEATURE_DIM = 128
TARGET_ACCURACY = {"mnist": 0.993, "fashion-mnist": 0.92}
DEFAULT_EPOCHS = {"mnist": 4, "fashion-mnist": 5}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "exported" / "evaluators"
OPSET = 18


class EvaluatorError(Exception):
    pass


def default_path(dataset: str) -> Path:
    return DEFAULT_DIR / f"{dataset}-cnn.onnx"


class EvaluatorCNN(nn.Module):
    """Three 3x3 conv-BN-ReLU-maxpool blocks (32, 64, 128 channels: 28 -> 14 -> 7 -> 4), a 128-unit
    layer (BN, ReLU: the features), dropout, logits. About 5 M multiply-adds an image, so a busy CPU
    trains it in minutes an epoch (channels-last memory: about 25% faster on CPU)."""

    def __init__(self, num_classes: int = 10, feature_dim: int = FEATURE_DIM, dropout: float = 0.3):
        super().__init__()

        def block(c_in, c_out):
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(1, 32), nn.MaxPool2d(2),  # 14x14
            *block(32, 64), nn.MaxPool2d(2),  # 7x7
            *block(64, 128), nn.MaxPool2d(2, ceil_mode=True), nn.Dropout2d(0.05),  # 4x4
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, feature_dim, bias=False), nn.BatchNorm1d(feature_dim), nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(feature_dim, num_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return self.head(self.dropout(features)), features


@dataclass
class TrainSettings:
    dataset: str
    epochs: int
    batch_size: int = 128
    max_lr: float = 3e-3
    weight_decay: float = 5e-4
    shift: int = 2  # random translation in pixels, both axes
    rotate: float = 0.0  # degrees
    hflip: bool = False
    label_smoothing: float = 0.0
    seed: int = 0


def default_settings(dataset: str, epochs: int | None = None) -> TrainSettings:
    if dataset not in EVALUATOR_DATASETS:
        raise EvaluatorError(f"no evaluator recipe for dataset {dataset!r}; choose from {', '.join(EVALUATOR_DATASETS)}")
    epochs = epochs or DEFAULT_EPOCHS[dataset]
    if dataset == "mnist":
        return TrainSettings(dataset, epochs, shift=2, rotate=5.0)
    return TrainSettings(dataset, epochs, shift=1, rotate=0.0, hflip=True)


def to_input(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 1, 28, 28] -> float32 in [-1, 1]."""
    return images_uint8.float().div_(127.5).sub_(1.0)


def _augment(x: torch.Tensor, s: TrainSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    if s.hflip:
        flip = torch.rand(n, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    if s.shift or s.rotate:
        angle = (torch.rand(n, generator=gen) * 2 - 1) * (s.rotate * np.pi / 180)
        shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * s.shift / x.shape[-1])
        cos, sin = angle.cos(), angle.sin()
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        # Background is -1: sample x + 1 with zero padding, then shift back.
        x = F.grid_sample(x + 1, grid, mode="bilinear", padding_mode="zeros", align_corners=False) - 1
    return x


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    for i in range(0, len(images), batch):
        logits, _ = model(to_input(images[i : i + batch]))
        correct += int((logits.argmax(1) == labels[i : i + batch]).sum())
    return correct / len(images)


def _checkpoint_path(out: Path) -> Path:
    cache = Path.home() / ".cache" / "gan-studio" / "evaluator-training"
    return cache / f"{out.stem}.ckpt.pt"


def _atomic_save(obj, path: Path) -> None:
    from training.runs import atomic_write_bytes

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _train_epoch(model, opt, sched, gen, settings: TrainSettings, train, steps_per_epoch: int) -> float:
    model.train()
    order = torch.randperm(len(train), generator=gen)
    total = 0.0
    for i in range(steps_per_epoch):
        idx = order[i * settings.batch_size : (i + 1) * settings.batch_size]
        x = _augment(to_input(train.images[idx]), settings, gen).contiguous(memory_format=torch.channels_last)
        logits, _ = model(x)
        loss = F.cross_entropy(logits, train.labels[idx], label_smoothing=settings.label_smoothing)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        total += float(loss.detach())
    return total / steps_per_epoch


def train_evaluator(dataset: str, epochs: int | None = None, out: Path | None = None, data_root=None,
                    command: str | None = None, fresh: bool = False, progress=None, polish: int = 0) -> dict:
    """Train, check the test accuracy, export ONNX + card; returns the card."""
    from training.data import load_dataset

    settings = default_settings(dataset, epochs)
    out = Path(out) if out else default_path(dataset)
    if out.suffix != ".onnx":
        raise EvaluatorError(f"the output must end in .onnx, got {out}")
    train = load_dataset(dataset, data_root, "train", 28, 1)
    test = load_dataset(dataset, data_root, "test", 28, 1)
    torch.manual_seed(settings.seed)
    model = EvaluatorCNN(num_classes=len(train.class_names) or 10).to(memory_format=torch.channels_last)
    steps_per_epoch = -(-len(train) // settings.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.max_lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=settings.max_lr, epochs=settings.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    gen = torch.Generator().manual_seed(settings.seed)
    start_epoch, elapsed, history, polished = 0, 0.0, [], 0
    ckpt = _checkpoint_path(out)
    if ckpt.exists() and not fresh:
        state = torch.load(ckpt, weights_only=True)
        if state["settings"] == asdict(settings):
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["opt"])
            sched.load_state_dict(state["sched"])
            gen.set_state(state["gen"])
            start_epoch, elapsed, history = state["epoch"], state["elapsed"], state["history"]
            polished = state.get("polished", 0)
            log.info("resuming evaluator training at epoch %d/%d from %s", start_epoch, settings.epochs, ckpt)
        else:
            log.info("ignoring %s: it was made with other settings", ckpt)

    def save(epoch: int, polished: int) -> None:
        _atomic_save({"settings": asdict(settings), "model": model.state_dict(), "opt": opt.state_dict(),
                      "sched": sched.state_dict(), "gen": gen.get_state(), "epoch": epoch, "polished": polished,
                      "elapsed": elapsed, "history": history}, ckpt)

    def one_epoch(label: str, optimizer, scheduler) -> None:
        nonlocal elapsed
        t0 = time.monotonic()
        loss = _train_epoch(model, optimizer, scheduler, gen, settings, train, steps_per_epoch)
        acc = accuracy(model, test.images, test.labels)
        elapsed += time.monotonic() - t0
        history.append({"epoch": label, "loss": round(loss, 5), "test_accuracy": acc, "elapsed_s": round(elapsed, 1)})
        log.info("epoch %s: loss %.4f, test accuracy %.4f, %.0f s", label, loss, acc, elapsed)
        if progress:
            progress(history[-1])

    for epoch in range(start_epoch, settings.epochs):
        one_epoch(f"{epoch + 1}/{settings.epochs}", opt, sched)
        save(epoch + 1, 0)
    if polish > polished:
        # Extra epochs at a small, decaying learning rate from the finished weights (not resumable mid-way).
        popt = torch.optim.AdamW(model.parameters(), lr=settings.max_lr / 20, weight_decay=settings.weight_decay)
        psched = torch.optim.lr_scheduler.CosineAnnealingLR(popt, T_max=(polish - polished) * steps_per_epoch)
        for k in range(polished, polish):
            one_epoch(f"polish {k + 1}/{polish}", popt, psched)
        save(settings.epochs, polish)
    model = model.to(memory_format=torch.contiguous_format).eval()
    acc = accuracy(model, test.images, test.labels)
    command = command or shlex.join(["python", "-m", "training", "train-evaluator", "--dataset", dataset,
                                     "--epochs", str(settings.epochs), *(["--polish", str(polish)] if polish else [])])
    card = export_evaluator(model, out, dataset=dataset, test_accuracy=acc, class_names=train.class_names,
                            settings=settings, wall_time_s=elapsed, history=history, command=command,
                            n_test=len(test), test_images=test.images[:256])
    target = TARGET_ACCURACY[dataset]
    if acc < target:
        log.warning("test accuracy %.4f is below the target %.4f: train longer (--epochs)", acc, target)
    return card


def _machine() -> str:
    try:
        from training.export import machine_description

        return machine_description()
    except Exception:  # noqa: BLE001 - a description only
        return platform.platform()


def export_evaluator(model: nn.Module, out: Path, *, dataset: str, test_accuracy: float, class_names, settings,
                     wall_time_s: float, history, command: str, n_test: int, test_images: torch.Tensor) -> dict:
    """Write ``out`` (ONNX, outputs logits + features, metadata) and ``out.with_suffix('.json')`` (card)."""
    import onnx
    import onnxruntime as ort

    from training.runs import atomic_write_json

    model = model.eval()
    meta = {
        "gan_studio.evaluator": "1",
        "dataset": dataset,
        "input_name": INPUT_NAME,
        "input_shape": "1,28,28",
        "input_range": f"{INPUT_RANGE[0]:g},{INPUT_RANGE[1]:g}",
        "input_mapping": "pixel / 127.5 - 1 (0 -> -1 black background, 255 -> 1)",
        "outputs": ",".join(OUTPUTS),
        "num_classes": str(len(class_names) or 10),
        "class_names": json.dumps(list(class_names)),
        "feature_dim": str(FEATURE_DIM),
        "feature_layer": "penultimate: Linear(2048->128)+BN+ReLU",
        "test_accuracy": f"{test_accuracy:.4f}",
        "test_split": f"{dataset} test ({n_test:,})",
        "architecture": "EvaluatorCNN: conv32-pool-conv64-pool-conv128-pool (3x3, BN, ReLU); fc 128 (BN, ReLU) = features; fc 10",
        "training_command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        batch = torch.export.Dim("batch", min=1, max=65536)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(2, 1, 28, 28),), str(raw), input_names=[INPUT_NAME],
                              output_names=list(OUTPUTS), dynamic_shapes={"x": {0: batch}}, opset_version=OPSET,
                              external_data=False, dynamo=True, verbose=False, optimize=True)
        proto = onnx.load(str(raw))
        for key, value in meta.items():
            proto.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(proto, full_check=True)
        checked = Path(tmp) / "model.onnx"
        onnx.save(proto, str(checked))
        x = to_input(test_images)
        with torch.no_grad():
            ref_logits, ref_feats = model(x)
        sess = ort.InferenceSession(str(checked), providers=["CPUExecutionProvider"])
        logits, feats = sess.run(list(OUTPUTS), {INPUT_NAME: x.numpy()})
        diff = max(float(np.abs(logits - ref_logits.numpy()).max()), float(np.abs(feats - ref_feats.numpy()).max()))
        if not diff <= 1e-3:
            raise EvaluatorError(f"onnxruntime differs from PyTorch by {diff:.2e}; nothing written")
        checked.replace(out)
    card = {
        "name": out.stem,
        "kind": "evaluator",
        "metadata": meta,
        "test_accuracy": round(test_accuracy, 4),
        "target_accuracy": TARGET_ACCURACY.get(dataset),
        "training": {
            "settings": asdict(settings), "epochs": settings.epochs,
            "polish_epochs": sum(1 for h in history if str(h["epoch"]).startswith("polish")),
            "wall_time_s": round(wall_time_s, 1),
            "machine": _machine(), "torch": torch.__version__, "history": history,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "export": {"opset": OPSET, "parity_max_abs_diff": diff, "size_bytes": out.stat().st_size},
    }
    atomic_write_json(out.with_suffix(".json"), card)
    log.info("wrote %s (%.2f MB, test accuracy %.4f)", out, out.stat().st_size / 1e6, test_accuracy)
    return card


def main_train_evaluator(args) -> int:
    """Entry for ``python -m training train-evaluator``."""
    if args.threads:
        torch.set_num_threads(args.threads)
    command = shlex.join(["python", "-m", "training", *sys.argv[1:]]) if sys.argv[1:2] == ["train-evaluator"] else None
    card = train_evaluator(args.dataset, args.epochs, Path(args.out) if args.out else None, args.data_root,
                           command=command, fresh=args.fresh, polish=args.polish)
    print(json.dumps({"test_accuracy": card["test_accuracy"], "wall_time_s": card["training"]["wall_time_s"],
                      "file": str(Path(args.out) if args.out else default_path(args.dataset))}))
    return 0 if card["test_accuracy"] >= TARGET_ACCURACY[args.dataset] else 1

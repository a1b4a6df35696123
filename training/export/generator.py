"""Export a run's generator to one self-contained ONNX file that any app can use alone.

The file follows the contract in ``inference/contract.py``: input ``z`` (and ``label`` for a
conditional generator) with a dynamic batch axis, output ``image``, and the full metadata inside.
The model card ``<name>.json`` beside it carries the same metadata as JSON (onnxruntime-web cannot
read ``metadata_props``) plus how the model was trained and its scores.

Nothing reaches its final name before it has passed ``onnx.checker`` and matched PyTorch in
onnxruntime on 64 latents: a failed export leaves no file behind.
"""
from __future__ import annotations

import json
import logging
import os
import shlex
import tempfile
import warnings
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from evaluation.provenance import from_live_row
from inference import hardware
from inference.encoder import encoder_path
from inference.contract import (INPUT_LABEL, INPUT_LATENT, LATENT_SCHEME, OUTPUT_IMAGE, metadata_from_props,
                                metadata_to_card, metadata_to_props)
from studio.errors import UserError
from training import config as configs
from training.checkpoint import CheckpointError, checkpoint_file, load_checkpoint, owner_problem
from training.latents import sample_latents
from training.models import build_models
from training.export.graph import optimize_for_export
from training.export.model_card import markdown_card
from training.export.side_files import markdown_path, side_files, stage_run_files
from training.runfolder.files import atomic_write_bytes, read_json_object
from training.runfolder.folder import RunFolder
from training.export.sefa import NoDirections, sefa_directions

log = logging.getLogger("training")

OPSET = 18
PARITY_BOUND = 1e-4
PARITY_BOUND_FP16 = 2e-2


class ExportError(UserError):
    """A run that cannot be exported as asked (the message says why and what to do)."""


class _Unconditional(nn.Module):
    """Fixes the traced signature to exactly the contract's inputs."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.generator(z)


class _Conditional(_Unconditional):
    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return self.generator(z, label)


def checkpoint_path(run: RunFolder, which: str = "last") -> Path:
    """checkpoints/last.pt, or checkpoints/best.pt: the lowest FID of the run's live evaluations."""
    try:
        path = checkpoint_file(run, which)
    except CheckpointError as error:
        raise ExportError(str(error)) from None
    if not path.exists():
        hint = (" (a run writes best.pt only when it evaluates as it trains: --set eval_every=N)"
                if which == "best" else " (the run has not saved a checkpoint yet)")
        raise ExportError(f"{run.id} has no {path.name}{hint}")
    return path


def load_generator(run: RunFolder, which: str = "last") -> tuple[nn.Module, configs.Config, dict[str, Any]]:
    """The run's generator in eval mode (EMA weights where the run keeps them), its config and checkpoint."""
    config = configs.build_config(run.read_config())
    path = checkpoint_path(run, which)
    state = load_checkpoint(path, run=run)
    foreign = owner_problem(state, run) if isinstance(state, dict) else None
    if foreign:
        raise ExportError(f"{run.id}'s {path.name} is not exported: {foreign}. Put back the run's own checkpoint, or "
                          "export the run it came from.")
    generator = build_models(config, state.get("num_classes", 0)).generator
    generator.load_state_dict(state["ema"] if state.get("ema") is not None else state["generator"])
    return generator.eval().requires_grad_(False), config, state


def training_command(config: configs.Config) -> str:
    """The shortest `python -m training train` that reproduces this config: the preset plus what differs
    (and a folder dataset's folder; a named dataset's data_root is only where this machine keeps it)."""
    preset = configs.resolve(config.preset).to_dict() if config.preset in configs.preset_names() else {}
    args = ["python", "-m", "training", "train", "--preset", config.preset or "?"]
    if config.dataset == "folder":  # the images are the folder: without it the command trains nothing
        args += ["--data-root", config.data_root]
    for key, value in config.to_dict().items():
        if key in ("preset", "data_root", "description") or preset.get(key) == value:
            continue
        text = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        args += ["--set", f"{key}={text}"]
    return shlex.join(args)


def machine_description() -> str:
    return hardware.describe(torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)


def _example_inputs(generator: nn.Module, config: configs.Config, n: int, seed: int = 0):
    z = sample_latents(config, n, torch.device("cpu"), torch.Generator().manual_seed(seed))
    if not generator.num_classes:
        return (z,)
    return z, torch.arange(n, dtype=torch.int64) % generator.num_classes


def _export_graph(generator: nn.Module, config: configs.Config, path: Path) -> None:
    conditional = bool(generator.num_classes)
    module = (_Conditional if conditional else _Unconditional)(generator)
    batch = torch.export.Dim("batch", min=1, max=4096)
    dynamic = {"z": {0: batch}, **({"label": {0: batch}} if conditional else {})}
    names = [INPUT_LATENT] + ([INPUT_LABEL] if conditional else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, _example_inputs(generator, config, 2), str(path), input_names=names,
                          output_names=[OUTPUT_IMAGE], dynamic_shapes=dynamic, opset_version=OPSET,
                          external_data=False, dynamo=True, verbose=False, optimize=True)


def _parity(path: Path, generator: nn.Module, config: configs.Config, n: int = 64) -> float:
    """Largest absolute difference between onnxruntime and PyTorch on ``n`` latents."""
    inputs = _example_inputs(generator, config, n, seed=1)
    with torch.no_grad():
        expected = generator(*inputs).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {INPUT_LATENT: inputs[0].numpy()}
    if len(inputs) == 2:
        feeds[INPUT_LABEL] = inputs[1].numpy()
    got = session.run([OUTPUT_IMAGE], feeds)[0]
    if got.shape != expected.shape:
        raise ExportError(f"onnxruntime returned shape {got.shape}, PyTorch {expected.shape}")
    return float(np.abs(got.astype(np.float32) - expected).max())


def _to_half(model: onnx.ModelProto) -> onnx.ModelProto:
    """Half-precision weights and arithmetic with float32 inputs and outputs, for the web."""
    # Only --fp16 needs onnxruntime's transformers tools, a large import of its own.
    from onnxruntime.transformers.float16 import convert_float_to_float16

    half = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
    _sort_topologically(half.graph)  # the converter appends its input casts at the end of the graph
    return half


def _sort_topologically(graph: onnx.GraphProto) -> None:
    available = {i.name for i in graph.input} | {i.name for i in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(name in available for name in n.input)]
        if not ready:
            raise ExportError("the half-precision graph has a cycle or a missing input")
        for node in ready:
            ordered.append(node)
            available.update(node.output)
        pending = [n for n in pending if n not in ready]
    del graph.node[:]
    graph.node.extend(ordered)


def export_run(run: RunFolder, out: Path | None = None, half: bool = False, metrics: dict | None = None,
               checkpoint: str = "last") -> Path:
    """Export ``run``'s last (or best-FID) checkpoint to ``out`` (default: the run's generator.onnx) and
    write the card beside it."""
    generator, config, state = load_generator(run, checkpoint)
    out = Path(out) if out else run.onnx_path
    if out.suffix != ".onnx":
        raise ExportError(f"the output must end in .onnx, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    status = run.read_status()
    exportable = optimize_for_export(generator)  # a faster, equal copy; parity is checked against the original
    try:
        directions = sefa_directions(exportable)
    except NoDirections as why:  # a future architecture SeFa cannot read: the model still exports
        log.warning("no SeFa directions for %s: %s", config.model, why)
        directions = None
    meta = {
        "latent_dim": config.latent_dim,
        "latent_distribution": config.latent_distribution,
        "latent_bound": config.latent_bound,
        "latent_scheme": LATENT_SCHEME,
        "directions": directions,
        "image_shape": generator.image_shape,
        "output_range": generator.output_range,
        "num_classes": generator.num_classes,
        "class_names": state.get("class_names") or [str(i) for i in range(generator.num_classes)],
        "dataset": config.dataset,
        "architecture": config.model,
        "loss": config.loss,
        "train_steps": int(state["step"]),
        "metrics": metrics if metrics is not None else step_metrics(run, int(state["step"])),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training_command": training_command(config),
    }
    if state.get("class_prior"):  # clusters: drawn in the images' proportions, never asked for
        meta["class_prior"] = state["class_prior"]
    if config.dataset == "folder":  # how its pictures were read: scoring reads the reference folder the same way
        meta.update(transparency=config.transparency, background=config.background)
    card = {
        "name": out.stem,
        "metadata": metadata_to_card(meta),
        "training": {
            "run": run.id, "preset": config.preset, "description": config.description,
            "checkpoint": checkpoint, "steps": int(state["step"]), "images_seen": int(state.get("images_seen", 0)),
            "wall_time_s": round(float(state.get("elapsed", 0.0)), 1), "machine": machine_description(),
            "precision": state.get("precision"),  # bf16 and fp32 runs differ ~4x in wall time
            "weights": "ema" if state.get("ema") is not None else "generator",
            "state": status.get("state"), "config": config.to_dict(),
        },
        "export": {"opset": OPSET, "parity_samples": 64, "parity_max_abs_diff": None, "files": [out.name]},
    }
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        raw = Path(tmp) / "raw.onnx"
        _export_graph(exportable, config, raw)
        model = onnx.load(str(raw))
        for key, value in metadata_to_props(meta).items():
            model.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(model, full_check=True)
        checked = Path(tmp) / "model.onnx"
        onnx.save(model, str(checked))
        diff = _parity(checked, generator, config)
        if not diff <= PARITY_BOUND:
            raise ExportError(f"onnxruntime differs from PyTorch by {diff:.2e} (bound {PARITY_BOUND:.0e}); nothing written.")
        card["export"]["parity_max_abs_diff"] = diff
        half_path = model_files(out)[2]
        if half:
            half_model = _to_half(model)
            onnx.checker.check_model(half_model)
            half_tmp = Path(tmp) / "half.onnx"
            onnx.save(half_model, str(half_tmp))
            half_diff = _parity(half_tmp, generator, config)
            if not half_diff <= PARITY_BOUND_FP16:
                raise ExportError(f"the half-precision copy differs by {half_diff:.2e} (bound {PARITY_BOUND_FP16}).")
            card["export"].update(fp16_file=half_path.name, fp16_parity_max_abs_diff=half_diff)
            card["export"]["files"].append(half_path.name)
        staged = stage_run_files(Path(tmp), out, generator, state, config, card)  # the hub's files: .md, safetensors
        card_tmp = Path(tmp) / "card.json"
        card_tmp.write_text(json.dumps(card, indent=2) + "\n")
        _install(out, checked, card_tmp, half_tmp if half else None, staged)
    log.info("exported %s (%.1f MB, parity %.1e)", out, out.stat().st_size / 1e6, diff)
    return out


def model_files(out: Path) -> list[Path]:
    """The files of an exported model at ``out``: the .onnx, its card, its half-precision copy, its
    evaluation report, its projection encoder, then its Markdown card and weights (side_files).
    Exporting to ``out`` replaces or removes each."""
    return [out, out.with_suffix(".json"), out.with_name(out.stem + ".fp16.onnx"), out.with_name(out.stem + ".eval.json"),
            encoder_path(out), *side_files(out)]


def _install(out: Path, model: Path, card: Path, half: Path | None, staged: dict[Path, Path]) -> None:
    """Move the checked files onto their names, each with one rename in the same folder (a reader
    sees the old file or the new one, never half of one); the evaluation report and a half copy
    not made this time described the old weights, so they go, and so does an encoder trained on the
    old generator's samples (``python -m training train-encoder`` makes one for the new), and any
    weights file of the old model this export has no new version of."""
    _, card_path, half_path, report, encoder, *others = model_files(out)
    report.unlink(missing_ok=True)
    encoder.unlink(missing_ok=True)
    if half is None:
        half_path.unlink(missing_ok=True)
    else:
        os.replace(half, half_path)
    for path in others:
        if path not in staged.values():
            path.unlink(missing_ok=True)
    for source, target in staged.items():
        os.replace(source, target)
    os.replace(model, out)
    os.replace(card, card_path)


def step_metrics(run: RunFolder, step: int) -> dict[str, Any]:
    """The live evaluation of the exported step, if the run made one (scores of other steps would
    describe another generator), in the stored form of every score: metrics with their provenance."""
    rows = [r for r in run.read_metrics() if r.get("kind") == "eval" and r.get("step") == step]
    return from_live_row(rows[-1]) if rows else {}


def update_scores(model_path: Path, metrics: dict[str, Any]) -> None:
    """Write evaluation scores into an exported generator: into the metadata inside the .onnx (what
    apps with only the file read), into its card beside it (what the web reads) and into its Markdown
    card (what a hub shows). Each file is replaced whole, so a reader sees the old scores or the new
    ones, never half a file."""
    model_path = Path(model_path)
    model = onnx.load(str(model_path))
    meta = metadata_from_props({p.key: p.value for p in model.metadata_props})
    meta["metrics"] = metrics
    del model.metadata_props[:]
    for key, value in metadata_to_props(meta).items():
        model.metadata_props.add(key=key, value=value)
    tmp = model_path.with_name(f".{model_path.name}.{os.getpid()}.tmp")
    try:
        onnx.save(model, str(tmp))
        os.replace(tmp, model_path)
    finally:
        tmp.unlink(missing_ok=True)
    card_path = model_path.with_suffix(".json")
    if card_path.exists():
        card = read_json_object(card_path)
        card["metadata"] = metadata_to_card(meta)
        atomic_write_bytes(card_path, (json.dumps(card, indent=2) + "\n").encode())
        if card.get("weights") and markdown_path(model_path).exists():  # the Markdown card shows the new scores too
            atomic_write_bytes(markdown_path(model_path), markdown_card(card).encode())
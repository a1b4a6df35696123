"""The files beside an exported ``NAME.onnx`` that model hubs expect: the Markdown card ``NAME.md`` and
the weights as safetensors (``NAME.generator.safetensors``, ``NAME.discriminator.safetensors``).

Two ways to make them:
- ``stage_run_files``: export, from the run's checkpoint: the generator it exports (EMA weights where
  the run keeps them) and the discriminator, staged in export's temporary folder and renamed into
  place with the model;
- ``write_recovered_files`` (``python -m training upgrade MODEL.onnx --weights``): for an export whose
  run is gone, the generator recovered from the ONNX graph (training/export/onnx_weights.py). No
  discriminator exists for such a model and none is made up: the card says so.
The Markdown card renders a ``weights`` entry (per net: file, SHA-256, where the weights come from);
an export also keeps it in the JSON card.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from torch import nn

from studio.errors import UserError
from studio.outputs import is_shipped
from training import config as configs
from training.export.model_card import NO_DISCRIMINATOR, markdown_card
from training.export.onnx_weights import CALIBRATION_LATENTS, recover_generator
from training.export.safetensors_io import save_weights, weights_metadata, weights_path
from training.runfolder.files import atomic_write_bytes


def markdown_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".md")


def side_files(model_path: Path) -> list[Path]:
    """The Markdown card and both weights files of ``NAME.onnx``, whether they exist or not."""
    return [markdown_path(model_path), weights_path(model_path, "generator"), weights_path(model_path, "discriminator")]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stage_run_files(folder: Path, out: Path, generator: nn.Module, state: dict[str, Any], config: configs.Config,
                    card: dict[str, Any]) -> dict[Path, Path]:
    """Write the weights and the Markdown card of an export to ``out`` into ``folder`` (export's temporary
    folder); fills ``card``'s ``weights`` and ``export.files``. Returns {staged file: its final path}."""
    run, step = card["training"]["run"], card["training"]["steps"]
    source = f"from run {run}, checkpoint {card['training']['checkpoint']} (step {step})"
    common = dict(num_classes=generator.num_classes, class_names=card["metadata"]["class_names"],
                  train_steps=str(step), training_command=card["metadata"]["training_command"])
    staged: dict[Path, Path] = {}
    card["weights"] = {}
    nets = {"generator": (generator.state_dict(), f"{source}, {card['training']['weights']} weights"),
            "discriminator": (state.get("discriminator"), source)}
    for role, (weights, where) in nets.items():
        final = weights_path(out, role)
        if weights is None:
            card["weights"][role] = {"file": None, "note": "the checkpoint holds none"}
            continue
        staged_path = save_weights(Path(folder) / final.name, weights, weights_metadata(
            role, config, source=where, **common, **({"weights": card["training"]["weights"]} if role == "generator" else {})))
        card["weights"][role] = {"file": final.name, "sha256": _sha256(staged_path), "source": where}
        staged[staged_path] = final
    card["export"]["files"] += [final.name for final in staged.values()] + [markdown_path(out).name]
    card_md = Path(folder) / markdown_path(out).name
    card_md.write_text(markdown_card(card))
    staged[card_md] = markdown_path(out)
    return staged


def write_recovered_files(model_path: Path, force: bool = False) -> list[str]:
    """``NAME.generator.safetensors`` recovered from ``model_path``'s graph and ``NAME.md`` beside it.
    The .onnx and its JSON card stay as they are (a shipped card is never rewritten: scores recorded
    elsewhere name its hash); the Markdown card and the weights file's header say where the weights
    come from. Existing files are replaced only with ``force``, shipped ones never. Returns what was written."""
    model_path = Path(model_path)
    md, generator_file, discriminator_file = side_files(model_path)
    existing = [p for p in (md, generator_file) if p.exists()]
    shipped = [p.name for p in existing if is_shipped(p)]
    if shipped:
        raise UserError(f"{', '.join(shipped)} ship with GAN Studio and are never replaced, even with --force; "
                        "a maintainer deletes them first (as scripts/train_shipped.sh does for a model)")
    if existing and not force:
        raise UserError(f"{model_path}: writing its weights would replace {', '.join(p.name for p in existing)}; "
                        "pass --force")
    recovered = recover_generator(model_path)  # checks everything before a file is written
    card, meta = recovered.card, recovered.card["metadata"]
    source = (f"recovered from {model_path.name} (sha256 {recovered.onnx_sha256[:12]}): the graph's weights mapped "
              f"back through export's rewrites, PyTorch within {recovered.parity_max_abs_diff:.1e} of onnxruntime; "
              f"{recovered.calibrated_norms} batch norms folded at export got statistics re-estimated on "
              f"{CALIBRATION_LATENTS:,} latents (eval-mode output unchanged)")
    save_weights(generator_file, recovered.generator.state_dict(), weights_metadata(
        "generator", recovered.config, int(meta.get("num_classes", 0)), meta.get("class_names", []), source,
        train_steps=str(meta.get("train_steps")), training_command=meta.get("training_command"),
        weights=card["training"].get("weights"), parity_max_abs_diff=recovered.parity_max_abs_diff,
        onnx_sha256=recovered.onnx_sha256))
    discriminator = ({"file": discriminator_file.name, "sha256": _sha256(discriminator_file),
                      "source": "written by an earlier export"} if discriminator_file.is_file()
                     else {"file": None, "note": NO_DISCRIMINATOR})
    weights = {"generator": {"file": generator_file.name, "sha256": _sha256(generator_file), "source": source},
               "discriminator": discriminator}
    atomic_write_bytes(md, markdown_card(card, weights=weights).encode())
    return [f"{generator_file.name}: {source}", f"{md.name}: the Markdown card",
            f"discriminator weights: {discriminator.get('note') or discriminator['file']}"]

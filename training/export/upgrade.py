"""Bring an exported generator made before ``latent_scheme`` and ``directions`` existed up to date,
without retraining and without touching its graph: ``python -m training upgrade MODEL.onnx``.

Only two metadata entries change (and, for a folder model exported before its metadata said how its
folder was read, ``transparency`` and ``background``, taken from its card), in the .onnx (and its
half-precision copy, if any) and in the card:
``latent_scheme`` becomes "philox" (the contract's counter-based latents, the same in Python, the
browser and Node) and ``directions`` gets the SeFa directions of the graph's own first layer acting
on z, read from its initializer (the weight export stored, batch norm already folded in), with the
very arithmetic export uses (``training.export.sefa.directions_from_weight``). Every other metadata entry,
the weights and the scores stay as they were; the card records the upgrade (when, what changed).
Its scores stay valid: the generator is the same and both schemes draw the same distribution; only
which latent a given seed names changes.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

from inference.contract import INPUT_LATENT, LATENT_SCHEME, PREFIX, metadata_from_card, metadata_from_props, \
    metadata_to_props
from inference.encoder import encoder_path, file_sha256
from inference.limits import check_model_size
from studio.errors import UserError
from studio.files import regular_file
from training.runfolder.files import UnreadableFile, atomic_write_bytes, atomic_write_json, read_json_object
from training.export.sefa import MAX_DIRECTIONS, NoDirections, directions_from_weight

# Ops that hand z on unchanged in value (reshaped or retyped only): SeFa's layer may sit behind them.
PASS_THROUGH = {"Reshape", "Unsqueeze", "Flatten", "Identity", "Cast"}
LAYERS = {"Gemm", "MatMul", "ConvTranspose"}
SCORES_NOTE = ("the generator (graph and weights) is unchanged, so the recorded scores still describe it; they were "
               "measured on latents drawn the old way (pcg64), which have the same distribution as philox latents")
SEEDS_NOTE = ("a seed now names the contract's philox latent (the same in Python, the browser and Node), so it "
              "draws another image than it did before the upgrade")


class UpgradeError(UserError):
    """A file the upgrade cannot read or must not write (the message says why and what to do)."""


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    found = [a for a in node.attribute if a.name == name]
    return onnx.helper.get_attribute_value(found[0]) if found else default


def _shapes(model: onnx.ModelProto) -> dict[str, list[int | None]]:
    graph = shape_inference.infer_shapes(model).graph
    return {v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
            for v in [*graph.value_info, *graph.input, *graph.output] if v.type.tensor_type.HasField("shape")}


def onnx_first_layer_weight(model: onnx.ModelProto, latent_dim: int) -> tuple[str, np.ndarray]:
    """(layer name, W float64 [features, latent_dim]): the z columns of the weight of the first Gemm,
    MatMul or ConvTranspose (on a 1x1 z) in the graph, which must see z first along its features,
    possibly through reshapes, casts and a Concat that puts z first (a conditional generator's
    [z, class code]): what ``training.export.sefa.first_layer_weight`` reads from the torch module."""
    graph, shapes = model.graph, _shapes(model)
    consts = {i.name: i for i in graph.initializer}
    consts.update({n.output[0]: _attr(n, "value", None) for n in graph.node if n.op_type == "Constant"})

    def keeps_z_first(tensor: str) -> bool:  # axis 1 still starts with z's features, nothing else moved
        shape = shapes.get(tensor)
        return shape is not None and len(shape) >= 2 and (shape[1] is None or shape[1] >= latent_dim) \
            and all(d == 1 for d in shape[2:])

    carries = {INPUT_LATENT}  # tensors whose first latent_dim features (axis 1) are z
    for node in graph.node:  # an ONNX graph lists its nodes in an order they can run in
        data = node.input[0] if node.input else ""
        if node.op_type in PASS_THROUGH and data in carries and keeps_z_first(node.output[0]):
            carries.add(node.output[0])
        elif node.op_type == "Concat" and data in carries and _attr(node, "axis", 1) in (1, 1 - len(shapes.get(data, []))):
            carries.add(node.output[0])
        if node.op_type not in LAYERS:
            continue
        name = node.input[1] if len(node.input) > 1 else "?"
        layer = name.removeprefix("generator.").removesuffix(".weight")
        if data not in carries:
            raise NoDirections(f"the first layer ({layer}, {node.op_type}) does not see z as its first {latent_dim} inputs")
        if consts.get(name) is None:
            raise NoDirections(f"the first layer's weight ({name}) is computed in the graph, not stored")
        weight = numpy_helper.to_array(consts[name]).astype(np.float64)
        if node.op_type == "Gemm":
            if _attr(node, "transA", 0):
                raise NoDirections(f"the first layer ({layer}) multiplies a transposed z")
            w = weight[:, :latent_dim] if _attr(node, "transB", 0) else weight[:latent_dim].T
            return layer, w * float(_attr(node, "alpha", 1.0))
        if node.op_type == "MatMul":
            return layer, weight[:latent_dim].T
        if shapes.get(data, [])[2:] != [1, 1]:
            raise NoDirections(f"the first layer ({layer}) is a transposed convolution on an input that is not 1x1")
        return layer, weight[:latent_dim].reshape(latent_dim, -1).T  # [in, out, kh, kw] -> [out*kh*kw, in]
    raise NoDirections("no Gemm, MatMul or ConvTranspose takes z")


def _files(model_path: Path) -> tuple[Path, Path, Path]:
    """The .onnx, its card and its half-precision copy (as training.export.generator.model_files names them)."""
    return model_path, model_path.with_suffix(".json"), model_path.with_name(model_path.stem + ".fp16.onnx")


FOLDER_READING = ("transparency", "background")  # how a folder model's pictures were read (export records them)
UPGRADED = ("latent_scheme", "directions", *FOLDER_READING)  # the only entries an upgrade writes


def plan(model: onnx.ModelProto, source: Path, card: dict[str, Any] | None = None
         ) -> tuple[dict[str, Any], dict[str, str], list[str], str | None]:
    """(the upgraded metadata, the props to set, what changes, why there are no directions or None).
    A folder model exported before its metadata said how the folder was read gets that from its
    card's training config, or scoring would read the reference folder over another background."""
    try:
        meta = metadata_from_props({p.key: p.value for p in model.metadata_props})
    except Exception as error:  # noqa: BLE001 - not a GAN Studio generator: say so in a line
        raise UpgradeError(f"{source}: not a GAN Studio generator ({error})") from None
    new, changed, why_none = dict(meta), [], None
    if meta["latent_scheme"] != LATENT_SCHEME:
        new["latent_scheme"] = LATENT_SCHEME
        changed.append(f"latent_scheme {meta['latent_scheme']} -> {LATENT_SCHEME}")
    if meta["directions"] is None:  # directions a file already has (and any names given to them) stay
        try:
            new["directions"] = directions_from_weight(*onnx_first_layer_weight(model, meta["latent_dim"]),
                                                       MAX_DIRECTIONS)
            changed.append(f"directions: {len(new['directions']['vectors'])} SeFa directions of the first "
                           f"layer ({new['directions']['layer']})")
        except NoDirections as why:
            why_none = str(why)
    trained = ((card or {}).get("training") or {}).get("config") or {}
    if meta["dataset"] == "folder" and not all(k in meta for k in FOLDER_READING) and all(
            isinstance(trained.get(k), str) for k in FOLDER_READING):
        new.update({k: trained[k] for k in FOLDER_READING})
        changed.append("how the folder was read, from the card's training config: "
                       + ", ".join(f"{k} {trained[k]}" for k in FOLDER_READING))
    rendered = metadata_to_props(new)  # the new metadata validated as every reader will read it
    props = {k: rendered[PREFIX + k] for k in UPGRADED if new.get(k) is not None}
    return new, props, changed, why_none


def _with_props(model: onnx.ModelProto, props: dict[str, str]) -> bytes:
    """The model's bytes with ``props`` set; every other metadata entry and the graph untouched."""
    for key, value in props.items():
        existing = [p for p in model.metadata_props if p.key == PREFIX + key]
        if existing:
            existing[0].value = value
        else:
            model.metadata_props.add(key=PREFIX + key, value=value)
    return model.SerializeToString()


def _read_card(card_path: Path) -> dict[str, Any] | None:
    """The card beside the model (None when there is none), read bounded: one that is a pipe, nested
    too deep or without valid metadata is an UpgradeError before anything is written."""
    try:
        card = read_json_object(card_path)
        metadata_from_card(card)
    except FileNotFoundError:
        return None
    except (UnreadableFile, UserError) as error:
        raise UpgradeError(f"model card {card_path}: {error}; repair it, or move it away to upgrade the .onnx "
                           "alone.") from None
    return card


def _card_is_stale(card: dict[str, Any] | None, new: dict[str, Any]) -> bool:
    if card is None:
        return False
    meta = metadata_from_card(card)
    return any(meta.get(k) != new.get(k) for k in UPGRADED)


def _load_onnx(path: Path, what: str) -> onnx.ModelProto:
    """An ONNX file read whole, only when it is a regular file no larger than an ONNX file can be."""
    if not regular_file(path):
        raise UpgradeError(f"{what} {path} is not a regular file (a pipe, a device or a folder?); replace it with "
                           "the file itself, or move it away.")
    try:
        check_model_size(path)
        return onnx.load(str(path))
    except UserError as error:
        raise UpgradeError(str(error)) from None
    except Exception as error:  # noqa: BLE001 - a damaged or foreign file
        raise UpgradeError(f"{path}: cannot read it as ONNX ({error})") from None


def _restamp_encoder(source: Path, target: Path, source_sha256: str) -> bool:
    """The encoder beside ``source``, trained for its bytes, goes with the upgraded ``target``, its
    generator hash made the target's: the graph it inverts is unchanged, only metadata moved.
    Returns whether there was one to carry."""
    src = encoder_path(source)
    if not src.is_file():
        return False
    encoder = _load_onnx(src, "the encoder")
    stamp = next((p for p in encoder.metadata_props if p.key == PREFIX + "generator_sha256"), None)
    if stamp is None or stamp.value != source_sha256:
        return False  # stale already, or not ours: projection says so and falls back to the search
    stamp.value = file_sha256(target)
    atomic_write_bytes(encoder_path(target), encoder.SerializeToString())
    return True


def upgrade_model(model_path: Path, out: Path | None = None, force: bool = False) -> list[str]:
    """Upgrade ``model_path`` in place (needs ``force``: it replaces the file) or into ``out`` (refused
    when ``out`` or its card exists, unless ``force``). Returns what changed ([] when already current)."""
    model_path = Path(model_path)
    if model_path.suffix != ".onnx":
        raise UpgradeError(f"{model_path}: not an .onnx file; give an exported generator, e.g. exported/mnist-dcgan.onnx")
    if not model_path.is_file():
        raise UpgradeError(f"{model_path}: no such file; give an exported generator, e.g. exported/mnist-dcgan.onnx")
    target = Path(out) if out else model_path
    if target.suffix != ".onnx":
        raise UpgradeError(f"--out {target}: the output must end in .onnx")
    (_, src_card, src_half), (_, dst_card, dst_half) = _files(model_path), _files(target)
    model = _load_onnx(model_path, "the model")
    card = _read_card(src_card)
    half = _load_onnx(src_half, "its half-precision copy") if src_half.exists() or src_half.is_symlink() else None
    new, props, changed, why_none = plan(model, model_path, card)
    in_place = target.resolve() == model_path.resolve()
    if in_place and not changed and not _card_is_stale(card, new):
        return []
    carries_encoder = encoder_path(model_path).is_file()
    existing = [p for p in (target, dst_card, dst_half) + ((encoder_path(target),) if carries_encoder and not in_place
                                                         else ()) if p.exists()]
    if existing and not force:
        what = "rewrite it and its card in place" if in_place else f"replace {', '.join(p.name for p in existing)}"
        raise UpgradeError(f"{target}: upgrading would {what}; pass --force"
                           + (", or --out NEW.onnx for an upgraded copy" if in_place else " or choose another --out") + ".")
    note = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "command": "python -m training upgrade",
            "changed": changed or ["the card's metadata brought in line with the .onnx"], "scores": SCORES_NOTE}
    if why_none:
        note["no_directions"] = why_none
    if any(c.startswith("latent_scheme") for c in changed):
        note["seeds"] = SEEDS_NOTE
    source_sha256 = file_sha256(model_path)
    # Each file replaced whole, the model before its card (as export installs them); a half copy goes along.
    atomic_write_bytes(target, _with_props(model, props))
    if carries_encoder and _restamp_encoder(model_path, target, source_sha256):
        note["changed"] = [*note["changed"], f"{encoder_path(target).name}: generator_sha256 of the upgraded file"]
    if half is not None:
        atomic_write_bytes(dst_half, _with_props(half, props))
    if card is not None:
        card["metadata"].update({k: new[k] for k in UPGRADED if new.get(k) is not None})
        card.setdefault("upgrades", []).append(note)
        if not in_place:  # a copy names its own files
            card["name"] = target.stem
            if isinstance(card.get("export"), dict):
                card["export"]["files"] = [p.name for p in (target, dst_half) if p == target or half is not None]
        atomic_write_json(dst_card, card)
    return note["changed"]

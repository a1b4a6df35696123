"""A generator's PyTorch weights recovered from its exported ONNX file, for models whose run is gone
(the shipped ones: no run folder, no checkpoint, no discriminator survives).

Export writes ``optimize_for_export(G)`` (training/export/graph.py), whose initializers are named
after the rewritten module's parameters (``generator.`` + name), so the rewrites can be undone:

1. G and its rewritten copy are rebuilt from the card's config (architecture, widths, latent size,
   classes); the copy takes the file's initializers by name. The exporter's optimiser keeps one of
   several equal initializers: the bias all phase convolutions of one layer share is found through
   the node that uses it.
2. Each rewritten module goes back onto G's module at the same path: a ``SubPixelConv2d``'s phase
   kernels scatter back into the transposed kernel (a probe kernel of numbered taps shows where each
   tap went, and every tap must be placed exactly once); a layer with a batch norm folded in keeps
   the folded weight and bias, and the norm becomes an exact identity (scale 1, mean 0, variance
   1 - eps) shifting by the folded bias when the layer has none of its own.
3. Each such batch norm's statistics are re-estimated on 2,048 latents, its scale and shift
   changed to leave eval-mode output as it was: folding lost the split between the layer's scale
   and the norm's, and a norm that believes its input has unit variance would, in training mode
   (batch statistics, what fine-tuning runs), rescale every channel and draw other images.
4. PyTorch (eval mode) must match onnxruntime on 64 latents within export's parity bound.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from inference.contract import INPUT_LABEL, INPUT_LATENT, LATENT_SCHEME, OUTPUT_IMAGE
from inference.latents import sample as latent_sample
from studio.errors import UserError
from training import config as configs
from training.export.graph import SubPixelConv2d, optimize_for_export
from training.models import build_models
from training.runfolder.files import UnreadableFile, read_json_object

PARITY_BOUND = 1e-4  # export's own bound between onnxruntime and PyTorch
CALIBRATION_LATENTS = 2048
CALIBRATION_SEED = 20_301  # any fixed seed: the statistics must not depend on the day
PARITY_LATENTS = 64
_NORMS = nn.modules.batchnorm._BatchNorm
_AFFINE = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)


class RecoveryError(UserError):
    """An ONNX file whose generator cannot be rebuilt in PyTorch (the message says why)."""


@dataclass
class Recovered:
    generator: nn.Module  # eval mode
    config: configs.Config
    card: dict
    parity_max_abs_diff: float
    calibrated_norms: int  # batch norms whose statistics were re-estimated
    onnx_sha256: str


def recover_generator(model_path: Path) -> Recovered:
    """The generator inside ``model_path`` (with its card ``NAME.json`` beside it) as a PyTorch module."""
    model_path = Path(model_path)
    card = _read_card(model_path)
    try:
        config = configs.build_config(card["training"]["config"])
    except (KeyError, TypeError, configs.ConfigError) as error:
        raise RecoveryError(f"{model_path.with_suffix('.json')}: its training config cannot rebuild the net "
                            f"({error}); only files made by python -m training export carry it") from None
    num_classes = int(card["metadata"].get("num_classes", 0))
    torch.manual_seed(0)  # every weight is overwritten below; the seed only makes a failure repeatable
    generator = build_models(config, num_classes).generator.eval()
    rewritten = optimize_for_export(generator)
    model = onnx.load(str(model_path))
    _load_initializers(rewritten, model, model_path)
    with torch.no_grad():
        identities = _undo_rewrites(generator, rewritten)
        _calibrate(generator, identities, config)
    diff = parity(model_path, generator, config)
    if not diff <= PARITY_BOUND:
        raise RecoveryError(f"{model_path}: the rebuilt {config.model} generator differs from the ONNX graph by "
                            f"{diff:.2e} (bound {PARITY_BOUND:.0e}); its graph is not the rewrite this export makes")
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
    return Recovered(generator.requires_grad_(False), config, card, diff, len(identities), digest)


def _read_card(model_path: Path) -> dict:
    card_path = model_path.with_suffix(".json")
    if not model_path.is_file():
        raise RecoveryError(f"{model_path}: no such file; give an exported generator, e.g. exported/mnist-dcgan.onnx")
    try:
        card = read_json_object(card_path)  # bounded: a pipe, a huge or deeply nested card is refused
        if not isinstance(card.get("metadata"), dict) or not isinstance(card["training"]["config"], dict):
            raise ValueError("no metadata or training config")
        return card
    except FileNotFoundError:
        raise RecoveryError(f"{model_path}: no card {card_path.name} beside it, and the card's training config is "
                            "what rebuilds the net in PyTorch") from None
    except (ValueError, KeyError, TypeError, UnreadableFile) as error:
        raise RecoveryError(f"{card_path}: not a model card with a training config ({error})") from None


def _load_initializers(rewritten: nn.Module, model: onnx.ModelProto, model_path: Path) -> None:
    found = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:  # a weight's bias, deduplicated away under another layer's name
        if len(node.input) >= 3 and node.input[1].endswith(".weight") and node.input[2] in found:
            found.setdefault(node.input[1].removesuffix("weight") + "bias", found[node.input[2]])
    state = {}
    for key, current in rewritten.state_dict().items():
        name = "generator." + key
        if key.endswith("num_batches_tracked"):  # a counter, no part of the graph
            state[key] = current
            continue
        if name not in found:
            raise RecoveryError(f"{model_path}: the graph has no initializer {name} that a {type(rewritten).__name__} "
                                "exported today has; it was made by another export (or the exporter folded a norm "
                                "into it that cannot be unfolded)")
        value = torch.from_numpy(np.array(found[name], dtype=np.float32 if current.is_floating_point() else None))
        if tuple(value.shape) != tuple(current.shape):
            raise RecoveryError(f"{model_path}: {name} is {list(value.shape)} in the graph, {list(current.shape)} in "
                                "the net its card's config builds")
        state[key] = value
    rewritten.load_state_dict(state)


def _undo_rewrites(generator: nn.Module, rewritten: nn.Module) -> list[tuple[_NORMS, torch.Tensor]]:
    """Write ``rewritten``'s weights onto ``generator``; returns each folded norm made an identity, with its shift."""
    copies = dict(rewritten.named_modules())
    identities = []
    for path, module in generator.named_modules():
        copy = copies.get(path)
        if isinstance(module, nn.ConvTranspose2d) and isinstance(copy, SubPixelConv2d):
            module.weight.copy_(_transposed_kernel(module, copy))
            if module.bias is not None:
                module.bias.copy_(copy.conv.bias)
        elif isinstance(module, _NORMS) and isinstance(copy, nn.Identity):
            layer, folded = _folded_into(generator, path), _folded_into(rewritten, path)
            shift = torch.zeros_like(module.running_mean)
            if layer is not None and layer.bias is None and _folded_bias(folded) is not None:
                shift = _folded_bias(folded).detach().clone()  # a layer without a bias: the norm's shift holds it
            module.weight.fill_(1.0)
            module.bias.copy_(shift)
            module.running_mean.zero_()
            module.running_var.fill_(1.0 - module.eps)  # (1 - eps) + eps == 1: the norm multiplies by exactly 1
            identities.append((module, shift))
        elif copy is not None and not list(module.children()):
            own = {**dict(module.named_parameters(recurse=False)), **dict(module.named_buffers(recurse=False))}
            theirs = {**dict(copy.named_parameters(recurse=False)), **dict(copy.named_buffers(recurse=False))}
            for name, tensor in own.items():
                if name in theirs:
                    tensor.copy_(theirs[name])
    return identities


def _folded_into(net: nn.Module, norm_path: str) -> nn.Module | None:
    """The layer a norm at ``norm_path`` follows (and is folded into): the one before it in its nn.Sequential."""
    parent_path, _, name = norm_path.rpartition(".")
    parent = net.get_submodule(parent_path) if parent_path else net
    names = list(parent._modules)
    index = names.index(name)
    return parent._modules[names[index - 1]] if index else None


def _folded_bias(layer: nn.Module) -> torch.Tensor | None:
    return layer.conv.bias if isinstance(layer, SubPixelConv2d) else getattr(layer, "bias", None)


def _transposed_kernel(deconv: nn.ConvTranspose2d, rewritten: SubPixelConv2d) -> torch.Tensor:
    """The ConvTranspose2d kernel whose phases ``rewritten`` holds: a probe kernel numbered 1..n (in
    float64, exact) rewritten the same way says where each tap went."""
    probe = nn.ConvTranspose2d(deconv.in_channels, deconv.out_channels, deconv.kernel_size, deconv.stride,
                               deconv.padding, deconv.output_padding, bias=False, dtype=torch.float64)
    size = probe.weight.numel()
    probe.weight.copy_(torch.arange(1, size + 1, dtype=torch.float64).view_as(probe.weight))
    numbered = SubPixelConv2d(probe, rewritten.input_hw, phases=len(rewritten.convs) > 1)
    kernel = torch.zeros(size, dtype=deconv.weight.dtype)
    placed = torch.zeros(size, dtype=torch.long)
    for index_conv, conv in zip(numbered.convs, rewritten.convs):
        index = index_conv.weight.flatten().round().long()
        tap = index > 0
        kernel[index[tap] - 1] = conv.weight.flatten()[tap].to(kernel.dtype)
        placed[index[tap] - 1] += 1
    if not bool((placed == 1).all()):
        raise RecoveryError("a transposed convolution's phases do not cover its kernel exactly once")
    return kernel.view_as(deconv.weight)


def _latents(config: configs.Config, n: int, seed: int, num_classes: int) -> tuple[torch.Tensor, ...]:
    z = torch.from_numpy(latent_sample(n, config.latent_dim, seed=seed, scheme=LATENT_SCHEME,
                                       distribution=config.latent_distribution, bound=config.latent_bound))
    return (z, torch.arange(n) % num_classes) if num_classes else (z,)


def _calibrate(generator: nn.Module, identities: list[tuple[_NORMS, torch.Tensor]], config: configs.Config) -> None:
    """Real statistics for the identity norms, eval-mode output unchanged (see the module's docstring)."""
    if not identities:
        return
    seen: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

    def record(module, args) -> None:
        x = args[0]
        var, mean = torch.var_mean(x, dim=[0, *range(2, x.dim())], correction=0)
        seen[module] = (mean, var)

    handles = [norm.register_forward_pre_hook(record) for norm, _ in identities]
    try:
        generator(*_latents(config, CALIBRATION_LATENTS, CALIBRATION_SEED, generator.num_classes))
    finally:
        for handle in handles:
            handle.remove()
    for norm, shift in identities:
        mean, var = seen[norm]
        # (x - mean) / sqrt(var + eps) * sqrt(var + eps) + (shift + mean) = x + shift, in eval mode
        norm.running_mean.copy_(mean)
        norm.running_var.copy_(var)
        norm.weight.copy_(torch.sqrt(var + norm.eps))
        norm.bias.copy_(shift + mean)


def parity(model_path: Path, generator: nn.Module, config: configs.Config, n: int = PARITY_LATENTS) -> float:
    """Largest absolute difference between onnxruntime (CPU) and ``generator`` in eval mode on ``n`` latents."""
    inputs = _latents(config, n, 1, generator.num_classes)
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            expected = generator(*inputs).numpy()
    finally:
        generator.train(was_training)
    session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    feeds = {INPUT_LATENT: inputs[0].numpy(), **({INPUT_LABEL: inputs[1].numpy()} if len(inputs) == 2 else {})}
    got = session.run([OUTPUT_IMAGE], feeds)[0]
    if got.shape != expected.shape:
        raise RecoveryError(f"{model_path}: onnxruntime draws {got.shape}, the rebuilt generator {expected.shape}")
    return float(np.abs(got.astype(np.float32) - expected).max())

"""Closed-form latent directions (SeFa: Shen & Zhou 2021, "Closed-Form Factorization of Latent
Semantics in GANs"), computed at export and stored with the model.

The first layer of a generator maps z to features by y = W z + b. Moving z by a unit vector n moves
y by W n, so the directions that change the first features most are the unit n maximising
||W n||^2 = n^T (W^T W) n: the eigenvectors of W^T W, largest eigenvalue first. Each one's share is
its eigenvalue over the trace (how much of the layer's total stretch it accounts for).

W is the first layer as exported: the first ``nn.Linear`` (or ``nn.ConvTranspose2d`` on a 1x1
latent) that a forward pass reaches, with a batch norm right after it folded in where export folds
it (``training.export.graph``), so W is what the ONNX file computes; for a class-conditional
generator whose first layer sees ``[z, class code]`` only the columns that multiply z.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

MAX_DIRECTIONS = 16  # stored per model: the first ones carry the visible changes; the card stays small


class NoDirections(Exception):
    """The generator's first layer is not one SeFa can read (the message says why)."""


def _first_layer(generator: nn.Module) -> tuple[str, nn.Module, torch.Tensor, torch.Tensor]:
    """(name, module, its input, z) of the first Linear/ConvTranspose2d a forward pass calls."""
    names = {m: n for n, m in generator.named_modules()}
    seen: list[tuple[nn.Module, torch.Tensor]] = []

    def hook(module, inputs):
        if not seen:
            seen.append((module, inputs[0].detach()))

    layers = [m for m in generator.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d))]
    handles = [m.register_forward_pre_hook(hook) for m in layers]
    z = torch.randn(3, generator.latent_dim, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            labels = torch.arange(3) % generator.num_classes if generator.num_classes else None
            generator(z, labels) if labels is not None else generator(z)
    finally:
        for h in handles:
            h.remove()
    if not seen:
        raise NoDirections("no Linear or ConvTranspose2d layer takes z")
    module, x = seen[0]
    return names.get(module, "?"), module, x, z


def first_layer_weight(generator: nn.Module) -> tuple[str, np.ndarray]:
    """(layer name, W float64 [features, latent_dim]): the z columns of the first layer's weight."""
    name, module, x, z = _first_layer(generator)
    d = generator.latent_dim
    flat = x.reshape(x.shape[0], -1)
    if flat.shape[1] < d or not torch.allclose(flat[:, :d], z):
        raise NoDirections(f"the first layer ({name}) does not see z as its first {d} inputs")
    weight = module.weight.detach().double()
    if isinstance(module, nn.Linear):
        w = weight[:, :d]
    elif x.ndim == 4 and x.shape[2:] == (1, 1):  # ConvTranspose2d weight [in, out, kh, kw] on z as [B, D, 1, 1]
        w = weight[:d].reshape(d, -1).T
    else:
        raise NoDirections(f"the first layer ({name}) is a transposed convolution on a {tuple(x.shape[2:])} input")
    return name, w.numpy()


def sefa_directions(generator: nn.Module, k: int = MAX_DIRECTIONS) -> dict:
    """The contract's ``directions`` value: {"method": "sefa", "layer", "vectors" [k][D], "share" [k],
    "eigenvalues" [k]}, unit vectors sorted by share, each signed so its largest entry is positive."""
    return directions_from_weight(*first_layer_weight(generator), k)


def directions_from_weight(name: str, w: np.ndarray, k: int = MAX_DIRECTIONS) -> dict:
    """``sefa_directions`` of a first layer ``name`` of weight ``w`` [features, latent_dim]: also what
    ``training.export.upgrade`` computes from the weight inside an exported file."""
    w = np.asarray(w, dtype=np.float64)
    values, vectors = np.linalg.eigh(w.T @ w)  # ascending; W^T W is symmetric positive semi-definite
    order = np.argsort(values)[::-1][:k]
    values, vectors = np.clip(values, 0.0, None), vectors[:, order].T
    signs = np.sign(vectors[np.arange(len(vectors)), np.abs(vectors).argmax(1)])
    vectors = vectors * signs[:, None]
    total = float(values.sum()) or 1.0
    share = values[order] / total
    return {
        "method": "sefa", "layer": name,
        "vectors": [[float(f"{x:.9g}") for x in row] for row in vectors],
        "share": [float(f"{x:.6g}") for x in share],
        "eigenvalues": [float(f"{x:.9g}") for x in values[order]],
    }

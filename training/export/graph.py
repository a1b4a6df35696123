"""Rewrite a generator, for export only, into a graph that onnxruntime's CPU provider runs fast.

``export.py`` exports ``optimize_for_export(generator)``, a deep copy (the caller's model and the
parity check's reference are untouched). Every rewrite is exact up to float rounding:

1. **Batch norm folding.** An eval-mode ``BatchNorm1d``/``BatchNorm2d`` that directly follows a
   ``Linear`` (on 2-D input), ``Conv2d`` or ``ConvTranspose2d`` in an ``nn.Sequential`` goes into
   that layer's weight and bias and becomes ``nn.Identity``. The dynamo exporter folds these
   itself, but only while the norm still follows the original layer; rewrite 2 would hide it.
   Batch norms anywhere else (a class-conditional one, one inside a loop) are left alone.
2. **Transposed convolutions as convolutions.** onnxruntime's CPU ``ConvTranspose`` is a GEMM per
   image (``C_out*k*k x H*W x C_in``: narrow, for the small inputs of a generator) followed by a
   single-threaded col2im; its ``Conv`` runs MLAS's blocked NCHWc kernels over the whole batch with
   the activation fused in, about 1.5x the multiply-adds per second on one thread, and it scales
   over threads where ConvTranspose hardly does. A stride-1 ``ConvTranspose2d`` is exactly a
   ``Conv2d`` with the kernel flipped. A stride-``s`` one is ``s*s`` convolutions, one per output
   phase ``(r_h, r_w)``, each with only its own taps (together exactly the transposed
   convolution's multiply-adds), stacked and interleaved by ``PixelShuffle(s)`` (ONNX
   ``DepthToSpace``), cropped where the geometry needs it (``SubPixelConv2d(phases=True)``). The
   single-convolution sub-pixel form (one ``Conv2d`` with ``C_out*s*s`` outputs over the union of
   the phases' windows, ``phases=False``) is exact too but does more work (36 taps for every 25 at
   5x5 stride 2) and measured slower than ConvTranspose. Left as they are (``worth_rewriting``):
   the image layer (1 or 3 channels would fill an 8-wide NCHWc block with 1 to 3 useful ones) and
   a layer whose output goes straight into a batch norm this module cannot fold (SNGAN's, across
   loop iterations): the exporter folds that one into the ConvTranspose, and losing the fold cost
   more than the convolutions won. See ``bench/results/onnx_speed.md``.
3. **Activations before the shuffle.** An elementwise activation right after a rewritten layer
   (ReLU, LeakyReLU, Tanh, ...) moves into it, in front of the pixel shuffle, where onnxruntime
   fuses it into each convolution.

The phase geometry, per spatial axis (input length ``H``, kernel ``k``, stride ``s``, padding
``p``, output padding ``op``; ``H_out = (H-1)s - 2p + k + op``): output row ``o`` sums
``x[i] * W[t]`` over ``o + p = i*s + t``. With the shuffled row ``u = o + delta = s*m + r`` and
``r + p - delta = s*c_r + d_r``, phase ``r`` uses the taps ``t = d_r + s*a`` (``a = 0..M-1``,
``M = ceil(k/s)``, taps ``>= k`` are zero) on the inputs ``i = m + c_r - a``: a correlation with
those taps flipped (for ``p = delta = 0``: ``K_r[j] = W[r + s*(M-1-j)]`` with padding ``M-1``).
All phases share one input window (offsets ``min c_r - M + 1 .. max c_r``), so they are one
convolution; with ``phases=True`` each phase keeps only the part of that window holding its taps,
padded asymmetrically (5x5 stride 2 padding 2 output padding 1: 3x3, 3x2, 2x3 and 2x2 kernels,
no crop). ``delta = 0`` needs no crop for the usual layers but, for the single convolution, one
more tap where ``p % s != 0``; ``delta = p % s`` (``compact``) keeps ``M`` taps and crops instead.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["optimize_for_export", "fold_batch_norms", "replace_transposed_convs", "absorb_activations",
           "input_shapes", "norms_after_transposed_convs",
           "SubPixelConv2d", "transposable", "worth_rewriting"]

_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.ELU, nn.SiLU, nn.GELU)
MIN_CHANNELS = 8  # NCHWc block on AVX2; fewer output channels (the image layer) stay ConvTranspose


def optimize_for_export(generator: nn.Module, example_inputs: tuple | None = None) -> nn.Module:
    """A rewritten deep copy of ``generator`` in eval mode, numerically the same function."""
    model = copy.deepcopy(generator).eval().requires_grad_(False)
    shapes = input_shapes(model, example_inputs)
    norm_after = norms_after_transposed_convs(model, example_inputs)
    fold_batch_norms(model, shapes)
    remaining = set(model.modules())
    # A batch norm still right after a transposed convolution is one the exporter folds into it,
    # but could not fold into the convolutions replacing it: such layers stay as they are.
    keep = {d for d, norm in norm_after.items() if norm in remaining}
    replace_transposed_convs(model, shapes, select=lambda d: worth_rewriting(d) and d not in keep, phases=True)
    absorb_activations(model)
    return model


def _probe(model: nn.Module, example_inputs: tuple | None, hooks: list[tuple[tuple, str, object]]) -> None:
    """One eval-mode forward pass (on ``example_inputs``, else two zero latents, labels 0 for a
    conditional generator) with hooks: (module types, "pre" or "post", function)."""
    handles = [m.register_forward_pre_hook(fn) if when == "pre" else m.register_forward_hook(fn)
               for types, when, fn in hooks for m in model.modules() if isinstance(m, types)]
    if example_inputs is None:
        device = next(model.parameters()).device
        z = torch.zeros(2, model.latent_dim, device=device)
        labels = torch.zeros(2, dtype=torch.long, device=device)
        example_inputs = (z, labels) if getattr(model, "num_classes", 0) else (z,)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(*example_inputs)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()


def input_shapes(model: nn.Module, example_inputs: tuple | None = None) -> dict[nn.Module, tuple[int, ...]]:
    """The input shape of every Linear and ConvTranspose2d, from one eval-mode forward pass."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def record(module, args) -> None:  # (a pre-hook that returned something would replace the inputs)
        shapes.setdefault(module, tuple(args[0].shape))

    _probe(model, example_inputs, [((nn.Linear, nn.ConvTranspose2d), "pre", record)])
    return shapes


def norms_after_transposed_convs(model: nn.Module, example_inputs: tuple | None = None) -> dict[nn.Module, nn.Module]:
    """Each ConvTranspose2d whose output goes straight into a batch norm, wherever the two live in
    the module tree (as in SNGAN's loop, or a class-conditional norm's inner one), with that norm."""
    produced: list[tuple[torch.Tensor, nn.Module]] = []  # kept alive, so that identities stay unique
    found: dict[nn.Module, nn.Module] = {}

    def after_layer(module, args, output) -> None:
        produced.append((output, module))

    def before_norm(module, args) -> None:
        for output, layer in produced:
            if args[0] is output:
                found.setdefault(layer, module)

    _probe(model, example_inputs, [((nn.ConvTranspose2d,), "post", after_layer),
                                   ((nn.modules.batchnorm._BatchNorm,), "pre", before_norm)])
    return found


# --- 1. batch norm folding -------------------------------------------------------------------

def _foldable(layer: nn.Module, norm: nn.Module, shapes: dict | None) -> bool:
    if type(norm) not in (nn.BatchNorm1d, nn.BatchNorm2d) or norm.training or norm.running_var is None:
        return False  # training mode or track_running_stats=False: batch statistics, nothing to fold
    if isinstance(layer, nn.Linear):  # BatchNorm1d normalizes dim 1: the features only for 2-D input
        two_d = shapes is not None and len(shapes.get(layer, ())) == 2
        return isinstance(norm, nn.BatchNorm1d) and two_d and layer.out_features == norm.num_features
    if isinstance(layer, nn.Conv2d):
        return isinstance(norm, nn.BatchNorm2d) and layer.out_channels == norm.num_features
    if isinstance(layer, nn.ConvTranspose2d):
        return isinstance(norm, nn.BatchNorm2d) and layer.out_channels == norm.num_features and layer.groups == 1
    return False


@torch.no_grad()
def _fold(layer: nn.Module, norm: nn.modules.batchnorm._BatchNorm) -> None:
    """layer <- norm(layer(x)) as one affine layer (computed in float64)."""
    dtype = layer.weight.dtype
    var, mean = norm.running_var.double(), norm.running_mean.double()
    gamma = norm.weight.double() if norm.weight is not None else torch.ones_like(var)
    beta = norm.bias.double() if norm.bias is not None else torch.zeros_like(var)
    scale = gamma / torch.sqrt(var + norm.eps)
    bias = layer.bias.double() if layer.bias is not None else torch.zeros_like(var)
    weight = layer.weight.double()
    if isinstance(layer, nn.ConvTranspose2d):  # weight [C_in, C_out, kh, kw]
        weight = weight * scale.view(1, -1, 1, 1)
    else:  # Linear [out, in], Conv2d [out, in/groups, kh, kw]
        weight = weight * scale.view(-1, *([1] * (weight.dim() - 1)))
    layer.weight.copy_(weight.to(dtype))
    new_bias = ((bias - mean) * scale + beta).to(dtype)
    if layer.bias is None:
        layer.bias = nn.Parameter(new_bias, requires_grad=False)
    else:
        layer.bias.copy_(new_bias)


def fold_batch_norms(model: nn.Module, shapes: dict | None = None) -> int:
    """Fold, in place, every eval-mode batch norm that directly follows an affine layer in an
    ``nn.Sequential``; returns how many. ``shapes`` (from ``input_shapes``) is needed to fold
    into a Linear, since that is only right for 2-D input."""
    folded = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = list(module._modules)
        for before, after in zip(names, names[1:]):
            layer, norm = module._modules[before], module._modules[after]
            if isinstance(layer, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)) and _foldable(layer, norm, shapes):
                _fold(layer, norm)
                module._modules[after] = nn.Identity()
                folded += 1
    return folded


# --- 2. transposed convolutions as sub-pixel convolutions ------------------------------------

def _axis_plan(k: int, s: int, p: int, op: int, size: int, delta: int = 0) -> dict:
    """The phase geometry of one spatial axis (see the module docstring)."""
    m_taps = math.ceil(k / s)
    out = (size - 1) * s - 2 * p + k + op
    c = [(r + p - delta) // s for r in range(s)]
    d = [(r + p - delta) % s for r in range(s)]
    lo, hi = min(c) - m_taps + 1, max(c)  # input offsets i - m that some phase reads
    length = hi - lo + 1
    rows = math.ceil((out + delta) / s)  # convolution output rows needed before the crop
    pad_lo = -lo
    pad_hi = rows + hi - size  # the last row's window must end inside the padding
    pad = max(pad_lo, pad_hi, 0)  # symmetric, as Conv2d pads; the surplus is cropped
    taps = [[None] * length for _ in range(s)]  # taps[r][j]: the transposed kernel's tap, or None
    for r in range(s):
        for j in range(length):
            a = c[r] - (j + lo)
            t = d[r] + s * a
            if 0 <= a < m_taps and t < k:
                taps[r][j] = t
    return dict(out=out, length=length, pad=pad, crop=(pad - pad_lo) * s + delta, taps=taps)


def transposable(module: nn.Module) -> bool:
    """Whether ``SubPixelConv2d`` can stand in for ``module``."""
    return (isinstance(module, nn.ConvTranspose2d) and module.groups == 1 and module.dilation == (1, 1)
            and module.stride[0] == module.stride[1] and module.padding_mode == "zeros")


def worth_rewriting(deconv: nn.ConvTranspose2d) -> bool:
    """The layers where onnxruntime's Conv beats its ConvTranspose (bench/results/onnx_speed.md):
    those with at least ``MIN_CHANNELS`` outputs. The image layer (1 or 3 channels) stays
    ConvTranspose: as convolutions it would fill an 8-wide NCHWc block with 1 to 3 useful channels."""
    return transposable(deconv) and deconv.out_channels >= MIN_CHANNELS


class SubPixelConv2d(nn.Module):
    """A ``ConvTranspose2d`` computed with convolutions, then PixelShuffle and, where needed, a crop.

    ``phases=False``: one Conv2d with ``C_out*s*s`` outputs whose kernel spans every phase's taps
    (zeros where a phase has none). ``phases=True`` (stride > 1): one Conv2d per output phase with
    exactly its own taps (the transposed convolution's multiply-adds, no more), padded
    asymmetrically, the results stacked phase-minor so that PixelShuffle interleaves them.
    Built for one spatial input size (it fixes the padding and the crop); the batch is free.
    """

    def __init__(self, deconv: nn.ConvTranspose2d, input_hw: tuple[int, int], compact: bool = False,
                 phases: bool = False):
        super().__init__()
        if not transposable(deconv):
            raise ValueError(f"cannot rewrite {deconv}: needs groups=1, dilation=1, equal strides, zero padding")
        s = deconv.stride[0]
        plans = [_axis_plan(deconv.kernel_size[i], s, deconv.padding[i], deconv.output_padding[i], input_hw[i],
                            deconv.padding[i] % s if compact else 0) for i in range(2)]
        self.input_hw = tuple(input_hw)
        self.out_hw = tuple(pl["out"] for pl in plans)
        self.crop = tuple(pl["crop"] for pl in plans)  # first kept row and column after the shuffle
        c_in, c_out = deconv.in_channels, deconv.out_channels
        weight = deconv.weight.detach()  # [C_in, C_out, kh, kw]
        bias = deconv.bias.detach() if deconv.bias is not None else None
        kernel = weight.new_zeros(c_out, s, s, c_in, plans[0]["length"], plans[1]["length"])
        for rh in range(s):
            for jh, th in enumerate(plans[0]["taps"][rh]):
                for rw in range(s):
                    for jw, tw in enumerate(plans[1]["taps"][rw]):
                        if th is not None and tw is not None:
                            kernel[:, rh, rw, :, jh, jw] = weight[:, :, th, tw].t()
        self.convs = nn.ModuleList()
        self.pads: list[tuple[int, int, int, int] | None] = []  # F.pad order: left, right, top, bottom
        if phases and s > 1:
            rows = [pl["length"] for pl in plans]  # the single convolution's window, per axis
            for rh in range(s):
                for rw in range(s):
                    spans = [_span(plans[0]["taps"][rh]), _span(plans[1]["taps"][rw])]
                    sub = kernel[:, rh, rw, :, spans[0][0]:spans[0][1] + 1, spans[1][0]:spans[1][1] + 1]
                    (h0, h1), (w0, w1) = spans
                    ph, pw = plans[0]["pad"], plans[1]["pad"]
                    self.pads.append((pw - w0, pw - (rows[1] - 1 - w1), ph - h0, ph - (rows[0] - 1 - h1)))
                    self.convs.append(_conv(sub, bias))
        else:
            conv = _conv(kernel.reshape(c_out * s * s, c_in, *kernel.shape[-2:]),  # channel co*s*s + rh*s + rw
                         None if bias is None else bias.repeat_interleave(s * s),
                         padding=(plans[0]["pad"], plans[1]["pad"]))
            self.convs.append(conv)
            self.pads.append(None)
        self.activation: nn.Module = nn.Identity()  # set by absorb_activations
        self.shuffle = nn.PixelShuffle(s) if s > 1 else nn.Identity()
        self.requires_grad_(False)

    @property
    def conv(self) -> nn.Conv2d:
        """The convolution (the first phase's, with ``phases=True``)."""
        return self.convs[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_hw:
            raise ValueError(f"SubPixelConv2d was built for inputs {self.input_hw}, got {tuple(x.shape[-2:])}")
        if len(self.convs) == 1:
            y = self.activation(self.convs[0](x))
        else:  # [N, C, s*s, H, W] -> [N, C*s*s, H, W]: channel c*s*s + phase, PixelShuffle's order
            y = torch.stack([self.activation(conv(_pad(x, pad))) for conv, pad in zip(self.convs, self.pads)], 2)
            y = y.flatten(1, 2)
        y = self.shuffle(y)
        (top, left), (h, w) = self.crop, self.out_hw
        if (top, left) != (0, 0) or (h, w) != tuple(y.shape[-2:]):
            y = y[:, :, top:top + h, left:left + w]
        return y


def _span(taps: list) -> tuple[int, int]:
    """First and last window position holding a tap (a phase with none gets one zero tap)."""
    used = [j for j, t in enumerate(taps) if t is not None]
    return (used[0], used[-1]) if used else (0, 0)


def _conv(kernel: torch.Tensor, bias: torch.Tensor | None, padding=(0, 0)) -> nn.Conv2d:
    conv = nn.Conv2d(kernel.shape[1], kernel.shape[0], tuple(kernel.shape[-2:]), padding=padding,
                     bias=bias is not None, device=kernel.device, dtype=kernel.dtype)
    with torch.no_grad():
        conv.weight.copy_(kernel)
        if bias is not None:
            conv.bias.copy_(bias)
    return conv


def _pad(x: torch.Tensor, pad: tuple[int, int, int, int]) -> torch.Tensor:
    """F.pad that also crops (negative amounts) by slicing, so the exporter sees only zero-padding."""
    left, right, top, bottom = pad
    h, w = x.shape[-2:]
    x = x[:, :, max(0, -top):h - max(0, -bottom), max(0, -left):w - max(0, -right)]
    pad = (max(0, left), max(0, right), max(0, top), max(0, bottom))
    return F.pad(x, pad) if any(pad) else x


def replace_transposed_convs(model: nn.Module, shapes: dict | None = None, select=worth_rewriting,
                             compact: bool = False, phases: bool = False) -> int:
    """Swap, in place, each ``ConvTranspose2d`` that ``select`` picks for a ``SubPixelConv2d``;
    returns how many. ``shapes``: from ``input_shapes`` (computed here when not given)."""
    if shapes is None:
        shapes = input_shapes(model)
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent._modules.items()):
            if isinstance(child, nn.ConvTranspose2d) and child in shapes and transposable(child) and select(child):
                parent._modules[name] = SubPixelConv2d(child, shapes[child][-2:], compact, phases)
                replaced += 1
    return replaced


# --- 3. activations in front of the pixel shuffle --------------------------------------------

def absorb_activations(model: nn.Module) -> int:
    """Move an elementwise activation that follows a ``SubPixelConv2d`` in an ``nn.Sequential``
    (folded norms in between are skipped) in front of its shuffle; returns how many."""
    moved = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        names = [n for n, m in module._modules.items() if not isinstance(m, nn.Identity)]
        for before, after in zip(names, names[1:]):
            layer, act = module._modules[before], module._modules[after]
            if isinstance(layer, SubPixelConv2d) and type(act) in _ELEMENTWISE and isinstance(layer.activation, nn.Identity):
                layer.activation = act
                module._modules[after] = nn.Identity()
                moved += 1
    return moved

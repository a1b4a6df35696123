"""Train an encoder E: image -> z for an exported generator, and export it beside the model.

The training pairs come from the exported file itself (inference.Generator through onnxruntime, the
contract's seeded philox latents), so any ``.onnx`` the project can load works, with no run folder
or torch generator. The loss is the mean squared error in z (no generator gradients exist in an
ONNX file, so no pixel loss). Pairs are drawn in chunks and each chunk is seen ``REUSE`` times:
generating is the slow half, and fresh chunks keep the encoder from memorising a fixed set.

The ONNX file (``NAME.encoder.onnx``, inference/encoder.py's contract) reaches its name only after
onnx.checker and onnxruntime agreed with PyTorch; the generator's card gains an ``encoder`` entry
saying how it was trained.
"""
from __future__ import annotations

import logging
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from inference import Generator
from inference.encoder import INPUT, OUTPUT, PREFIX, encoder_path, file_sha256
from studio.errors import UserError
from training.export.generator import machine_description
from training.export.small_net import export_checked, parity_error
from training.runfolder.files import UnreadableFile, atomic_write_json, read_json_object

log = logging.getLogger("training")

CHUNK = 8192    # pairs generated at a time
REUSE = 2       # passes over each chunk
BATCH = 128
VAL_SEED, TRAIN_SEED = 999_999, 1_000_000


class EncoderError(UserError):
    """A user error of train-encoder (the CLI prints it as one line)."""


class EncoderNet(nn.Module):
    """Three stride-2 convolutions (BN, leaky ReLU), then two linear layers to the latent."""

    def __init__(self, image_shape, latent_dim: int, width: int = 32):
        super().__init__()
        c, h, w = image_shape
        self.convs = nn.Sequential(
            nn.Conv2d(c, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1), nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2))
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, c, h, w)).numel()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 512), nn.LeakyReLU(0.2), nn.Linear(512, latent_dim))

    def forward(self, x):
        return self.head(self.convs(x))


def _pairs(g: Generator, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n latents of ``seed`` and the generator's images of them, mapped to [-1, 1]."""
    z = g.sample_latent(n, seed=seed)
    lo, hi = (float(v) for v in g.output_range)
    images = np.concatenate([g.run(z[i:i + 1024]) for i in range(0, n, 1024)])
    return z, np.clip((images - lo) * (2.0 / (hi - lo)) - 1.0, -1.0, 1.0).astype(np.float32)


def check_target(model: Path, out: Path | None, force: bool) -> tuple[Generator, Path]:
    """Everything that can fail before training: the model loads, is unconditional, the output is free."""
    g = Generator.load(model, device="cpu")
    if g.conditional:
        raise EncoderError(f"{model.name} is class-conditional; train-encoder supports unconditional generators only "
                           "(projection searches a conditional model without an encoder)")
    out = out or encoder_path(model)
    if not out.name.endswith(".onnx"):
        raise EncoderError(f"--out {out}: an encoder is an .onnx file (default: {encoder_path(model).name})")
    if out.resolve() == model.resolve():
        raise EncoderError(f"--out {out} is the generator itself; name another file")
    if out.exists() and not force:
        raise EncoderError(f"{out} exists; pass --force to replace it, or name another --out")
    return g, out


def train_encoder(model: str | os.PathLike, out: str | os.PathLike | None = None, *, steps: int = 3000,
                  seed: int = 0, force: bool = False, command: str | None = None) -> dict:
    """Train and export; returns the facts written into the encoder's metadata and the card."""
    model = Path(model)
    g, out = check_target(model, Path(out) if out else None, force)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise EncoderError(f"--steps must be an integer >= 1, got {steps!r}")
    torch.manual_seed(seed)
    # one thread: a small net's steps are 10x slower when two threads fight other work for two cores
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train(g, model, out, steps, seed, force, command)
    finally:
        torch.set_num_threads(threads)


def _train(g: Generator, model: Path, out: Path, steps: int, seed: int, force: bool, command: str | None) -> dict:
    generator_sha256 = file_sha256(model)  # the bytes the pairs come from, whatever happens to the file meanwhile
    net = EncoderNet(g.image_shape, g.latent_dim)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-3, total_steps=steps, pct_start=0.1)
    val_z, val_x = _pairs(g, 1024, VAL_SEED + seed)
    per_chunk = max(1, CHUNK * REUSE // BATCH)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    pairs = 0
    for step in range(steps):
        if step % per_chunk == 0:
            n = min(CHUNK, max(BATCH, (steps - step) * BATCH // REUSE))
            z, x = (torch.from_numpy(a) for a in _pairs(g, n, TRAIN_SEED + seed * 10_000 + step // per_chunk))
            pairs += n
        idx = torch.from_numpy(rng.integers(0, len(z), BATCH))
        loss = nn.functional.mse_loss(net(x[idx]), z[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % max(1, steps // 10) == 0:
            log.info("step %d/%d: z mse %.4f (%.0f s)", step + 1, steps, loss.item(), time.perf_counter() - start)
    wall = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        val_mse = float(nn.functional.mse_loss(net(torch.from_numpy(val_x)), torch.from_numpy(val_z)))
    facts = {"file": out.name, "generator": model.name, "generator_sha256": generator_sha256, "train_steps": steps,
             "batch": BATCH, "pairs": pairs, "seed": seed, "wall_time_s": round(wall, 1),
             "val_z_mse": round(val_mse, 5), "val_z_variance": round(float(val_z.var()), 5),
             "machine": machine_description(), "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "training_command": command or f"python -m training train-encoder {shlex.quote(str(model))} --steps {steps}"}
    _export(net, g, out, facts, val_x[:64], force)
    _note_in_card(model, out, facts)
    return facts


def _export(net: nn.Module, g: Generator, out: Path, facts: dict, sample: np.ndarray, force: bool) -> None:
    meta = {"encoder": "1", "latent_dim": str(g.latent_dim), "image_shape": ",".join(map(str, g.image_shape)),
            "input_range": "-1,1", **{k: str(v) for k, v in facts.items() if k not in ("file",)}}
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".encoder-") as tmp:
        checked = export_checked(net, g.image_shape, Path(tmp), INPUT, [OUTPUT],
                                 {PREFIX + key: value for key, value in meta.items()})
        diff = parity_error(net, checked, sample, INPUT, [OUTPUT])
        if not diff <= 1e-3:
            raise EncoderError(f"onnxruntime differs from PyTorch by {diff:.2e}; nothing written")
        if out.exists() and not force:  # it appeared while we trained
            raise EncoderError(f"{out} exists; pass --force to replace it, or name another --out")
        os.replace(checked, out)
    facts["parity_max_abs_diff"] = diff


def _note_in_card(model: Path, out: Path, facts: dict) -> None:
    """The generator's card (NAME.json, when there is one) records its encoder and how it was made."""
    card_path = model.with_suffix(".json")
    try:
        card = read_json_object(card_path)
    except (FileNotFoundError, UnreadableFile):
        return
    if out.parent.resolve() != model.parent.resolve():
        return  # an encoder elsewhere is the user's own file, not part of the model
    card["encoder"] = {k: facts[k] for k in ("file", "training_command", "train_steps", "batch", "pairs", "wall_time_s",
                                             "val_z_mse", "val_z_variance", "machine", "created", "generator_sha256")}
    atomic_write_json(card_path, card)


def cli_command() -> str:
    return "python -m training " + " ".join(shlex.quote(a) for a in sys.argv[1:])



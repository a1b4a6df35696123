"""The arithmetic a run trains in: the dtype autocast runs the forward passes in, and whether a
gradient scaler guards fp16 gradients.

``precision: auto`` picks per device, from what the hardware really has:
* CUDA: bf16 where the GPU computes it (Ampere and later), else fp16 with a gradient scaler;
  TF32 matrix multiplies allowed either way.
* CPU: bf16 where the CPU has native bf16 instructions (AVX512-BF16 or AMX, read from
  /proc/cpuinfo), else fp32: emulated bf16 is slower than fp32.

What stays fp32 under any choice: the weights, the optimiser moments and the EMA (autocast casts
an operation's inputs, never the parameters), the losses (the scores are cast up before them), and
the penalties (gradient penalty, R1), whose gradients of gradients need the precision: they run
outside autocast. So a checkpoint holds the same fp32 tensors whatever the precision, and a run
resumes under any other; the exported ONNX file is fp32 as before.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import ContextManager

import torch

from inference import hardware
from training.config import ConfigError

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass(frozen=True)
class Precision:
    name: str  # fp32, bf16 or fp16
    device_type: str  # cpu or cuda
    reason: str  # why this one, for the log and status.json

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.name]

    @property
    def mixed(self) -> bool:
        return self.name != "fp32"

    def autocast(self) -> ContextManager:
        """The context the forward passes run in (a no-op in fp32)."""
        if not self.mixed:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler | None:
        """fp16 gradients underflow without loss scaling; bf16 has fp32's range and needs none."""
        return torch.amp.GradScaler(self.device_type) if self.name == "fp16" else None

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def choose(requested: str, device: torch.device, cpu_flags: frozenset[str] | None = None,
           cuda_bf16: bool | None = None) -> Precision:
    """The precision for ``requested`` (auto, fp32, bf16, fp16) on ``device``.

    ``cpu_flags`` and ``cuda_bf16`` default to what this machine has; tests pass others to
    simulate a machine without the capability."""
    kind = device.type
    if requested == "fp32":
        return Precision("fp32", kind, "asked for")
    if kind == "cuda":
        has_bf16 = torch.cuda.is_bf16_supported() if cuda_bf16 is None else cuda_bf16
        if requested == "bf16" and not has_bf16:
            raise ConfigError("precision=bf16: this GPU has no bf16 arithmetic; use precision=fp16 or auto")
        if requested == "fp16" or (requested == "auto" and not has_bf16):
            return Precision("fp16", kind, "mixed precision with a gradient scaler" +
                             ("" if requested == "fp16" else ": this GPU has no bf16"))
        return Precision("bf16", kind, "asked for" if requested == "bf16" else "auto: the GPU computes bf16")
    if requested == "fp16":
        raise ConfigError("precision=fp16 is for CUDA GPUs (with a gradient scaler); on a CPU use "
                          "precision=bf16 or auto")
    native = hardware.native_bf16(cpu_flags)
    if requested == "bf16":
        return Precision("bf16", kind, f"asked for; the CPU has {native}" if native else
                         "asked for; this CPU has no native bf16 (AVX512-BF16 or AMX), so it is emulated and "
                         "likely slower than fp32")
    if native:
        return Precision("bf16", kind, f"auto: the CPU has native bf16 ({native})")
    return Precision("fp32", kind, "auto: this CPU has no native bf16 (AVX512-BF16 or AMX)")


def allow_tf32(device: torch.device) -> None:
    """Let CUDA's matrix units use TF32 for the fp32 operations autocast leaves in fp32."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

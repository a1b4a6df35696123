"""Several processes under torchrun: where this one stands, its device, DDP, and agreeing on flags.

One process (no torchrun) is rank 0 of 1 and every function here is then a no-op or a plain
pass-through, so the trainer has one code path for both.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from training.config import ConfigError


@dataclass(frozen=True)
class Processes:
    """Where this process stands among the torchrun workers (one process: rank 0 of 1)."""
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def pick_device(preference: str, local_rank: int = 0) -> torch.device:
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ConfigError("device=cuda, but PyTorch sees no usable GPU here; use --device cpu or auto.")
    return torch.device("cuda", local_rank)


def init_processes(device_preference: str) -> tuple[Processes, torch.device]:
    """Join torchrun's process group when launched under it (gloo on CPU, NCCL on GPU)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Processes(), pick_device(device_preference)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_preference, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Processes(dist.get_rank(), dist.get_world_size(), local_rank), device


def end_processes(processes: Processes) -> None:
    if processes.distributed and dist.is_initialized():
        dist.destroy_process_group()


def from_main(value: Any, processes: Processes) -> Any:
    """Rank 0's ``value`` on every process (e.g. the run folder only rank 0 created)."""
    if not processes.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any, processes: Processes) -> list[Any]:
    """Every process's ``value`` in rank order, on every process (one process: ``[value]``). Every
    process must call it at the same point, or the others wait for it."""
    if not processes.distributed:
        return [value]
    values: list[Any] = [None] * processes.world_size
    dist.all_gather_object(values, value)
    return values


def wrap(module: nn.Module, processes: Processes, device: torch.device) -> nn.Module:
    """The module to train through: DDP averages the gradients across processes; one process
    trains the module itself."""
    if not processes.distributed:
        return module
    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


def agree(processes: Processes, device: torch.device, *flags: bool) -> tuple[bool, ...]:
    """Each flag true on every process when it is true on any: all processes must stop or declare
    divergence at the same step, or the others would wait in DDP's next all-reduce forever."""
    if not processes.distributed:
        return flags
    tensor = torch.tensor([float(flag) for flag in flags], device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return tuple(bool(value) for value in tensor.tolist())

"""The order in which a run reads its training images."""
from __future__ import annotations

from typing import Any

import torch

from training.config import ConfigError
from training.distributed import Processes


class BatchOrder:
    """Shuffled epochs without replacement, the same order on every process, each taking its shard.

    Its state (position, the epoch's order, its RNG) goes into every checkpoint, so a resumed run
    reads the very batches an uninterrupted run reads.
    """

    def __init__(self, size: int, batch_size: int, seed: int, processes: Processes):
        self.size, self.batch_size, self.processes = size, batch_size, processes
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch, self.position, self.order = 0, 0, torch.empty(0, dtype=torch.int64)
        self.permutation = self.order  # the whole epoch's order, which every process shares

    def next(self) -> torch.Tensor:
        if self.position + self.batch_size > len(self.order):
            self.permutation = torch.randperm(self.size, generator=self.generator)
            self.order = self._shard(self.permutation)
            if len(self.order) < self.batch_size:
                raise ConfigError(f"batch_size {self.batch_size} is larger than the {len(self.order)} images "
                                 "each process gets; lower --set batch_size.")
            self.epoch, self.position = self.epoch + 1, 0
        indices = self.order[self.position:self.position + self.batch_size]
        self.position += self.batch_size
        return indices

    def _shard(self, permutation: torch.Tensor) -> torch.Tensor:
        return permutation[self.processes.rank::self.processes.world_size].contiguous()

    def state_dict(self) -> dict[str, Any]:
        state = {"epoch": self.epoch, "position": self.position, "order": self.order,
                 "generator": self.generator.get_state()}
        if self.processes.distributed:  # rank 0 saves; every rank must find its own shard in it
            state["permutation"] = self.permutation
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position, self.order = state["epoch"], state["position"], state["order"]
        if "permutation" in state and len(state["permutation"]):
            self.permutation = state["permutation"]
            self.order = self._shard(self.permutation)
        self.generator.set_state(state["generator"])

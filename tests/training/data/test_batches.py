"""The data order: shuffled epochs without replacement, one shard per process, continued exactly
after a resume."""
from __future__ import annotations

import pytest
import torch

from training.data.batches import BatchOrder
from training.distributed import Processes


def test_each_process_takes_its_own_shard_also_after_a_resume():
    ranks = [BatchOrder(20, 3, seed=5, processes=Processes(rank, 2, rank)) for rank in (0, 1)]
    first = [[b.next() for _ in range(2)] for b in ranks]
    seen = torch.cat([torch.cat(batches) for batches in first])
    assert len(set(seen.tolist())) == 12  # the two ranks' batches never overlap
    saved = ranks[0].state_dict()  # only rank 0 writes checkpoints
    expected = [[b.next() for _ in range(5)] for b in ranks]  # into the next epoch too
    for rank in (0, 1):
        resumed = BatchOrder(20, 3, seed=5, processes=Processes(rank, 2, rank))
        resumed.load_state_dict(saved)
        for want in expected[rank]:
            assert torch.equal(resumed.next(), want), f"rank {rank} did not continue with its own shard"
    single = BatchOrder(20, 3, seed=5, processes=Processes())
    single.next()
    assert "permutation" not in single.state_dict()  # one process: the order is the permutation


def test_an_epoch_reads_every_image_once_and_drops_the_remainder():
    order = BatchOrder(10, 3, seed=0, processes=Processes())
    epoch = torch.cat([order.next() for _ in range(3)])
    assert order.epoch == 1 and sorted(epoch.tolist()) == sorted(set(epoch.tolist()))  # no repeats
    order.next()  # the 10th image waits: a new epoch starts with a fresh permutation
    assert order.epoch == 2 and order.position == 3


def test_a_batch_larger_than_a_shard_says_how_to_fix_it():
    with pytest.raises(ValueError, match="lower --set batch_size"):
        BatchOrder(10, 6, seed=0, processes=Processes(0, 2, 0)).next()

"""Dropout's forward + backward on dcgan-keras's D activations: nn.Dropout against layers.Dropout.

    python -m bench.dropout_speed [--rounds 9] [--batch 256] [--threads 1]

The two activations D drops at batch 256 ([B, 64, 14, 14] and [B, 128, 7, 7], p = 0.3), in fp32
and bf16, the two modules alternated round by round so that a shared machine's load hits both
alike; prints the median milliseconds of each and their ratio.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from inference import hardware
from training.models.layers import Dropout

P = 0.3


def one_pass(module: nn.Module, inputs: list[torch.Tensor], upstream: list[torch.Tensor]) -> float:
    start = time.perf_counter()
    for x, g in zip(inputs, upstream):
        module(x).backward(g)
        x.grad = None
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    shapes = [(args.batch, 64, 14, 14), (args.batch, 128, 7, 7)]
    print(f"{hardware.describe()}; {hardware.load_now()}; torch {torch.__version__}, {args.threads} thread(s)")
    for dtype in (torch.float32, torch.bfloat16):
        inputs = [torch.randn(s, dtype=dtype, requires_grad=True) for s in shapes]
        upstream = [torch.randn(s, dtype=dtype) for s in shapes]
        modules = {"nn.Dropout": nn.Dropout(P), "layers.Dropout": Dropout(P)}
        times: dict[str, list[float]] = {name: [] for name in modules}
        for _ in range(args.rounds + 1):  # the first round warms up and is dropped
            for name, module in modules.items():
                times[name].append(one_pass(module, inputs, upstream))
        ms = {name: 1000 * statistics.median(t[1:]) for name, t in times.items()}
        print(f"{str(dtype).removeprefix('torch.'):9s} " + "  ".join(f"{n} {v:6.1f} ms" for n, v in ms.items())
              + f"  ratio {ms['nn.Dropout'] / ms['layers.Dropout']:.2f}x")


if __name__ == "__main__":
    main()

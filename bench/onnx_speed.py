"""Exported generators in onnxruntime (CPU) against the same generators in PyTorch eager.

For every preset's generator (random init: speed does not depend on the weights; presets with the
same generator are measured once) at batch 1, 16 and 64:

- PyTorch eager: eval mode, ``torch.no_grad()``, ``torch.set_num_threads(cores)``;
- onnxruntime, plain export: ``torch.onnx.export`` of the generator as it is;
- onnxruntime, optimized export: of ``training.export.graph.optimize_for_export(generator)``, which is
  what ``python -m training export`` writes;

both sessions with the options ``inference.Generator`` uses. Timings are wall clock, the contenders
interleaved round by round (rotating which goes first) so that they share the machine's load; the
table gives the minimum and the median over the rounds, and the median of the per-round ratio
optimized/PyTorch. A second table measures the same with one thread as CPU time of the calling
thread, which a busy machine disturbs far less than wall time. A third times the transposed
convolution layers alone (onnxruntime's own per-node profile, minimum over runs): the cause.

    python -m bench.onnx_speed [--rounds 40] [--presets a,b] [--out bench/results/onnx_speed.md]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from inference import hardware
from inference.generator import _session_options
from training import config as configs
from training.export.generator import _export_graph, machine_description
from training.models import build_models
from training.export.graph import SubPixelConv2d, input_shapes, optimize_for_export

BATCHES = (1, 16, 64)
CONTENDERS = ("torch", "plain", "optimized")
OUT = Path(__file__).parent / "results" / "onnx_speed.md"



def generators(names: list[str]):
    """(presets sharing it, config, generator) for each distinct generator among the presets."""
    seen: dict[tuple, list] = {}
    for name in names:
        c = configs.resolve(name)
        key = (c.model, c.conditional, c.image_size, c.channels, c.latent_dim, c.g_width)
        if key in seen:
            seen[key][0].append(name)
            continue
        torch.manual_seed(0)
        g = build_models(c, 10 if c.conditional else 0).generator
        with torch.no_grad():  # trained-looking batch-norm statistics (speed does not depend on them)
            for m in g.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        seen[key] = [[name], c, g.eval().requires_grad_(False)]
    return list(seen.values())


def inputs_for(g, c, batch: int):
    z = torch.randn(batch, c.latent_dim, generator=torch.Generator().manual_seed(batch))
    labels = torch.arange(batch) % g.num_classes if g.num_classes else None
    feeds = {"z": z.numpy(), **({"label": labels.numpy()} if labels is not None else {})}
    return ((z,) if labels is None else (z, labels)), feeds


def session(path: Path, threads: int | None = None) -> ort.InferenceSession:
    opts = _session_options()
    if threads:
        opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def export_both(g, c, folder: Path) -> dict[str, Path]:
    paths = {"plain": folder / "plain.onnx", "optimized": folder / "optimized.onnx"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _export_graph(g, c, paths["plain"])
        _export_graph(optimize_for_export(g), c, paths["optimized"])
    return paths


def time_batch(g, sessions: dict, args, feeds, rounds: int, cpu: bool = False) -> dict[str, list[float]]:
    """Seconds per call for each contender, one measurement per round, interleaved."""
    clock = time.thread_time if cpu else time.perf_counter
    batch = len(feeds["z"])
    inner = max(1, 16 // batch)  # calls per measurement, so that one lasts a few milliseconds

    def call(name):
        if name == "torch":
            with torch.no_grad():
                g(*args)
        else:
            sessions[name].run(None, feeds)

    names = list(CONTENDERS)
    for name in names * 3:  # warm-up
        call(name)
    times: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t0 = clock()
            for _ in range(inner):
                call(name)
            times[name].append((clock() - t0) / inner)
    return times


def parity(g, sessions, c) -> dict[str, float]:
    args, feeds = inputs_for(g, c, 64)
    with torch.no_grad():
        want = g(*args).numpy()
    return {n: float(np.abs(s.run(None, feeds)[0] - want).max()) for n, s in sessions.items()}


LAYER_VARIANTS = ("ConvTranspose", "one Conv + DepthToSpace", "per-phase Convs + DepthToSpace")


def _key(m: nn.ConvTranspose2d, hw) -> tuple:
    return (m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0], m.output_padding[0], hw[-1])


def layer_profile(models, folder: Path, batch: int, runs: int, threads_list) -> list[dict]:
    """Each distinct ConvTranspose2d (+ a ReLU) alone, as onnxruntime's ConvTranspose, as the one
    sub-pixel convolution and as the per-phase convolutions the export uses (stride 1: both are one
    plain convolution), from onnxruntime's per-node profile (sum over nodes of the minimum over runs)."""
    layers, rewritten = {}, set()
    for presets, c, g in models:
        mine = {_key(m, hw): hw[-2:] for m, hw in input_shapes(g).items() if isinstance(m, nn.ConvTranspose2d)}
        kept = {_key(m, hw) for m, hw in input_shapes(optimize_for_export(g)).items()
                if isinstance(m, nn.ConvTranspose2d)}
        rewritten |= set(mine) - kept
        for key, hw in mine.items():
            layers.setdefault(key, (hw, presets[0]))
    rows = []
    for key, (hw, preset) in layers.items():
        ci, co, k, s, p, op, _ = key
        deconv = nn.ConvTranspose2d(ci, co, k, s, p, op).eval().requires_grad_(False)
        variants = {LAYER_VARIANTS[0]: nn.Sequential(deconv, nn.ReLU())}
        for name, phases in zip(LAYER_VARIANTS[1:], (False, True)):
            sub = SubPixelConv2d(deconv, hw, phases=phases)
            sub.activation = nn.ReLU()
            variants[name] = sub
        x = torch.randn(2, ci, *hw)
        row = {"layer": f"{ci}→{co}, {k}×{k} stride {s} pad {p}{f' out-pad {op}' if op else ''}, "
                        f"{hw[0]}×{hw[1]} in ({preset})", "rewritten": key in rewritten}
        for n, (v, module) in enumerate(variants.items()):
            path = folder / f"layer-{n}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(module, (x,), str(path), input_names=["x"], dynamo=True, opset_version=18,
                                  external_data=False, verbose=False,
                                  dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},))
            for threads in threads_list:
                opts = _session_options()
                opts.intra_op_num_threads = threads
                opts.enable_profiling = True
                opts.profile_file_prefix = str(folder / "profile")
                sess = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
                xb = np.random.default_rng(0).standard_normal((batch, ci, *hw), dtype=np.float32)
                for _ in range(runs):
                    sess.run(None, {"x": xb})
                per_node = collections.defaultdict(list)
                for event in json.loads(Path(sess.end_profiling()).read_text()):
                    if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
                        per_node[event["name"]].append(event["dur"])
                row[(v, threads)] = sum(min(d) for d in per_node.values()) / 1e3
        rows.append(row)
        print(f"  layer {row['layer']}: " + ", ".join(f"{k[0]} {k[1]}t {v:.1f} ms" for k, v in row.items()
                                                       if isinstance(k, tuple)), flush=True)
    return rows


def fmt(seconds: float) -> str:
    ms = seconds * 1e3
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", default=",".join(configs.preset_names()))
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds per batch size (wall clock)")
    parser.add_argument("--cpu-rounds", type=int, default=15, help="rounds of the one-thread CPU-time table (0: skip)")
    parser.add_argument("--layer-runs", type=int, default=20, help="runs per layer in the layer table (0: skip)")
    parser.add_argument("--out", default=str(OUT))
    args = parser.parse_args()
    n_cores = hardware.usable_cores()
    torch.set_num_threads(n_cores)
    ort.set_default_logger_severity(3)
    started, load_start = time.time(), hardware.load_now()
    models = generators([p for p in args.presets.split(",") if p])
    wall_rows, cpu_rows, loads = [], [], []
    with tempfile.TemporaryDirectory(prefix="onnx-speed-") as tmp:
        for i, (presets, c, g) in enumerate(models):
            folder = Path(tmp) / str(i)
            folder.mkdir()
            paths = export_both(g, c, folder)
            sessions = {n: session(p) for n, p in paths.items()}
            diffs = parity(g, sessions, c)
            name = f"{c.model}{' conditional' if c.conditional else ''} {c.channels}×{c.image_size}²"
            for batch in BATCHES:
                targs, feeds = inputs_for(g, c, batch)
                t = time_batch(g, sessions, targs, feeds, args.rounds)
                ratio = float(np.median(np.array(t["optimized"]) / np.array(t["torch"])))
                wall_rows.append(dict(name=name, presets=presets, batch=batch, diffs=diffs, ratio=ratio,
                                      **{n: (min(v), float(np.median(v))) for n, v in t.items()}))
                loads.append(os.getloadavg()[0])
                print(f"{name} b{batch}: " + "  ".join(f"{n} {fmt(min(v))}/{fmt(np.median(v))}" for n, v in t.items())
                      + f"  ratio {ratio:.2f}  load {loads[-1]:.1f}", flush=True)
            if args.cpu_rounds:
                torch.set_num_threads(1)
                single = {n: session(p, threads=1) for n, p in paths.items()}
                for batch in BATCHES:
                    targs, feeds = inputs_for(g, c, batch)
                    t = time_batch(g, single, targs, feeds, args.cpu_rounds, cpu=True)
                    cpu_rows.append(dict(name=name, batch=batch, **{n: float(np.median(v)) for n, v in t.items()}))
                torch.set_num_threads(n_cores)
        layers = layer_profile(models, Path(tmp), 64, args.layer_runs, (1, n_cores)) if args.layer_runs else []
    report = render(args, n_cores, started, load_start, hardware.load_now(), loads, wall_rows, cpu_rows, layers)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(f"wrote {out}")


LOAD_NOTE = ("PyTorch's two OpenMP threads suffer most from a busy machine (compare its 2-thread "
             "batch-1 times with the one-thread table), so read the wall-time ratios together with the "
             "one-thread table.")

REASON = """\
## Why the plain export lost, and the fix

Not batch norm, not the session options, not the opset. The dynamo exporter (`optimize=True`)
already folds every batch norm that directly follows a Linear or a transposed convolution: the
plain Keras graph is Gemm, LeakyRelu, Reshape, then three ConvTranspose each with its activation.
`inference.Generator` already asks for `ORT_ENABLE_ALL` (which brings the NCHWc blocked layout),
intra-op threads = cores, inter-op 1, sequential execution. Measured on the Keras generator (40
interleaved rounds, 2 threads): opset 21 instead of 18 changed nothing, `session.intra_op.allow_spinning=0`
was no faster (slower at batch 64), `ORT_ENABLE_BASIC` slower. So `inference/generator.py` stays as is.

The cause is the kernel. onnxruntime's CPU `ConvTranspose` works image by image: a GEMM
(`C_out·k·k × H·W × C_in`, only 49 columns for a 7×7 input) and then a single-threaded col2im. Its
`Conv` instead runs MLAS's NCHWc kernels over the whole batch with the activation fused, at about
1.5× the multiply-adds per second on one thread, and it gains from the second core. The
ConvTranspose gains much less, and on a loaded machine often nothing (layer table). PyTorch runs each transposed
convolution as one oneDNN primitive over the batch. The Keras generator is hit hardest because of
its first layer, a **stride-1** 5×5 transposed convolution 256→128 on 7×7: 40 M multiply-adds per
image, about 80% of the model.

The fix (`training/export/graph.py`, applied by `python -m training export` to a copy used only for
export; the parity check still compares the file with the original generator, at most 1e-4):
batch norms that follow a layer in an `nn.Sequential` are folded into it; then every transposed
convolution with at least 8 output channels becomes convolutions. A stride-1 one is a `Conv`
with the kernel flipped. A stride-2 one is split by output phase: one `Conv` per phase, each with only its
own taps (5×5 gives 3×3, 3×2, 2×3 and 2×2: together the same 25 taps), stacked and interleaved
by `DepthToSpace`. The activation after the layer moves in front of `DepthToSpace`, where
onnxruntime fuses it into each `Conv`.

Tried and rejected, by measurement: the single-convolution sub-pixel form (one `Conv` with
4·C_out outputs over the union of the phases' windows, then `DepthToSpace`). It does 36 taps for
every 25 at 5×5 (9 for 4 at 4×4 padding 1) and was slower than ConvTranspose on one thread (layer
table); with it, in a first run of this benchmark, the 64×64 DCGAN lost to PyTorch at batch 64.
Left as they are: the image layers (1 or 3 output channels fill an 8-wide NCHWc block with 1 to 3
useful ones: much slower as convolutions), and SNGAN's layers. Each of those feeds a batch norm in the
next loop step, which the exporter folds into the ConvTranspose but nobody can fold into the
convolutions; rewritten, SNGAN measured slower, and its plain export already beats PyTorch. For
SNGAN the two exports are the same graph, so its two onnxruntime columns differ only by noise.
"""


def render(args, n_cores, started, load_start, load_end, loads, wall_rows, cpu_rows, layers) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
    minutes = (time.time() - started) / 60
    lines = [
        "# Exported generators: onnxruntime (CPU) against PyTorch eager",
        "",
        f"`python -m bench.onnx_speed --rounds {args.rounds} --cpu-rounds {args.cpu_rounds} "
        f"--layer-runs {args.layer_runs}`, {when}, {minutes:.0f} min.",
        "",
        f"- Machine: {machine_description()}; {n_cores} cores used (torch.set_num_threads({n_cores}); "
        f"onnxruntime intra-op {n_cores}, inter-op 1, sequential, ORT_ENABLE_ALL: `inference.Generator`'s options).",
        f"- Software: Python {platform.python_version()}, torch {torch.__version__} (oneDNN "
        f"{'on' if torch.backends.mkldnn.is_available() else 'off'}), onnxruntime {ort.__version__}, opset 18.",
        f"- Load: **the machine was shared** (training runs and other people's tests): at the start {load_start}; "
        f"at the end {load_end}; 1-minute load during the measurements {min(loads):.1f}–{max(loads):.1f} "
        f"on {n_cores} cores. Absolute times are therefore several times those of an idle machine; "
        "the contenders were interleaved round by round, so they saw the same load, and the minimum over "
        "the rounds is the least disturbed measurement. " + LOAD_NOTE,
        "- Weights: random init (speed does not depend on them); presets with the same generator are one row.",
        "",
        f"## Wall time per call, {n_cores} threads (ms, minimum / median of {args.rounds} interleaved rounds)",
        "",
        "| generator (presets) | batch | PyTorch eager | onnxruntime, plain export | onnxruntime, optimized export "
        "| optimized / PyTorch (median of per-round ratios) | optimized ≤ PyTorch (min) |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in wall_rows:
        ok = "yes" if r["optimized"][0] <= r["torch"][0] else "**no**"
        label = f"{r['name']} ({', '.join(r['presets'])})" if r["batch"] == 1 else ""
        lines.append(f"| {label} | {r['batch']} | {fmt(r['torch'][0])} / {fmt(r['torch'][1])} "
                     f"| {fmt(r['plain'][0])} / {fmt(r['plain'][1])} | {fmt(r['optimized'][0])} / {fmt(r['optimized'][1])} "
                     f"| {r['ratio']:.2f} | {ok} |")
    worst = max(max(r["diffs"].values()) for r in wall_rows)
    lines += ["", f"Largest difference from PyTorch on 64 latents, any generator, plain or optimized: {worst:.1e}.", ""]
    if cpu_rows:
        lines += [
            f"## One thread, CPU time per call (ms, median of {args.cpu_rounds} interleaved rounds)",
            "",
            "CPU time of the calling thread (`time.thread_time`; both PyTorch with one thread and onnxruntime with "
            "intra-op 1 compute on it): time the process was descheduled does not count, so this is the "
            "kernels' own cost, far less disturbed by the load (cache sharing still inflates it).",
            "",
            "| generator | batch | PyTorch eager | onnxruntime, plain | onnxruntime, optimized |",
            "|---|---:|---:|---:|---:|",
        ]
        for r in cpu_rows:
            lines.append(f"| {r['name'] if r['batch'] == 1 else ''} | {r['batch']} | {fmt(r['torch'])} "
                         f"| {fmt(r['plain'])} | {fmt(r['optimized'])} |")
        lines.append("")
    if layers:
        threads = sorted({k[1] for r in layers for k in r if isinstance(k, tuple)})
        head = " | ".join(f"{v}, {t} thread{'s' if t > 1 else ''}" for v in LAYER_VARIANTS for t in threads)
        lines += [
            f"## The transposed convolutions alone, batch 64 (ms, onnxruntime's per-node profile: per node the "
            f"minimum of {args.layer_runs} runs, summed; each layer with a ReLU after it; stride 1: both "
            "rewritten forms are the same single Conv)",
            "",
            f"| layer (first preset with it) | {head} | rewritten by the export |",
            "|---|" + "---:|" * (len(LAYER_VARIANTS) * len(threads)) + ":---:|",
        ]
        for r in layers:
            cells = " | ".join(f"{r[(v, t)]:.1f}" for v in LAYER_VARIANTS for t in threads)
            lines.append(f"| {r['layer']} | {cells} | {'yes' if r['rewritten'] else 'no'} |")
        lines.append("")
    lines.append(REASON)
    return "\n".join(lines)


if __name__ == "__main__":
    main()

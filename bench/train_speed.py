"""Training speed of the project's Trainer for every preset, and its overhead against a plain loop.

    python -m bench.train_speed [--presets a,b] [--seconds 15] [--rounds 3] [--threads N] [--data-root DIR]

For every preset, on MNIST (presets made for SVHN, CIFAR-10, Fashion-MNIST or a folder keep their
own image size and channels; MNIST is converted to them once, as the loader does): real images
through D per second (``n_critic * batch_size`` per generator step, the trainer's own
``images_per_s``) from ``Trainer.train`` itself, timed after a warm-up of a few steps, at the
preset's own batch size; and the share of that time spent fetching batches (indexing the uint8
tensor and normalising: ``Trainer._real_batch``).

Then for dcgan-keras-mnist at batch 256: the Trainer against ``bench/plain_loop.py`` (the plainest
PyTorch loop of the same nets and batch, same metric), alternating the two ``--rounds`` times so
that a busy machine's changing load hits both alike. Prints a markdown table and writes it to
bench/results/train_speed.md with the conditions it ran under (load average, threads, machine).
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch

from training import config as configs
from training.data import convert_images, load_dataset
from training.runs import create_run
from training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "train_speed.md"
WARMUP_STEPS = 3
COMPARE_PRESET = "dcgan-keras-mnist"


class TimedBatches:
    """Wraps ``Trainer._real_batch`` and adds up the time spent in it (CPU: no device sync needed)."""

    def __init__(self, trainer: Trainer):
        self.original, self.seconds, self.calls = trainer._real_batch, 0.0, 0
        trainer._real_batch = self

    def __call__(self):
        start = time.perf_counter()
        try:
            return self.original()
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += 1


def dataset_for(config: configs.Config, mnist):
    import dataclasses

    return dataclasses.replace(mnist, images=convert_images(mnist.images, config.image_size, config.channels))


def measure_trainer(preset: str, mnist, runs_dir: Path, seconds: float = 15.0, steps: int | None = None,
                    batch_size: int | None = None) -> dict:
    """images/s of Trainer.train after a warm-up, and the data-loading share of the timed steps:
    about ``seconds`` of steps, or ``steps`` steps (rounded to 5 logged intervals)."""
    extra = {"dataset": "mnist", "data_root": None, "device": "cpu", "steps": WARMUP_STEPS,
             "sample_every": 10**9, "checkpoint_every": 10**9, "eval_every": 0}
    if batch_size:
        extra["batch_size"] = batch_size
    config = configs.resolve(preset, [], extra)
    data = dataset_for(config, mnist)
    run = create_run(runs_dir, preset, config.to_dict())
    trainer = Trainer(config, run, dataset=data)
    start = time.perf_counter()
    trainer.train()  # warm-up: first steps allocate, and the first step's time is not representative
    warm_step = (time.perf_counter() - start) / WARMUP_STEPS
    # Enough steps for the time budget, logged in 5 intervals so that metric writing is included as usual.
    if steps is None:
        steps = max(10, min(400, round(seconds / max(warm_step, 1e-3))))
    log_every = max(1, steps // 5)
    steps = log_every * 5  # rows at multiples of log_every, plus one at the end
    trainer.config = config.replace(steps=WARMUP_STEPS + steps, log_every=log_every)
    timer = TimedBatches(trainer)
    images_before = trainer.images_seen
    rows_before = len(run.read_metrics())
    start = time.perf_counter()
    state = trainer.train()
    wall = time.perf_counter() - start
    assert state == "finished", state
    rows = [r for r in run.read_metrics()[rows_before:] if r.get("kind", "train") == "train"]
    # Each row's images_per_s covers the steps since the previous row: total images / total time.
    logged_images = logged_time = logged_steps = 0
    previous = WARMUP_STEPS
    for r in rows:
        images = (r["step"] - previous) * config.n_critic * config.batch_size
        logged_images, logged_time = logged_images + images, logged_time + images / r["images_per_s"]
        logged_steps, previous = logged_steps + r["step"] - previous, r["step"]
    return {
        "preset": preset, "model": config.model, "loss": config.loss,
        "image": f"{config.channels}x{config.image_size}x{config.image_size}", "batch": config.batch_size,
        "n_critic": config.n_critic, "steps": steps, "images_per_s": logged_images / logged_time,
        "ms_per_step": 1000 * logged_time / logged_steps,
        "data_share": timer.seconds / wall, "data_ms_per_batch": 1000 * timer.seconds / max(timer.calls, 1),
        "wall_s": wall + WARMUP_STEPS * warm_step,
    }


def measure_plain_loop(steps: int, env: dict) -> float:
    result = subprocess.run([sys.executable, "-m", "bench.plain_loop", "--preset", COMPARE_PRESET,
                             "--steps", str(steps), "--warmup", str(WARMUP_STEPS)],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    match = re.search(r"([\d.]+) images/s", result.stdout)
    if not match:
        raise RuntimeError(f"unexpected plain_loop output: {result.stdout}{result.stderr}")
    return float(match.group(1))


def conditions(threads: int) -> list[str]:
    load = os.getloadavg()
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    busy = []
    try:
        out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
        for line in out.splitlines()[1:]:
            pcpu, _, args = line.strip().partition(" ")
            if float(pcpu) >= 10 and "train_speed" not in args and "plain_loop" not in args:
                busy.append(f"{pcpu}% {args.strip()[:90]}")
    except (OSError, ValueError):
        pass
    return [f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1/5/15 min) on {os.cpu_count()} cores",
            f"{cpu}; torch {torch.__version__}, {threads} intra-op thread(s), Python {platform.python_version()}",
            "other processes using >= 10% CPU: " + ("; ".join(busy[:6]) if busy else "none")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", help="comma-separated (default: every preset)")
    parser.add_argument("--seconds", type=float, default=15.0, help="timed seconds per preset (roughly)")
    parser.add_argument("--rounds", type=int, default=3, help="alternations of Trainer and plain loop")
    parser.add_argument("--compare-steps", type=int, default=20, help="timed steps per plain-loop/Trainer round")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--data-root", help="folder with MNIST (default: the loader's rules, $GAN_STUDIO_DATA ...)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--skip-compare", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    if args.data_root:
        env["GAN_STUDIO_DATA"] = str(Path(args.data_root).resolve().parent)
    before = conditions(threads)
    mnist = load_dataset("mnist", args.data_root, "train")
    presets = args.presets.split(",") if args.presets else configs.preset_names()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="train-speed-") as tmp:
        for preset in presets:
            r = measure_trainer(preset, mnist, Path(tmp), seconds=args.seconds)
            results.append(r)
            print(f"{preset:22s} {r['images_per_s']:8.1f} images/s  {r['ms_per_step']:8.1f} ms/step  "
                  f"data {100 * r['data_share']:.2f}%", flush=True)
        compare = None
        if not args.skip_compare:
            trainer_runs, plain_runs, shares = [], [], []
            for round_ in range(args.rounds):  # the same number of timed steps as the plain loop
                plain_runs.append(measure_plain_loop(args.compare_steps, env))
                r = measure_trainer(COMPARE_PRESET, mnist, Path(tmp), steps=args.compare_steps, batch_size=256)
                trainer_runs.append(r["images_per_s"])
                shares.append(r["data_share"])
                print(f"round {round_ + 1}: plain loop {plain_runs[-1]:.1f}, Trainer {trainer_runs[-1]:.1f} images/s, "
                      f"data {100 * shares[-1]:.2f}%", flush=True)
            compare = {"trainer": trainer_runs, "plain": plain_runs, "shares": shares}
    after = conditions(threads)
    text = report(results, compare, before, after, time.perf_counter() - started, args)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")


def report(results, compare, before, after, seconds, args) -> str:
    lines = [f"# Training speed ({datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')})", "",
             "`python -m bench.train_speed` — real images through D per second (`n_critic * batch_size` per "
             "generator step) of `Trainer.train` on MNIST, after a warm-up of "
             f"{WARMUP_STEPS} steps, at each preset's own batch size; presets for other datasets keep their "
             "image size and channels (MNIST converted once). *Data* is the share of the timed wall time spent "
             "in `Trainer._real_batch` (indexing the uint8 tensor + normalising).", "",
             "| preset | model | loss | image | batch | n_critic | timed steps | images/s | ms/step | data |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['preset']} | {r['model']} | {r['loss']} | {r['image']} | {r['batch']} | {r['n_critic']} | "
                     f"{r['steps']} | {r['images_per_s']:.1f} | {r['ms_per_step']:.1f} | {100 * r['data_share']:.2f}% |")
    if compare:
        t, p = statistics.median(compare["trainer"]), statistics.median(compare["plain"])
        lines += ["", f"## {COMPARE_PRESET} at batch 256: Trainer vs the plain loop (bench/plain_loop.py)", "",
                  f"Alternated {len(compare['trainer'])} times, {args.compare_steps} timed steps each after "
                  f"{WARMUP_STEPS} warm-up steps.", "",
                  "| | runs (images/s) | median |", "|---|---|---:|",
                  f"| plain PyTorch loop | {', '.join(f'{v:.1f}' for v in compare['plain'])} | {p:.1f} |",
                  f"| project Trainer | {', '.join(f'{v:.1f}' for v in compare['trainer'])} | {t:.1f} |", "",
                  f"Trainer / plain loop: **{t / p:.2f}x** (median of each). Data loading: "
                  f"{', '.join(f'{100 * s:.2f}%' for s in compare['shares'])} of the Trainer's step time "
                  f"(target < 5%)."]
    lines += ["", "## Conditions", "", f"Before: {before[0]}.  ", f"After: {after[0]}.  ", f"{before[1]}.  ",
              f"Before: {before[2]}.  ", f"After: {after[2]}.  ",
              f"Whole benchmark: {seconds / 60:.1f} min. The machine is shared (other engineers' tests and a "
              "background training job), so absolute figures are lower bounds of what a quiet machine gives; "
              "the Trainer/plain-loop ratio was measured alternately under the same load.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

"""What writing TensorBoard's event files costs a run: the same preset trained with ``tensorboard``
on and off, alternated in one process, and the time spent inside the event writer itself.

    python -m bench.tensorboard_overhead [--presets dcgan-mnist,gan-mlp-mnist] [--rounds 4] [--steps N]
                                         [--threads N] [--data-root ../shared/data/mnist]

Each round trains every preset twice from scratch on MNIST in a fresh run folder (under the
system's temp folder), once with ``tensorboard=true`` and once with ``false``, the order rotating
from round to round so a shared machine's changing load hits both alike; ``--steps`` defaults to the
preset's ``sample_every``, so every round writes at least its usual share of grids (at step 0 and at
its end: twice the steady share), metrics rows at the preset's ``log_every`` and a checkpoint. Two
figures per preset:

- **in the writer**: the seconds spent inside the TensorBoard writer (rows, grids, flushes) as a
  share of the rounds' training time with it on: exact, whatever the machine's load;
- **on / off**: the median of the rounds' ratios of training time (``Trainer.train``'s wall time)
  with it on to off: what a user sees, within the machine's noise.

Opening the writer (tensorboard's import, once per process, and the file) is timed apart: it is
paid once per training process, not per step. Writes bench/results/tensorboard_overhead.md.
"""
from __future__ import annotations

import argparse
import functools
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench.train_speed_report import conditions
from inference import hardware
from training import config as configs
from training.data.dataset import load_dataset
from training.runfolder import tensorboard_log
from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "tensorboard_overhead.md"
GOAL = 0.01  # of training time
WRITER_CALLS = ("row", "image", "flush", "close")


class WriterClock:
    """Adds up the time spent in TensorBoardLog's methods (and, apart, in opening one)."""

    def __init__(self):
        self.seconds, self.open_seconds, self.calls = 0.0, [], 0
        for name in WRITER_CALLS:
            setattr(tensorboard_log.TensorBoardLog, name, self._timed(getattr(tensorboard_log.TensorBoardLog, name)))
        original_open = tensorboard_log.open_log

        def timed_open(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original_open(*args, **kwargs)
            finally:
                self.open_seconds.append(time.perf_counter() - start)

        # run_writer took its own reference to open_log when it was imported
        import training.run_writer as run_writer
        run_writer.open_log = timed_open

    def _timed(self, method):
        @functools.wraps(method)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1
        return timed


def train_once(config: configs.Config, data, runs: Path) -> float:
    run = create_run(runs, config.preset, config.to_dict())
    trainer = Trainer(build_session(config, dataset=data), run)
    start = time.perf_counter()
    assert trainer.train() == "finished", run.read_status()
    return time.perf_counter() - start


def measure(preset: str, data, args, clock: WriterClock, runs: Path) -> dict:
    base = configs.resolve(preset, [], {"dataset": "mnist", "data_root": None, "eval_every": 0})
    steps = args.steps or base.sample_every
    config = base.replace(steps=steps, checkpoint_every=steps)
    train_once(config.replace(steps=8), data, runs)  # warm-up: oneDNN's kernels, caches, tensorboard's import
    seconds = {True: [], False: []}
    writer_seconds = 0.0
    calls = 0
    for round_ in range(args.rounds):
        for on in ((True, False) if round_ % 2 == 0 else (False, True)):
            before, before_calls = clock.seconds, clock.calls
            seconds[on].append(train_once(config.replace(tensorboard=on), data, runs))
            if on:
                writer_seconds += clock.seconds - before
                calls += clock.calls - before_calls
        print(f"{preset} round {round_ + 1}: on {seconds[True][-1]:.2f} s, off {seconds[False][-1]:.2f} s", flush=True)
    ratios = [a / b for a, b in zip(seconds[True], seconds[False])]
    return {"preset": preset, "steps": steps, "batch": config.batch_size, "log_every": config.log_every,
            "sample_every": config.sample_every, "rounds": args.rounds, "on_s": statistics.median(seconds[True]),
            "off_s": statistics.median(seconds[False]), "ratio": statistics.median(ratios), "ratios": ratios,
            "writer_share": writer_seconds / sum(seconds[True]), "writer_ms_per_call": 1000 * writer_seconds / max(calls, 1)}


def report(results: list[dict], clock: WriterClock, before: dict, after: dict, argv: list[str]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [f"# TensorBoard event files: their cost ({when})", "",
             f"`{' '.join(['python -m bench.tensorboard_overhead', *argv])}`: each preset trained from scratch on "
             "MNIST with `tensorboard` on and off, alternated round by round in one process (order rotating); "
             "training time is `Trainer.train`'s wall time; *in the writer* is the time inside the event writer "
             "(rows, grids, flushes) over the time trained with it on.", "",
             f"- CPU: {hardware.describe()}; {hardware.usable_cores()} usable by this process",
             f"- torch {torch.__version__}, {torch.get_num_threads()} intra-op thread(s), Python {platform.python_version()}",
             f"- load before {before['load']}, after {after['load']}; other busy processes: "
             f"{before['busy'] or 'none'} / {after['busy'] or 'none'}", "",
             "| preset | batch | steps a round (log_every, sample_every) | rounds | on | off | on / off (median) "
             "| in the writer | per writer call |", "|---|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r['preset']} | {r['batch']} | {r['steps']} ({r['log_every']}, {r['sample_every']}) "
                     f"| {r['rounds']} | {r['on_s']:.2f} s | {r['off_s']:.2f} s | {r['ratio']:.4f} "
                     f"| **{r['writer_share']:.3%}** | {r['writer_ms_per_call']:.3f} ms |")
    lines += ["", "Per-round on / off ratios: " + "; ".join(
        f"{r['preset']} " + ", ".join(f"{x:.3f}" for x in r["ratios"]) for r in results) + ".",
              f"Opening the writer: {1000 * clock.open_seconds[0]:.0f} ms the first time in a process (tensorboard's "
              f"import), then {1000 * statistics.median(clock.open_seconds[1:] or [0]):.1f} ms (the median).",
              f"Goal: under {GOAL:.0%} of training time in the writer.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="dcgan-mnist,gan-mlp-mnist", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of on and off, alternated")
    parser.add_argument("--steps", type=int, help="steps a training (default: the preset's sample_every)")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--data-root", default=str(ROOT.parent / "shared" / "data" / "mnist"), help="folder with MNIST")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    before = conditions()
    data = load_dataset("mnist", args.data_root, "train")
    clock = WriterClock()
    with tempfile.TemporaryDirectory(prefix="tensorboard-overhead-") as runs:
        results = [measure(preset, data, args, clock, Path(runs)) for preset in args.presets.split(",")]
    text = report(results, clock, before, conditions(), sys.argv[1:])
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()

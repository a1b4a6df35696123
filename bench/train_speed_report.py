"""The markdown bench/train_speed.py writes: the goals, one row per preset, what writing costs,
every round's figures, and the machine and its load."""
from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone

import torch

from inference import hardware

GOAL_PRESET = "dcgan-keras-mnist"  # the preset and batch (its own, 256) that issue 12's goals name
GOALS = (("auto", 1.8), ("fp32", 1.1))  # trainer / textbook loop
WRITING_GOAL = 0.02
# The instruction sets that decide what the CPU computes fast: fp32 SIMD width, native bf16, AMX.
FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")


def busy_processes() -> list[str]:
    """Other processes using >= 10% CPU: on a shared machine, what the figures competed with."""
    busy = []
    try:
        out = subprocess.run(["ps", "-eo", "pcpu,args", "--sort=-pcpu"], capture_output=True, text=True).stdout
        for line in out.splitlines()[1:]:
            pcpu, _, command = line.strip().partition(" ")
            if float(pcpu) >= 10 and "train_speed" not in command and not command.startswith("ps "):
                busy.append(f"{pcpu}% {command.strip()[:90]}")
    except (OSError, ValueError):
        pass
    return busy[:6]


def conditions() -> dict:
    return {"load": hardware.load_now(), "busy": busy_processes()}


def _ratio_cell(ratio: float, goal: float | None) -> str:
    return f"**{ratio:.2f}x**" if goal and ratio >= goal else f"{ratio:.2f}x"


def _goals(results: list[dict]) -> list[str]:
    r = next((r for r in results if r["preset"] == GOAL_PRESET), None)
    if r is None:
        return [f"({GOAL_PRESET} was not among the presets measured.)"]
    lines = ["| goal | measured (median of per-round ratios) | rounds | met |", "|---|---:|---|---|"]
    for mode, goal in GOALS:
        rounds = ", ".join(f"{t / p:.2f}" for t, p in zip(r["speed"][mode], r["speed"]["loop"]))
        lines.append(f"| trainer `precision={mode}` >= {goal}x the textbook loop | {r['ratio'][mode]:.2f}x | "
                     f"{rounds} | {'yes' if r['ratio'][mode] >= goal else 'no'} |")
    share = r["writing"]["share"]
    lines.append(f"| writing < {100 * WRITING_GOAL:.0f}% of training time | {100 * share:.2f}% | | "
                 f"{'yes' if share < WRITING_GOAL else 'no'} |")
    worst = max(results, key=lambda x: x["writing"]["share"])
    lines += ["", f"`precision=auto` chose {r['auto_precision']}. Writing is highest for {worst['preset']}: "
              f"{100 * worst['writing']['share']:.2f}%."]
    return lines


def _speed_table(results: list[dict]) -> list[str]:
    lines = ["| preset | model | loss | image | batch | n_critic | steps/round | textbook loop | trainer fp32 "
             "| fp32 / loop | trainer auto | auto / loop | data | writing |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    goals = dict(GOALS)
    for r in results:
        m, is_goal = r["median"], r["preset"] == GOAL_PRESET
        lines.append(f"| {r['preset']} | {r['model']} | {r['loss']} | {r['image']} | {r['batch']} | {r['n_critic']} | "
                     f"{r['steps']} | {m['loop']:.1f} | {m['fp32']:.1f} | "
                     f"{_ratio_cell(r['ratio']['fp32'], goals['fp32'] if is_goal else None)} | {m['auto']:.1f} | "
                     f"{_ratio_cell(r['ratio']['auto'], goals['auto'] if is_goal else None)} | "
                     f"{100 * r['data_share']:.2f}% | {100 * r['writing']['share']:.2f}% |")
    return lines


def _writing_table(results: list[dict]) -> list[str]:
    lines = ["| preset | per step: accumulate (ms) | per log row: row + grad norms (ms) | status.json (ms) "
             "| sample grid (ms) | checkpoint (ms) | log / sample / checkpoint every | share of a step |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for r in results:
        w, ms = r["writing"], r["writing"]["ms"]
        lines.append(f"| {r['preset']} | {ms['accumulate']:.3f} | {ms['row']:.2f} | {ms['status']:.2f} | "
                     f"{ms['samples']:.1f} | {ms['checkpoint']:.1f} | "
                     f"{w['log_every']} / {w['sample_every']} / {w['checkpoint_every']} | {100 * w['share']:.2f}% |")
    return lines


def _machine(gpu: str | None, threads: int) -> list[str]:
    flags = hardware.cpu_flags()
    native = hardware.native_bf16()
    return [f"- CPU: {hardware.describe(gpu)}; {hardware.usable_cores()} usable by this process",
            f"- Instruction sets: {', '.join(f for f in FLAGS if f in flags) or 'none of ' + ', '.join(FLAGS)}; "
            f"native bf16: {native or 'no (neither AVX512-BF16 nor AMX)'}",
            f"- torch {torch.__version__}, {threads} intra-op thread(s), Python {platform.python_version()}"]


def report(results, before, after, seconds, args, argv, gpu, meta) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["python -m bench.train_speed", *argv])
    lines = [f"# Training speed ({when})", "", f"`{command}` on {args.device}: real images through D per second "
             "(`n_critic * batch_size` per generator step) of the textbook PyTorch loop (bench/plain_loop.py: the "
             "same nets, batch, loss and optimiser in fp32, torch's `nn.Dropout`, nothing logged) and of "
             "`Trainer.train` in `precision=fp32` and `precision=auto`, each warmed up for "
             f"{meta['warmup']} steps, then timed over the same steps in {args.rounds} round(s) that take the "
             "three in turn. Ratios are medians of the per-round ratios; speeds are medians of the rounds. MNIST "
             f"(first {meta['subset']:,} images) stands in for every dataset, converted to the preset's image "
             "size and channels. *Data*: share of the auto trainer's time spent fetching batches. *Writing*: "
             "metrics rows, status.json, sample grids and checkpoints at the preset's own intervals, as a share "
             "of the auto trainer's step time (measured call by call below; the trainers above run without a "
             "run folder, as the loop does).", "",
             f"## Goals ({GOAL_PRESET}, batch 256)", "", *_goals(results), "",
             "## Images/s", "", *_speed_table(results), "",
             "## Writing, call by call", "", *_writing_table(results), "",
             "## Every round (images/s: loop / fp32 / auto)", ""]
    for r in results:
        rounds = "; ".join(" / ".join(f"{r['speed'][m][i]:.1f}" for m in ("loop", "fp32", "auto"))
                           for i in range(len(r["speed"]["loop"])))
        lines.append(f"- {r['preset']} ({r['auto_precision'].split(' ')[0]} for auto): {rounds}")
    lines += ["", "## Machine and load", "", *_machine(gpu, meta["threads"]),
              f"- Before: {before['load']}; other processes >= 10% CPU: {'; '.join(before['busy']) or 'none'}",
              f"- After: {after['load']}; other processes >= 10% CPU: {'; '.join(after['busy']) or 'none'}",
              f"- Whole benchmark: {seconds / 60:.1f} min. On a shared machine absolute figures are lower bounds; "
              "the ratios were measured alternately under the same load.", ""]
    return "\n".join(lines)

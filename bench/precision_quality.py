"""Same quality in bf16: dcgan-mnist trained for the same steps and seeds in fp32 and in bf16.

Each run is the project's own command (``python -m training train --preset dcgan-mnist --set
precision=P --set seed=S --set steps=N``) into ``RUNS/quality-P-sS-*``, scored by ``python -m
training evaluate`` (10,000 samples against the 10,000 test images, the evaluator network's FID).
Everything resumes: run it again after a stop and an unfinished run continues, a scored one is
skipped. Writes bench/results/precision_quality.md.

    python bench/precision_quality.py [--steps 3000] [--seeds 0 1] [--runs-dir runs]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference import hardware  # noqa: E402
from training.runfolder.folder import RunFolder  # noqa: E402

OUT = ROOT / "bench" / "results" / "precision_quality.md"
PRESET = "dcgan-mnist"
PRECISIONS = ("fp32", "bf16")


def cli(*args: str) -> int:
    return subprocess.call([sys.executable, "-m", "training", *args], cwd=ROOT)


def name(precision: str, seed: int) -> str:
    return f"quality-{precision}-s{seed}"


def folder(runs_dir: Path, precision: str, seed: int) -> RunFolder | None:
    found = sorted(runs_dir.glob(f"{name(precision, seed)}-*"))
    return RunFolder(found[-1]) if found else None


def train_and_score(runs_dir: Path, precision: str, seed: int, steps: int) -> dict:
    run = folder(runs_dir, precision, seed)
    if run is None:
        cli("train", "--preset", PRESET, "--name", name(precision, seed), "--runs-dir", str(runs_dir),
            "--set", f"precision={precision}", "--set", f"seed={seed}", "--set", f"steps={steps}")
        run = folder(runs_dir, precision, seed)
    elif run.read_status().get("state") != "finished":
        cli("resume", str(run.path))
    report = run.path / "eval.json"
    if not report.exists():
        cli("evaluate", str(run.path), "--n", "10000", "--json", str(report))
    scores = json.loads(report.read_text())
    status, rows = run.read_status(), [r for r in run.read_metrics() if r.get("kind", "train") == "train"]
    speed = sorted(r["images_per_s"] for r in rows if r.get("images_per_s"))
    return {"precision": precision, "seed": seed, "run": run.id, "fid": scores["metrics"]["fid"],
            "chosen": status.get("precision", precision), "images_per_s": speed[len(speed) // 2] if speed else None,
            "wall_s": rows[-1]["time"] if rows else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs")
    args = parser.parse_args()
    results = [train_and_score(args.runs_dir, p, s, args.steps) for s in args.seeds for p in PRECISIONS]
    fids = {p: [r["fid"] for r in results if r["precision"] == p] for p in PRECISIONS}
    mean = {p: sum(v) / len(v) for p, v in fids.items()}
    gap = abs(mean["bf16"] - mean["fp32"]) / mean["fp32"]
    lines = ["# Same quality in bf16", "",
             f"`{PRESET}`, {args.steps:,} steps, seeds {', '.join(map(str, args.seeds))}, each trained by "
             "`python -m training train --preset dcgan-mnist --set precision=P --set seed=S --set "
             f"steps={args.steps}` and scored by `python -m training evaluate RUN --n 10000` (evaluator FID, "
             "10,000 samples against the 10,000 test images). Machine: "
             f"{hardware.describe()}; native bf16: {hardware.native_bf16() or 'none'}. "
             "The runs shared the two cores with other work, so images/s compare only roughly.", "",
             "| precision | seed | FID | median images/s | training s | run |", "|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r['precision']} | {r['seed']} | {r['fid']:.2f} | {r['images_per_s'] or '-'} | "
              f"{r['wall_s'] or '-'} | `{r['run']}` |" for r in results]
    lines += ["", f"Mean FID: fp32 {mean['fp32']:.2f}, bf16 {mean['bf16']:.2f}: bf16 is "
              f"{100 * gap:.1f}% {'above' if mean['bf16'] > mean['fp32'] else 'below'} fp32 "
              f"(goal: within 10%: {'met' if gap <= 0.10 else 'not met'})."]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

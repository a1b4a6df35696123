"""Every preset after its documented training budget, scored, next to the published figures.

Each preset is trained by the project's own command (``python -m training train --preset P``, with a
live evaluation every 1,000 steps) into ``RUNS/bench-P-*``, then scored by ``python -m training
evaluate`` (10,000 samples against the test split; ``--inception`` adds the paper-comparable
Inception-v3 FID, about 25 minutes a model on this CPU). Everything resumes: run it again after a
stop and an unfinished run continues, a scored one is skipped. The table is rebuilt from the run
folders and the reports in ``bench/results/presets/``.

    python bench/presets.py gan-mlp-mnist wgan-mnist       # train + score these
    python bench/presets.py wgan-mnist --inception         # add the Inception FID
    python bench/presets.py --report                       # only rebuild bench/results/presets.md

Published: Lucic et al. 2018 ("Are GANs Created Equal?"), best FID of a large hyperparameter
search, Inception features, 10,000 samples against the test split.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.config import load_preset, preset_names  # noqa: E402
from training.runfolder.folder import RunFolder  # noqa: E402

REPORTS = ROOT / "bench" / "results" / "presets"
TABLE = ROOT / "bench" / "results" / "presets.md"

# Lucic et al. 2018, Table 2 / Fig. 4: best FID of each loss, per dataset (no hinge/SNGAN, no cGAN).
PUBLISHED = {
    ("mnist", "non-saturating"): "NS GAN 6.8",
    ("mnist", "wasserstein"): "WGAN 6.7",
    ("mnist", "wgan-gp"): "WGAN-GP 20.3",
    ("fashion-mnist", "non-saturating"): "NS GAN 26.5",
    ("fashion-mnist", "wasserstein"): "WGAN 21.5",
    ("fashion-mnist", "wgan-gp"): "WGAN-GP 24.5",
    ("stacked-mnist", "non-saturating"): "PacDCGAN2: 1000 modes, KL 0.06 (PacGAN Table 4)",
}


# Why a preset has no row here: facts about this machine, not about the preset.
NOT_RUN_HERE = {
    "cifar10": "no CIFAR-10 offline here",
    "svhn": "no SVHN offline here",
    "folder": "needs your own images",
    "stacked-mnist": "see docs/results.md, Mode collapse",
}


def run_folder(runs_dir: Path, preset: str) -> RunFolder | None:
    found = sorted(runs_dir.glob(f"bench-{preset}-*"))
    return RunFolder(found[-1]) if found else None


def cli(*args: str) -> int:
    print("$ python -m training", " ".join(args), flush=True)
    return subprocess.call([sys.executable, "-m", "training", *args], cwd=ROOT)


def train(preset: str, runs_dir: Path) -> RunFolder | None:
    run = run_folder(runs_dir, preset)
    if run is None:
        cli("train", "--preset", preset, "--name", f"bench-{preset}", "--runs-dir", str(runs_dir),
            "--set", "eval_every=1000")
        run = run_folder(runs_dir, preset)
    elif run.read_status()["state"] != "finished":
        cli("resume", str(run.path), "--runs-dir", str(runs_dir))
    return run if run is not None and run.read_status()["state"] == "finished" else None


def score(preset: str, run: RunFolder, inception: bool) -> None:
    report_path = REPORTS / f"{preset}.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    if report and (report.get("inception") or not inception):
        return
    n = 26_000 if load_preset(preset).get("dataset") == "stacked-mnist" else 10_000  # PacGAN's protocol
    REPORTS.mkdir(parents=True, exist_ok=True)
    cli("evaluate", str(run.path), "--n", str(n), "--json", str(report_path),
        *(["--inception", "--inception-n", "10000"] if inception else []))


def cell(value, digits=2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def row(preset: str, runs_dir: Path) -> str:
    config = load_preset(preset)
    dataset, loss = config.get("dataset", "mnist"), config.get("loss", "non-saturating")
    published = "—" if config.get("conditional") else PUBLISHED.get((dataset, loss), "—")
    run = run_folder(runs_dir, preset)
    report_path = REPORTS / f"{preset}.json"
    head = f"| {preset} | {dataset} | {config.get('model')}, {loss} | {config['steps']:,} |"
    if run is None or not report_path.exists():
        why = (f"partial: step {run.read_status()['step']:,}" if run
               else NOT_RUN_HERE.get(dataset, "not run yet (CPU time)"))
        return f"{head} {why} | | | | | | {published} |"
    report = json.loads(report_path.read_text())
    train_rows = [r for r in run.read_metrics() if "kind" not in r]  # eval rows carry a kind
    hours = train_rows[-1]["time"] / 3600 if train_rows else None
    m = report["metrics"]
    inception = (report.get("inception") or {}).get("metrics", {}).get("fid")
    if "modes_captured" in m:
        quality = f"{m['modes_captured']:.0f} modes, KL {m['mode_kl']:.3f}"
    else:
        quality = f"{m['classes_covered']:.0f}, {m['class_kl']:.3f}"
    return (f"{head} {cell(hours, 1)} h | {cell(m['fid'])} | {cell(m['precision'])} / {cell(m['recall'])} | "
            f"{cell(m['density'])} / {cell(m['coverage'])} | {quality} | {cell(inception, 1)} | {published} |")


def write_table(runs_dir: Path) -> None:
    lines = [
        "# Every preset after its documented budget",
        "",
        "`python bench/presets.py PRESET ...` trains each preset with `python -m training train --preset P`",
        "(its own steps, batch and schedule; a live evaluation every 1,000 steps), then scores the last",
        "checkpoint (the EMA weights where the preset keeps an EMA) with `python -m training evaluate`:",
        "10,000 samples (26,000 stacked images for Stacked MNIST) against the test split. *FID* is in the",
        "evaluator CNN's 128-D feature space (`exported/evaluators/`), *Inception FID* in Inception-v3's",
        "pool3 space as in Lucic et al. 2018 (10,000 against the 10,000 test images). Only the Inception",
        "FID compares with the published column, and the published one is the best of a large",
        "hyperparameter search, not of one run at a preset's defaults. Classes: classes covered, KL of",
        "the predicted-class histogram from the test split's.",
        "",
        "| preset | data | model, loss | steps | CPU time | FID (evaluator) | precision / recall | "
        "density / coverage | classes / modes | Inception FID | published best (Lucic et al.) |",
        "|---|---|---|---:|---:|---:|---|---|---|---:|---|",
    ]
    lines += [row(preset, runs_dir) for preset in preset_names()]
    lines += ["", f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, no GPU; "
              "each run on one core (`OMP_NUM_THREADS=1`) beside other work.", ""]
    TABLE.write_text("\n".join(lines))
    print(f"wrote {TABLE}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("presets", nargs="*", help="presets to train and score (default: none, --report only)")
    parser.add_argument("--inception", action="store_true", help="also the Inception-v3 FID (slow)")
    parser.add_argument("--report", action="store_true", help="only rebuild the table")
    parser.add_argument("--runs-dir", type=Path, default=ROOT / "runs")
    args = parser.parse_args()
    unknown = sorted(set(args.presets) - set(preset_names()))
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; `python -m training presets` lists them")
    for preset in [] if args.report else args.presets:
        run = train(preset, args.runs_dir)
        if run is None:
            print(f"{preset}: the run did not finish; run this again to resume it", file=sys.stderr)
            continue
        score(preset, run, args.inception)
    write_table(args.runs_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

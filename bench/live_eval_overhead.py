"""What live evaluation on a folder costs: a short run of a folder preset with live evaluation on,
training time against evaluation time, extrapolated to the preset's own ``eval_every``.

    python -m bench.live_eval_overhead [--preset dcgan-folder] [--data-root ../shared/data/emoji-google]
                                       [--steps 40] [--eval-every 20] [--eval-samples N] [--threads N]

A folder has no evaluator network, so a live row is scored in Inception-v3 pool3 features
(OpenVINO or onnxruntime on the CPU) against all the folder's images, whose features are computed
once and cached by the folder's content: that one-time cost is timed on its own (about 0 s when
the cache holds it already) and kept out of the per-evaluation time. The run trains
``--steps`` steps with an evaluation every ``--eval-every`` (few, to keep the run short); the
overhead at the preset's defaults is then

    seconds per evaluation / (preset's eval_every x seconds per training step),

both measured here. Prints a Markdown summary (for docs/benchmarks.md) and writes it to
bench/results/live_eval_overhead.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from evaluation.feature_reference import feature_reference
from evaluation.features import feature_network
from evaluation.scoring import folder_read_options
from inference import hardware
from training import config as configs
from training.evaluate import ensure_feature_network
from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer

REPO = Path(__file__).resolve().parent.parent
RESULT = REPO / "bench" / "results" / "live_eval_overhead.md"


def measure(args) -> dict:
    preset = configs.resolve(args.preset, [], {"data_root": args.data_root})
    overrides = dict(data_root=args.data_root, steps=args.steps, eval_every=args.eval_every,
                     eval_samples=args.eval_samples or preset.eval_samples, sample_every=10 ** 6,
                     checkpoint_every=10 ** 6, log_every=10)
    config = configs.resolve(args.preset, [], overrides)
    ensure_feature_network(config.dataset)
    network = feature_network()
    t0 = time.perf_counter()
    ref = feature_reference(config.dataset, network, data_root=config.data_root, image_size=config.image_size,
                            read_options=folder_read_options(config))
    reference_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as runs:
        run = create_run(Path(runs), "bench", config.to_dict())
        trainer = Trainer(build_session(config), run)
        assert trainer.train() in ("finished",), run.read_status()
        rows = run.read_metrics()
    evals = [r for r in rows if r.get("kind") == "eval"]
    step_s = trainer.elapsed / config.steps  # the trainer's elapsed leaves evaluation time out
    eval_s = statistics.median(r["eval_seconds"] for r in evals)
    return {"preset": args.preset, "folder": str(config.data_root), "reference_images": len(ref.features),
            "reference_s": round(reference_s, 1), "steps": config.steps, "batch_size": config.batch_size, "step_s": round(step_s, 3),
            "evaluations": len(evals), "eval_samples": config.eval_samples, "eval_s": round(eval_s, 1),
            "inception_images_per_s": round(config.eval_samples / eval_s, 1),
            "preset_eval_every": preset.eval_every, "preset_eval_samples": preset.eval_samples,
            "overhead_at_preset": round(eval_s * preset.eval_samples / config.eval_samples
                                        / (preset.eval_every * step_s), 3) if preset.eval_every else None,
            "feature_network": network.name.split(" (")[0], "device": str(network.device),
            "fid": [r.get("fid") for r in evals], "kid_mean": [r.get("kid_mean") for r in evals]}


def markdown(m: dict) -> str:
    machine = (f"{platform.processor() or platform.machine()}, {hardware.usable_cores()} usable cores, "
               f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    overhead = f"{m['overhead_at_preset']:.1%}" if m["overhead_at_preset"] is not None else "n/a (eval_every 0)"
    return "\n".join([
        f"# Live evaluation on a folder: `{m['preset']}` on {Path(m['folder']).name}", "",
        f"Machine: {machine}; Inception-v3 in {m['device']}.", "",
        "| what | measured |", "|---|---:|",
        f"| reference: Inception features of all {m['reference_images']:,} folder images (once, cached by content) "
        f"| {m['reference_s']:.0f} s |",
        f"| a training step (batch {m['batch_size']}) | {m['step_s']:.3f} s |",
        f"| an evaluation of {m['eval_samples']:,} samples (FID, KID, precision/recall/density/coverage) "
        f"| {m['eval_s']:.1f} s ({m['inception_images_per_s']:.1f} images/s) |",
        f"| overhead at the preset's eval_every {m['preset_eval_every']:,}, eval_samples {m['preset_eval_samples']:,} "
        f"| **{overhead}** of training time |", "",
        f"{m['evaluations']} evaluations in a {m['steps']}-step run; FID {m['fid']}, KID {m['kid_mean']}.", ""])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="dcgan-folder")
    p.add_argument("--data-root", default=str(REPO.parent / "shared" / "data" / "emoji-google"))
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--eval-every", type=int, default=20)
    p.add_argument("--eval-samples", type=int, help="default: the preset's")
    p.add_argument("--threads", type=int, help="torch threads (default torch's)")
    p.add_argument("--cache", help="the evaluation cache (default $GAN_STUDIO_CACHE: a warm reference is not timed)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cache:
        os.environ["GAN_STUDIO_CACHE"] = args.cache
    m = measure(args)
    text = markdown(m)
    print(text)
    print(json.dumps(m))
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(text)


if __name__ == "__main__":
    main()

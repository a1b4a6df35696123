"""Projection ("find your image") on real MNIST test digits with the shipped generator: the search,
the encoder alone, and the encoder refined by the search, side by side.

For each of the first N digits of the MNIST test split and each method: project it
(inference.projection.project, judged by the shipped MNIST evaluator's features plus pixels), then ask
- is the match classified as the input's digit by the evaluator?
- is its evaluator-feature distance to the input lower than that of the best of 4,096 random samples
  (one fixed draw of 4,096 latents, seed 123456, shared by all digits)?
- how long did one projection take (wall clock, this process)?
Methods: search (init="search": 256 seeded samples, 10 rounds), encoder (E(x) alone: init="encoder",
n_start=1, rounds=0), encoder+refine (init="encoder" with its SETTINGS); the methods take turns on each
digit, so a change in the machine's load hits all of them alike.

    python bench/projection.py [--n 200] [--model exported/mnist-dcgan.onnx] [--encoder E.onnx]
        [--methods search,encoder,encoder+refine]
Goals (issue 14): >= 90% classified right, >= 90% beat the random best, one projection under 3 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402

from dataio import read_split  # noqa: E402
from inference import Generator  # noqa: E402
from inference.encoder import Encoder, encoder_path  # noqa: E402
from inference.hardware import describe, load_now  # noqa: E402
from inference.projection import onnx_features, project  # noqa: E402
from inference.target_image import read_target  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
METHODS = {"search": {"init": "search"},
           "encoder": {"init": "encoder", "n_start": 1, "rounds": 0},
           "encoder+refine": {"init": "encoder"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default=str(REPO / "exported" / "mnist-dcgan.onnx"))
    ap.add_argument("--encoder", help="default: MODEL.encoder.onnx beside the model")
    ap.add_argument("--evaluator", default=str(REPO / "exported" / "evaluators" / "mnist-cnn.onnx"))
    ap.add_argument("--mnist", default=str(REPO.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--methods", default=",".join(METHODS))
    args = ap.parse_args()
    methods = args.methods.split(",")
    test = read_split("mnist", args.mnist, "test")
    g = Generator.load(args.model, device="cpu")
    encoder = Encoder.load(args.encoder or encoder_path(g.path), g) if any(m != "search" for m in methods) else None
    features = onnx_features(args.evaluator)
    classifier = ort.InferenceSession(args.evaluator, providers=["CPUExecutionProvider"])
    random_features = features(g.run(g.sample_latent(4096, seed=123_456)))
    print(f"{describe()}; {load_now()}")

    stats = {m: {"right": 0, "beaten": 0, "times": [], "ratios": [], "evaluations": 0} for m in methods}
    for i in range(args.n):
        target = read_target(test.images[i, 0], g.image_shape)
        best_random = float(np.linalg.norm(random_features - features(target.as_model_input())[0], axis=1).min())
        for m in methods:
            s = stats[m]
            start = time.perf_counter()
            found = project(g, target, features=features, seed=i, encoder=encoder, **METHODS[m])
            s["times"].append(time.perf_counter() - start)
            x = found.image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1
            s["right"] += int(classifier.run(["logits"], {"image": x})[0].argmax() == test.labels[i])
            s["beaten"] += int(found.feature_distance < best_random)
            s["ratios"].append(found.feature_distance / best_random)
            s["evaluations"] = found.evaluations
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{args.n}: " + "; ".join(
                f"{m} classified {s['right'] / (i + 1):.1%}, beat random {s['beaten'] / (i + 1):.1%}, "
                f"median {statistics.median(s['times']):.2f} s" for m, s in stats.items()), flush=True)
    print(f"\nmodel {Path(args.model).name}, evaluator {Path(args.evaluator).name}, {args.n} MNIST test digits; "
          f"{load_now()}\n")
    print("| method | images tried | classified as the input's digit | closer than the best of 4,096 random | "
          "median distance ratio match/random-best | s per projection, median | p90 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m, s in stats.items():
        times = sorted(s["times"])
        print(f"| {m} | {s['evaluations']:,} | {s['right'] / args.n:.1%} | {s['beaten'] / args.n:.1%} | "
              f"{statistics.median(s['ratios']):.2f} | {statistics.median(times):.2f} | "
              f"{times[int(0.9 * (len(times) - 1))]:.2f} |")


if __name__ == "__main__":
    main()

"""Projection ("find your image") on real MNIST test digits with the shipped generator.

For each of the first N digits of the MNIST test split: project it (inference.projection.project,
judged by the shipped MNIST evaluator's features plus pixels), then ask
- is the match classified as the input's digit by the evaluator?
- is its evaluator-feature distance to the input lower than that of the best of 4,096 random samples
  (one fixed draw of 4,096 latents, seed 123456, shared by all digits)?
- how long did one projection take (wall clock, this process)?

    python bench/projection.py [--n 200] [--model exported/mnist-dcgan.onnx]
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
from inference.projection import onnx_features, project  # noqa: E402
from inference.target_image import read_target  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--model", default=str(REPO / "exported" / "mnist-dcgan.onnx"))
    ap.add_argument("--evaluator", default=str(REPO / "exported" / "evaluators" / "mnist-cnn.onnx"))
    ap.add_argument("--mnist", default=str(REPO.parent / "shared" / "data" / "mnist"))
    args = ap.parse_args()
    test = read_split("mnist", args.mnist, "test")
    g = Generator.load(args.model, device="cpu")
    features = onnx_features(args.evaluator)
    classifier = ort.InferenceSession(args.evaluator, providers=["CPUExecutionProvider"])
    random_features = features(g.run(g.sample_latent(4096, seed=123_456)))

    right = beaten = 0
    times, ratios = [], []
    for i in range(args.n):
        target = read_target(test.images[i, 0], g.image_shape)
        start = time.perf_counter()
        found = project(g, target, features=features, seed=i)
        times.append(time.perf_counter() - start)
        x = found.image.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1
        right += int(classifier.run(["logits"], {"image": x})[0].argmax() == test.labels[i])
        best_random = float(np.linalg.norm(random_features - features(target.as_model_input())[0], axis=1).min())
        beaten += int(found.feature_distance < best_random)
        ratios.append(found.feature_distance / best_random)
        if (i + 1) % 25 == 0:
            print(f"  {i + 1}/{args.n}: classified {right / (i + 1):.1%}, beat random {beaten / (i + 1):.1%}, "
                  f"median {statistics.median(times):.2f} s", flush=True)
    times.sort()
    print(f"model {Path(args.model).name}, evaluator {Path(args.evaluator).name}, {args.n} MNIST test digits, "
          f"{found.evaluations:,} images tried per projection")
    print(f"match classified as the input's digit: {right / args.n:.1%} (goal >= 90%)")
    print(f"feature distance below the best of 4,096 random samples: {beaten / args.n:.1%} (goal >= 90%); "
          f"median distance ratio match/random-best {statistics.median(ratios):.2f}")
    print(f"seconds per projection: median {statistics.median(times):.2f}, p90 {times[int(0.9 * (len(times) - 1))]:.2f}, "
          f"max {times[-1]:.2f} (goal < 3 s)")


if __name__ == "__main__":
    main()

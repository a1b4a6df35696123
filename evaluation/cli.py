"""python -m evaluation MODEL.onnx: score an exported generator with every registered metric (no torch).

    python -m evaluation exported/mnist-dcgan.onnx --dataset mnist --n 10000 [--json OUT] [--inception]

Prints the table of scores with their provenance and, when the model's card holds scores, how the
new ones compare (or why they cannot: another evaluator). ``python -m training evaluate`` does the
same for run folders (torch draws the samples) and can write the scores into the card. Errors
reach the user as every GAN Studio CLI's do (``studio.cli``), checked before any work.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from studio.cli import Parser, check_output_file, run_cli
from studio.outputs import write_atomically

from .inception import inception_extractor
from .provenance import comparison, format_table
from .scoring import check_request, evaluate_generator, load_generator


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m evaluation",
                                description="Score an exported generator: FID, KID, precision/recall, "
                                            "density/coverage, classifier score, class coverage.")
    p.add_argument("model", help="an exported generator (.onnx)")
    p.add_argument("--dataset", help="reference data (default: the model's); mnist, fashion-mnist and stacked-mnist "
                   "have evaluator networks, others (folder: with --data-root DIR) are scored in Inception-v3 features")
    p.add_argument("--n", type=int, default=10_000, help="generated samples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--json", help="also write the report (JSON) here; never over a model's card or report, a run's "
                   "file or a shipped file")
    p.add_argument("--force", action="store_true", help="replace an existing --json file")
    p.add_argument("--inception", action="store_true",
                   help="also the paper-comparable Inception-v3 FID (slow on a CPU; the network is exported once "
                        "by `python -m training evaluate --inception`)")
    p.add_argument("--inception-n", type=int, help="samples for the Inception FID (default: --n)")
    p.add_argument("--evaluator", help="an evaluator .onnx other than exported/evaluators/DATASET-cnn.onnx")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets of 1000 (default 100; fewer is faster)")
    p.add_argument("--data-root", help="folder holding the dataset (for --dataset folder: your images, all of them the reference)")
    return p


def write_json(path: Path, report: dict) -> None:
    write_atomically(path, (json.dumps(report, indent=2) + "\n").encode())


def _run(args: argparse.Namespace) -> str:
    check_request(args.n, args.seed, args.dataset, args.evaluator, args.kid_subsets, args.inception_n)
    if args.json:
        check_output_file(args.json, "--json", (".json",), force=args.force, inputs=[args.model])
    g = load_generator(args.model)
    report = evaluate_generator(g, Path(args.model).name, args.dataset, args.n, args.seed, data_root=args.data_root,
                                evaluator=args.evaluator, kid_subsets=args.kid_subsets,
                                inception=inception_extractor() if args.inception else None,
                                inception_n=args.inception_n, progress=lambda text: print(text, file=sys.stderr))
    lines = [format_table(report)]
    compared = comparison(g.metadata.get("metrics"), report)
    if compared:
        lines += ["", *compared]
    if args.json:
        write_json(Path(args.json), report)
        lines += ["", f"wrote {args.json}"]
    return "\n".join(lines)


def _command(args: argparse.Namespace) -> int:
    print(_run(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(_parser(), argv, _command)

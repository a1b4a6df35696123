"""``python -m inference MODEL --project IMAGE --out match.png``: the options and the command.

Writes the match (the generator's image, enlarged by --scale) as a PNG, refusing to overwrite a file
without --force, and prints the latent's file when --latent-out names one (.npy, float32 [latent_dim]).
"""
from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from studio.cli import UsageError, check_output_file
from studio.outputs import write_atomically

from .errors import InferenceError
from .generator import Generator
from .images import encode_png, upscale
from .projection import INITS, default_feature_file, draws_light_on_dark, onnx_features, project
from .target_image import read_target


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--project", metavar="IMAGE",
                   help="find the latent whose image matches IMAGE (PNG/JPEG); writes the match to --out")
    p.add_argument("--features", metavar="ONNX",
                   help="with --project: the feature network that judges the match (default: the shipped "
                        "evaluator for the model's dataset, exported/evaluators/<dataset>-cnn.onnx; 'none': pixels only)")
    p.add_argument("--init", choices=INITS, default="auto",
                   help="with --project: where the search starts: auto (default: the encoder NAME.encoder.onnx "
                        "beside the model when there is one that fits it, else seeded samples), search, or encoder")
    p.add_argument("--latent-out", metavar="NPY", help="with --project: also save the found latent (.npy)")


def check_arguments(args: argparse.Namespace) -> None:
    if not args.project:
        for option, value in (("--features", args.features), ("--latent-out", args.latent_out),
                              ("--init", None if args.init == "auto" else args.init)):
            if value:
                raise UsageError(f"{option} needs --project IMAGE")
        return
    if not args.out:
        raise UsageError("--project needs --out MATCH.png (where the match is written)")
    if args.interpolate or args.gif:
        raise UsageError("--project cannot be combined with --interpolate or --gif")
    if not Path(args.project).is_file():
        raise UsageError(f"--project {args.project}: no such image file")
    outputs = [(args.out, "--out", (".png",))] + ([(args.latent_out, "--latent-out", (".npy",))] if args.latent_out else [])
    for path, option, suffixes in outputs:
        check_output_file(path, option, suffixes, force=args.force, inputs=[args.model, args.project, args.features])
    if args.features not in (None, "none") and not Path(args.features).is_file():
        raise UsageError(f"--features {args.features}: no such file (or 'none' for pixels only)")


def run(args: argparse.Namespace, g: Generator) -> str:
    target = read_target(args.project, g.image_shape, light_on_dark=draws_light_on_dark(g))
    if args.features == "none":
        features, judged = None, "pixels only"
    else:
        path = Path(args.features) if args.features else default_feature_file(g)
        features = onnx_features(path) if path else None
        judged = f"features of {path.name} + pixels" if path else "pixels only (no evaluator for this dataset)"
    if g.conditional and args.label is not None and not 0 <= args.label < g.num_classes:
        raise InferenceError(f"--label {args.label} out of range: this model has classes 0..{g.num_classes - 1}")
    found = project(g, target, features=features, seed=args.seed, label=args.label, init=args.init)
    write_atomically(args.out, encode_png(upscale(found.image, args.scale)))
    written = [f"{args.out} (the match, {judged}; {found.note}; {found.evaluations:,} images tried in {found.seconds:.1f} s"
               + (f", class {g.class_names[found.label]}" if found.label is not None else "")
               + (f"; {'; '.join(target.notes)}" if target.notes else "") + ")"]
    if args.latent_out:
        buf = io.BytesIO()
        np.save(buf, found.z)
        write_atomically(args.latent_out, buf.getvalue())
        written.append(f"{args.latent_out} (its latent, float32 [{g.latent_dim}])")
    return "; ".join(f"wrote {w}" for w in written)

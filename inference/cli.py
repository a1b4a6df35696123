"""python -m inference MODEL: inspect a generator, draw a grid, or render an interpolation.

Errors reach the user as every GAN Studio CLI's do (``studio.cli``): one line and status 2 for a
wrong input, checked before the model runs; a traceback only for a bug.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from studio.cli import Parser, UsageError, check_output_file, check_range, run_cli
from studio.seeds import MAX_SEED, SEED_RANGE

from . import projection_cli
from .errors import InferenceError
from .generator import DEVICES, Generator
from .images import background_colour, image_grid, on_background, save_gif, save_png, upscale
from .latents import METHODS
from .limits import check_bytes


def _parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="python -m inference",
        description="Inspect a GAN Studio ONNX generator, sample a grid of images, or render "
                    "an interpolation between seeds. With no output option, prints --info.")
    p.add_argument("model", help="the generator's .onnx file")
    p.add_argument("--info", action="store_true", help="print the metadata and the provider")
    p.add_argument("--device", choices=DEVICES, default="auto")
    p.add_argument("--out", help="write a PNG grid (of samples, or of the interpolation frames)")
    p.add_argument("--force", action="store_true", help="replace an existing --out, --gif or --latent-out (never a "
                   "shipped file, a file inside a run folder, a model's card or an input of the command)")
    p.add_argument("--n", type=int, default=64, help="images in the grid (default 64)")
    p.add_argument("--seed", type=int, default=0, help="latent seed of the grid (default 0)")
    p.add_argument("--truncation", type=float, default=1.0,
                   help="scale latents toward the mean, in [0, 1] (default 1: none)")
    p.add_argument("--label", type=_class_argument,
                   help="class for a conditional model, by number or name (--info lists class_names; "
                        "default for grids: cycle the classes)")
    p.add_argument("--nrow", type=int, help="images per grid row (default: square grid, "
                   "one class per column, or --steps for interpolations)")
    p.add_argument("--padding", type=int, default=2, help="pixels between grid tiles")
    p.add_argument("--scale", type=int, default=1, help="enlarge output pixels by this factor")
    p.add_argument("--background", metavar="BG",
                   help="for a model with transparency (4 channels): draw it over 'checkerboard' or a colour "
                        "#rrggbb (default: a PNG keeps the alpha; a GIF, which has no partial transparency, "
                        "shows it over the checkerboard)")
    p.add_argument("--interpolate", type=int, nargs="+", metavar="SEED",
                   help="interpolate through the latents of these seeds (two or more)")
    p.add_argument("--steps", type=int, default=16, help="frames per interpolation segment")
    p.add_argument("--method", choices=METHODS, default="slerp")
    p.add_argument("--gif", help="write the interpolation as an animated GIF")
    p.add_argument("--duration-ms", type=int, default=80, help="GIF frame duration")
    p.add_argument("--boomerang", action="store_true", help="GIF plays forward then back")
    p.add_argument("--direction", type=int, metavar="K",
                   help="move every latent along the model's stored SeFa direction K (0: the strongest; "
                        "--info lists them)")
    p.add_argument("--amount", type=float, default=None,
                   help="how far along --direction, in units of z (default 3; negative goes the other way)")
    projection_cli.add_arguments(p)
    return p


def _moved(g: Generator, z: np.ndarray, args: argparse.Namespace) -> np.ndarray:
    """The latents moved by --amount along --direction (float64 sum, float32 last, clipped to the bound)."""
    if args.direction is None:
        return z
    return g.move_along(z, args.direction, 3.0 if args.amount is None else args.amount)


def _class_argument(text: str) -> int | str:
    """--label 3 or --label dogs: a number stays a number, anything else is a class name."""
    try:
        return int(text)
    except ValueError:
        return text


def _shown(images: np.ndarray, background: str | None) -> np.ndarray:
    """RGBA images over ``background`` (checked in _check_args), or as they are when it is None."""
    return images if background is None else on_background(images, background)


def _print_info(g: Generator) -> None:
    print(f"model: {g.path}")
    print(f"provider: {g.provider}" + (f" ({g.provider_note})" if g.provider_note else ""))
    print(f"metadata from: {g.metadata_source}")
    for key, value in g.metadata.items():
        if key == "directions" and value:
            shares = ", ".join(f"{k}: {s:.1%}" for k, s in enumerate(value["share"]))
            value = f"{len(value['vectors'])} {value['method']} directions of {value.get('layer', '?')} (share {shares})"
        elif value is None:
            value = "(none)"
        elif isinstance(value, (list, dict)):
            value = json.dumps(value)
        elif isinstance(value, tuple):
            value = ",".join(map(str, value))
        print(f"{key}: {value}")


def _check_args(args: argparse.Namespace) -> None:
    """Everything that can be checked before the model is loaded."""
    check_range("--n", args.n, 1)
    check_range("--seed", args.seed, 0, MAX_SEED, SEED_RANGE)
    for seed in args.interpolate or ():
        check_range("each --interpolate seed", seed, 0, MAX_SEED, SEED_RANGE)
    check_range("--truncation", args.truncation, 0, 1)
    if isinstance(args.label, int):
        check_range("--label", args.label, 0)
    check_range("--nrow", args.nrow, 1)
    check_range("--padding", args.padding, 0, 1000)
    check_range("--scale", args.scale, 1)
    if args.background is not None:
        try:
            background_colour(args.background)
        except InferenceError as error:
            raise UsageError(f"--background: {error}") from None
    check_range("--steps", args.steps, 2)
    check_range("--duration-ms", args.duration_ms, 1, 655_350, "a GIF frame lasts 10 ms to 655 s")
    check_range("--direction", args.direction, 0)
    if args.amount is not None and not math.isfinite(args.amount):
        raise UsageError(f"--amount must be a finite number, got {args.amount}")
    if args.amount is not None and args.direction is None:
        raise UsageError("--amount needs --direction K (which direction to move along)")
    projection_cli.check_arguments(args)
    if args.gif and not args.interpolate:
        raise UsageError("--gif needs --interpolate SEED_A SEED_B ...")
    if args.interpolate and not (args.gif or args.out):
        raise UsageError("--interpolate needs --gif and/or --out")
    if args.interpolate and len(args.interpolate) < 2:
        raise UsageError("--interpolate needs at least two seeds")
    if args.out and not args.project:  # a projection checks its own outputs, beside its inputs
        check_output_file(args.out, "--out", (".png",), force=args.force, inputs=[args.model])
    if args.gif:
        check_output_file(args.gif, "--gif", (".gif",), force=args.force, inputs=[args.model])


def _check_sizes(g: Generator, count: int, scale: int, nrow: int, padding: int, option: str, what: str) -> None:
    """Refuse, before any image is made, what would not fit in memory (the limit is named)."""
    c, h, w = g.image_shape
    asked = f"{option}: {count:,} {what}"
    fewer = f"ask for a smaller {option.split()[0]}"
    check_bytes(f"{asked} of {c}x{h}x{w}", (count, c, h, w), 4, fewer)
    check_bytes(f"{asked} at --scale {scale}", (count, h * scale, w * scale, c), 1, f"{fewer} or --scale")
    cols = min(nrow, count)
    rows = -(-count // cols)
    check_bytes(f"the grid of {asked} at --scale {scale}", (rows * (h * scale + padding) + padding,
                                                          cols * (w * scale + padding) + padding, c), 1, f"{fewer} or --scale")


def _run(args: argparse.Namespace) -> str:
    _check_args(args)
    g = Generator.load(args.model, device=args.device)
    if args.info or not (args.out or args.gif):
        _print_info(g)
    elif g.provider_note and args.device == "cuda":  # asked for the GPU and not given it; auto expects either
        print(f"note: {g.provider_note}", file=sys.stderr)

    if isinstance(args.label, str):
        args.label = g.class_index(args.label)  # a name becomes its number; a wrong one lists the classes
    if args.direction is not None:
        g.direction(args.direction)  # a missing or wrong K is refused before any image is made
    if args.project:
        return projection_cli.run(args, g)
    written = []
    if args.interpolate:
        if g.conditional and args.label is None:
            raise InferenceError(f"{g.path.name} is class-conditional: give --label "
                                 f"(a number or a name: {g.describe_classes()})")
        frames = (len(args.interpolate) - 1) * (args.steps - 1) + 1
        _check_sizes(g, frames, args.scale, args.nrow or args.steps, args.padding, f"--steps {args.steps:,}", "frames")
        keys = np.concatenate([g.sample_latent(1, seed=s, truncation=args.truncation)
                               for s in args.interpolate])
        path = _moved(g, g.interpolate(keys, steps=args.steps, method=args.method), args)
        frames = _shown(upscale(g.generate(path, args.label), args.scale), args.background)
        if args.gif:
            save_gif(_shown(frames, args.background or "checkerboard"), args.gif, duration_ms=args.duration_ms,
                     boomerang=args.boomerang)
            written.append(f"{args.gif} ({len(frames)} frames"
                           + (", boomerang" if args.boomerang else "") + ")")
        if args.out:
            save_png(image_grid(frames, args.nrow or args.steps, args.padding), args.out)
            written.append(f"{args.out} ({len(frames)} frames)")
    elif args.out:
        labels, nrow = args.label, args.nrow
        if g.conditional and labels is None:  # one class per column: the classes side by side
            nrow = nrow or g.num_classes
            labels = np.arange(args.n) % g.num_classes
        nrow = nrow or math.ceil(math.sqrt(args.n))
        _check_sizes(g, args.n, args.scale, nrow, args.padding, f"--n {args.n:,}", "images")
        z = _moved(g, g.sample_latent(args.n, seed=args.seed, truncation=args.truncation), args)
        images = _shown(upscale(g.generate(z, labels), args.scale), args.background)
        save_png(image_grid(images, nrow, args.padding), args.out)
        along = "" if args.direction is None else \
            f", moved {3.0 if args.amount is None else args.amount:g} along direction {args.direction}"
        written.append(f"{args.out} ({args.n} images, seed {args.seed}{along})")
    return "; ".join(f"wrote {w}" for w in written)


def _command(args: argparse.Namespace) -> int:
    message = _run(args)
    if message:
        print(message)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_cli(_parser(), argv, _command)

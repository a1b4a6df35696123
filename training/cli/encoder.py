"""``python -m training train-encoder MODEL.onnx``: train an encoder (image -> latent) for an exported
generator and write it beside the model as MODEL.encoder.onnx (training/auxiliary/encoder.py; torch is loaded
only when the command runs)."""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import UsageError, check_output_file, check_range
from studio.outputs import is_shipped
from studio.seeds import MAX_SEED, SEED_RANGE


def cmd_train_encoder(args) -> int:
    model = Path(args.model)
    if not model.is_file():
        raise UsageError(f"{model}: no such model file (an exported generator, .onnx)")
    check_range("--seed", args.seed, 0, MAX_SEED, SEED_RANGE)
    from inference.encoder import encoder_path  # onnxruntime: only this command needs it

    out = Path(args.out) if args.out else None
    if out is not None:
        check_output_file(out, "--out", (".onnx",), force=args.force, inputs=[model])
    elif is_shipped(encoder_path(model)):  # the default, beside the model (even in a run folder)
        raise UsageError(f"{encoder_path(model)} is shipped with GAN Studio and never replaced, even with --force; "
                         "name another --out.")
    from training.auxiliary.encoder import cli_command, train_encoder  # torch: only this command needs it
    from training.log_setup import setup_logging

    setup_logging(None, True)
    facts = train_encoder(model, out, steps=args.steps, seed=args.seed, force=args.force, command=cli_command())
    print(f"{facts['file']}: {facts['train_steps']} steps on {facts['pairs']:,} pairs in {facts['wall_time_s']:.0f} s; "
          f"held-out z mse {facts['val_z_mse']:.4f} (latent variance {facts['val_z_variance']:.4f})", file=sys.stderr)
    print(out or model.with_name(facts["file"]))
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("train-encoder", help="train an encoder (image -> latent) for an exported generator, written "
                       "beside it as NAME.encoder.onnx; projection (find your image) starts from it")
    p.add_argument("model", help="the exported generator (.onnx, unconditional)")
    p.add_argument("--out", help="where to write the encoder (default: NAME.encoder.onnx beside the model)")
    p.add_argument("--steps", type=int, default=3000, help="training steps of 128 pairs (default 3000)")
    p.add_argument("--seed", type=int, default=0, help=f"seed of the pairs and the weights, 0 to {MAX_SEED:,} (default 0)")
    p.add_argument("--force", action="store_true", help="replace an existing encoder (never a shipped one, a file inside "
                   "a run folder or a model's card)")
    p.set_defaults(func=cmd_train_encoder)

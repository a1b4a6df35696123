"""The command-line parts of hub-ready models and fine-tuning, which ``training.cli.main`` hooks in:

- ``train --init-from PATH|NAME [--freeze-d N]``: start from exported weights (training/finetune/);
- ``export RUN --hub DIR``: one self-contained folder to upload as it is (training/export/hub.py);
- ``upgrade MODEL.onnx --weights``: the Markdown card and the generator's safetensors recovered from
  the graph of an export whose run is gone (training/export/side_files.py).

torch is imported inside the commands, so the parser stays light.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from studio.cli import UsageError
from training import config as configs


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--init-from", metavar="PATH|NAME", help="start from these weights: a "
                        "NAME.generator.safetensors (export writes it; its discriminator's file beside it is loaded "
                        "too) or a shipped model's name, e.g. mnist-dcgan (config field init_from)")
    parser.add_argument("--freeze-d", type=int, metavar="N", help="FreezeD: keep the discriminator's first N layers "
                        "as --init-from's (config field freeze_d; docs/training.md says what a layer is)")


def init_from_values(args) -> dict:
    """--init-from and --freeze-d as config values (they override --set)."""
    values = {}
    if args.init_from is not None:
        values["init_from"] = args.init_from
    if args.freeze_d is not None:
        values["freeze_d"] = args.freeze_d
    return values


def read_init_from(config: configs.Config) -> None:
    """The weights files exist, are GAN Studio's and have the bytes a recorded hash names: before the data is read."""
    if config.init_from:
        from training.finetune.init_from import read_source  # torch

        read_source(config)


def record_init_from(config: configs.Config, dataset) -> configs.Config:
    """``config`` with the weights' path and hashes, once every tensor fits the nets this run builds."""
    if not config.init_from:
        return config
    from training.finetune.init_from import check_source, recorded  # torch

    num_classes = len(dataset.class_names) if config.conditional else 0
    return recorded(config, check_source(config, num_classes))


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", metavar="DIR", help="write one self-contained folder ready to upload to a model hub "
                        "(ONNX, JSON card, README.md card, safetensors, a sample grid) instead of --out; an existing "
                        "non-empty DIR needs --force, and is then replaced whole")


def export_to_hub(args, run) -> int:
    if args.out:
        raise UsageError("--hub DIR writes the model inside DIR, named after it: give --hub or --out, not both.")
    from training.export.hub import check_hub_folder, export_hub  # torch and onnx

    folder = check_hub_folder(Path(args.hub), args.force)
    print(export_hub(run, folder, force=args.force, half=args.fp16, checkpoint=args.checkpoint))
    return 0


def add_upgrade_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", action="store_true", help="write the Markdown card (NAME.md) and the generator's "
                        "weights recovered from the graph (NAME.generator.safetensors) beside MODEL, for an export whose "
                        "run is gone; MODEL and its JSON card stay as they are")


def upgrade_weights(args) -> int:
    if args.out:
        raise UsageError("--weights writes beside MODEL and leaves it as it is: drop --out (copy the model first to "
                         "write them elsewhere).")
    from training.export.side_files import write_recovered_files  # torch and onnx

    for line in write_recovered_files(Path(args.model), force=args.force):
        print(f"{args.model}: {line}")
    return 0

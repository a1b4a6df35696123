"""``python -m training``: train, resume, and look at presets and runs.

Errors a user can fix (a bad config, missing data, an unknown run) print one clear line and exit
with status 2; only bugs print tracebacks.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from dataio import DataError
from training import config as configs
from training.registry import REGISTRIES
from training.runs import DEFAULT_RUNS_DIR, RunError, RunFolder, atomic_write_json, create_run, find_run, list_runs

log = logging.getLogger("training")


class UsageError(Exception):
    """Anything the user can fix from the command line."""


def _user_errors() -> tuple[type[BaseException], ...]:
    # training.checkpoint imports torch: here only when a command fails, so `presets` and `runs` stay light.
    from training.checkpoint import CheckpointError

    return configs.ConfigError, RunError, DataError, CheckpointError, UsageError


def registry_names() -> dict[str, list[str]]:
    return {kind: registry.names() for kind, registry in REGISTRIES.items()}


def check_config(config: configs.Config) -> None:
    """Everything that can be checked before a run folder exists, so a bad config leaves no folder."""
    # Building the nets needs torch, which only the commands that train import.
    from training.distributed import pick_device  # torch
    from training.losses import build_loss  # torch
    from training.models import build_models  # torch
    from training.precision import choose  # torch

    configs.check_names(config, registry_names())
    choose(config.precision, pick_device(config.device))
    models = build_models(config, 10 if config.conditional else 0)
    build_loss(config).check_models(models.discriminator)


def setup_logging(run: RunFolder | None, is_main: bool) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if run and is_main and not _stderr_is(run.log_path):
        handlers.append(logging.FileHandler(run.log_path))
    logging.basicConfig(level=logging.WARNING, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%d %H:%M:%S")
    log.setLevel(logging.INFO if is_main else logging.WARNING)  # our progress, not the exporter's chatter


def _stderr_is(path: Path) -> bool:
    """True when our stderr already goes to ``path`` (the app launches us that way): log once, not twice."""
    try:
        return path.exists() and os.path.samestat(os.fstat(sys.stderr.fileno()), os.stat(path))
    except (OSError, ValueError, AttributeError):
        return False


def _progress_bar(total: int, initial: int, enabled: bool):
    """A tqdm bar on a terminal; in a log file, a plain line every 30 seconds instead."""
    if not enabled:
        return None, None
    if sys.stderr.isatty():
        bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)

        def update(step: int, row: dict) -> None:
            bar.update(step - bar.n)
            bar.set_postfix({k: f"{row[k]:.3f}" for k in ("loss_d", "loss_g", "wasserstein") if k in row})

        return update, bar
    last = [0.0]

    def update(step: int, row: dict) -> None:
        if time.monotonic() - last[0] >= 30 or step == total:
            last[0] = time.monotonic()
            losses = ", ".join(f"{k} {row[k]:.4f}" for k in ("loss_d", "loss_g") if k in row)
            log.info("step %d/%d, %s, %s images/s", step, total, losses, row.get("images_per_s"))

    return update, None


def load_training_data(config: configs.Config):
    # training.data holds the images as torch tensors: imported by the commands that train only.
    from training.data import load_dataset

    return load_dataset(config.dataset, config.data_root, "train", config.image_size, config.channels)


def run_training(config: configs.Config, run: RunFolder, resume: bool, dataset=None) -> str:
    # torch is imported by the commands that train only, so `presets` and `runs` start at once.
    from training.distributed import end_processes, init_processes
    from training.trainer import Trainer

    processes, device = init_processes(config.device)
    setup_logging(run, processes.is_main)
    trainer = None
    try:
        trainer = Trainer(config, run, processes, device, dataset)
        if resume and run.last_checkpoint.exists():
            trainer.resume_from(run)
            if processes.is_main:
                run.truncate_metrics(trainer.step)
                log.info("resumed %s at step %d", run.id, trainer.step)
        if processes.is_main:
            log.info("run %s: %s on %s, %d images, %s, %d process(es)", run.id, config.model, config.dataset,
                     len(trainer.images), device, processes.world_size)
        update, bar = _progress_bar(config.steps, trainer.step, processes.is_main)
        state = trainer.train(update)
        if bar is not None:
            bar.close()
        if processes.is_main:
            log.info("%s: %s", state, run.read_status().get("message"))
        return state
    except BaseException as error:
        if processes.is_main and run is not None and not isinstance(error, SystemExit):
            tail = f"{type(error).__name__}: {error}"
            run.write_status(state="failed", step=trainer.step if trainer else 0, message=tail)
            log.exception("run failed")
        raise
    finally:
        end_processes(processes)


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _shared_run(runs_dir: Path, name: str, config: configs.Config) -> RunFolder:
    """Rank 0 creates the folder; under torchrun the others learn its path from rank 0."""
    run = create_run(runs_dir, name, config.to_dict()) if _is_main_process() else None
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from training.distributed import from_main, init_processes  # torch, under torchrun only

        processes, _ = init_processes(config.device)
        run = RunFolder(Path(from_main(str(run.path) if run else None, processes)))
    return run


def cmd_train(args) -> int:
    extra = {"data_root": args.data_root} if args.data_root else {}
    if args.device:
        extra["device"] = args.device
    config = configs.resolve(args.preset, args.set or [], extra)
    check_config(config)
    dataset = load_training_data(config)  # missing data fails here, before a run folder exists
    run = _shared_run(Path(args.runs_dir), args.name or args.preset, config)
    if _is_main_process():
        print(f"run folder: {run.path}", file=sys.stderr)
    return 0 if run_training(config, run, resume=False, dataset=dataset) in ("finished", "stopped") else 1


def cmd_resume(args) -> int:
    run = find_run(args.run, Path(args.runs_dir))
    status = run.live_status()
    if status.get("state") in ("running", "stopping", "queued") and status.get("pid"):
        raise UsageError(f"run {run.id} is still {status['state']} (pid {status['pid']}); stop it first.")
    values = run.read_config()
    for text in args.set or []:
        key, value = configs.parse_override(text)
        values[key] = value
    if args.data_root:
        values["data_root"] = args.data_root
    if args.device:
        values["device"] = args.device
    config = configs.build_config(values)
    check_config(config)
    if _is_main_process():
        atomic_write_json(run.config_path, config.to_dict())
        run.write_status(state="queued", total_steps=config.steps, message="resuming")
    return 0 if run_training(config, run, resume=True) in ("finished", "stopped") else 1


def cmd_export(args) -> int:
    from training.export import ExportError, export_run  # torch and onnx, which only export needs

    run = find_run(args.run, Path(args.runs_dir))
    if not run.last_checkpoint.exists():
        raise UsageError(f"run {run.id} has no checkpoint yet; let it train to its first checkpoint.")
    setup_logging(None, True)
    try:
        path = export_run(run, Path(args.out) if args.out else None, half=args.fp16, checkpoint=args.checkpoint)
    except ExportError as error:
        raise UsageError(f"export failed: {error}") from None
    print(path)
    return 0


def cmd_presets(args) -> int:
    if args.fields:
        defaults = configs.Config().to_dict()
        for name, text in configs.field_help().items():
            print(f"{name:20s} {configs.FIELDS[name].type:14s} default {defaults[name]!r:12s} {text}")
        return 0
    presets = {name: configs.load_preset(name) for name in configs.preset_names()}
    catalogue = {kind: {name: registry.describe(name) for name in registry.names()}
                 for kind, registry in REGISTRIES.items()}
    if args.json:
        described = {kind: {name: {"description": entry.description, "fields": list(entry.fields)}
                            for name, entry in entries.items()} for kind, entries in catalogue.items()}
        print(json.dumps({"presets": presets, "names": {kind: list(entries) for kind, entries in catalogue.items()},
                          "catalogue": described, "fields": configs.field_help()}, indent=2))
        return 0
    width = max(map(len, presets))
    for name, values in presets.items():
        print(f"{name:{width}s}  {values.get('description', '')}")
    for kind, heading in (("model", "models"), ("loss", "losses"), ("dataset", "datasets")):
        print(f"\n{heading}:")
        width = max(map(len, catalogue[kind]))
        for name, entry in catalogue[kind].items():
            print(f"  {name:{width}s}  {entry.description}".rstrip())
    return 0


def cmd_runs(args) -> int:
    rows = []
    for run in list_runs(Path(args.runs_dir)):
        status = run.live_status()
        try:
            preset = run.read_config().get("preset", "?")
        except RunError:
            preset = "?"
        rows.append((run.id, status.get("state", "?"), f"{status.get('step', 0)}/{status.get('total_steps', '?')}",
                     preset, status.get("message", "")))
    if not rows:
        print(f"no runs in {args.runs_dir}")
        return 0
    widths = [max(len(str(r[i])) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + row[4])
    return 0


def cmd_evaluate(args) -> int:
    # torch, onnxruntime and scipy: only the evaluate command needs them
    from evaluation import EvaluationError, format_table
    from training.evaluate import evaluate_target, update_card
    from training.inception_export import export_inception_onnx  # torch as well

    setup_logging(None, True)
    if args.n < 10:
        raise UsageError("--n must be at least 10")
    try:
        if args.model is None:
            if not args.inception:
                raise UsageError("name a model (.onnx) or a run, or pass --inception alone to export the Inception network")
            print(export_inception_onnx())
            return 0
        report, json_path, card = evaluate_target(
            args.model, dataset=args.dataset, n=args.n, seed=args.seed, inception=args.inception,
            inception_n=args.inception_n, runs_dir=args.runs_dir, data_root=args.data_root,
            evaluator=args.evaluator, progress=lambda text: log.info(text), kid_subsets=args.kid_subsets)
    except EvaluationError as error:
        raise UsageError(str(error)) from None
    print(format_table(report))
    json_path = Path(args.json) if args.json else json_path
    atomic_write_json(json_path, report)
    print(f"\nwrote {json_path}")
    if args.update_card:
        if card is None or not card.exists():
            raise UsageError(f"no model card to update for {args.model} (export the run first)")
        print("\n".join(update_card(card, report)))
    return 0


def cmd_train_evaluator(args) -> int:
    from training.evaluator_net import EvaluatorError  # torch, which only this command needs
    from training.train_evaluator import main_train_evaluator

    setup_logging(None, True)
    try:
        return main_train_evaluator(args)
    except EvaluatorError as error:
        raise UsageError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train GANs; runs are folders.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_common(p):
        p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
        p.add_argument("--data-root", help="folder holding the dataset")
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the config's (auto)")

    p = sub.add_parser("train", help="start a new run from a preset")
    p.add_argument("--preset", required=True, help="`python -m training presets` lists them")
    p.add_argument("--name", help="run name (default: the preset's); the run id adds the time")
    add_common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("resume", help="continue a run from its last checkpoint")
    p.add_argument("run", help="run id or run folder")
    add_common(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("export", help="write a run's generator as one ONNX file with its model card")
    p.add_argument("run", help="run id or run folder")
    p.add_argument("--out", help="the .onnx path (default: RUN/generator.onnx); the card goes beside it")
    p.add_argument("--fp16", action="store_true", help="also write a half-precision copy (NAME.fp16.onnx) for the web")
    p.add_argument("--checkpoint", choices=("last", "best"), default="last",
                   help="last (default) or best: the lowest FID of the run's live evaluations (--set eval_every=N)")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR))
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("presets", help="list presets, models, losses and datasets")
    p.add_argument("--json", action="store_true", help="machine-readable, for the app")
    p.add_argument("--fields", action="store_true", help="every config field with its type and help")
    p.set_defaults(func=cmd_presets)

    p = sub.add_parser("evaluate", help="score a generator (.onnx) or a run: FID, KID, precision/recall, coverage")
    p.add_argument("model", nargs="?", help="an exported generator (.onnx) or a run id/folder (its last checkpoint); "
                   "left out with --inception: only export the Inception network (once, into the cache)")
    p.add_argument("--dataset", help="reference data (default: the model's); mnist or fashion-mnist")
    p.add_argument("--n", type=int, default=10000, help="generated samples (default 10000)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (default 0)")
    p.add_argument("--inception", action="store_true", help="also the paper-comparable Inception-v3 FID (slow on a CPU)")
    p.add_argument("--inception-n", type=int, help="samples for the Inception FID (default: --n)")
    p.add_argument("--evaluator", help="an evaluator .onnx other than exported/evaluators/DATASET-cnn.onnx")
    p.add_argument("--kid-subsets", type=int, default=100, help="KID subsets of 1000 (default 100; fewer is faster)")
    p.add_argument("--json", help="where to write the report (default: NAME.eval.json beside the model, RUN/eval.json)")
    p.add_argument("--update-card", action="store_true", help="write the scores into the model's metadata (in the .onnx and its card)")
    p.add_argument("--data-root", help="folder holding the dataset")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR))
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train-evaluator", help="train the MNIST/Fashion-MNIST classifier used for evaluation, export it to ONNX")
    p.add_argument("--dataset", required=True, choices=("mnist", "fashion-mnist"))
    p.add_argument("--epochs", type=int, help="default: 4 (mnist), 5 (fashion-mnist)")
    p.add_argument("--out", help="default: a new file, exported/evaluators/DATASET-cnn-TIME.onnx (card beside it)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (the shipped evaluator's hash is "
                   "recorded with every score: replacing it makes them incomparable)")
    p.add_argument("--data-root", help="folder holding the dataset")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint of an interrupted training")
    p.add_argument("--polish", type=int, default=0, help="extra epochs at a small decaying learning rate after the schedule (resumes from its checkpoint)")
    p.set_defaults(func=cmd_train_evaluator)

    p = sub.add_parser("runs", help="every run's state at a glance")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR))
    p.set_defaults(func=cmd_runs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except _user_errors() as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

"""``python -m training``: train, resume, export, and look at presets and runs.

Errors reach the user as every GAN Studio CLI's do (``studio.cli``): a user error is one
line and exit status 2 (``--debug`` adds its traceback), a bug prints its traceback and says so.
Everything that can be checked before a run folder, a model file or a long computation exists is
checked first (``preflight``), and a run folder has one writer: the process holding its lock
(``run_lock``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

from studio.cli import Parser, UsageError, check_output_file, check_writable_folder, run_cli
from studio.outputs import is_shipped
from training import config as configs
from training.cli.encoder import add_parser as add_encoder_parser
from training.cli.evaluate import add_parsers as add_evaluate_parsers
from training.cli.timelapse import add_parser as add_timelapse_parser
from training.cli.weights import (add_export_arguments, add_train_arguments, add_upgrade_arguments, export_to_hub,
                                   init_from_values, read_init_from, record_init_from, upgrade_weights)
from training.runfolder.health import health_line
from training.sweep.cli import add_parser as add_sweep_parser
from training.playground.cli import add_parser as add_playground_parser
from training.log_setup import setup_logging
from training.registry import REGISTRIES
from training.runfolder.lock import RunBusy, RunLock, holder
from training.runfolder.files import RunError, atomic_write_json
from training.runfolder.folder import DEFAULT_RUNS_DIR, RunFolder, create_run, find_run, list_runs, new_run_uid

def check_config(config: configs.Config) -> None:
    """The config against the registries, the device and the nets (``preflight.check_config``)."""
    from training.preflight import check_config as check  # torch: only the commands that train need it

    check(config)


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _shared_run(runs_dir: Path, name: str, config: configs.Config) -> tuple[RunFolder, RunLock | None]:
    """Rank 0 creates the folder and takes its lock; under torchrun the others learn its path from rank 0."""
    run, lock = None, None
    if _is_main_process():
        run = create_run(runs_dir, name, config.to_dict())
        lock = RunLock.acquire(run, "train")
        run.write_status(pid=os.getpid(), message="starting")  # a process that dies now leaves a failed run
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        from training.distributed import from_main, init_processes  # torch, under torchrun only

        processes, _ = init_processes(config.device)
        run = RunFolder(Path(from_main(str(run.path) if run else None, processes)))
    return run, lock


def _overrides(args) -> dict:
    extra = {"data_root": args.data_root} if args.data_root else {}
    if args.device:
        extra["device"] = args.device
    return extra


def cmd_train(args) -> int:
    # the trainer's modules import torch: only the commands that train load them
    from training.preflight import check_data
    from training.process import run_training
    from training.data.dataset import load_for_config  # torch as well: the datasets as tensors

    if not (args.preset or args.config):
        raise UsageError("name a preset (--preset NAME; `python -m training presets` lists them) "
                         "or a config file of your own (--config FILE)")
    config = configs.resolve(args.preset, args.set or [], _overrides(args) | init_from_values(args),
                             config_file=args.config)
    runs_dir = check_writable_folder(args.runs_dir, "--runs-dir")
    check_config(config)
    read_init_from(config)  # fine-tuning's weights files: there, and the ones a recorded hash names
    dataset = load_for_config(config)  # missing data fails here, before a run folder exists
    check_data(config, dataset)
    config = record_init_from(config, dataset)  # every tensor fits; config.json records the files' hashes
    run, lock = _shared_run(runs_dir, args.name or args.preset or Path(args.config).stem, config)
    with lock or nullcontext():
        if _is_main_process():
            print(f"run folder: {run.path}", file=sys.stderr)
        return 0 if run_training(config, run, dataset) in ("finished", "stopped") else 1


def cmd_resume(args) -> int:
    # the trainer's modules import torch: only the commands that train load them
    from training.preflight import check_data, check_steps, check_unchanged, pick_checkpoint
    from training.process import run_training
    from training.data.dataset import load_for_config  # torch as well: the datasets as tensors

    run = find_run(args.run, Path(args.runs_dir))
    main = _is_main_process()
    if main and (pid := holder(run)):  # 0: held, its pid not written yet; acquire() below waits for it
        raise RunBusy(run, pid, "resume")
    status = run.live_status()
    if main and status.get("state") in ("running", "stopping", "queued") and status.get("pid"):
        raise UsageError(f"run {run.id} is still {status['state']} (pid {status['pid']}); stop it first.")
    values = run.read_config()
    if values.get("kind") == "playground":
        raise UsageError(f"run {run.id} is a 2-D playground run, which keeps no checkpoint to resume from; start a new "
                         "one (`python -m training playground`, or the app's 2-D playground page).")
    stored = dict(values)
    for text in args.set or []:
        key, value = configs.parse_override(text)
        values[key] = value
    values.update(_overrides(args))
    config = configs.build_config(values)
    check_unchanged(run, stored, config)
    check_config(config)
    dataset = load_for_config(config)
    check_data(config, dataset)
    resumable = pick_checkpoint(run, config)
    check_steps(run, config, resumable)
    with RunLock.acquire(run, "resume") if main else nullcontext():
        if main:
            atomic_write_json(run.config_path, config.to_dict())
            # a run older than run uids, or whose status.json was lost, takes its checkpoint's (or a new one)
            owner = (resumable.state or {}).get("run") or {}
            run.write_status(state="queued", pid=os.getpid(), total_steps=config.steps, message="resuming",
                             run_uid=run.identity()["uid"] or owner.get("uid") or new_run_uid())
        state = run_training(config, run, dataset, resumable)
        return 0 if state in ("finished", "stopped") else 1


def cmd_export(args) -> int:
    run = find_run(args.run, Path(args.runs_dir))
    if args.hub:
        return export_to_hub(args, run)
    # torch and onnx, which only export needs
    from training.export.generator import checkpoint_path, export_run, model_files

    out = Path(args.out) if args.out else None
    if out is not None:  # the model, its card and the files that go with them: never over what a user owns
        check_output_file(out, "--out", (".onnx",), force=args.force, replaces=model_files(out)[1:], model=True)
    target = out or run.onnx_path
    # resolved: RUN/../RUN/x.onnx, or a link to the run's folder, writes into the run all the same
    in_place = run.path.resolve() in target.resolve().parents
    if in_place and (pid := holder(run)):
        raise RunBusy(run, pid, "export into")
    if not run.last_checkpoint.exists():
        raise UsageError(f"run {run.id} has no checkpoint yet; let it train to its first checkpoint.")
    checkpoint_path(run, args.checkpoint)  # best.pt exists? before the lock file is touched
    setup_logging(None, True)
    with RunLock.acquire(run, "export into") if in_place else nullcontext():
        path = export_run(run, out, half=args.fp16, checkpoint=args.checkpoint)
    print(path)
    return 0


def cmd_upgrade(args) -> int:
    if args.weights:  # new files beside MODEL, which stays as it is (a shipped one too)
        return upgrade_weights(args)
    model, out = Path(args.model), Path(args.out) if args.out else None
    if out is not None:  # the copy and its card and half copy, never over what a user owns
        siblings = [out.with_suffix(".json"), out.with_name(out.stem + ".fp16.onnx")]
        siblings += [out.with_suffix(".encoder.onnx")] if model.with_suffix(".encoder.onnx").is_file() else []
        check_output_file(out, "--out", (".onnx",), force=args.force, replaces=siblings,
                          inputs=[model, model.with_suffix(".json")], model=True)
    elif is_shipped(model):
        raise UsageError(f"{model} is shipped with GAN Studio: upgrade a copy (--out NEW.onnx) instead; a shipped "
                         "file is never replaced, even with --force.")
    from training.export.upgrade import upgrade_model  # onnx and torch (training.export.sefa): only this command needs them

    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
    changed = upgrade_model(Path(args.model), out, force=args.force)
    target = out or Path(args.model)
    print(f"{target}: " + ("; ".join(changed) if changed else "already current, nothing to do"))
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
    if Path(args.runs_dir).exists() and not Path(args.runs_dir).is_dir():
        raise UsageError(f"--runs-dir {args.runs_dir} is a file, not a folder of runs.")
    rows = []
    for run in list_runs(Path(args.runs_dir)):
        status = run.live_status()
        try:
            preset = run.read_config().get("preset", "?")
        except RunError:
            preset = "?"
        events = run.read_health()  # the health monitor's findings (training/runfolder/health.py)
        health = f"health: {health_line(events) if events else status.get('health') or '-'}"
        rows.append((run.id, status.get("state", "?"), f"{status.get('step', 0)}/{status.get('total_steps', '?')}",
                     preset, health, status.get("message", "")))
    if not rows:
        print(f"no runs in {args.runs_dir}")
        return 0
    widths = [max(len(str(r[i])) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + row[5])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m training", description="Train GANs; runs are folders.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_common(p):
        p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field (repeatable)")
        p.add_argument("--data-root", help="folder holding the dataset")
        p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the config's (auto)")

    p = sub.add_parser("train", help="start a new run from a preset")
    p.add_argument("--preset", help="a preset name: `python -m training presets` lists them")
    p.add_argument("--config", metavar="FILE", help="a YAML or JSON file of config values (on top of --preset if "
                   "given), e.g. a run's config.json")
    p.add_argument("--name", help="run name (default: the preset's); the run id adds the time")
    add_train_arguments(p)
    add_common(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("resume", help="continue a run from its last checkpoint")
    p.add_argument("run", help="run id or run folder")
    add_common(p)
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("export", help="write a run's generator as one ONNX file with its model card")
    p.add_argument("run", help="run id or run folder")
    p.add_argument("--out", help="the .onnx path (default: RUN/generator.onnx); the card goes beside it. Never inside "
                   "a run folder (leave --out out to export into the run), over another model's card or a shipped file")
    p.add_argument("--fp16", action="store_true", help="also write a half-precision copy (NAME.fp16.onnx) for the web")
    p.add_argument("--checkpoint", choices=("last", "best"), default="last",
                   help="last (default) or best: the lowest FID of the run's live evaluations (--set eval_every=N)")
    p.add_argument("--force", action="store_true", help="replace an existing --out, with its card, half-precision "
                   "copy and evaluation report")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR))
    add_export_arguments(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("upgrade", help="bring an older exported .onnx up to date (latent_scheme philox, SeFa "
                       "directions) by rewriting its metadata only; the card records it")
    p.add_argument("model", help="the exported generator (.onnx); its card and half-precision copy go along")
    p.add_argument("--out", help="write the upgraded copy here instead of replacing MODEL (never over a model's card, "
                   "a run's file or a shipped file)")
    p.add_argument("--force", action="store_true", help="replace MODEL in place (never a shipped one), or an existing "
                   "--out")
    add_upgrade_arguments(p)
    p.set_defaults(func=cmd_upgrade)

    p = sub.add_parser("presets", help="list presets, models, losses and datasets")
    p.add_argument("--json", action="store_true", help="machine-readable, for the app")
    p.add_argument("--fields", action="store_true", help="every config field with its type and help")
    p.set_defaults(func=cmd_presets)

    add_evaluate_parsers(sub, str(DEFAULT_RUNS_DIR))
    add_timelapse_parser(sub, str(DEFAULT_RUNS_DIR))
    add_sweep_parser(sub, str(DEFAULT_RUNS_DIR))
    add_playground_parser(sub)
    add_encoder_parser(sub)

    p = sub.add_parser("runs", help="every run's state at a glance")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR))
    p.set_defaults(func=cmd_runs)
    return parser



def main(argv: list[str] | None = None) -> int:
    return run_cli(build_parser(), argv, lambda args: args.func(args))

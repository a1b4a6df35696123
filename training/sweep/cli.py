"""``python -m training sweep``: run a worker of a study, or ``--report`` its best trials (docs/sweeps.md).

Everything is checked before a study or a run folder is touched: the space against the config's
field table, the base config's nets, the evaluator network, the data. Only then is the storage
opened, the study made or joined, and the first trial started.
"""
from __future__ import annotations

import sys
from pathlib import Path

from studio.cli import UsageError, check_output_file, check_range, check_writable_folder

MAX_SAMPLER_SEED = 2**32 - 1  # TPESampler seeds numpy's RandomState, which refuses anything larger


def add_parser(sub, runs_dir: str) -> None:
    """The `sweep` command."""
    p = sub.add_parser("sweep", help="hyperparameter search on Optuna: each trial a run folder; --report: the best")
    p.add_argument("--space", metavar="SPACE.yaml", help="the search space (sweeps/*.yaml, docs/sweeps.md)")
    p.add_argument("--preset", help="the preset every trial starts from (default: the space's `preset:`)")
    p.add_argument("--trials", type=int, default=20, help="results (complete + pruned trials) the study wants, "
                   "shared by all its workers (default 20)")
    p.add_argument("--study", help="the study's name (default: the space file's name); workers with the same "
                   "study and storage share it")
    p.add_argument("--storage", help="Optuna storage URL: default sqlite:///RUNS/sweeps.db; postgresql://... or "
                   "mysql://... for workers on several machines")
    p.add_argument("--runs-dir", default=runs_dir, help="where the trials' run folders go (default: runs)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a base config field (repeatable)")
    p.add_argument("--data-root", help="folder holding the dataset")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), help="default: the config's (auto)")
    p.add_argument("--heartbeat", type=int, default=60, metavar="S", help="seconds between a worker's heartbeats "
                   "(default 60); a trial silent for --grace is failed and queued again")
    p.add_argument("--grace", type=int, metavar="S", help="seconds without a heartbeat before a trial counts as "
                   "lost (default: twice --heartbeat)")
    p.add_argument("--sampler-seed", type=int, help="seed of Optuna's TPE sampler, for a repeatable study with one "
                   "worker (several workers with one seed would propose the same trials), 0 to 2**32 - 1; default: none")
    p.add_argument("--report", action="store_true", help="print the study's best trials and exit (no training)")
    p.add_argument("--top", type=int, default=10, help="--report: how many trials (default 10)")
    p.add_argument("--best-config", metavar="FILE.yaml", help="--report: also write the best trial's config there, "
                   "for `python -m training train --config FILE`")
    p.add_argument("--force", action="store_true", help="--best-config: replace an existing file (never a shipped "
                   "one, a file inside a run folder or a model's card)")
    p.set_defaults(func=cmd_sweep)


def _study_name(args) -> str:
    if args.study:
        return args.study
    if args.space:
        return Path(args.space).stem
    raise UsageError("name the study: --study NAME (or give --space, whose file name is the default)")


def cmd_sweep(args) -> int:
    # optuna and SQLAlchemy: only this command needs them, not `presets` or `runs`
    from training.sweep import study as studies

    if args.trials < 1 or args.top < 1 or args.heartbeat < 1 or (args.grace is not None and args.grace < 1):
        raise UsageError("--trials, --top, --heartbeat and --grace take whole numbers of at least 1")
    check_range("--sampler-seed", args.sampler_seed, 0, MAX_SAMPLER_SEED, "Optuna's sampler seeds numpy, which takes "
                "seeds below 2**32")
    if args.report:
        return _report(args, studies)
    if not args.space:
        raise UsageError("give the search space: --space SPACE.yaml (docs/sweeps.md; sweeps/ has examples)")
    from training.sweep.space import base_values, load_space  # after the cheap checks: it reads YAML files

    space = load_space(args.space)
    extra = {"data_root": args.data_root} if args.data_root else {}
    if args.device:
        extra["device"] = args.device
    base = base_values(space, args.preset, args.set or [], extra)
    name = _study_name(args)
    runs_dir = check_writable_folder(args.runs_dir, "--runs-dir")

    from training.log_setup import setup_logging  # with the worker: the report logs nothing
    from training.sweep.worker import Worker, preflight, pruner_for  # torch: only a worker needs it

    setup_logging(None, True)
    config, dataset = preflight(space, base)  # a bad space, config or dataset stops here: no study, no run
    url = args.storage or studies.default_storage(runs_dir)
    storage = studies.open_storage(url, args.heartbeat, args.grace)
    terms = studies.agreement(space.to_dict(), base, args.trials)
    study = studies.create_or_join(name, storage, terms, pruner=pruner_for(space.pruner), seed=args.sampler_seed)
    print(f"study {name} in {studies.redact(url)}: "
          f"{studies.results(study)} of {args.trials} results so far", file=sys.stderr)
    worker = Worker(study, space, base, Path(runs_dir), args.trials, poll_s=min(args.heartbeat, 5),
                    claim_file=studies.claim_file(url))
    worker.keep_dataset(config, dataset)
    ran = worker.run()
    print(f"this worker ran {ran} trial(s)", file=sys.stderr)
    print(_report_text(study, args.top))
    return 0 if studies.results(study) >= args.trials or worker.stopping else 1


def _report(args, studies) -> int:
    out = check_output_file(args.best_config, "--best-config", (".yaml", ".yml"), force=args.force,
                            inputs=[args.space] if args.space else ()) if args.best_config else None
    url = args.storage or studies.default_storage(args.runs_dir)
    if not args.storage and not (Path(args.runs_dir) / studies.DB_NAME).is_file():
        raise UsageError(f"no sweeps in {args.runs_dir} (no {studies.DB_NAME}); give --storage URL or --runs-dir")
    storage = studies.open_storage(url, heartbeat_s=None)
    study = studies.load_study(_study_name(args), storage)
    print(_report_text(study, args.top))
    if out is not None:
        from training.runfolder.files import atomic_write_bytes  # only when a file is written
        from training.sweep.report import best_config, config_text  # optuna, as in cmd_sweep

        atomic_write_bytes(out, config_text(*best_config(study)).encode())
        print(f"wrote the best trial's config to {out}", file=sys.stderr)
    return 0


def _report_text(study, top: int) -> str:
    from training.sweep.report import report  # optuna, as in cmd_sweep

    return report(study, top)

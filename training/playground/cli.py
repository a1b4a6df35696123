"""``python -m training playground``: train a 2-D GAN in a new run folder, live, under control.

    python -m training playground                         # the ring of 8 with the defaults
    python -m training playground --target grid --loss wgan-gp --n-critic 5 --pack 1
    python -m training playground --target points --points "0,0; 1,1; -1,1" --start pause

The app's 2-D playground page starts it this way; pause, single-step and stop go through the run
folder's control.json (``training.playground.files``), or SIGTERM.
"""
from __future__ import annotations

import os
import sys

from studio.cli import check_writable_folder
from training.log_setup import setup_logging
from training.playground import files
from training.playground.settings import LOSSES, RANGES, STARTS, Settings, check_settings
from training.playground.targets import TARGETS, parse_points
from training.runfolder.lock import RunLock
from training.runfolder.folder import DEFAULT_RUNS_DIR, create_run

DEFAULTS = Settings()


def settings_from_args(args) -> Settings:
    values = {name: getattr(args, name) for name in (*RANGES, "target", "loss", "start")
              if getattr(args, name, None) is not None}
    if args.points is not None:
        values["points"] = parse_points(args.points.replace(";", "\n")).tolist()
    return check_settings(values)


def cmd_playground(args) -> int:
    settings = settings_from_args(args)
    runs_dir = check_writable_folder(args.runs_dir, "--runs-dir")
    # torch: only training needs it, loaded before the folder exists so the run starts at once
    from training.playground.loop import run_playground

    run = create_run(runs_dir, args.name or f"playground-{settings.target}", settings.to_dict())
    files.write_initial_control(run, settings.start)
    with RunLock.acquire(run, "train"):
        run.write_status(pid=os.getpid(), message="starting")
        setup_logging(run, True)
        print(f"run folder: {run.path}", file=sys.stderr, flush=True)
        try:
            state = run_playground(settings, run)
        except BaseException as error:
            if run.path.is_dir():
                run.write_status(state="failed", message=f"{type(error).__name__}: {error}"[:300])
            raise
    return 0 if state in ("finished", "stopped") else 1


def add_parser(sub) -> None:
    p = sub.add_parser("playground", help="train a 2-D GAN live (the app's 2-D playground)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--target", choices=list(TARGETS), help=f"default {DEFAULTS.target}; "
                   + "; ".join(f"{k}: {v}" for k, v in TARGETS.items()))
    p.add_argument("--points", help="for --target points: 'x,y; x,y; ...' (at least 2 points)")
    p.add_argument("--loss", choices=list(LOSSES), help=f"default {DEFAULTS.loss}")
    p.add_argument("--start", choices=STARTS, help="play (default): train at once; pause: wait for the app")
    for name, (lo, hi, whole, what) in RANGES.items():
        p.add_argument("--" + name.replace("_", "-"), dest=name, type=int if whole else float,
                       help=f"{what} ({lo:g}..{hi:g}, default {getattr(DEFAULTS, name):g})")
    p.add_argument("--name", help="run name (default playground-TARGET); the run id adds the time")
    p.add_argument("--runs-dir", default=str(DEFAULT_RUNS_DIR), help="where run folders live (default: runs)")
    p.set_defaults(func=cmd_playground)


"""One training process at work on its run folder: logging, the progress bar, the trainer, and what
a failure leaves in the folder (`python -m training train` and `resume` end here, once every check
of ``preflight`` has passed and the process holds the run's lock). It builds the session from the
config (training/session.py) and hands it to a trainer."""
from __future__ import annotations

import logging
import sys
import time
from typing import Callable

from tqdm import tqdm

from studio.cli import is_user_error, one_line
from training import config as configs
from training.distributed import end_processes, init_processes
from training.log_setup import setup_logging
from training.preflight import Resumable
from training.runfolder.files import RunError, remove_temp_leftovers
from training.runfolder.folder import RunFolder
from training.session import Session, build_session
from training.trainer import Trainer

log = logging.getLogger("training")


def _progress_bar(total: int, initial: int, enabled: bool, health: Callable[[], str] = lambda: ""):
    """A tqdm bar on a terminal; in a log file, a plain line every 30 seconds instead. Both end with
    ``health()``, the health monitor's line (training/runfolder/health.py), when there is one."""
    if not enabled:
        return None, None
    if sys.stderr.isatty():
        bar = tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)

        def update(step: int, row: dict) -> None:
            bar.update(step - bar.n)
            bar.set_postfix({**{k: f"{row[k]:.3f}" for k in ("loss_d", "loss_g", "wasserstein") if k in row},
                             **({"health": health()} if health() else {})})

        return update, bar
    last = [0.0]

    def update(step: int, row: dict) -> None:
        if time.monotonic() - last[0] >= 30 or step == total:
            last[0] = time.monotonic()
            losses = ", ".join(f"{k} {row[k]:.4f}" for k in ("loss_d", "loss_g") if k in row)
            log.info("step %d/%d, %s, %s images/s%s", step, total, losses, row.get("images_per_s"),
                     f", health: {health()}" if health() else "")

    return update, None


def _record_failure(run: RunFolder, trainer: Trainer | None, error: BaseException) -> None:
    """Mark the run failed with the error's line; a user error's traceback stays out of the log.
    A run folder that is gone is not made again."""
    if is_user_error(error):
        log.error("run failed: %s", one_line(error).removeprefix("error: "))
    else:
        log.exception("run failed")
    if not run.path.is_dir():
        return
    fields = {"state": "failed", "message": f"{type(error).__name__}: {error}"}
    if trainer is not None:
        fields["step"] = trainer.step
    try:
        run.write_status(**fields)
    except RunError:
        pass


def remove_leftovers(run: RunFolder) -> None:
    """The temporary files of writes a killed process left (6.6 MB in one run), removed once the lock
    is ours: no other trainer of this run is alive to own them. Only the trainer writes checkpoints/
    and samples/; the folder itself may hold another process's write in progress, so only old ones go."""
    removed = [*remove_temp_leftovers(run.checkpoints_dir, min_age_s=0), *remove_temp_leftovers(run.samples_dir, 0),
               *remove_temp_leftovers(run.path)]
    if removed:
        log.info("removed %d temporary file(s) of killed writes (%.1f MB): %s", len(removed),
                 sum(size for _, size in removed) / 2**20, ", ".join(path.name for path, _ in removed))


def run_training(config: configs.Config, run: RunFolder, dataset=None, resumable: Resumable | None = None,
                 make_trainer: Callable[[Session, RunFolder], Trainer] = Trainer) -> str:
    """Train ``run`` (from ``resumable``'s checkpoint when given) and return its final state.
    ``make_trainer`` makes the trainer of the built session and the run: a sweep's trials use a
    Trainer that reports its evaluations (training.sweep.worker)."""
    processes, device = init_processes(config.device)
    setup_logging(run, processes.is_main)
    trainer = None
    try:
        if processes.is_main:
            remove_leftovers(run)
        resuming = resumable is not None and resumable.state is not None  # its checkpoint wins over init_from
        trainer = make_trainer(build_session(config, processes, device, dataset, load_init_from=not resuming), run)
        if resumable is not None and resumable.state is not None:
            for note in resumable.notes():
                log.warning(note)
            trainer.load_state_dict(resumable.state)
            if processes.is_main:
                run.truncate_metrics(trainer.step)
                log.info("resumed %s at step %d", run.id, trainer.step)
        if processes.is_main:
            log.info("run %s: %s on %s, %d images, %s, %d process(es)", run.id, config.model, config.dataset,
                     len(trainer.session.images), device, processes.world_size)
            if trainer.session.class_prior:
                log.info("classes: %d clusters found in the images, their shares %s", config.clusters,
                         " ".join(f"{share:.3f}" for share in trainer.session.class_prior))
        update, bar = _progress_bar(config.steps, trainer.step, processes.is_main, lambda: trainer.writer.health.line)
        state = trainer.train(update)
        if bar is not None:
            bar.close()
        if processes.is_main:
            log.info("%s: %s", state, run.read_status().get("message"))
        return state
    except BaseException as error:
        if processes.is_main and run is not None and not isinstance(error, SystemExit):
            _record_failure(run, trainer, error)
        raise
    finally:
        end_processes(processes)

"""One sweep worker: trials one at a time until the study has its number of results.

Each trial is an ordinary run folder (``<study>-t<number>-<time>``, its config recording
``sweep_study`` and ``sweep_trial``), trained in this process by the project's trainer, so it can
be watched, resumed and exported like any run. Its live evaluation rows (``eval_every``) are
reported to Optuna as intermediate values; when the pruner says the trial has fallen behind, the
trainer stops at the next step (checkpoint kept) and the trial is marked pruned in the study and
in its run's status (``state: pruned``). The objective is the FID of the evaluation at the trial's
last step: the budget.

Several workers share a study through its storage. A worker waits while the remaining trials are
running elsewhere; a trial whose worker died (no heartbeat for the grace period) is failed and a
copy of it queued with its run folder, which the next worker resumes from its last checkpoint
(on another machine, where that folder is not, the copy starts afresh).
"""
from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna
from optuna.trial import TrialState

from studio.errors import UserError
from training import config as configs
from training.data.dataset import data_key
from training.preflight import check_config, check_data, pick_checkpoint, registry_names
from training.runfolder.lock import RunLock
from training.runfolder.files import RunError, atomic_write_json
from training.runfolder.folder import RunFolder, create_run, find_run
from training.data.dataset import load_for_config
from training.process import run_training
from training.session import Session
from training.sweep.space import SearchSpace, SpaceError, check_space
from training.sweep.study import StudyError, counts, quiet, retry_callback
from training.trainer import Trainer

log = logging.getLogger("training")
MAX_FAILURES_IN_A_ROW = 3
# Searched fields whose every value preflight builds the nets and loss for (a pairing that cannot work fails there).
PAIRING_FIELDS = {"model", "loss", "pack", "conditional", "image_size", "channels", "latent_dim"}


class TrialFailed(RuntimeError):
    """A trial that gave no result (no evaluation, diverged nets, a config that does not train)."""


class WorkerStopping(Exception):
    """The worker was asked to stop (SIGTERM, SIGINT) while training a trial."""


def pruner_for(spec: dict[str, Any]) -> optuna.pruners.BasePruner:
    warmup = int(spec.get("warmup_steps", 0))
    if spec["type"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(spec.get("startup_trials", 5)), n_warmup_steps=warmup)
    if spec["type"] == "threshold":
        return optuna.pruners.ThresholdPruner(upper=float(spec["upper"]), n_warmup_steps=warmup)
    return optuna.pruners.NopPruner()


class TrialTrainer(Trainer):
    """A Trainer whose live evaluations go to ``report(step, fid)``; it stops when that says prune."""

    def __init__(self, session: Session, run: RunFolder | None, report: Callable[[int, float], bool]):
        super().__init__(session, run)
        self.report = report
        self.pruned_at: tuple[int, float] | None = None

    def evaluate(self) -> float:
        spent = super().evaluate()
        fid = eval_fid(self.writer.run, self.step) if self.writer.writes else None
        if fid is not None and self.report(self.step, fid) and self.step < self.config.steps:
            self.pruned_at = (self.step, fid)
            self.stop_requested = True  # the loop checkpoints after the next step and ends as stopped
        return spent


def eval_rows(run: RunFolder, up_to: int | None = None) -> list[dict[str, Any]]:
    return [r for r in run.read_metrics() if r.get("kind") == "eval" and isinstance(r.get("fid"), (int, float))
            and (up_to is None or r["step"] <= up_to)]


def eval_fid(run: RunFolder, step: int) -> float | None:
    return next((float(r["fid"]) for r in reversed(eval_rows(run)) if r["step"] == step), None)


@dataclass
class Worker:
    study: optuna.Study
    space: SearchSpace
    base: dict[str, Any]          # the config values every trial starts from
    runs_dir: Path
    trials: int                   # results (complete + pruned) the study wants
    poll_s: float = 5.0
    claim_file: Path | None = None  # SQLite: the lock file beside the database (study.claim_file)
    _data: dict = field(default_factory=dict)
    _claim_fd: int | None = None
    stopping: bool = False

    # ------------------------------------------------------------------ the loop
    def run(self) -> int:
        """Trials until the study has its results; returns how many trials this worker ran."""
        ran, failures = 0, 0
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                self._claim()
                try:
                    with quiet():
                        optuna.storages.fail_stale_trials(self.study)
                    state = counts(self.study)
                    done = state["complete"] + state["pruned"]
                    if done >= self.trials:
                        break
                    if not state["waiting"] and done + state["running"] >= self.trials:
                        self._release()
                        time.sleep(self.poll_s)  # the last trials run elsewhere; they end, or go stale and come back
                        continue
                    number = self._one_trial()  # the objective releases the claim once its trial exists
                finally:
                    self._release()
                ran += 1
                trial = self.study.get_trials(deepcopy=False)[number] if number is not None else None
                failures = failures + 1 if trial is not None and trial.state == TrialState.FAIL else 0
                if failures >= MAX_FAILURES_IN_A_ROW:
                    raise StudyError(f"{failures} trials in a row failed (the last: trial {number}, "
                                     f"{trial.user_attrs.get('error', 'see the log')}); fix the space or the base "
                                     "config, then start the workers again.")
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if self._claim_fd is not None:
                os.close(self._claim_fd)
                self._claim_fd = None
        return ran

    def _claim(self) -> None:
        """On one machine (SQLite), counting the trials and asking for the next one happen under a file
        lock, so two workers never both take the study's last trial. Between machines the objective's
        own check (``_surplus``) catches that rare case."""
        if self.claim_file is None:
            return
        if self._claim_fd is None:
            self._claim_fd = os.open(self.claim_file, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._claim_fd, fcntl.LOCK_EX)

    def _release(self) -> None:
        if self._claim_fd is not None:
            fcntl.flock(self._claim_fd, fcntl.LOCK_UN)

    def _surplus(self, trial: optuna.Trial) -> bool:
        """Whether the trials numbered before this one already make the study's results."""
        ahead = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED,
                                                              TrialState.RUNNING))
        return sum(1 for t in ahead if t.number < trial.number) >= self.trials

    def _stop(self, signum, frame) -> None:
        log.warning("%s: the worker stops after this trial", signal.Signals(signum).name)
        self.stopping = True

    def _one_trial(self) -> int | None:
        numbers: list[int] = []

        def objective(trial: optuna.Trial) -> float:
            numbers.append(trial.number)
            self._release()
            if self._surplus(trial):
                trial.set_user_attr("error", "surplus")
                raise TrialFailed(f"trial {trial.number} is not needed: the study has its {self.trials} trials "
                                  "(another worker asked at the same moment)")
            return self.objective(trial)

        try:
            self.study.optimize(objective, n_trials=1, catch=(TrialFailed, UserError))
        except WorkerStopping:
            self.stopping = True
            if numbers:  # the stopped trial ran as FAIL; queue it again, with its run folder, for any worker
                trial = self.study.get_trials(deepcopy=True)[numbers[0]]
                retry_callback()(self.study, trial)
        return numbers[0] if numbers else None

    # ------------------------------------------------------------------ one trial
    def objective(self, trial: optuna.Trial) -> float:
        params = self.space.suggest(trial)
        run, config, resumable = self._trial_run(trial, params)
        trial.set_user_attr("run", run.id)
        trial.set_user_attr("host", socket.gethostname())
        for row in eval_rows(run, resumable.step if resumable else 0):  # a resumed trial's earlier evaluations
            trial.report(float(row["fid"]), int(row["step"]))
        made: list[TrialTrainer] = []

        def report(step: int, fid: float) -> bool:
            trial.report(fid, step)
            return trial.should_prune()

        def make_trainer(session: Session, run: RunFolder) -> TrialTrainer:
            made.append(TrialTrainer(session, run, report=report))
            return made[-1]

        if resumable is None or resumable.step < config.steps:
            dataset = self._dataset(config)
            with RunLock.acquire(run, "train"):
                run.write_status(pid=os.getpid(), message=f"trial {trial.number} of study {self.study.study_name}")
                state = run_training(config, run, dataset, resumable, make_trainer=make_trainer)
        else:  # trained to its budget before its worker died: its last evaluation is the result
            state = "finished"
            run.write_status(state="finished", step=resumable.step, message=f"finished at step {resumable.step} "
                             f"of {config.steps} (trial {trial.number} took its result)")
        trainer = made[-1] if made else None
        if trainer is not None and trainer.pruned_at is not None:
            step, fid = trainer.pruned_at
            message = (f"pruned by study {self.study.study_name} at step {step} of {config.steps}: FID {fid:.3f} fell "
                       "behind the other trials (resume it to train on)")
            run.write_status(state="pruned", message=message)
            trial.set_user_attr("ended", "pruned")
            raise optuna.TrialPruned(message)
        if state == "diverged":
            trial.set_user_attr("ended", "diverged")
            raise optuna.TrialPruned(f"run {run.id} diverged: {run.read_status().get('message', '')}")
        if state == "stopped":
            raise WorkerStopping(f"the worker was asked to stop; trial {trial.number} (run {run.id}, step "
                                 f"{made[-1].step if made else '?'}) is queued again")
        fid = eval_fid(run, config.steps)
        if fid is None:
            trial.set_user_attr("error", f"no evaluation at step {config.steps}")
            raise TrialFailed(f"run {run.id} has no evaluation at its last step {config.steps} (see its log.txt)")
        trial.set_user_attr("ended", "complete")
        return fid

    def _trial_run(self, trial: optuna.Trial, params: dict[str, Any]):
        """The trial's run folder, config and checkpoint: a new folder, or the one of the trial it retries."""
        extra = {k: self.base[k] for k in ("data_root", "device") if k in self.base}
        previous = trial.user_attrs.get("run")
        if previous:
            try:
                run = find_run(previous, self.runs_dir)
            except RunError:
                log.warning("trial %d retries run %s, which is not in %s: starting it afresh", trial.number,
                            previous, self.runs_dir)
            else:
                values = {**run.read_config(), **extra, "sweep_trial": trial.number}
                config = configs.build_config(values)
                check_config(config)
                resumable = pick_checkpoint(run, config)
                if resumable.state is None:  # lost before its first checkpoint: it starts over, in its own folder
                    run.truncate_metrics(0)
                atomic_write_json(run.config_path, config.to_dict())
                # no pid until the lock is taken: a status's pid counts only while it holds the run's lock
                run.write_status(state="queued", pid=None, total_steps=config.steps,
                                 message=f"resuming as trial {trial.number}")
                log.info("trial %d resumes run %s at step %d", trial.number, run.id, resumable.step)
                return run, config, resumable
        config = configs.build_config({**self.base, **params, "sweep_study": self.study.study_name,
                                       "sweep_trial": trial.number})
        try:
            check_config(config)
        except configs.ConfigError as error:
            trial.set_user_attr("error", str(error))
            raise
        run = create_run(self.runs_dir, f"{self.study.study_name}-t{trial.number}", config.to_dict())
        log.info("trial %d: run %s with %s", trial.number, run.id, params)
        return run, config, None

    def keep_dataset(self, config: configs.Config, dataset) -> None:
        self._data[self._key(config)] = dataset

    @staticmethod
    def _key(config: configs.Config) -> tuple:
        return data_key(config)

    def _dataset(self, config: configs.Config):
        key = self._key(config)
        if key not in self._data:
            self._data[key] = load_for_config(config)
        check_data(config, self._data[key])
        return self._data[key]


def preflight(space: SearchSpace, base: dict[str, Any]):
    """Everything that can be checked before the first trial: the space against the field table and the
    registries, the base config's nets, an evaluator network for the dataset, and the data. Returns
    the base config and its data (which the worker keeps for its trials)."""
    # onnxruntime: the evaluator's module loads it, and only a worker that is about to train needs it
    from evaluation.errors import EvaluationError
    from evaluation.evaluators import evaluator_path

    config = check_space(space, base, registry_names())
    check_config(config)
    for param in space.params.values():  # the values that change which nets or loss a trial builds
        if param.name in PAIRING_FIELDS:
            for value in param.candidates():
                try:
                    check_config(configs.build_config({**base, param.name: value}))
                except configs.ConfigError as error:
                    raise SpaceError(f"search.{param.name}: the value {value!r} makes a config that cannot train: "
                                     f"{error}") from None
    try:
        evaluator_path(config.dataset)
    except EvaluationError as error:
        raise SpaceError(f"the trials cannot be scored: {error}") from None
    dataset = load_for_config(config)
    check_data(config, dataset)
    return config, dataset

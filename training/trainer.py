"""The training loop: one GAN step at a time, until the run is finished, stopped or diverged.

A ``Trainer`` runs a built ``Session`` (training/session.py: the data, nets, loss, optimisers and
the rest, made from the config by ``build_session``) on a run folder: ``Trainer(build_session(config),
run)``. Everything that decides what happens next (weights, optimiser moments, EMA, the data order,
every RNG, the log accumulators) goes into each checkpoint, so a resumed run continues exactly where
the checkpoint was; in deterministic mode it logs the very numbers an uninterrupted run logs.

The rooms around the loop: ``session`` (the parts), ``step`` (one GAN step: n_critic updates of D,
g_steps of G, the EMA), ``distributed`` (agreeing to stop or to declare divergence), ``run_writer``
(all that reaches the run folder), ``stop_signals`` and the live evaluation (``Trainer.score``,
through ``evaluate``).
"""
from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable

import torch
from torch import nn

from training.checkpoint import load_checkpoint
from training.distributed import agree, gather
from training.evaluate import live_scores
from training.run_writer import RunWriter, sample_grid
from training.runfolder.folder import RunFolder
from training.session import Session
from training.step import StepStats, training_step
from training.stop_signals import stop_on_signals

log = logging.getLogger("training")


class Diverged(Exception):
    pass


class Trainer:
    """Trains ``session`` to ``config.steps``, writing to ``run`` (None: writes nothing, as every
    rank but 0). ``config`` is the session's; the loop reads its schedule fields (steps, log_every,
    sample_every, checkpoint_every, eval_every) from there at every step."""

    def __init__(self, session: Session, run: RunFolder | None):
        self.session, self.config = session, session.config
        c, processes = session.config, session.processes
        # Only rank 0 writes the run folder; the others' writer writes nothing.
        grid = sample_grid(c, session.num_classes, session.device)
        self.writer = RunWriter(run if processes.is_main else None, c, grid)
        self.images_per_step = c.n_critic * c.batch_size * processes.world_size
        self.step, self.elapsed, self.images_seen = 0, 0.0, 0
        self.stop_requested = False
        self.ranks: list[dict[str, Any]] | None = None  # every process's own state, gathered for a checkpoint
        self.eval_off = False  # set when evaluation failed once (e.g. no evaluator network for the dataset)

    def train_step(self, measure_grads: bool = False) -> StepStats:
        stats = training_step(self.session, self.step, measure_grads)
        self.images_seen += self.images_per_step
        return stats

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        s = self.session
        return {
            "step": self.step, "epoch": s.order.epoch, "elapsed": self.elapsed, "images_seen": self.images_seen,
            "generator": s.G.state_dict(), "discriminator": s.D.state_dict(),
            "ema": s.ema.model.state_dict() if s.ema else None,
            "opt_g": s.opt_g.state_dict(), "opt_d": s.opt_d.state_dict(),
            "scaler_g": s.scaler_g.state_dict() if s.scaler_g else None,
            "scaler_d": s.scaler_d.state_dict() if s.scaler_d else None,
            "precision": str(s.precision),
            "order": s.order.state_dict(), "augment": s.augment.state_dict(), **self.writer.state_dict(),
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if s.device.type == "cuda" else [],
            "config": self.config.to_dict(), "num_classes": s.num_classes, "class_names": s.class_names,
            "class_prior": s.class_prior,
            "ranks": self.ranks if s.processes.distributed else None,
        }

    def own_state(self) -> dict[str, Any]:
        """What differs between the processes of one run: each draws its own noise and counts its own
        adaptive-augmentation signs. Rank 0's alone would restart the others' streams at a resume."""
        s = self.session
        return {"rng_cpu": torch.get_rng_state(), "augment": s.augment.state_dict(),
                "rng_cuda": torch.cuda.get_rng_state(s.device) if s.device.type == "cuda" else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        s, c = self.session, self.config
        s.G.load_state_dict(state["generator"])
        s.D.load_state_dict(state["discriminator"])
        if s.ema:  # a run resumed with ema=true for the first time starts its average at G, not at init
            s.ema.model.load_state_dict(state["ema"] if state["ema"] is not None else state["generator"])
        # An optimizer's state dict carries its hyperparameters too: without resetting them, a resume
        # with `--set lr_d=...` (the advice for a diverging run) would silently keep the old rates.
        for optimizer, saved, lr in ((s.opt_g, state["opt_g"], c.lr_g), (s.opt_d, state["opt_d"], c.lr_d)):
            optimizer.load_state_dict(saved)
            for group in optimizer.param_groups:
                group["lr"] = lr
                if "betas" in group:
                    group["betas"] = (c.beta1, c.beta2)
        # A checkpoint's tensors are fp32 under any precision; only an fp16 run's loss scale carries over.
        for scaler, key in ((s.scaler_g, "scaler_g"), (s.scaler_d, "scaler_d")):
            if scaler is not None and state.get(key):
                scaler.load_state_dict(state[key])
        s.order.load_state_dict(state["order"])
        if state.get("augment"):  # an adaptive run's p; older checkpoints and fixed policies have none
            s.augment.load_state_dict(state["augment"])
        self.step, self.elapsed, self.images_seen = state["step"], state["elapsed"], state["images_seen"]
        self.writer.load_state_dict(state)
        ranks = state.get("ranks")
        if ranks and len(ranks) == s.processes.world_size:  # every process takes up its own streams
            mine = ranks[s.processes.rank]
            torch.set_rng_state(mine["rng_cpu"])
            s.augment.load_state_dict(mine["augment"])
            if mine["rng_cuda"] is not None and s.device.type == "cuda":
                torch.cuda.set_rng_state(mine["rng_cuda"], s.device)
        elif s.processes.is_main:  # one process, or another number of them: the others start anew, per rank
            torch.set_rng_state(state["rng_cpu"])
            if state["rng_cuda"] and s.device.type == "cuda":
                torch.cuda.set_rng_state_all(state["rng_cuda"])

    def resume_from(self, run: RunFolder) -> None:
        self.load_state_dict(load_checkpoint(run.last_checkpoint, self.session.device))

    # ------------------------------------------------------------------ samples and evaluation
    @property
    def sampling_generator(self) -> nn.Module:
        return self.session.ema.model if self.session.ema else self.session.G

    def write_samples(self) -> None:
        self.writer.write_samples(self.sampling_generator, self.step)

    def score(self) -> dict[str, Any]:
        """The live evaluation of ``sampling_generator``, flat as an eval row holds it:
        ``eval_samples`` samples from fixed latents with their own RNG (seed + 3; the training RNG
        stream is untouched), scored by the dataset's evaluator network, or for a dataset without one (a
        folder) in Inception-v3 features against all its images (10 KID subsets: fast)."""
        return live_scores(self.sampling_generator, self.config, self.config.eval_samples, seed=self.config.seed + 3,
                           source=f"step {self.step}", kid_subsets=10, prior=self.session.class_prior)

    def evaluate(self) -> float:
        """Score the generator, append a ``kind: eval`` row and keep the best-FID checkpoint as
        checkpoints/best.pt. Returns the seconds spent. A dataset without an evaluator network
        turns evaluation off with one warning; it never stops training."""
        start = time.perf_counter()
        if self.eval_off:
            return 0.0
        try:
            scores = self.score()
        except Exception as error:  # noqa: BLE001 - evaluation is an extra, never a reason to fail a run
            log.warning("evaluation turned off for this run: %s", error)
            self.eval_off = True
            return time.perf_counter() - start
        self.writer.write_evaluation(self.step, self.session.order.epoch, self.elapsed, scores,
                                     time.perf_counter() - start, self.state_dict)
        return time.perf_counter() - start

    # ------------------------------------------------------------------ the loop
    def request_stop(self, signal_name: str) -> None:
        """Finish the current step, checkpoint and end as ``stopped`` (SIGTERM, SIGINT)."""
        if not self.stop_requested:
            self.writer.stopping(signal_name)
        self.stop_requested = True

    def train(self, progress: Callable[[int, dict], None] | None = None) -> str:
        """Train to ``config.steps``; returns the final state (finished, stopped or diverged)."""
        try:
            return self._train(progress)
        finally:
            self.writer.close()  # the TensorBoard file too, whatever ended the run

    def _train(self, progress: Callable[[int, dict], None] | None) -> str:
        c, writer = self.config, self.writer
        with stop_on_signals(self.request_stop):
            writer.started(self.step, self.session.order.epoch, self.session.device, self.session.precision)
            if self.step == 0:
                self.write_samples()
            try:
                self._loop(progress)
            except Diverged as error:
                message = (f"diverged at step {self.step + 1}: {error}. The last good checkpoint is kept; "
                           "lower the learning rates and resume, e.g. `python -m training resume RUN --set lr_d=...`.")
                log.error(message)
                writer.diverged(self.step, message)
                return "diverged"
            # Under our handlers still: a second Stop (SIGTERM) now must not kill the run unfinished.
            state = "stopped" if self.step < c.steps else "finished"
            if state == "finished" and self.step % c.sample_every:
                self.write_samples()
            writer.ended(state, self.step, self.session.order.epoch)
        return state

    def _loop(self, progress: Callable[[int, dict], None] | None) -> None:
        c, writer = self.config, self.writer
        interval_start, interval_images = time.perf_counter(), self.images_seen
        step_start = time.perf_counter()
        while self.step < c.steps:
            log_step = (self.step + 1) % c.log_every == 0 or self.step + 1 == c.steps
            stats = self.train_step(measure_grads=log_step)
            losses = {k: stats[k] for k in ("loss_d", "loss_g")}
            nonfinite = not all(math.isfinite(float(v)) for v in losses.values())
            stop, nonfinite = agree(self.session.processes, self.session.device, self.stop_requested, nonfinite)
            if nonfinite:
                raise Diverged(", ".join(f"{k}={float(v)}" for k, v in losses.items()))
            self.step += 1
            now = time.perf_counter()
            self.elapsed += now - step_start
            step_start = now
            writer.accumulate(stats)
            if log_step:
                row = writer.flush(self.step, self.session.order.epoch, self.elapsed, now - interval_start,
                                   self.images_seen - interval_images)
                interval_start, interval_images = now, self.images_seen
                if progress:
                    progress(self.step, row)
                writer.progress(self.step, self.session.order.epoch, row, (c.steps - self.step) * self.images_per_step)
            if self.step % c.sample_every == 0:
                self.write_samples()
            save = self.step % c.checkpoint_every == 0 or stop or self.step == c.steps
            scoring = c.eval_every and (self.step % c.eval_every == 0 or self.step == c.steps)  # keeps best.pt
            if (save or scoring) and self.session.processes.distributed:  # every process, at the same step
                self.ranks = gather(self.own_state(), self.session.processes)
            if writer.writes and save:
                writer.write_checkpoint(self.state_dict(), self.step)
            if writer.writes and scoring:
                spent = self.evaluate()  # its time is not training time
                step_start += spent
                interval_start += spent
            if stop:
                break

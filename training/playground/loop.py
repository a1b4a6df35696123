"""The playground's trainer: trains a ToyGAN in its run folder, obeying the app's control file.

Between two updates it rereads ``control.json`` (``files``): play, pause, single steps (each one
D update then one G update) and stop. It writes ``snapshot.json`` atomically and a metrics row
every ``snapshot_every`` G steps, after each single step and when it pauses, so the app always
reads a whole snapshot. SIGTERM and SIGINT (the app's Stop, Ctrl-C) end it as ``stopped`` after
the update under way; reaching ``steps`` ends it as ``finished``; a pause longer than
``IDLE_LIMIT_S`` stops it, so a forgotten tab does not keep a process alive for ever.
"""
from __future__ import annotations

import logging
import os
import time

import numpy as np
import torch

from evaluation.metrics.toy import toy_metrics
from training.playground import files
from training.playground.nets import ToyGAN
from training.playground.settings import Settings
from training.playground.targets import make_target
from training.runfolder.files import atomic_write_json, now_iso
from training.runfolder.folder import RunFolder
from training.stop_signals import stop_on_signals

log = logging.getLogger("training")

GRID = 48            # the surface's resolution per axis
SHOWN = 840          # G's samples drawn (840 = a whole number of packs for every pack up to 8)
REAL_SHOWN = 500
ARROWS = 120         # of the samples shown, how many carry an arrow
EVAL_N = 2500        # samples the toy metrics score (the benchmark's number)
IDLE_LIMIT_S = 1800.0
PAUSED_POLL_S = 0.05


def build_gan(settings: Settings) -> ToyGAN:
    target = make_target(settings.target, settings.points, settings.point_std)
    knobs = {k: getattr(settings, k) for k in ("loss", "lr_g", "lr_d", "n_critic", "g_width", "d_width", "depth",
                                               "pack", "batch_size", "latent_dim", "clip_value", "gp_lambda", "seed")}
    return ToyGAN(target, **knobs)


def _finite(value: float) -> float | None:
    return round(float(value), 6) if np.isfinite(value) else None


class Snapshots:
    """Fixed latents and view for the whole run, so successive snapshots are comparable."""

    def __init__(self, gan: ToyGAN, run: RunFolder, seed: int):
        self.gan, self.run = gan, run
        self.z = gan.noise(SHOWN, torch.Generator().manual_seed(seed + 1))
        x0, x1, y0, y1 = gan.target.bounds()
        self.bounds = [x0, x1, y0, y1]
        self.xs, self.ys = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
        self.real = gan.target.sample(REAL_SHOWN, np.random.default_rng(seed + 2))
        self.eval_seed = seed + 3
        self.started = time.monotonic()

    def write(self, mode: str, served: int) -> dict:
        gan = self.gan
        fake, pull = gan.generator_pull(self.z)
        scored = gan.samples(EVAL_N, self.eval_seed)
        metrics = toy_metrics(scored, gan.target.centres, gan.target.std) if np.isfinite(scored).all() else \
            {"modes_covered": 0, "num_modes": len(gan.target.centres), "high_quality_share": 0.0, "reverse_kl": np.inf}
        metrics = {k: (_finite(v) if isinstance(v, float) else v) for k, v in metrics.items()}
        losses = {k: _finite(v) for k, v in gan.last.items()}
        row = {"step": gan.g_steps, "d_steps": gan.d_steps, "g_steps": gan.g_steps,
               "time": round(time.monotonic() - self.started, 3), **losses, **metrics}
        snapshot = {**row, "mode": mode, "served_step_requests": served, "written": now_iso(),
                    "loss": gan.loss, "pack": gan.pack, "bounds": [round(b, 4) for b in self.bounds],
                    "surface_kind": "probability" if gan.loss in ("minimax", "non-saturating") else "score",
                    "grid": {"xs": self.xs.round(4).tolist(), "ys": self.ys.round(4).tolist(),
                             "z": np.nan_to_num(gan.surface(self.xs, self.ys)).round(4).tolist()},
                    "real": self.real.round(4).tolist(),
                    "fake": np.nan_to_num(fake).round(4).tolist(),
                    "arrows": np.nan_to_num(pull[:ARROWS]).round(5).tolist(),
                    "centres": gan.target.centres.round(4).tolist(), "std": gan.target.std}
        atomic_write_json(files.snapshot_path(self.run), snapshot)
        self.run.append_metrics(row)
        return snapshot


def run_playground(settings: Settings, run: RunFolder) -> str:
    """Train until ``settings.steps`` G steps, a stop request or a signal; returns the final state."""
    torch.set_num_threads(1)  # one core each: the playground shares the machine with the app
    gan = build_gan(settings)
    shots = Snapshots(gan, run, settings.seed)
    stop_reason: list[str] = []
    mode, served, paused_since, state = settings.start, 0, None, "finished"
    with stop_on_signals(stop_reason.append):
        run.write_status(state="running", pid=os.getpid(), step=0, total_steps=settings.steps, started=now_iso(),
                         d_steps=0, g_steps=0, message=f"{'playing' if mode == 'play' else 'paused'}")
        shots.write(mode, served)
        while gan.g_steps < settings.steps:
            if stop_reason:
                state = "stopped"
                break
            control = files.read_control(run)
            if control is not None:
                if control["stop"]:
                    stop_reason.append("the app's Stop")
                    continue
                mode = control["mode"]
                if control["step_requests"] > served:
                    gan.d_step()
                    gan.g_step()
                    served += 1
                    _report(run, shots, gan, "pause", served, "paused (single step)")
                    paused_since = time.monotonic()
                    continue
                served = min(served, control["step_requests"])   # a control file written afresh
            if mode == "pause":
                if paused_since is None:
                    paused_since = time.monotonic()
                    _report(run, shots, gan, mode, served, "paused")
                elif time.monotonic() - paused_since > IDLE_LIMIT_S:
                    stop_reason.append(f"paused for {IDLE_LIMIT_S / 60:.0f} minutes")
                time.sleep(PAUSED_POLL_S)
                continue
            if paused_since is not None:
                paused_since = None
                run.write_status(message="playing")
            gan.iteration()
            if gan.g_steps % settings.snapshot_every == 0 or gan.g_steps == settings.steps:
                _report(run, shots, gan, mode, served, "playing")
        if stop_reason:
            state = "stopped"
        # Still inside stop_on_signals: a second Stop's SIGTERM must not kill the run unfinished.
        why = f"stopped ({stop_reason[0]})" if stop_reason else f"finished {settings.steps} steps"
        shots.write("pause", served)
        run.write_status(state=state, step=gan.g_steps, d_steps=gan.d_steps, g_steps=gan.g_steps, message=why)
    log.info("playground %s: %s at D step %d, G step %d", run.id, why, gan.d_steps, gan.g_steps)
    return state


def _report(run: RunFolder, shots: Snapshots, gan: ToyGAN, mode: str, served: int, message: str) -> None:
    snap = shots.write(mode, served)
    run.write_status(state="running", step=gan.g_steps, d_steps=gan.d_steps, g_steps=gan.g_steps,
                     message=f"{message}: {snap['modes_covered']}/{snap['num_modes']} modes, "
                             f"{snap['high_quality_share']:.0%} high quality")


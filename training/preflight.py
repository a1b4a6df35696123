"""What ``train`` and ``resume`` check before a run folder is made or written: the config against
the registries and the device, the batch against the data, and which checkpoint a resume can use.

A check that fails here raises a user error (ConfigError, CheckpointError) and leaves the disk as
it was: no half-made run folder, no run marked failed at step 0.
"""
from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training import config as configs
from training.checkpoint import CheckpointError, load_checkpoint, owner_problem, predates_identity
from training.distributed import pick_device
from training.losses import build_loss
from training.models import build_models
from training.precision import choose
from training.registry import REGISTRIES
from training.runfolder.files import RunError, rows_file_problem
from training.runfolder.folder import RunFolder

# What a run trains on and what it trains, fixed for its life: a resume that changed one would go on
# training the same weights on other data (or other images, or another game) under the run's name.
FIXED_ON_RESUME = ("dataset", "data_root", "image_size", "channels", "transparency", "background", "model",
                   "conditional", "latent_dim", "latent_distribution", "latent_bound", "loss", "g_width", "d_width",
                   "pack")
# What every checkpoint a trainer writes holds (Trainer.state_dict): a file without them is not one.
CHECKPOINT_KEYS = ("step", "generator", "discriminator", "opt_g", "opt_d", "order", "log_sums", "log_count",
                   "elapsed", "images_seen", "rng_cpu")


def registry_names() -> dict[str, list[str]]:
    return {kind: registry.names() for kind, registry in REGISTRIES.items()}


def check_config(config: configs.Config) -> None:
    """The names against the registries, the device and precision, and the nets built once."""
    configs.check_names(config, registry_names())
    choose(config.precision, pick_device(config.device))
    models = build_models(config, 10 if config.conditional else 0)
    build_loss(config).check_models(models.discriminator)


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def check_data(config: configs.Config, dataset, processes: int | None = None) -> None:
    """The batch against the images each of the ``processes`` gets (default: torchrun's count), and
    labels for a conditional run."""
    n, processes = len(dataset.images), processes or world_size()
    each = n // processes
    if config.batch_size > each:
        fits = each - each % config.pack
        per = f" ({each:,} for each of {processes} processes)" if processes > 1 else ""
        fix = f"lower it (e.g. --set batch_size={fits})" if fits >= 1 else "add images"
        raise configs.ConfigError(f"batch_size {config.batch_size} is larger than the {n:,} images of "
                                  f"{config.dataset} here{per}: {fix}.")
    if config.conditional and len(dataset.class_names) < 2:
        raise configs.ConfigError(f"conditional=true needs a labelled dataset; {config.dataset} has "
                                  f"{len(dataset.class_names)} classes here (a folder needs one subfolder per class).")


@dataclass
class Resumable:
    """The checkpoint a resume continues from (state None: the run saved none yet, so it starts at
    step 0), and a note for each newer file it had to pass over."""
    state: dict[str, Any] | None = None
    path: Path | None = None
    passed_over: list[str] = field(default_factory=list)

    @property
    def step(self) -> int:
        return int(self.state["step"]) if self.state else 0

    def notes(self) -> list[str]:
        notes = []
        if self.passed_over:
            notes.append(f"cannot resume from {'; '.join(self.passed_over)}; resuming from {self.path.name} "
                         f"(step {self.step}) instead")
        if predates_identity(self.state):
            notes.append(f"{self.path.name} was written before checkpoints named their run: taken as this run's own")
        return notes


def _first_line(text: str, limit: int = 240) -> str:
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _unusable(state: Any, config: configs.Config, run: RunFolder) -> str | None:
    """Why ``state`` cannot be resumed as ``run`` with ``config`` (None when it can): not a trainer's
    checkpoint, another run's (even with nets of the same shapes), or nets of another shape."""
    if not isinstance(state, dict):
        return f"it holds a {type(state).__name__}, not a training checkpoint"
    missing = [key for key in CHECKPOINT_KEYS if key not in state]
    if missing:
        return f"not a training checkpoint (no {', '.join(missing[:3])})"
    foreign = owner_problem(state, run)
    if foreign:
        return foreign
    try:
        models = build_models(config, int(state.get("num_classes") or 0))
        models.generator.load_state_dict(state["generator"])
        models.discriminator.load_state_dict(state["discriminator"])
    except Exception as error:  # noqa: BLE001 - any failure to load means: not this run's nets
        return f"its nets do not fit this run's config ({_first_line(error)})"
    return None


def pick_checkpoint(run: RunFolder, config: configs.Config) -> Resumable:
    """checkpoints/last.pt, or when it is damaged or foreign the newest step_*.pt that loads; each is
    read with weights_only=True, so a crafted pickle is refused, never run. Raises CheckpointError
    when the run has checkpoints and none of them can be used."""
    candidates = [p for p in [run.last_checkpoint, *reversed(run.checkpoints())] if p.is_file()]
    if not candidates:
        return Resumable()
    passed_over = []
    for path in candidates:
        try:
            problem = _unusable(state := load_checkpoint(path, run=run), config, run)
        except CheckpointError as error:
            problem = _first_line(str(error).replace(f"cannot read checkpoint {path}: ", "unreadable: "))
        if problem is None:
            return Resumable(state, path, passed_over)
        passed_over.append(f"{path.name} ({problem})")
    raise CheckpointError(f"run {run.id} has no checkpoint this resume can use: {'; '.join(passed_over)}. The run is "
                          "left as it was; start a new one with `python -m training train`, or put back an intact "
                          f"checkpoint in {run.checkpoints_dir}.")


def _same(field_name: str, before: Any, after: Any) -> bool:
    if field_name == "data_root" and before is not None and after is not None:
        return Path(str(before)).expanduser().resolve() == Path(str(after)).expanduser().resolve()
    return before == after


def check_unchanged(run: RunFolder, stored: dict[str, Any], config: configs.Config) -> None:
    """A resume continues the run it names: ``--set`` (or ``--data-root``) may tune how it trains, never
    what it trains on or what it trains (FIXED_ON_RESUME); that is a new run, started from this one's config."""
    defaults = configs.Config().to_dict()
    changed = {name: (stored.get(name, defaults[name]), getattr(config, name)) for name in FIXED_ON_RESUME
               if not _same(name, stored.get(name, defaults[name]), getattr(config, name))}
    if not changed:
        return
    what = ", ".join(f"{name} ({before!r} -> {after!r})" for name, (before, after) in changed.items())
    sets = " ".join(f"--set {shlex.quote(f'{name}={after}')}" for name, (_, after) in changed.items())
    raise configs.ConfigError(f"resume goes on with run {run.id} as it began, and this would change {what}: what it "
                              f"trains on or what it trains. For that, start a new run from its config: `python -m "
                              f"training train --config {shlex.quote(str(run.config_path))} {sets}`.")


def check_steps(run: RunFolder, config: configs.Config, resumable: Resumable) -> None:
    """A resume must have steps left to train, and the row files it cuts back to its step readable
    (found now, before the run is locked and marked queued, not once it has begun)."""
    for path in (run.metrics_path, run.health_path):
        problem = rows_file_problem(path)
        if problem:
            raise RunError(f"run {run.id}: {problem}. The run is left as it was.")
    step = resumable.step
    if step >= config.steps:
        where = f"past steps={config.steps:,}" if step > config.steps else f"at its total of {config.steps:,} steps"
        raise configs.ConfigError(f"run {run.id} is already at step {step:,}, {where}: nothing to train. To train it "
                                  f"further, give a larger total: `python -m training resume {run.id} "
                                  f"--set steps={step + max(step // 2, 1000)}`.")

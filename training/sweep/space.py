"""A search space: which config fields a sweep varies, over what, and what every trial shares.

    preset: dcgan-mnist            # optional; --preset on the command line wins
    fixed:                         # config values every trial shares: the budget, at least
      steps: 3000
      eval_every: 500              # the objective is the FID of these live evaluation rows
      eval_samples: 2000
    search:
      lr_g: {low: 1.0e-5, high: 1.0e-3, log: true}     # a float range (log-uniform)
      beta1: {low: 0.0, high: 0.9}                     # a float range (uniform)
      n_critic: {low: 1, high: 5}                      # an int range (whole-number field)
      batch_size: {choices: [32, 64, 128]}             # categorical, any field
    pruner: {type: median, startup_trials: 5, warmup_steps: 1000}

Every name must be a field of ``training.config`` (``python -m training presets --fields``); each
bound and choice is checked with that field's own rules, and with the rest of the trial's config,
so a bad space is refused, naming the field, before any trial starts. Torch-free.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.errors import UserError
from training import config as configs
from training.config_files import read_settings

SPEC_KEYS = {"low", "high", "log", "step", "choices"}
TOP_KEYS = {"preset", "fixed", "search", "pruner", "description"}
PRUNERS = {"median": {"startup_trials", "warmup_steps"}, "threshold": {"upper", "warmup_steps"}, "none": set()}
# Fields a sweep sets itself, or that describe a run rather than train it.
NOT_SEARCHABLE = {"sweep_study", "sweep_trial", "preset", "description"}


class SpaceError(configs.ConfigError):
    """A search space that cannot be searched; the message names the field and the fix."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str                  # "float", "int" or "categorical"
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple = ()

    def suggest(self, trial) -> Any:
        """The value of an ``optuna.Trial`` for this parameter."""
        if self.kind == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), step=self.step, log=self.log)

    def describe(self) -> str:
        if self.kind == "categorical":
            return f"one of {', '.join(map(repr, self.choices))}"
        scale = "log " if self.log else ""
        return f"{self.kind} {self.low}..{self.high} ({scale}uniform{f', step {self.step}' if self.step else ''})"

    def candidates(self) -> list[Any]:
        return list(self.choices) if self.kind == "categorical" else [self.low, self.high]


@dataclass
class SearchSpace:
    params: dict[str, Param]
    fixed: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    pruner: dict[str, Any] = field(default_factory=lambda: {"type": "median"})
    description: str = ""

    def suggest(self, trial) -> dict[str, Any]:
        return {name: param.suggest(trial) for name, param in self.params.items()}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values, as a study records its space (and compares it with a joining worker's)."""
        search = {}
        for name, p in self.params.items():
            if p.kind == "categorical":
                search[name] = {"choices": list(p.choices)}
            else:
                search[name] = {"low": p.low, "high": p.high, "log": p.log, **({"step": p.step} if p.step else {})}
        return json.loads(json.dumps({"preset": self.preset, "fixed": self.fixed, "search": search,
                                      "pruner": self.pruner, "description": self.description}))


def _field_name(name: Any, where: str) -> str:
    if not isinstance(name, str) or name not in configs.FIELDS:
        close = difflib.get_close_matches(str(name), configs.FIELDS, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise SpaceError(f"{where}.{name}: unknown config field {name!r}.{hint} `python -m training presets "
                         "--fields` lists them.")
    return name


def _checked(name: str, value: Any, what: str) -> Any:
    try:
        return configs._check_value(name, value)
    except configs.ConfigError as error:
        raise SpaceError(f"search.{name}: {what} {value!r} does not fit the field: {error}") from None


def _number(name: str, spec: dict, key: str, whole: bool) -> float | int:
    value = spec[key]
    kind = "a whole number" if whole else "a number"
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as text
        try:
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not float(value).is_integer()):
        raise SpaceError(f"search.{name}: {key} must be {kind}, got {spec[key]!r}.")
    return int(value) if whole else float(value)


def parse_param(name: Any, spec: Any) -> Param:
    name = _field_name(name, "search")
    if name in NOT_SEARCHABLE:
        raise SpaceError(f"search.{name}: {name} cannot be searched (the sweep sets it, or it only describes a run).")
    if not isinstance(spec, dict):
        raise SpaceError(f"search.{name}: give a range {{low: L, high: H}} (log: true for a log scale) or "
                         f"{{choices: [...]}}, got {spec!r}.")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise SpaceError(f"search.{name}: unknown key {sorted(unknown)[0]!r}; a parameter takes low, high, log, step "
                         "or choices.")
    base = configs.FIELDS[name].type.split(" | ")[0]
    if "choices" in spec:
        if set(spec) - {"choices"}:
            raise SpaceError(f"search.{name}: give either choices or a range (low, high), not both.")
        choices = spec["choices"]
        if not isinstance(choices, list) or not choices:
            raise SpaceError(f"search.{name}: choices must be a non-empty list, got {choices!r}.")
        if len(set(map(json.dumps, choices))) != len(choices):
            raise SpaceError(f"search.{name}: choices list a value twice: {choices!r}.")
        return Param(name, "categorical", choices=tuple(_checked(name, c, "choice") for c in choices))
    if base not in ("int", "float"):
        raise SpaceError(f"search.{name}: a {base} field takes choices, not a range (e.g. {{choices: [...]}}).")
    if "low" not in spec or "high" not in spec:
        raise SpaceError(f"search.{name}: a range needs both low and high, got {spec!r}.")
    whole = base == "int"
    low, high = _number(name, spec, "low", whole), _number(name, spec, "high", whole)
    if not low < high:
        raise SpaceError(f"search.{name}: empty range: low {low} must be below high {high}.")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"search.{name}: log must be true or false, got {log!r}.")
    if log and low <= 0:
        raise SpaceError(f"search.{name}: a log range needs low > 0, got {low}.")
    step = _number(name, spec, "step", whole) if spec.get("step") is not None else None
    if step is not None and (step <= 0 or log):
        raise SpaceError(f"search.{name}: step must be positive, and cannot go with log: true.")
    return Param(name, base, _checked(name, low, "low"), _checked(name, high, "high"), log, step)


def parse_space(values: Any, source: str = "the search space") -> SearchSpace:
    if not isinstance(values, dict):
        raise SpaceError(f"{source} must be a mapping with a `search:` section, got "
                         f"{'nothing' if values is None else type(values).__name__}.")
    unknown = set(values) - TOP_KEYS
    if unknown:
        raise SpaceError(f"{source}: unknown section {sorted(unknown)[0]!r}; a space has {', '.join(sorted(TOP_KEYS))}.")
    search = values.get("search")
    if not isinstance(search, dict) or not search:
        raise SpaceError(f"{source}: `search:` must map at least one config field to a range or choices.")
    fixed = values.get("fixed") or {}
    if not isinstance(fixed, dict):
        raise SpaceError(f"{source}: `fixed:` must map config fields to values, got {fixed!r}.")
    for name in fixed:
        _field_name(name, "fixed")
        if name in search:
            raise SpaceError(f"search.{name}: {name} is both fixed and searched; keep one.")
    preset = values.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise SpaceError(f"{source}: preset must be a preset name, got {preset!r}.")
    return SearchSpace({name: parse_param(name, spec) for name, spec in search.items()}, dict(fixed), preset,
                       _pruner(values.get("pruner")), str(values.get("description") or ""))


def _pruner(spec: Any) -> dict[str, Any]:
    spec = {"type": "median"} if spec is None else spec
    if not isinstance(spec, dict) or spec.get("type", "median") not in PRUNERS:
        raise SpaceError(f"pruner: give {{type: {' | '.join(PRUNERS)}, ...}}, got {spec!r}.")
    kind = spec.get("type", "median")
    unknown = set(spec) - {"type"} - PRUNERS[kind]
    if unknown:
        raise SpaceError(f"pruner: {kind} takes {', '.join(sorted(PRUNERS[kind])) or 'nothing else'}, "
                         f"not {sorted(unknown)[0]!r}.")
    for key in set(spec) - {"type"}:
        value = spec[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SpaceError(f"pruner.{key} must be a number >= 0, got {value!r}.")
    if kind == "threshold" and "upper" not in spec:
        raise SpaceError("pruner: threshold needs `upper`, the FID above which a trial is pruned.")
    return {"type": kind, **{k: v for k, v in spec.items() if k != "type"}}


def load_space(path: str | Path) -> SearchSpace:
    path = Path(path).expanduser()
    if path.is_dir() or not path.exists():
        raise SpaceError(f"--space {path} {'is a folder' if path.is_dir() else 'does not exist'}; name a YAML "
                         "search-space file (docs/sweeps.md shows one; sweeps/ has examples).")
    try:  # the strict reader of every settings file: no pipe, no alias, no key twice, no octal 010
        values = read_settings(path, "--space")
    except UserError as error:
        raise SpaceError(str(error)) from None
    except OSError as error:
        raise SpaceError(f"--space {path}: cannot read it ({error.strerror or error}).") from None
    return parse_space(values, f"--space {path}")


def base_values(space: SearchSpace, preset: str | None, overrides: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """What every trial starts from: the preset, the space's fixed values, then --set and code values."""
    name = preset or space.preset
    if not name:
        raise SpaceError("name a preset: --preset NAME, or `preset:` in the search space.")
    values = {**configs.load_preset(name), **space.fixed}
    for text in overrides:
        key, value = configs.parse_override(text)
        values[key] = value
    values.update(extra)
    return values


def check_space(space: SearchSpace, base: dict[str, Any], names: dict[str, list[str]]) -> configs.Config:
    """The base config, and the base with each bound and choice in turn, must be configs that train
    (``names``: the registries' names); returns the base config. The objective needs live
    evaluations, so eval_every must be set."""
    config = configs.build_config(base)
    configs.check_names(config, names)
    if not config.eval_every:
        raise SpaceError("the objective is the FID of the trainer's live evaluations: set eval_every "
                         "(e.g. `fixed: {eval_every: 500}` in the space, at most the trial's steps).")
    if config.eval_every > config.steps:
        raise SpaceError(f"eval_every {config.eval_every} is above steps {config.steps}: a trial would be scored once, "
                         "at its end, with nothing to prune on; lower eval_every.")
    for param in space.params.values():
        for value in param.candidates():
            try:
                configs.check_names(configs.build_config({**base, param.name: value}), names)
            except configs.ConfigError as error:
                raise SpaceError(f"search.{param.name}: the value {value!r} makes a config that cannot train: "
                                 f"{error}") from None
    return config

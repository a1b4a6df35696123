"""The training config: every field typed, range-checked and documented in one place.

Torch-free on purpose: the app validates its Train form with these same rules.
A config is resolved from a preset file (``training/presets/NAME.yaml``), then ``--set key=value``
overrides; anything wrong raises ``ConfigError`` with a message that says how to fix it.
"""
from __future__ import annotations

import dataclasses
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from studio.errors import UserError
from studio.seeds import MAX_SEED, SEED_RANGE
from training.config_files import SettingsFileError, SettingsSyntaxError, parse_yaml, read_settings

PRESETS_DIR = Path(__file__).parent / "presets"


AUGMENTATIONS = ("translation", "cutout", "color")  # training/augment.py implements each
LR_SCHEDULES = ("constant", "linear_decay", "cosine")  # training/lr_schedule.py
TRANSPARENCY = ("composite", "alpha")  # dataio/image_file.py reads each
FOLDER_SIZES = (8, 256)  # a folder is decoded whole into memory at image_size; 32 to 256 is what its presets use


class ConfigError(UserError, ValueError):  # a ValueError too: a value is wrong, and callers catch it as one
    """A config that cannot be trained; the message names the field and the fix."""


def _field(default, help: str, *, lo=None, hi=None, lo_open=False, choices=None, pattern=None, why=""):
    return field(default=default, metadata=dict(help=help, lo=lo, hi=hi, lo_open=lo_open, choices=choices,
                                                pattern=pattern, why=why))


@dataclass
class Config:
    # What it is
    description: str = _field("", "one line on what this run reproduces")
    preset: str = _field("", "the preset this config started from")
    seed: int = _field(0, "seed for weights, latents and data order", lo=0, hi=MAX_SEED, why=SEED_RANGE)
    deterministic: bool = _field(False, "deterministic kernels, so a resumed run repeats an uninterrupted one")
    device: str = _field("auto", "auto picks CUDA when present, else CPU", choices=("auto", "cpu", "cuda"))
    precision: str = _field("auto", "arithmetic of the forward passes: auto = bf16 on CPUs with native bf16 "
                            "(AVX512-BF16, AMX) and on GPUs that have it, fp16 with a gradient scaler on other "
                            "GPUs, else fp32", choices=("auto", "fp32", "bf16", "fp16"))
    # Data
    dataset: str = _field("mnist", "dataset name (python -m training presets lists them)")
    data_root: str | None = _field(None, "folder holding the dataset (else $GAN_STUDIO_DATA, system packages, download)")
    image_size: int = _field(28, "images are resized to this square size once, at load time", lo=8, hi=512)
    channels: int = _field(1, "1 (grayscale), 3 (RGB) or 4 (RGB and alpha, with transparency=alpha); images are "
                           "converted once, at load time", choices=(1, 3, 4))
    transparency: str = _field("composite", "a folder's transparent images: composite blends each over `background` "
                               "as it is read; alpha keeps transparency as a 4th channel (channels=4), so the "
                               "generator draws it and viewers show it on a checkerboard", choices=TRANSPARENCY)
    background: str = _field("#ffffff", "the colour (#rrggbb) transparent pixels are blended over under "
                             "transparency=composite; white because icons, emoji and logos are drawn to be seen "
                             "on a light page, and their dark outlines vanish on black", pattern=r"#[0-9a-fA-F]{6}")
    # Models
    model: str = _field("dcgan", "model name (python -m training presets lists them)")
    conditional: bool = _field(False, "class-conditional: the generator takes a label, the app offers a class picker")
    clusters: int = _field(0, "with conditional: the classes are this many clusters the trainer finds in the images "
                           "(k-means on their pixels, no labels needed) instead of the data's labels; the model is "
                           "sampled with clusters in the images' proportions. 0: the data's labels", lo=0, hi=1000)
    latent_dim: int = _field(100, "size of z", lo=1, hi=4096)
    latent_distribution: str = _field("normal", "distribution of z", choices=("normal", "uniform"))
    latent_bound: float | None = _field(None, "uniform: z in [-b, b]; normal: z clipped to [-b, b]; none: unbounded", lo=0, lo_open=True)
    g_width: int = _field(64, "generator width (base channels or first hidden size; see the model's file)", lo=1, hi=8192)
    d_width: int = _field(64, "discriminator width (base channels or first hidden size)", lo=1, hi=8192)
    bn_momentum: float = _field(0.1, "batch-norm momentum, PyTorch's convention (Keras 0.8 = PyTorch 0.2)", lo=0, hi=1, lo_open=True)
    bn_eps: float = _field(1e-5, "batch-norm epsilon", lo=0, lo_open=True)
    dropout: float = _field(0.0, "dropout in the discriminator", lo=0, hi=0.95)
    pack: int = _field(1, "PacGAN (Lin et al. 2018): D judges this many samples at once, stacked as channels", lo=1, hi=16)
    # Fine-tuning (training/finetune/): start from exported weights instead of the seed's random ones
    init_from: str | None = _field(None, "start G (and D, when its file lies beside G's) from these weights: a "
                                   "NAME.generator.safetensors written by export or upgrade --weights, or a shipped "
                                   "model's name (exported/NAME); none: the seed's random weights")
    init_from_sha256: str = _field("", "the SHA-256 of init_from's generator file, recorded when the run starts; when "
                                   "given, a file with other bytes is refused")
    init_from_d_sha256: str = _field("", "the SHA-256 of the discriminator file loaded with init_from, recorded when "
                                     "the run starts (empty: D started from the seed's weights)")
    freeze_d: int = _field(0, "FreezeD (Mo et al. 2020): D's first N layers (its convolution and linear layers in the "
                           "order it runs them, each with the batch norm after it) keep init_from's weights", lo=0, hi=64)
    # Losses
    loss: str = _field("non-saturating", "loss name (python -m training presets lists them)")
    label_smoothing: float = _field(0.0, "one-sided: real labels become 1 - s", lo=0, hi=0.5)
    n_critic: int = _field(1, "discriminator steps per generator step", lo=1, hi=100)
    g_steps: int = _field(1, "generator updates per step, each on fresh latents (DCGAN-tensorflow and PacGAN use 2)", lo=1, hi=10)
    clip_value: float = _field(0.01, "weight clipping bound for the Wasserstein loss with clipping", lo=0, lo_open=True)
    gp_lambda: float = _field(10.0, "gradient-penalty weight (wgan-gp)", lo=0)
    r1_gamma: float = _field(0.0, "R1 penalty weight on real data, any loss; 0 turns it off", lo=0)
    augment: str = _field("", "DiffAugment (Zhao et al. 2020) on every image D sees, real and fake: a comma-separated "
                          f"list of {', '.join(AUGMENTATIONS)}; empty turns it off")
    ada_target: float = _field(0.0, "adaptive augmentation (ADA, Karras et al. 2020): the augment policy applies with "
                               "a probability p steered so that E[sign(D(real))] stays near this target (0.6 in the "
                               "paper); 0 turns it off and the policy always applies", lo=0, hi=1)
    ada_kimg: float = _field(100.0, "ADA's speed: thousands of real images over which p can move from 0 to 1", lo=0, lo_open=True)
    # Optimisation
    optimizer: str = _field("adam", "optimiser for both nets", choices=("adam", "rmsprop"))
    lr_g: float = _field(2e-4, "generator learning rate", lo=0, hi=1, lo_open=True)
    lr_d: float = _field(2e-4, "discriminator learning rate", lo=0, hi=1, lo_open=True)
    beta1: float = _field(0.5, "Adam beta1", lo=0, hi=0.9999)
    beta2: float = _field(0.999, "Adam beta2", lo=0, hi=0.9999)
    lr_schedule: str = _field("constant", "learning rates over the run, after lr_warmup_steps of linear warm-up: "
                              "constant, linear_decay or cosine (both down to 0 at `steps`)", choices=LR_SCHEDULES)
    lr_warmup_steps: int = _field(0, "generator steps over which both rates rise linearly from 0", lo=0)
    batch_size: int = _field(64, "images per step (per process under torchrun)", lo=1, hi=65536)
    steps: int = _field(10000, "generator steps to train", lo=1)
    ema: bool = _field(False, "keep an exponential moving average of the generator's weights")
    ema_decay: float = _field(0.999, "EMA decay per generator step", lo=0, hi=0.999999)
    ema_start: int = _field(0, "generator step from which the EMA starts averaging (before it, it copies)", lo=0)
    ema_halflife_images: int = _field(0, "EMA half-life in generated images (Karras et al.); when set it replaces "
                                      "ema_decay: decay = 0.5 ** (batch images / half-life)", lo=0)
    # Run folder
    log_every: int = _field(10, "write a metrics row every N generator steps", lo=1)
    sample_every: int = _field(500, "write a sample grid every N generator steps", lo=1)
    checkpoint_every: int = _field(500, "write a checkpoint every N generator steps", lo=1)
    keep_checkpoints: int = _field(3, "older checkpoints kept beside last.pt", lo=0, hi=1000)
    eval_every: int = _field(0, "cheap evaluation every N generator steps; 0 turns it off", lo=0)
    eval_samples: int = _field(2000, "samples drawn for each evaluation during training", lo=10, hi=100000)
    tensorboard: bool = _field(True, "also write TensorBoard event files into the run's tensorboard/ folder (every "
                               "metrics row's numbers and every sample grid; `tensorboard --logdir runs`)")
    # Training health (training/runfolder/health.py): what counts as a sign of trouble; findings go to health.jsonl
    health_check: bool = _field(True, "watch the run for the usual GAN failures and write findings to health.jsonl")
    health_warmup: int = _field(200, "steps before the health checks start (an untrained pair looks unhealthy)", lo=0)
    health_sustain: int = _field(200, "steps a sign must last on every metrics row before it is a finding", lo=1)
    health_window: int = _field(300, "steps of rows over which a loss's swings are measured (oscillation)", lo=1)
    health_d_confidence: float = _field(0.99, "D overpowering: D(x) at least this, with health_d_fake "
                                        "(losses with probabilities: minimax, non-saturating)", lo=0.5, hi=1, lo_open=True)
    health_d_fake: float = _field(0.003, "D overpowering: D(G(z)) at most this (gan-mlp-mnist lives at about 0.008 "
                                  "once D is strong, and still learns)", lo=0, hi=0.5)
    health_explode: float = _field(1000.0, "exploding: a loss, the Wasserstein estimate or a gradient norm this large",
                                   lo=0, lo_open=True)
    health_oscillation: float = _field(1.0, "oscillating: mean change between rows, as a multiple of the loss's "
                                       "typical size (at least 1)", lo=0, lo_open=True)
    health_duplicates: float = _field(0.01, "mode collapse: the sample grid's images differ by less than this on "
                                      "average (RMS, pixels in 0..1; MNIST's own differ by about 0.35)", lo=0)
    health_diversity_drop: float = _field(0.25, "mode collapse: the grid's variety falls below this share of its peak",
                                          lo=0, hi=1)
    health_coverage_drop: float = _field(0.5, "mode collapse: live recall, coverage or classes covered fall by this "
                                         "share of their best", lo=0, hi=1, lo_open=True)
    health_fid_patience: int = _field(5, "no progress: evaluations in a row without the best FID improving", lo=1)
    health_fid_gain: float = _field(0.02, "no progress: the relative FID improvement that counts as progress", lo=0, hi=1)
    # Hyperparameter search (python -m training sweep): set by the sweep, empty for a plain run
    sweep_study: str = _field("", "the study this run is a trial of")
    sweep_trial: int | None = _field(None, "the trial's number in that study", lo=0)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "Config":
        return build_config(values)

    def replace(self, **changes) -> "Config":
        return build_config({**self.to_dict(), **changes})


FIELDS = {f.name: f for f in dataclasses.fields(Config)}


def field_help() -> dict[str, str]:
    return {name: f.metadata["help"] for name, f in FIELDS.items()}


def field_choices(name: str) -> tuple:
    """The values a choice field takes, e.g. ("auto", "cpu", "cuda") for ``device``."""
    return FIELDS[name].metadata["choices"]


def _type_name(annotation: str) -> str:
    return annotation.replace(" | None", " or none")


def _check_value(name: str, value: Any) -> Any:
    f = FIELDS[name]
    annotation = f.type if isinstance(f.type, str) else f.type.__name__
    optional = "None" in annotation
    base = annotation.split(" | ")[0]
    if value is None:
        if optional:
            return None
        raise ConfigError(f"{name} cannot be empty: give a {base}.")
    # bool is an int in Python; a config must not accept True as a batch size.
    if base == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"{name} must be a whole number, got {value!r}.")
    elif base == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}.")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{name} must be a finite number, got {value!r}.")
    elif base == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}.")
    elif base == "str":
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be text, got {value!r}.")
    meta = f.metadata
    if meta["choices"] is not None and value not in meta["choices"]:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, meta['choices']))}; got {value!r}.")
    if meta["pattern"] is not None and not re.fullmatch(meta["pattern"], value):
        raise ConfigError(f"{name} must look like {f.default} (#rrggbb); got {value!r}.")
    lo, hi = meta["lo"], meta["hi"]
    if lo is not None and (value <= lo if meta["lo_open"] else value < lo):
        bound = f"greater than {lo}" if meta["lo_open"] else f"at least {lo}"
        raise ConfigError(f"{name} must be {bound}; got {value!r}.")
    if hi is not None and value > hi:
        why = f" ({meta['why']})" if meta["why"] else ""
        raise ConfigError(f"{name} must be at most {hi}; got {value!r}{why}.")
    return value


def unknown_key_message(key: str) -> str:
    close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown config key {key!r}.{hint} `python -m training presets --fields` lists every key."


def build_config(values: dict[str, Any]) -> Config:
    """Typed, range-checked Config from plain values; unknown keys are errors."""
    if not isinstance(values, dict):
        raise ConfigError(f"a config must be a mapping of keys to values, got {type(values).__name__}.")
    checked = {}
    for key, value in values.items():
        if not isinstance(key, str) or key not in FIELDS:  # a key of None or 1 is no name either
            raise ConfigError(unknown_key_message(str(key)))
        checked[key] = _check_value(key, value)
    config = Config(**checked)
    _check_together(config)
    return config


def _check_together(c: Config) -> None:
    if c.latent_distribution == "uniform" and c.latent_bound is None:
        raise ConfigError("latent_distribution=uniform needs a latent_bound (z is drawn from [-b, b]), e.g. --set latent_bound=1.")
    if c.batch_size % c.pack:
        raise ConfigError(f"batch_size {c.batch_size} must be a multiple of pack {c.pack}: D judges packs of {c.pack} samples.")
    unknown = [name for name in augment_policy(c.augment) if name not in AUGMENTATIONS]
    if unknown:
        raise ConfigError(f"augment: unknown augmentation {unknown[0]!r}; give a comma-separated list of "
                          f"{', '.join(AUGMENTATIONS)} (or nothing).")
    if c.ada_target > 0 and not augment_policy(c.augment):
        raise ConfigError("ada_target steers how often the augment policy applies: name one too, e.g. "
                          "--set augment=translation,cutout,color.")
    if c.transparency == "alpha" and c.channels != 4:
        raise ConfigError(f"transparency=alpha keeps a 4th channel for it: set channels=4 too (now {c.channels}), "
                          "or transparency=composite to blend it over `background`.")
    if c.channels == 4 and c.transparency != "alpha":
        raise ConfigError("channels=4 is RGB plus alpha: set transparency=alpha too, or channels=3 to blend "
                          "transparent images over `background`.")
    if c.transparency == "alpha" and c.dataset != "folder":
        raise ConfigError(f"transparency=alpha needs images with transparency: the folder dataset "
                          f"(dataset=folder), not {c.dataset}.")
    low, high = FOLDER_SIZES
    if c.dataset == "folder" and not low <= c.image_size <= high:
        raise ConfigError(f"image_size for a folder must be {low} to {high} pixels (32 to 256 suit its presets; "
                          f"every image is decoded into memory at that size); got {c.image_size}.")
    if c.clusters and not c.conditional:
        raise ConfigError(f"clusters={c.clusters} makes the classes of a conditional model: set conditional=true "
                          "too, or clusters=0.")
    if c.clusters == 1:
        raise ConfigError("clusters=1 is one class, no conditioning: use 2 or more (10-20 suit digits), or 0.")
    if c.pack > 1 and c.conditional:
        raise ConfigError("pack > 1 is for unconditional GANs: a pack mixes samples of different labels. Use pack=1.")
    _check_init_from(c)


def _check_init_from(c: Config) -> None:
    if c.freeze_d and not c.init_from:
        raise ConfigError(f"freeze_d={c.freeze_d} keeps D's first layers as init_from loaded them: set init_from too "
                          "(--init-from NAME.generator.safetensors, its discriminator's file beside it), or freeze_d=0.")
    for name in ("init_from_sha256", "init_from_d_sha256"):
        value = getattr(c, name)
        if value and not re.fullmatch(r"[0-9a-f]{64}", value):
            raise ConfigError(f"{name} must be a SHA-256 (64 hex digits) or empty; got {value!r}.")
        if value and not c.init_from:
            raise ConfigError(f"{name} records the file init_from names: set init_from too, or leave {name} empty.")


def augment_policy(text: str) -> list[str]:
    """``augment``'s names in order: "translation, color" -> ["translation", "color"]."""
    return [part.strip() for part in text.split(",") if part.strip()]


def check_names(config: Config, names: dict[str, Iterable[str]]) -> None:
    """Check dataset, model and loss against the registries' names (given, so this stays torch-free)."""
    for key in ("dataset", "model", "loss"):
        valid = sorted(names[key])
        value = getattr(config, key)
        if value not in valid:
            close = difflib.get_close_matches(value, valid, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown {key} {value!r}.{hint} Valid: {', '.join(valid)}.")


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML (1e-4, true, none, "text"), by
    the strict reader of config files (``training.config_files``: 010 is refused, not read as 8)."""
    if "=" not in text:
        raise ConfigError(f"--set takes key=value, got {text!r}.")
    key, raw = text.split("=", 1)
    key = key.strip()
    if key not in FIELDS:
        raise ConfigError(unknown_key_message(key))
    base, optional = FIELDS[key].type.split(" | ")[0], "None" in FIELDS[key].type
    if base == "str" and (raw.strip() or not optional):
        # "1" stays the text "1" for a text field, "#000000" is a colour, not a YAML comment, and
        # `augment=` is the empty text: the way to turn off what a preset sets
        value = raw
    else:
        try:
            value = parse_yaml(raw, f"--set {key}") if raw.strip() else None
        except SettingsSyntaxError:
            value = raw  # not YAML at all: the field's type check says what it takes
        except SettingsFileError as error:
            raise ConfigError(str(error)) from None
    if isinstance(value, str) and base in ("int", "float"):
        try:  # YAML 1.1 reads 1e-4 (no dot) and nan as text; Python reads them as numbers
            value = float(value)
        except ValueError:
            pass
    if isinstance(value, str) and value.lower() in ("none", "null") and optional:
        value = None
    return key, value


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """A preset by name, from training/presets only (a path is not a name: see load_config_file)."""
    if name not in preset_names():
        if any(mark in name for mark in ("/", "\\", ".yaml", ".yml", ".json")) or Path(name).is_file():
            raise ConfigError(f"--preset takes a preset name, not a file ({name!r}); to train from a config file "
                              f"of your own, pass --config {name}. `python -m training presets` lists the names.")
        close = difflib.get_close_matches(name, preset_names(), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown preset {name!r}.{hint} `python -m training presets` lists them.")
    try:
        values = read_settings(PRESETS_DIR / f"{name}.yaml", "preset") or {}
    except UserError as error:
        raise ConfigError(str(error)) from None
    return {**values, "preset": name}


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The config values in a file the user named (``--config FILE``): YAML, or JSON (e.g. a run's
    config.json), holding one mapping of config keys to values."""
    path = Path(path).expanduser()
    if path.is_dir() or not path.exists():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise ConfigError(f"--config {path} {what}; name a YAML or JSON file of config keys "
                          "(`python -m training presets --fields` lists them).")
    try:  # a pipe, a device, a file too big or nested too deep, YAML that misleads: refused, never read whole
        values = read_settings(path, "--config")
    except UserError as error:
        raise ConfigError(str(error)) from None
    except OSError as error:
        raise ConfigError(f"--config {path}: cannot read it ({error.strerror or error}).") from None
    if not isinstance(values, dict):
        raise ConfigError(f"--config {path} must hold a mapping of config keys to values (like a preset), "
                          f"got {'nothing' if values is None else type(values).__name__}.")
    return values


def resolve(preset: str | None, overrides: Iterable[str] = (), extra: dict[str, Any] | None = None,
            config_file: str | Path | None = None) -> Config:
    """Preset (by name), then the values of ``config_file``, then ``--set`` overrides, then values
    from code (e.g. ``--data-root``)."""
    values = load_preset(preset) if preset else {}
    if config_file is not None:
        values.update(load_config_file(config_file))
    for text in overrides:
        key, value = parse_override(text)
        values[key] = value
    values.update(extra or {})
    return build_config(values)


def save_json(config: Config, path: Path) -> None:
    path.write_text(json.dumps(config.to_dict(), indent=2) + "\n")

"""What to try when the health monitor (training/runfolder/health.py) finds something, for this run's own loss,
model and settings: each remedy is a `--set key=value` that ``python -m training resume RUN`` or
``train`` takes, with the reason, and only those that change something this run does not already do.
Torch-free: it reads the registries' catalogue (training.registry), never the modules.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from training.config import FIELDS
from training.registry import LOSSES, MODELS

BCE_LOSSES = ("minimax", "non-saturating")
WASSERSTEIN = ("wasserstein", "wgan-gp")
# The models whose critic is spectrally normalised already (their files say so; the catalogue cannot).
SPECTRAL_NORM = ("sngan", "resnet")


def _reads(registry, name: Any, field: str) -> bool:
    try:
        return field in registry.describe(str(name)).fields
    except KeyError:
        return False


def _rate(value: float) -> str:
    return f"{value:.1e}".replace("e-0", "e-")


def remedies(kind: str, config: Mapping[str, Any], evidence: Mapping[str, Any] | None = None) -> list[str]:
    """The remedies for a finding of ``kind`` in a run of ``config`` (its config.json), best first."""
    c = {name: f.default for name, f in FIELDS.items()} | dict(config)
    loss, model = c.get("loss"), c.get("model")
    found: list[str] = []

    def offer(condition: bool, setting: str, why: str) -> None:
        key = setting.split("=", 1)[0]
        if condition and key in FIELDS:
            found.append(f"`--set {setting}`: {why}")

    lr_d, lr_g = float(c["lr_d"]), float(c["lr_g"])
    bce = loss in BCE_LOSSES
    spectral = model in SPECTRAL_NORM
    # A spectrally normalised D with the hinge loss is this project's strongest recipe (sngan-* presets);
    # its nets are convolutional, so it replaces an MLP pair as a whole.
    to_sngan = (not spectral, "model=sngan --set loss=hinge",
                "spectral norm keeps D Lipschitz, so it cannot become arbitrarily sure (the sngan-mnist recipe; other nets, so a new run, not a resume)")
    gradient_penalty = (loss not in ("wgan-gp",) and model in ("wgan-mlp", "sngan"), "loss=wgan-gp",
                        "the gradient penalty bounds how steep D can be")

    def d_overpowering() -> None:
        offer(loss == "minimax", "loss=non-saturating",
              "the minimax loss log(1 - D(G(z))) gives G no gradient once D wins; -log D(G(z)) does")
        offer(lr_d > lr_g / 2, f"lr_d={_rate(lr_d / 4)}",
              f"D learns at {lr_d / lr_g:.3g}x G's rate ({_rate(lr_d)} vs {_rate(lr_g)}); slow it down")
        offer(_reads(LOSSES, loss, "label_smoothing") and float(c["label_smoothing"]) < 0.1, "label_smoothing=0.1",
              "one-sided label smoothing stops D from pushing its real scores to certainty")
        offer(int(c["g_steps"]) < 2, "g_steps=2", "two G updates per D update let G catch up")
        offer(int(c["n_critic"]) > 1 and bce, "n_critic=1", "one D step per G step with this loss")
        offer(float(c["r1_gamma"]) == 0, "r1_gamma=10", "R1 penalises D's gradient on real images, so it stays smooth")
        offer(_reads(MODELS, model, "dropout") and float(c["dropout"]) == 0, "dropout=0.3", "dropout in D (the Keras DCGAN's 0.3)")
        offer(not c.get("augment"), "augment=translation,cutout",
              "DiffAugment: D sees shifted and cut-out images, real and fake, so it cannot memorise the real ones")
        offer(*to_sngan)

    def oscillating() -> None:
        offer(True, f"lr_d={_rate(lr_d / 2)} --set lr_g={_rate(lr_g / 2)}", "halve both learning rates")
        offer(c["optimizer"] == "adam" and float(c["beta1"]) > 0.5, "beta1=0.5",
              "less momentum (DCGAN's beta1 0.5) damps the back-and-forth between the players")
        offer(not c["ema"], "ema=true", "an average of G's weights smooths the samples while the players circle")
        offer(loss == "wasserstein", "loss=wgan-gp", "a gradient penalty instead of weight clipping (WGAN-GP)")
        offer(float(c["r1_gamma"]) == 0 and loss not in WASSERSTEIN, "r1_gamma=10", "R1 damps D's oscillation around the equilibrium (Mescheder et al. 2018)")
        offer(*to_sngan)

    def exploding() -> None:
        offer(True, f"lr_d={_rate(lr_d / 10)} --set lr_g={_rate(lr_g / 10)}", "learning rates ten times lower")
        offer(loss == "wasserstein" and float(c["clip_value"]) > 0.01, "clip_value=0.01",
              f"weights clipped to +-{c['clip_value']} do not keep the critic Lipschitz; WGAN's value is 0.01")
        offer(loss == "wgan-gp" and float(c["gp_lambda"]) < 10, "gp_lambda=10", "the WGAN-GP paper's penalty weight")
        offer(*gradient_penalty)
        offer(float(c["r1_gamma"]) == 0 and loss != "wgan-gp", "r1_gamma=10", "R1 keeps D's gradients bounded")
        offer(*to_sngan)

    def mode_collapse() -> None:
        offer(int(c["pack"]) == 1 and not c["conditional"], "pack=2",
              "PacGAN: D judges two samples at once and so sees when they lack variety")
        offer(int(c["g_steps"]) < 2, "g_steps=2", "PacGAN's runs update G twice per D update")
        offer(loss in BCE_LOSSES, "loss=wgan-gp" if model in ("wgan-mlp", "sngan") else "model=sngan --set loss=hinge",
              "a Wasserstein or hinge loss gives G a gradient towards every mode, not just the one D misses most "
              "(a new run if the nets change)")
        offer(lr_g > lr_d, f"lr_g={_rate(lr_d)}", "G learns faster than D and jumps from mode to mode")
        offer(not c["ema"], "ema=true", "an average of G's weights keeps the modes G has passed through")

    def no_progress() -> None:
        offer(lr_g < lr_d / 4, f"lr_g={_rate(lr_d / 2)}", "G learns too slowly to keep up")
        offer(not c["ema"], "ema=true --set ema_start=0", "the average of G's weights usually scores a lower FID")
        found.append("the run may have converged for this model: export its best evaluation with "
                     "`python -m training export RUN --checkpoint best`, or try a stronger recipe (sngan-mnist)")

    def divergence() -> None:
        offer(True, f"lr_d={_rate(lr_d / 4)} --set lr_g={_rate(lr_g / 4)}",
              "resume from the last checkpoint with lower learning rates")
        offer(str(c["precision"]) in ("auto", "fp16", "bf16"), "precision=fp32", "full precision rules out fp16 overflow")
        offer(*gradient_penalty)
        offer(float(c["r1_gamma"]) == 0 and loss != "wgan-gp", "r1_gamma=10", "R1 keeps D's gradients bounded")

    advice: dict[str, Callable[[], None]] = dict(
        d_overpowering=d_overpowering, oscillating=oscillating, exploding=exploding, mode_collapse=mode_collapse,
        no_progress=no_progress, divergence=divergence)
    advice[kind]()
    return found

"""training/runfolder/remedies.py: what to try for each finding, as `--set key=value` settings the
CLI takes for this run's own config: every one valid, each changing something the run does not
already do, and fitted to its loss and model."""
from __future__ import annotations

import re

import pytest

from training import config as configs
from training.cli.main import check_config
from training.runfolder.remedies import remedies

KINDS = ["d_overpowering", "oscillating", "exploding", "mode_collapse", "no_progress", "divergence"]
REMEDY = re.compile(r"`((?:--set \S+ ?)+)`: \S")


def settings(remedy: str) -> list[str]:
    """The key=value settings of one remedy ([] for advice that is not a setting)."""
    match = REMEDY.match(remedy)
    return re.findall(r"--set (\S+)", match.group(1)) if match else []


def keys(found: list[str]) -> set[str]:
    return {s.split("=", 1)[0] for r in found for s in settings(r)}


@pytest.mark.parametrize("kind", KINDS)
def test_every_remedy_for_every_preset_is_a_config_the_cli_accepts_and_changes_the_run(kind):
    for preset in configs.preset_names():
        config = configs.resolve(preset)
        found = remedies(kind, config.to_dict())
        assert found, (preset, kind)
        for remedy in found:
            asked = settings(remedy)
            if not asked:
                continue
            changed = configs.resolve(preset, asked)
            check_config(changed)  # e.g. never a gradient penalty on a batch-norm critic
            assert any(getattr(changed, s.split("=", 1)[0]) != getattr(config, s.split("=", 1)[0]) for s in asked), \
                (preset, remedy)


def test_a_d_that_learns_faster_is_told_by_how_much_and_to_what_rate():
    found = remedies("d_overpowering", configs.resolve("gan-mlp-mnist").to_dict())
    assert found[0] == "`--set lr_d=1.3e-4`: D learns at 5x G's rate (5.0e-4 vs 1.0e-4); slow it down"
    slow = remedies("d_overpowering", configs.resolve("gan-mlp-mnist", ["lr_d=2e-5"]).to_dict())
    assert "lr_d" not in keys(slow)  # D at a fifth of G's rate already


def test_what_the_run_already_does_is_not_offered():
    plain = keys(remedies("d_overpowering", configs.resolve("dcgan-mnist", ["label_smoothing=0"]).to_dict()))
    assert {"label_smoothing", "r1_gamma", "dropout", "augment"} <= plain
    done = configs.resolve("dcgan-mnist", ["label_smoothing=0.1", "r1_gamma=5", "dropout=0.3", "g_steps=2",
                                           "augment=translation"])
    assert not {"label_smoothing", "r1_gamma", "dropout", "augment", "g_steps"} & keys(remedies("d_overpowering", done.to_dict()))
    assert "ema" in keys(remedies("oscillating", configs.resolve("dcgan-mnist").to_dict()))
    assert "ema" not in keys(remedies("oscillating", configs.resolve("sngan-mnist").to_dict()))  # its preset has EMA


def test_settings_a_model_or_loss_does_not_read_are_not_offered():
    # The MLP GAN has no dropout to turn on; the hinge loss no label smoothing.
    assert "dropout" not in keys(remedies("d_overpowering", configs.resolve("gan-mlp-mnist").to_dict()))
    assert "label_smoothing" not in keys(remedies("d_overpowering", configs.resolve("dcgan-mnist", ["loss=hinge"]).to_dict()))


def test_the_minimax_loss_is_told_to_use_the_non_saturating_one():
    found = remedies("d_overpowering", configs.resolve("gan-mlp-mnist", ["loss=minimax"]).to_dict())
    assert found[0].startswith("`--set loss=non-saturating`: the minimax loss")


def test_an_exploding_critic_gets_the_papers_values_for_its_own_loss():
    clipped = remedies("exploding", configs.resolve("wgan-mnist", ["clip_value=0.05"]).to_dict())
    assert any(r.startswith("`--set clip_value=0.01`: weights clipped to +-0.05") for r in clipped)
    assert "loss" in keys(clipped)  # wgan-mlp's critic can take the gradient penalty instead
    penalised = remedies("exploding", configs.resolve("wgan-gp-mnist", ["gp_lambda=2"]).to_dict())
    assert "gp_lambda" in keys(penalised) and "clip_value" not in keys(penalised)
    assert "gp_lambda" not in keys(remedies("exploding", configs.resolve("wgan-gp-mnist").to_dict()))  # already 10


@pytest.mark.parametrize("preset", ["sngan-mnist", "resnet-mnist"])
def test_a_critic_with_spectral_norm_already_is_not_told_to_get_it(preset):
    for kind in ("d_overpowering", "oscillating", "exploding"):
        assert not any("spectral norm" in r for r in remedies(kind, configs.resolve(preset).to_dict())), kind
    assert any("spectral norm" in r for r in remedies("oscillating", configs.resolve("dcgan-mnist").to_dict()))


def test_mode_collapse_advice_follows_the_run():
    found = remedies("mode_collapse", configs.resolve("dcgan-mnist").to_dict())
    assert found[0].startswith("`--set pack=2`: PacGAN")
    # A conditional run cannot pack (packing mixes labels); a Wasserstein-ready critic gets the penalty.
    assert "pack" not in keys(remedies("mode_collapse", configs.resolve("cgan-mnist").to_dict()))
    wgan_mlp = remedies("mode_collapse", configs.resolve("wgan-mnist", ["loss=non-saturating"]).to_dict())
    assert "`--set loss=wgan-gp`" in " ".join(wgan_mlp)


def test_no_progress_ends_with_the_advice_to_export_the_best_checkpoint():
    found = remedies("no_progress", configs.resolve("sngan-mnist").to_dict())
    assert found[-1].startswith("the run may have converged for this model: export its best evaluation with "
                                "`python -m training export RUN --checkpoint best`")


def test_an_old_config_json_without_newer_fields_gets_their_defaults():
    old = {"loss": "non-saturating", "model": "dcgan", "lr_d": 2e-4, "lr_g": 2e-4}
    found = remedies("divergence", old)
    assert found[0] == "`--set lr_d=5.0e-5 --set lr_g=5.0e-5`: resume from the last checkpoint with lower learning rates"
    assert "precision" in keys(found)  # the default precision, auto, may have chosen half precision


def test_an_unknown_model_or_loss_gets_the_advice_that_does_not_depend_on_it():
    found = remedies("d_overpowering", {"loss": "my-loss", "model": "my-model"})
    assert found and "label_smoothing" not in keys(found) and "dropout" not in keys(found)

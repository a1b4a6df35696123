"""The catalogue of bad configs: each is one clear line (exit status 2 from the CLI), no traceback,
and no run folder left behind. Plus the presets' faithfulness to DESIGN.md and --set parsing."""
from __future__ import annotations

import subprocess
import sys

import pytest

from training import config as configs
from training.cli.main import check_config, main
from training.config import ConfigError

# (--set overrides, preset, words the one-line message must contain)
BAD_CONFIGS = [
    (["batch_size=big"], "dcgan-mnist", ["batch_size", "whole number", "'big'"]),
    (["batch_size=true"], "dcgan-mnist", ["batch_size", "whole number", "True"]),
    (["batch_size=2.5"], "dcgan-mnist", ["batch_size", "whole number"]),
    (["lr_g=x"], "dcgan-mnist", ["lr_g", "must be a number", "'x'"]),
    (["lr_d=-0.001"], "dcgan-mnist", ["lr_d", "greater than 0"]),
    (["lr_g=0"], "dcgan-mnist", ["lr_g", "greater than 0"]),
    (["lr_d=nan"], "dcgan-mnist", ["lr_d", "finite"]),
    (["batch_size=0"], "dcgan-mnist", ["batch_size", "at least 1"]),
    (["batch_size=-16"], "dcgan-mnist", ["batch_size", "at least 1"]),
    (["steps=0"], "dcgan-mnist", ["steps", "at least 1"]),
    (["latent_dim=0"], "dcgan-mnist", ["latent_dim", "at least 1"]),
    (["g_width=-4"], "dcgan-mnist", ["g_width", "at least 1"]),
    (["image_size=0"], "dcgan-mnist", ["image_size", "at least 8"]),
    (["n_critic=0"], "wgan-mnist", ["n_critic", "at least 1"]),
    (["clip_value=0"], "wgan-mnist", ["clip_value", "greater than 0"]),
    (["label_smoothing=0.9"], "dcgan-mnist", ["label_smoothing", "at most 0.5"]),
    (["dropout=-0.1"], "dcgan-keras-mnist", ["dropout", "at least 0"]),
    (["gp_lambda=-10"], "wgan-gp-mnist", ["gp_lambda", "at least 0"]),
    (["ema_decay=1.5"], "sngan-mnist", ["ema_decay", "at most"]),
    (["bach_size=3"], "dcgan-mnist", ["unknown config key 'bach_size'", "Did you mean 'batch_size'"]),
    (["lr=0.1"], "dcgan-mnist", ["unknown config key 'lr'"]),
    (["batch_size"], "dcgan-mnist", ["key=value"]),
    (["model=dcgn"], "dcgan-mnist", ["unknown model 'dcgn'", "Did you mean 'dcgan'"]),
    (["loss=hinje"], "sngan-mnist", ["unknown loss 'hinje'", "Did you mean 'hinge'"]),
    (["dataset=mnsit"], "dcgan-mnist", ["unknown dataset 'mnsit'", "Did you mean 'mnist'"]),
    (["image_size=30"], "dcgan-mnist", ["image_size 30", "28, 32"]),
    (["image_size=30"], "dcgan-keras-mnist", ["multiple of 4", "30"]),
    (["image_size=30"], "sngan-mnist", ["image_size 30"]),
    (["channels=2"], "dcgan-mnist", ["channels", "1, 3", "2"]),
    (["latent_bound=none"], "gan-mlp-mnist", ["uniform", "latent_bound"]),
    (["latent_distribution=gaussian"], "dcgan-mnist", ["latent_distribution", "normal, uniform"]),
    (["optimizer=sgd"], "dcgan-mnist", ["optimizer", "adam, rmsprop"]),
    (["device=tpu"], "dcgan-mnist", ["device", "auto, cpu, cuda"]),
    (["conditional=true"], "gan-mlp-mnist", ["no class-conditional version"]),
    (["steps=1e9x"], "dcgan-mnist", ["steps", "whole number", "'1e9x'"]),
    (["model=dcgan"], "wgan-gp-mnist", ["wgan-gp", "batch norm"]),
    (["deterministic=maybe"], "dcgan-mnist", ["deterministic", "true or false"]),
]


def check(preset, overrides):
    config = configs.resolve(preset, overrides)
    check_config(config)


@pytest.mark.parametrize("overrides, preset, words", BAD_CONFIGS,
                         ids=[f"{preset}:{' '.join(overrides)}" for overrides, preset, _ in BAD_CONFIGS])
def test_bad_config_is_one_clear_error(overrides, preset, words, tmp_path, capsys):
    with pytest.raises(ConfigError) as error:
        check(preset, overrides)
    message = str(error.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message

    # The CLI: exit status 2, the same message on one line, no traceback, no run folder.
    runs = tmp_path / "runs"
    argv = ["train", "--preset", preset, "--runs-dir", str(runs)]
    for text in overrides:
        argv += ["--set", text]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err == f"error: {message}\n"
    assert "Traceback" not in out + err
    assert not runs.exists()


def test_unknown_preset_suggests_the_nearest(tmp_path, capsys):
    with pytest.raises(ConfigError, match="unknown preset 'dcgan-mnst'. Did you mean 'dcgan-mnist'"):
        configs.resolve("dcgan-mnst")
    assert main(["train", "--preset", "dcgan-mnst", "--runs-dir", str(tmp_path / "runs")]) == 2
    assert capsys.readouterr().err.startswith("error: unknown preset 'dcgan-mnst'.")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("preset, override, expected", [
    ("dcgan-mnist", "bach_size=3", "error: unknown config key 'bach_size'. Did you mean 'batch_size'? "
                                   "`python -m training presets --fields` lists every key."),
    ("dcgan-keras-mnist", "image_size=30", "error: dcgan-keras upsamples twice by 2, so image_size must be a "
                                           "multiple of 4 (28 for MNIST); got 30."),
], ids=["unknown-key", "impossible-size"])
def test_bad_config_from_the_command_line(preset, override, expected, tmp_path, cli_env):
    """The real entry point: one line on stderr, exit status 2, nothing created."""
    runs = tmp_path / "runs"
    result = subprocess.run([sys.executable, "-m", "training", "train", "--preset", preset,
                             "--set", override, "--runs-dir", str(runs)],
                            capture_output=True, text=True, env=cli_env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [expected]
    assert result.stdout == "" and not runs.exists()


def test_build_config_rejects_bad_values_in_code():
    with pytest.raises(ConfigError, match="unknown config key 'bach_size'"):
        configs.Config().replace(bach_size=3)
    with pytest.raises(ConfigError, match="batch_size must be a whole number"):
        configs.build_config({"batch_size": True})
    with pytest.raises(ConfigError, match="latent_dim cannot be empty"):
        configs.build_config({"latent_dim": None})
    with pytest.raises(ConfigError, match="mapping"):
        configs.build_config(["batch_size", 3])
    assert configs.build_config({"batch_size": 32.0}).batch_size == 32  # a whole float is a whole number


def test_set_values_are_read_as_yaml():
    assert configs.parse_override("lr_g=1e-4") == ("lr_g", 1e-4)
    assert configs.parse_override("ema=true") == ("ema", True)
    assert configs.parse_override("latent_bound=none") == ("latent_bound", None)
    assert configs.parse_override("description=1") == ("description", "1")  # text stays text
    assert configs.parse_override(" batch_size = 8") == ("batch_size", 8)
    assert configs.parse_override("lr_d=2e-4") == ("lr_d", 2e-4)  # YAML 1.1 alone would read text
    assert configs.resolve("dcgan-mnist", ["steps=1e3"]).steps == 1000
    assert configs.resolve("dcgan-mnist", ["lr_g=5E-5"]).lr_g == 5e-5
    config = configs.resolve("dcgan-mnist", ["batch_size=8", "lr_d=3e-4", "ema=true"], {"data_root": "/x"})
    assert (config.batch_size, config.lr_d, config.ema, config.data_root, config.preset) == (8, 3e-4, True, "/x", "dcgan-mnist")


def test_an_empty_value_turns_off_what_a_preset_sets():
    assert configs.resolve("dcgan-mnist-tuned").augment == "translation"
    assert configs.resolve("dcgan-mnist-tuned", ["augment="]).augment == ""   # text: the empty text
    assert configs.resolve("dcgan-mnist", ["data_root="]).data_root is None    # optional: none
    with pytest.raises(configs.ConfigError, match="lr_g cannot be empty"):     # a number has no empty value
        configs.resolve("dcgan-mnist", ["lr_g="])
    with pytest.raises(configs.ConfigError, match="device must be one of"):   # nor has a choice
        configs.resolve("dcgan-mnist", ["device="])


def test_every_preset_is_valid_and_round_trips():
    names = configs.preset_names()
    assert {"gan-mlp-mnist", "dcgan-mnist", "dcgan-svhn", "dcgan-keras-mnist", "wgan-mnist", "wgan-gp-mnist",
            "sngan-mnist", "sngan-fashion-mnist", "cgan-mnist", "cgan-fashion-mnist"} <= set(names)
    for name in names:
        config = configs.resolve(name)
        check_config(config)
        assert config.description and config.preset == name
        assert configs.build_config(config.to_dict()) == config


def test_presets_follow_the_write_ups():
    mlp = configs.resolve("gan-mlp-mnist")
    assert (mlp.latent_dim, mlp.latent_distribution, mlp.latent_bound) == (128, "uniform", 1.0)
    assert (mlp.g_width, mlp.d_width, mlp.lr_d, mlp.lr_g, mlp.batch_size) == (256, 128, 5e-4, 1e-4, 256)
    assert mlp.loss == "non-saturating" and mlp.n_critic == 1
    dcgan = configs.resolve("dcgan-mnist")
    assert dcgan.label_smoothing == 0.1 and dcgan.latent_bound == 1.0 and dcgan.optimizer == "adam"
    assert (configs.resolve("dcgan-svhn").image_size, configs.resolve("dcgan-svhn").channels) == (32, 3)
    keras = configs.resolve("dcgan-keras-mnist")
    assert (keras.latent_dim, keras.lr_g, keras.lr_d, keras.dropout, keras.batch_size) == (100, 1e-4, 1e-4, 0.3, 256)
    wgan = configs.resolve("wgan-mnist")
    assert (wgan.loss, wgan.optimizer, wgan.lr_d, wgan.clip_value, wgan.n_critic, wgan.batch_size) == \
        ("wasserstein", "rmsprop", 5e-5, 0.01, 5, 64)
    assert (wgan.bn_momentum, wgan.bn_eps) == (0.2, 1e-5)  # Keras' momentum 0.8, not the eps slip
    assert configs.resolve("wgan-mnist", ["bn_eps=0.8"]).bn_eps == 0.8  # the slip stays reachable
    gp = configs.resolve("wgan-gp-mnist")
    assert (gp.loss, gp.gp_lambda, gp.lr_d, gp.beta1, gp.beta2, gp.n_critic) == ("wgan-gp", 10.0, 1e-4, 0.0, 0.9, 5)
    assert configs.resolve("cgan-mnist").conditional and configs.resolve("sngan-mnist").ema


def test_transparency_background_and_four_channels_are_checked_together():
    alpha = configs.resolve("dcgan-folder-alpha", ["background=#102030"])
    assert (alpha.channels, alpha.transparency, alpha.background) == (4, "alpha", "#102030")  # --set reads #: a colour
    plain = configs.resolve("dcgan-folder")
    assert (plain.transparency, plain.background) == ("composite", "#ffffff")
    for overrides, message in [(["background=white"], "background must look like #ffffff"),
                               (["transparency=see-through"], "transparency must be one of composite, alpha"),
                               (["transparency=alpha"], "set channels=4 too"),
                               (["channels=4"], "set transparency=alpha too"),
                               (["image_size=300"], "image_size for a folder must be 8 to 256")]:
        with pytest.raises(configs.ConfigError, match=message):
            configs.resolve("dcgan-folder", overrides)
    with pytest.raises(configs.ConfigError, match="the folder dataset"):
        configs.resolve("dcgan-mnist", ["transparency=alpha", "channels=4"])
    assert configs.resolve("dcgan-mnist", ["image_size=300"]).image_size == 300  # the limit is a folder's

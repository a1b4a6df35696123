"""training/playground/settings.py: the playground's knobs: defaults that work, every bad value refused
with one message that names the knob and its range, before any process or run folder exists."""
from __future__ import annotations

import time

import pytest

from evaluation.metrics.toy import toy_metrics
from training.config import ConfigError
from training.playground.loop import build_gan
from training.playground.settings import KIND, LOSSES, RANGES, Settings, check_settings


def test_the_defaults_reach_all_eight_modes_of_the_ring(one_thread):
    """The page's claim: all eight modes of the ring well within a minute (about 1,250 G steps,
    6 s on one core; three seeds measured 750-1,250 steps)."""
    gan = build_gan(check_settings({}))
    started, covered = time.monotonic(), 0
    while gan.g_steps < 3000 and covered < 8:
        for _ in range(250):
            gan.iteration()
        covered = toy_metrics(gan.samples(2500, 1), gan.target.centres, gan.target.std)["modes_covered"]
    assert covered == 8, f"{covered}/8 modes after {gan.g_steps} G steps"
    assert time.monotonic() - started < 60


def test_the_defaults_pass_their_own_checks_and_name_the_run_a_playground():
    settings = check_settings({})
    assert settings == Settings()
    values = settings.to_dict()
    assert values["kind"] == KIND and values["preset"] == KIND
    assert check_settings(values) == settings  # a run's config.json reads back as the same settings
    for name, (lo, hi, _, _) in RANGES.items():
        assert lo <= getattr(settings, name) <= hi, name


@pytest.mark.parametrize("values, message", [
    ({"lr_g": 0}, "lr_g (G's Adam learning rate) is 0: it must lie between 1e-06 and 1."),
    ({"depth": 7}, "depth (hidden layers of G and of D) is 7: it must lie between 1 and 6."),
    ({"n_critic": 2.5}, "n_critic (D steps per G step) is 2.5: give a whole number between 1 and 20."),
    ({"pack": True}, "pack (PacGAN packing: samples D judges together) is True: give a whole number"),
    ({"lr_d": "fast"}, "lr_d (D's Adam learning rate) is 'fast': give a number between 1e-06 and 1."),
    ({"gp_lambda": float("nan")}, "gp_lambda (gradient-penalty weight (wgan-gp)) is nan: give a number"),
    ({"batch_size": 100, "pack": 3}, "batch_size 100 is not a multiple of pack 3: D judges packs of 3 points; "
                                     "try batch_size 99."),
    ({"target": "square"}, "unknown target 'square': pick one of ring, grid, moons, spiral, points."),
    ({"loss": "r1"}, "unknown loss 'r1' for the playground: pick one of " + ", ".join(LOSSES) + "."),
    ({"start": "go"}, "start is 'go': 'play' (train at once) or 'pause' (wait for Play or Step)."),
    ({"kind": "image"}, "this is not a playground config (kind 'image', not 'playground')."),
    ({"points": [[0, 0], [1, 1]]}, "points are only for the 'points' target, not 'ring'."),
    ({"learning_rate": 1e-3}, "unknown playground setting 'learning_rate'; the settings are batch_size, clip_value,"),
])
def test_each_bad_value_is_refused_naming_the_knob_and_what_it_may_be(values, message):
    with pytest.raises(ConfigError) as caught:
        check_settings(values)
    assert str(caught.value).startswith(message)


def test_whole_numbers_stay_whole_and_other_numbers_become_floats():
    settings = check_settings({"lr_g": 1, "batch_size": 128, "gp_lambda": 10})
    assert settings.lr_g == 1.0 and type(settings.lr_g) is float and type(settings.gp_lambda) is float
    assert settings.batch_size == 128 and type(settings.batch_size) is int


def test_drawn_points_are_checked_and_kept_as_plain_lists():
    settings = check_settings({"target": "points", "points": [(0, 0), (1.5, -1)]})
    assert settings.points == [[0.0, 0.0], [1.5, -1.0]]
    with pytest.raises(ConfigError, match="at least 2 points"):
        check_settings({"target": "points", "points": [(0, 0)]})

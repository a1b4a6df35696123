"""The playground's targets and knobs (torch-free): shapes, mode centres, and the messages for bad input."""
from __future__ import annotations

import numpy as np
import pytest

from evaluation.metrics.toy import toy_metrics
from training.config import ConfigError
from training.playground.settings import Settings, check_settings
from training.playground.targets import TARGETS, make_target, parse_points


def test_ring_and_grid_are_the_benchmarks_mixtures():
    ring = make_target("ring")
    assert ring.centres.shape == (8, 2) and ring.std == 0.02
    np.testing.assert_allclose(np.linalg.norm(ring.centres, axis=1), 2.0)
    np.testing.assert_allclose(ring.centres[0], [2.0, 0.0], atol=1e-12)
    grid = make_target("grid")
    assert grid.centres.shape == (25, 2) and grid.std == 0.05
    assert sorted(set(grid.centres[:, 0].round(6))) == [-4, -2, 0, 2, 4]


@pytest.mark.parametrize("name", ["ring", "grid", "moons", "spiral"])
def test_real_samples_score_as_a_perfect_generator(name):
    """Exact samples of every target cover all its modes and are (nearly all) high quality: the
    curves' modes and std are chosen so that the metrics read the same way as for the mixtures."""
    target = make_target(name)
    x = target.sample(2500, np.random.default_rng(0))
    assert x.shape == (2500, 2) and x.dtype == np.float32
    scores = toy_metrics(x, target.centres, target.std)
    assert scores["modes_covered"] == scores["num_modes"] == len(target.centres)
    assert scores["high_quality_share"] > 0.95, scores
    x0, x1, y0, y1 = target.bounds()
    assert (x0 < x[:, 0].min()) and (x[:, 0].max() < x1) and (y0 < x[:, 1].min()) and (x[:, 1].max() < y1)


def test_curves_have_their_modes_along_the_curve():
    for name in ("moons", "spiral"):
        target = make_target(name)
        assert target.centres.shape == (16, 2)
        # every mode lies on the curve, and they are spread out (not bunched at one end)
        gaps = np.linalg.norm(target.centres[:, None] - target.curve[None], axis=2).min(1)
        assert gaps.max() < 0.01
        assert np.linalg.norm(target.centres[0] - target.centres[-1]) > 1.0
    # the moons are two interleaving half circles: half the modes on each
    moons = make_target("moons")
    assert moons.centres[:8, 1].mean() > moons.centres[8:, 1].mean()


def test_drawn_points_become_the_centres():
    target = make_target("points", [[0, 0], [1, 2], [-3, 1]], 0.1)
    np.testing.assert_array_equal(target.centres, [[0, 0], [1, 2], [-3, 1]])
    assert target.std == 0.1
    np.testing.assert_array_equal(parse_points("0, 0\n# a comment\n\n1 2\n-3,1"), target.centres)


@pytest.mark.parametrize("points, words", [
    ([], "at least 2 points for the target (there are 0)"), ([[1, 1]], "at least 2 points for the target (there is 1)"),
    ([[0, 0], [float("nan"), 1]], "finite"), ([[0, 0], [11, 0]], "within -10 and 10"),
    ([[0, 0]] * 201, "at most 200"),
])
def test_bad_points_say_what_is_wrong(points, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        make_target("points", points)


def test_a_typed_line_that_is_no_point_is_named():
    with pytest.raises(ConfigError, match=r"point line 2 is 'one, two'"):
        parse_points("0, 0\none, two")
    with pytest.raises(ConfigError, match="point line 1"):
        parse_points("1, 2, 3")


def test_the_defaults_are_valid_and_every_target_is_known():
    settings = check_settings({})
    assert settings == Settings() and settings.to_dict()["kind"] == "playground"
    assert set(TARGETS) == {"ring", "grid", "moons", "spiral", "points"}
    assert check_settings(settings.to_dict()) == settings            # a run's config.json reads back


@pytest.mark.parametrize("values, words", [
    ({"lr_g": -1.0}, r"lr_g \(G's Adam learning rate\) is -1: it must lie between"),
    ({"n_critic": 0}, r"n_critic \(D steps per G step\) is 0"),
    ({"n_critic": 2.5}, "give a whole number"),
    ({"lr_d": float("nan")}, "lr_d"),
    ({"pack": 3}, "batch_size 256 is not a multiple of pack 3.*try batch_size 255"),
    ({"loss": "r1"}, "unknown loss 'r1' for the playground"),
    ({"target": "circle"}, "unknown target 'circle'"),
    ({"target": "points", "points": [[0, 0]]}, "at least 2 points"),
    ({"points": [[0, 0], [1, 1]]}, "only for the 'points' target"),
    ({"learning_rate": 1}, "unknown playground setting 'learning_rate'"),
    ({"start": "go"}, "start is 'go'"),
])
def test_nonsense_knobs_get_a_clear_message(values, words):
    with pytest.raises(ConfigError, match=words):
        check_settings(values)

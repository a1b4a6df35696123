"""Search spaces (training/sweep/space.py): what a parameter becomes in Optuna, what a study records,
and the example spaces in sweeps/, all valid against the config's field table. Torch-free checks."""
from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from training import config as configs
from training.preflight import registry_names
from training.sweep.space import SpaceError, base_values, check_space, load_space, parse_space

from tests.helpers import REPO_ROOT

SPACE = {"preset": "dcgan-mnist", "fixed": {"steps": 100, "eval_every": 50},
         "search": {"lr_g": {"low": 1e-5, "high": 1e-3, "log": True}, "beta1": {"low": 0.0, "high": 0.9, "step": 0.1},
                    "n_critic": {"low": 1, "high": 5}, "batch_size": {"choices": [32, 64]},
                    "augment": {"choices": ["", "translation,cutout"]}, "ema": {"choices": [True, False]}}}


def test_each_parameter_is_sampled_with_its_field_type_inside_its_range():
    space = parse_space(SPACE)
    kinds = {name: p.kind for name, p in space.params.items()}
    assert kinds == {"lr_g": "float", "beta1": "float", "n_critic": "int", "batch_size": "categorical",
                     "augment": "categorical", "ema": "categorical"}
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    base = base_values(space, None, [], {})
    for _ in range(20):
        values = space.suggest(study.ask())
        config = configs.build_config({**base, **values})  # every sample is a config that validates
        assert 1e-5 <= config.lr_g <= 1e-3 and 1 <= config.n_critic <= 5 and isinstance(config.n_critic, int)
        assert round(config.beta1 * 10) == pytest.approx(config.beta1 * 10) and config.batch_size in (32, 64)
    assert parse_space(space.to_dict()).to_dict() == space.to_dict()  # what a study records reads back the same


@pytest.mark.parametrize("change, expected", [
    ({"search": {}}, "`search:` must map at least one config field"),
    ({"searhc": {}}, "unknown section 'searhc'"),
    ({"search": {"lr_g": {"low": 0, "high": 1e-3, "log": True}}}, "search.lr_g: a log range needs low > 0"),
    ({"search": {"lr_g": {"low": 0.0, "high": 1e-3}}}, "search.lr_g: low 0.0 does not fit the field: lr_g must be greater than 0"),
    ({"search": {"lr_g": {"min": 1e-4, "max": 1e-3}}}, "search.lr_g: unknown key 'max'"),
    ({"search": {"lr_g": [1e-4, 1e-3]}}, "search.lr_g: give a range"),
    ({"search": {"loss": {"low": 1, "high": 2}}}, "search.loss: a str field takes choices"),
    ({"search": {"g_width": {"choices": []}}}, "search.g_width: choices must be a non-empty list"),
    ({"search": {"g_width": {"choices": [32, 32]}}}, "search.g_width: choices list a value twice"),
    ({"search": {"sweep_trial": {"choices": [1, 2]}}}, "search.sweep_trial: sweep_trial cannot be searched"),
    ({"pruner": {"type": "hyperband"}}, "pruner: give {type: median | threshold | none"),
    ({"pruner": {"type": "threshold"}}, "pruner: threshold needs `upper`"),
])
def test_a_bad_space_names_what_is_wrong(change, expected):
    with pytest.raises(SpaceError) as error:
        parse_space({**SPACE, **change})
    assert expected in str(error.value)


def test_the_whole_trial_config_is_checked_before_any_trial():
    space = parse_space({**SPACE, "search": {"batch_size": {"choices": [32, 63]}}, "fixed": {"pack": 2, "steps": 100,
                                                                                             "eval_every": 50}})
    with pytest.raises(SpaceError, match=r"search.batch_size: the value 63 makes a config that cannot train: "
                                         r"batch_size 63 must be a multiple of pack 2"):
        check_space(space, base_values(space, None, [], {}), registry_names())
    late = parse_space({**SPACE, "fixed": {"steps": 100, "eval_every": 500}})
    with pytest.raises(SpaceError, match="eval_every 500 is above steps 100"):
        check_space(late, base_values(late, None, [], {}), registry_names())
    with pytest.raises(SpaceError, match="name a preset"):
        base_values(parse_space({k: v for k, v in SPACE.items() if k != "preset"}), None, [], {})


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "sweeps").glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_space_is_valid(path: Path):
    space = load_space(path)
    config = check_space(space, base_values(space, None, [], {}), registry_names())
    assert config.eval_every and config.steps % config.eval_every == 0 and space.description

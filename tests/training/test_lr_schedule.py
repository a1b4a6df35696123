"""Learning-rate schedules (training/lr_schedule.py): the rate changes at the step the schedule says,
in the trainer's optimisers too, and a resumed run takes the rates an uninterrupted one takes."""
from __future__ import annotations

import math

import pytest

from training import config as configs
from training.lr_schedule import rate_factor
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import image_folder, tiny_config


def test_the_factor_follows_warm_up_then_the_schedule():
    assert [rate_factor("constant", s, 10, warmup=4) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert rate_factor("linear_decay", 0, 10) == 1.0
    assert rate_factor("linear_decay", 5, 10) == pytest.approx(0.5)
    assert rate_factor("linear_decay", 9, 10) == pytest.approx(0.1)
    assert rate_factor("cosine", 5, 10) == pytest.approx(0.5)
    assert rate_factor("cosine", 2, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2)))
    assert rate_factor("linear_decay", 4, 12, warmup=4) == 1.0  # the decay starts where warm-up ends
    assert rate_factor("linear_decay", 8, 12, warmup=4) == pytest.approx(0.5)
    with pytest.raises(configs.ConfigError, match="lr_schedule must be one of"):
        configs.build_config({"lr_schedule": "step"})


def rates(trainer: Trainer) -> tuple[float, float]:
    return trainer.session.opt_g.param_groups[0]["lr"], trainer.session.opt_d.param_groups[0]["lr"]


def test_the_trainer_sets_the_rate_of_each_step_and_a_resume_continues_it(tmp_path, one_thread):
    images = image_folder(tmp_path / "images", 16)
    config = tiny_config(images, steps=8, lr_g=1e-3, lr_d=2e-3, lr_schedule="linear_decay", lr_warmup_steps=2)
    trainer = Trainer(build_session(config), None)
    seen = []
    for _ in range(config.steps):
        stats = trainer.train_step()
        seen.append(rates(trainer))
        assert stats["lr_g"] == seen[-1][0]  # logged with the step's figures
        trainer.step += 1
    expected = [rate_factor("linear_decay", s, 8, 2) for s in range(8)]
    assert [g for g, _ in seen] == pytest.approx([1e-3 * f for f in expected])
    assert [d for _, d in seen] == pytest.approx([2e-3 * f for f in expected])
    assert seen[0][0] == pytest.approx(5e-4) and seen[2][0] == pytest.approx(1e-3) and seen[5][0] == pytest.approx(5e-4)

    # stop after 4 steps, resume in a new trainer: the optimisers come back at the config's base rates,
    # and the step alone sets the rate of the next update
    first = Trainer(build_session(config), None)
    for _ in range(4):
        first.train_step()
        first.step += 1
    resumed = Trainer(build_session(config), None)
    resumed.load_state_dict(first.state_dict())
    assert rates(resumed) == (1e-3, 2e-3)
    resumed.train_step()
    assert rates(resumed) == pytest.approx(seen[4])


def test_a_constant_schedule_leaves_the_rates_alone_and_logs_none(tmp_path, one_thread):
    trainer = Trainer(build_session(tiny_config(image_folder(tmp_path / "images", 16), lr_g=3e-4)), None)
    stats = trainer.train_step()
    assert "lr_g" not in stats and rates(trainer)[0] == 3e-4

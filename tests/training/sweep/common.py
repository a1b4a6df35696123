"""What the sweep tests share: a small search space file, a study of made-up trials (no training), and
workers as subprocesses with the checks of the trials they leave."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from training import config as configs
from training.runfolder.folder import RunFolder
from training.sweep import study as studies
from training.sweep.study import open_read_only

from tests.helpers import REPO_ROOT

TINY = dict(steps=20, eval_every=10, eval_samples=100, batch_size=32, g_width=16, d_width=16, log_every=10,
            sample_every=1000, checkpoint_every=10)
SPACE = {"lr_g": FloatDistribution(1e-4, 1e-3, log=True), "augment": CategoricalDistribution(["", "translation"])}


def write_space(path: Path, fixed: dict | None = None, search: dict | None = None, pruner: dict | None = None) -> Path:
    space = {"preset": "gan-mlp-mnist", "fixed": {**TINY, **(fixed or {})},
             "search": search or {"lr_g": {"low": 1e-4, "high": 1e-3, "log": True},
                                  "augment": {"choices": ["", "translation"]}},
             "pruner": pruner or {"type": "none"}}
    path.write_text(yaml.safe_dump(space))
    return path


def made_up_study(runs: Path, name: str = "made-up", fids=(30.5, 12.25, 20.0), pruned: int = 1,
                  failed: int = 0) -> optuna.Study:
    """A study in RUNS/sweeps.db as a worker leaves it: its terms, complete trials with these FIDs
    (trial i ran run-i with lr_g (i+1)e-4), then ``pruned`` pruned and ``failed`` failed trials."""
    base = configs.resolve("gan-mlp-mnist", [f"{k}={v}" for k, v in TINY.items()]).to_dict()
    storage = studies.open_storage(studies.default_storage(runs), heartbeat_s=None)
    study = studies.create_or_join(name, storage, studies.agreement({"search": "made up"}, base, 5))
    for i, fid in enumerate(fids):
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=fid, distributions=SPACE,
                                     params={"lr_g": (i + 1) * 1e-4, "augment": ["", "translation"][i % 2]},
                                     user_attrs={"run": f"run-{i}"}, intermediate_values={10: fid + 5, 20: fid}))
    for state, n in ((TrialState.PRUNED, pruned), (TrialState.FAIL, failed)):
        for _ in range(n):
            study.add_trial(create_trial(state=state, value=None if state == TrialState.FAIL else 90.0,
                                         distributions=SPACE, params={"lr_g": 5e-4, "augment": ""}))
    return study


def study_of(runs: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_read_only(runs / "sweeps.db"))


def worker(space: Path, runs: Path, env: dict, log: Path, *extra: str) -> subprocess.Popen:
    argv = [sys.executable, "-m", "training", "sweep", "--space", str(space), "--runs-dir", str(runs),
            "--study", "tiny", "--heartbeat", "1", "--grace", "2", *extra]
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def check_trial_run(runs: Path, trial: optuna.trial.FrozenTrial, study: str = "tiny") -> RunFolder:
    """The trial's run folder is an ordinary, finished run whose config names the study and trial and
    whose last evaluation is the trial's value."""
    run = RunFolder(runs / trial.user_attrs["run"])
    config = run.read_config()
    assert config["sweep_study"] == study and config["sweep_trial"] == trial.number
    assert config["lr_g"] == pytest.approx(trial.params["lr_g"])
    assert run.live_status()["state"] == "finished" and run.last_checkpoint.is_file()
    evals = [r for r in run.read_metrics() if r.get("kind") == "eval"]
    assert evals[-1]["step"] == config["steps"] and evals[-1]["fid"] == pytest.approx(trial.value)
    assert trial.intermediate_values == {r["step"]: pytest.approx(r["fid"]) for r in evals}
    return run

"""A small real Optuna study in a runs folder's sweeps.db (not a test module): two complete trials, a
pruned one and a failed one, for the Studies page's tests and app/study_view.py's."""
from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState, create_trial

from training.sweep.study import agreement, create_or_join, default_storage, open_storage

DISTRIBUTIONS = {"lr_g": FloatDistribution(1e-5, 1e-3, log=True), "loss": CategoricalDistribution(["hinge", "non-saturating"])}


def make_study(runs, name="demo") -> optuna.Study:
    """Trials 0 and 1 complete (FID 30.5 and 12.25, each with an evaluation at step 10 that was 5 worse),
    trial 2 pruned after one evaluation (80.0), trial 3 failed; 4 trials asked for."""
    storage = open_storage(default_storage(runs), heartbeat_s=None)
    study = create_or_join(name, storage, agreement({"search": {}, "description": "a test study"}, {}, 4))
    for number, (lr, loss, value) in enumerate([(1e-4, "hinge", 30.5), (5e-4, "non-saturating", 12.25)]):
        study.add_trial(create_trial(state=TrialState.COMPLETE, value=value, params={"lr_g": lr, "loss": loss},
                                     distributions=DISTRIBUTIONS, user_attrs={"run": f"{name}-t{number}-x"},
                                     intermediate_values={10: value + 5, 20: value}))
    study.add_trial(create_trial(state=TrialState.PRUNED, params={"lr_g": 1e-3, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS, user_attrs={"run": f"{name}-t2-x"},
                                 intermediate_values={10: 80.0}))
    study.add_trial(create_trial(state=TrialState.FAIL, params={"lr_g": 2e-5, "loss": "hinge"},
                                 distributions=DISTRIBUTIONS))
    return study

"""`python -m training sweep --report`: a study's best trials as a table, and where it stands. Torch-free."""
from __future__ import annotations

from typing import Any

import optuna
import yaml

from training.sweep.study import StudyError, best_trials, counts


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def trial_rows(study: optuna.Study, top: int | None = None) -> list[dict[str, Any]]:
    """The best complete trials, lowest FID first: rank, trial, fid, run, then each parameter."""
    rows = []
    for rank, trial in enumerate(best_trials(study, top), 1):
        rows.append({"rank": rank, "trial": trial.number, "fid": trial.value, "run": trial.user_attrs.get("run", ""),
                     **trial.params})
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[format_value(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def report(study: optuna.Study, top: int = 10) -> str:
    state = counts(study)
    wanted = study.user_attrs.get("trials")
    head = (f"study {study.study_name}: {state['complete']} complete, {state['pruned']} pruned, {state['fail']} failed, "
            f"{state['running']} running, {state['waiting']} waiting" + (f" (of {wanted} trials)" if wanted else ""))
    rows = trial_rows(study, top)
    if not rows:
        return head + "\nno complete trial yet."
    return f"{head}\nbest {len(rows)} by FID (lower is better):\n{table(rows)}"


def best_config(study: optuna.Study) -> tuple[dict[str, Any], str]:
    """The best complete trial's config values (the study's base config and the trial's parameters,
    as any machine can rebuild them) and a header naming the study, the trial, its FID and budget."""
    trials = best_trials(study, 1)
    if not trials:
        raise StudyError(f"study {study.study_name} has no complete trial yet: nothing to write.")
    best = trials[0]
    values = {**study.user_attrs.get("base", {}), **best.params, "sweep_study": study.study_name,
              "sweep_trial": best.number}
    header = (f"# The best trial of study {study.study_name}: trial {best.number}, FID {best.value:.4f} at its budget of "
              f"{values.get('steps')} steps (the trainer's live evaluation, {values.get('eval_samples')} samples), "
              f"run {best.user_attrs.get('run', '?')}.\n# Train it: python -m training train --config THIS_FILE "
              "[--set steps=N]\n")
    return values, header


def config_text(values: dict[str, Any], header: str) -> str:
    return header + yaml.safe_dump(values, sort_keys=False)

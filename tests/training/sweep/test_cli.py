"""training/sweep/cli.py: `python -m training sweep` refuses what it cannot do before any study or run
is touched, and `--report` prints a study and writes its best config (on a study of made-up trials)."""
from __future__ import annotations

import pytest

from training import config as configs
from training.cli.main import main

from tests.training.sweep.common import made_up_study, write_space

pytestmark = pytest.mark.usefixtures("restore_logging")


def sweep(*args, capsys) -> tuple[int, str, str]:
    code = main(["sweep", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args, message", [
    (["--trials", "0", "--space", "s.yaml"], "--trials, --top, --heartbeat and --grace take whole numbers of at least 1"),
    (["--report", "--top", "0"], "--trials, --top, --heartbeat and --grace take whole numbers of at least 1"),
    ([], "give the search space: --space SPACE.yaml"),
    (["--report", "--study", "s"], "no sweeps in {runs} (no sweeps.db); give --storage URL or --runs-dir"),
])
def test_what_cannot_run_is_refused_in_one_line_and_nothing_is_made(args, message, tmp_path, capsys):
    runs = tmp_path / "runs"
    code, _, err = sweep(*args, "--runs-dir", runs, capsys=capsys)
    assert code == 2 and err.startswith("error: ") and message.format(runs=runs) in err
    assert len(err.strip().splitlines()) == 1 and not runs.exists()


def test_the_report_of_a_study_and_its_best_config(tmp_path, capsys):
    runs = tmp_path / "runs"
    made_up_study(runs, fids=(30.5, 12.25, 20.0))
    code, out, _ = sweep("--report", "--study", "made-up", "--runs-dir", runs, "--top", "2", capsys=capsys)
    assert code == 0 and out.splitlines()[0].startswith("study made-up: 3 complete, 1 pruned")
    assert len(out.splitlines()) == 3 + 2
    best = tmp_path / "best.yaml"
    code, _, err = sweep("--report", "--study", "made-up", "--runs-dir", runs, "--best-config", best, capsys=capsys)
    assert code == 0 and f"wrote the best trial's config to {best}" in err
    assert configs.resolve(None, config_file=best).sweep_trial == 1
    best.write_text("mine")
    code, _, err = sweep("--report", "--study", "made-up", "--runs-dir", runs, "--best-config", best, capsys=capsys)
    assert code == 2 and "exists; pass --force to replace it" in err and best.read_text() == "mine"
    code, _, _ = sweep("--report", "--study", "made-up", "--runs-dir", runs, "--best-config", best, "--force",
                       capsys=capsys)
    assert code == 0 and best.read_text().startswith("# The best trial of study made-up: trial 1")


def test_the_report_names_the_study_from_the_space_file_or_asks_for_it(tmp_path, capsys):
    runs = tmp_path / "runs"
    made_up_study(runs, name="tiny")
    space = write_space(tmp_path / "tiny.yaml")
    code, out, _ = sweep("--report", "--space", space, "--runs-dir", runs, capsys=capsys)
    assert code == 0 and out.startswith("study tiny: ")
    code, _, err = sweep("--report", "--runs-dir", runs, capsys=capsys)
    assert code == 2 and "name the study: --study NAME (or give --space" in err
    code, _, err = sweep("--report", "--study", "other", "--runs-dir", runs, capsys=capsys)
    assert code == 2 and "no study 'other' in the storage (it holds tiny)" in err


def test_a_best_config_that_is_not_yaml_is_refused_before_the_study_is_read(tmp_path, capsys):
    runs = tmp_path / "runs"
    made_up_study(runs)
    code, _, err = sweep("--report", "--study", "made-up", "--runs-dir", runs, "--best-config", tmp_path / "b.json",
                         capsys=capsys)
    assert code == 2 and "--best-config" in err and ".yaml" in err and not (tmp_path / "b.json").exists()

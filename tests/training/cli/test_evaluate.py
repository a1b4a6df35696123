"""training/cli/evaluate.py: `python -m training evaluate` checks what it is asked before any sample
is drawn, and writes a report beside an exported model only when told to (--json, --update-card)."""
from __future__ import annotations

import json

import pytest

from training import config as configs
from training.cli.main import main
from training.runfolder.folder import create_run

from tests.helpers import file_hashes, make_onnx_generator, real_image_generator

pytestmark = pytest.mark.usefixtures("one_thread", "restore_logging")


def test_evaluate_needs_a_model_unless_it_only_exports_inception(tmp_path, monkeypatch, capsys):
    import training.export.inception

    assert main(["evaluate"]) == 2
    assert "name a model" in capsys.readouterr().err
    monkeypatch.setattr(training.export.inception, "export_inception_onnx", lambda: tmp_path / "inception.onnx")
    assert main(["evaluate", "--inception"]) == 0
    assert str(tmp_path / "inception.onnx") in capsys.readouterr().out
    assert main(["evaluate", str(tmp_path / "missing.onnx")]) == 2
    assert "model file not found" in capsys.readouterr().err


@pytest.mark.parametrize("extra, words", [
    (["--json", "report.txt"], "--json report.txt: the file must end in .json"),
    (["--n", "5"], "n (--n, the generated samples) must be a whole number from 10 to 100,000, got 5"),
    (["--kid-subsets", "0"], "kid_subsets (--kid-subsets) must be a whole number from 1 to 10,000, got 0"),
    (["--evaluator", "nope.onnx"], "--evaluator nope.onnx: no such evaluator file"),
    (["--dataset", "mnsit"], "unknown dataset 'mnsit'. Did you mean 'mnist'?"),
])
def test_a_bad_request_is_refused_in_one_line_before_any_work(extra, words, tmp_path, capsys, monkeypatch):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    monkeypatch.chdir(tmp_path)
    before = file_hashes(tmp_path)
    assert main(["evaluate", str(model), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and len(err.strip().splitlines()) == 1
    assert file_hashes(tmp_path) == before


def test_update_card_needs_a_card_to_update(tmp_path, capsys):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    model.with_suffix(".json").unlink()
    assert main(["evaluate", str(model), "--update-card"]) == 2
    assert f"no model card {tmp_path / 'toy.json'} to update" in capsys.readouterr().err
    runs = tmp_path / "runs"
    run = create_run(runs, "unexported", configs.resolve("gan-mlp-mnist").to_dict())
    assert main(["evaluate", run.id, "--runs-dir", str(runs), "--update-card"]) == 2
    assert "export the run first" in capsys.readouterr().err
    assert main(["evaluate", "no-such-run", "--runs-dir", str(runs)]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_a_plain_evaluation_of_a_file_writes_only_where_json_says(tmp_path, mnist_test, capsys):
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:300, 0])
    before = file_hashes(tmp_path)
    assert main(["evaluate", str(model), "--n", "300", "--kid-subsets", "2"]) == 0
    assert "fid" in capsys.readouterr().out
    assert file_hashes(tmp_path) == before  # what ships beside the model is untouched
    report = tmp_path / "reports" / "real.json"
    assert main(["evaluate", str(model), "--n", "300", "--kid-subsets", "2", "--json", str(report)]) == 0
    assert f"wrote {report}" in capsys.readouterr().out
    assert json.loads(report.read_text())["n_generated"] == 300
    assert not (tmp_path / "real.eval.json").exists()

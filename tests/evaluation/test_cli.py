"""python -m evaluation: a shipped generator scored with torch absent, every registered metric in
the table, the comparison with the model's card, the report as JSON, and clear errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dataio import read_split
from evaluation.cli import main
from evaluation.metrics import METRICS
from evaluation.features import FEATURE_NETWORK_VARIABLE

from tests.evaluation.common import class_image_generator, make_feature_network
from tests.helpers import REPO_ROOT, SHARED_DATA, FakeInception, make_onnx_generator, real_image_generator, rgba_folder

NO_TORCH = """import os
with open(os.environ["TORCH_ATTEMPTS"], "a") as f:
    f.write("torch was imported\\n")
raise ImportError("torch is not installed here (tests/evaluation/test_cli.py)")
"""


def test_a_shipped_generator_is_scored_with_torch_absent(tmp_path, mnist_root):
    """torch/__init__.py first on the path raises ImportError, as on a machine without torch, and
    notes the attempt; the reference statistics are built in that same process (a fresh cache)."""
    (tmp_path / "fake" / "torch").mkdir(parents=True)
    (tmp_path / "fake" / "torch" / "__init__.py").write_text(NO_TORCH)
    attempts = tmp_path / "attempts.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "fake"), str(REPO_ROOT)]),
           "GAN_STUDIO_CACHE": str(tmp_path / "cache"), "GAN_STUDIO_DATA": str(SHARED_DATA),
           "TORCH_ATTEMPTS": str(attempts)}
    out = subprocess.run([sys.executable, "-m", "evaluation", "exported/mnist-dcgan.onnx", "--dataset", "mnist",
                          "--n", "1000", "--json", str(tmp_path / "report.json")],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not attempts.exists(), "something imported torch"
    for key in METRICS.keys():
        assert key in out.stdout, f"{key} missing from the table"
    assert "feature network: mnist-cnn.onnx:features(128) sha256:" in out.stdout
    assert "compared with the card's scores" in out.stdout  # the shipped card holds scores of the same evaluator
    assert list((tmp_path / "cache" / "reference").iterdir())  # built here, without torch
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_generated"] == 1000 and report["reference"] == "mnist test (10,000)"
    assert set(report["metrics"]) == {k for m in METRICS if m.when == "always" for k in m.keys}


def test_a_folder_model_is_scored_with_torch_absent(tmp_path):
    """An RGBA generator of the folder dataset against the folder the test writes, in a tiny ONNX
    feature network ($GAN_STUDIO_FEATURE_NETWORK: Inception's place, fast), torch blocked."""
    (tmp_path / "fake" / "torch").mkdir(parents=True)
    (tmp_path / "fake" / "torch" / "__init__.py").write_text(NO_TORCH)
    attempts = tmp_path / "attempts.txt"
    folder = rgba_folder(tmp_path / "images", per_class=8, size=16)
    model = make_onnx_generator(tmp_path / "folder.onnx", shape=(4, 16, 16), meta={"dataset": "folder", "metrics": {}})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "fake"), str(REPO_ROOT)]),
           "GAN_STUDIO_CACHE": str(tmp_path / "cache"), "TORCH_ATTEMPTS": str(attempts),
           FEATURE_NETWORK_VARIABLE: str(make_feature_network(tmp_path / "tiny.onnx"))}
    out = subprocess.run([sys.executable, "-m", "evaluation", str(model), "--data-root", str(folder), "--n", "40",
                          "--kid-subsets", "5", "--json", str(tmp_path / "report.json")],
                         cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert not attempts.exists(), "something imported torch"
    for key in ("fid", "kid_mean", "precision", "recall", "density", "coverage"):
        assert f"\n{key} " in out.stdout, f"{key} missing from the table"
    for line in ("feature network: tiny.onnx:features(16) sha256:", f"reference:       folder {folder} (all 16 images",
                 "generated:       40 from folder.onnx", "KID:             unbiased MMD², mean of 5 subsets of 16",
                 "transparency:    RGBA composited over black", "runtime:         cpu (onnxruntime"):
        assert line in out.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_generated"] == 40 and report["n_reference"] == 16 and report["metrics"]["fid"] > 0


@pytest.fixture(scope="module")
def folder_evaluator(tmp_path_factory):
    """A labelled RGBA folder and an evaluator trained on it (``train-evaluator --dataset folder``), once."""
    from training.auxiliary.train_evaluator import train_evaluator  # torch: only this fixture trains

    root = tmp_path_factory.mktemp("folder-evaluator")
    folder = rgba_folder(root / "shapes", per_class=20, size=16, classes=("circles", "squares", "discs", "boxes"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_STUDIO_CACHE", str(root / "cache"))
        card, path = train_evaluator("folder", epochs=25, out=root / "shapes-cnn.onnx", data_root=folder, image_size=16)
    return folder, path, card


@pytest.mark.usefixtures("one_thread")
def test_a_folder_evaluator_adds_label_accuracy_and_class_coverage(tmp_path, monkeypatch, capsys, folder_evaluator):
    folder, evaluator, card = folder_evaluator
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(FEATURE_NETWORK_VARIABLE, str(make_feature_network(tmp_path / "tiny.onnx")))
    rgba = read_split("folder", folder, "train", 16, transparency="alpha")
    first_of_each = rgba.images[[int(np.flatnonzero(rgba.labels == c)[0]) for c in range(4)]]  # held out
    asked = class_image_generator(tmp_path / "asked.onnx", first_of_each)
    wrong = class_image_generator(tmp_path / "wrong.onnx", np.roll(first_of_each, 1, axis=0))
    scores = {}
    for model in (asked, wrong):
        assert main([str(model), "--data-root", str(folder), "--evaluator", str(evaluator), "--n", "40",
                     "--kid-subsets", "2", "--json", str(tmp_path / f"{model.stem}.report.json")]) == 0
        out = capsys.readouterr().out
        assert "label_accuracy" in out and "classes_covered" in out and "class_kl" in out and "\nfid " in out
        scores[model.stem] = json.loads((tmp_path / f"{model.stem}.report.json").read_text())
    asked, wrong = scores["asked"], scores["wrong"]
    assert asked["metrics"]["label_accuracy"] >= card["test_accuracy"] - 0.25 >= 0.5  # held-out images, as the card's
    assert wrong["metrics"]["label_accuracy"] <= 0.25 and asked["metrics"]["classes_covered"] >= 3
    assert asked["classifier"].startswith("shapes-cnn.onnx:features(128)") and len(asked["predicted_class_histogram"]) == 4
    assert asked["feature_network"].startswith("tiny.onnx")  # the folder's main scores stay in the general features


def test_another_evaluator_is_not_compared_with_the_card(tmp_path, mnist_test, capsys):
    recorded = {"metrics": {"fid": 1.0}, "feature_network": "mnist-cnn.onnx:features(128) sha256:0123456789ab"}
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:200, 0], metrics=recorded)
    assert main([str(model), "--n", "200", "--kid-subsets", "2"]) == 0
    out = capsys.readouterr().out
    assert "not compared with the card's scores" in out and "sha256:0123456789ab" in out and "->" not in out


def test_inception_is_asked_for_and_printed(tmp_path, monkeypatch, mnist_test, capsys):
    import evaluation.cli

    monkeypatch.setattr(evaluation.cli, "inception_extractor", FakeInception)
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    model = real_image_generator(tmp_path / "real.onnx", mnist_test.images[:200, 0])
    assert main([str(model), "--n", "200", "--kid-subsets", "2", "--inception", "--inception-n", "50"]) == 0
    out = capsys.readouterr().out
    assert "inception FID:" in out and "fake inception" in out and "50 generated" in out
    assert "fid_inception (with --inception)" not in out  # computed this time


def test_errors_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    assert main([str(tmp_path / "missing.onnx")]) == 2
    assert "error: model file not found" in capsys.readouterr().err
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "empty-cache"))
    assert main(["exported/mnist-dcgan.onnx", "--inception"]) == 2
    err = capsys.readouterr().err
    assert "python -m training evaluate --inception" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main([])

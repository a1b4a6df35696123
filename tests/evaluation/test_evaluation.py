"""Evaluation: the shipped evaluator networks, `python -m training evaluate`, mode collapse caught,
live evaluation rows during training, and the 2-D mode benchmarks on a small budget."""
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from training import evaluation

from tests.helpers import REPO_ROOT

ROOT = REPO_ROOT
EVALUATORS = ROOT / "exported" / "evaluators"
TARGETS = {"mnist": 0.993, "fashion-mnist": 0.92}
REPORT_KEYS = {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage", "classifier_score",
               "classifier_score_std", "classes_covered", "class_kl"}


def _evaluator_or_skip(dataset: str) -> Path:
    path = EVALUATORS / f"{dataset}-cnn.onnx"
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} is not trained yet: "
                    f"run `python -m training train-evaluator --dataset {dataset}`")
    return path


def _test_split(dataset: str):
    from training.data import DataError, load_dataset

    try:
        return load_dataset(dataset, None, "test", 28, 1)
    except DataError as error:
        pytest.skip(f"no {dataset} test split here: {error}")


# ----------------------------------------------------------------------------- shipped evaluators
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_shipped_evaluator_accuracy_on_test_split(dataset):
    path = _evaluator_or_skip(dataset)
    ev = evaluation.Evaluator(path)
    assert ev.meta["dataset"] == dataset and ev.meta["input_range"] == "-1,1"
    assert ev.feature_dim == int(ev.meta["feature_dim"]) == 128
    test = _test_split(dataset)
    feats, logits = ev.run(test.images.numpy().astype(np.float32) / 127.5 - 1)
    assert feats.shape == (len(test), 128) and logits.shape == (len(test), 10)
    acc = float((logits.argmax(1) == test.labels.numpy()).mean())
    assert acc >= TARGETS[dataset], f"{path.name}: test accuracy {acc:.4f} < {TARGETS[dataset]}"
    card = json.loads(path.with_suffix(".json").read_text())
    assert abs(card["test_accuracy"] - acc) < 1e-3  # the card tells the truth
    assert path.stat().st_size < 5e6


def test_to_evaluator_input_maps_ranges_channels_and_size():
    x = np.zeros((2, 3, 32, 32), np.float32)
    x[1] = 1.0
    out = evaluation.to_evaluator_input(x, (0.0, 1.0))
    assert out.shape == (2, 1, 28, 28) and out.dtype == np.float32
    assert np.allclose(out[0], -1) and np.allclose(out[1], 1, atol=1e-5)
    u8 = np.full((1, 1, 28, 28), 255, np.uint8)
    assert np.allclose(evaluation.to_evaluator_input(u8), 1)


# ----------------------------------------------------------------------------- a generator of real images
def real_image_generator(path: Path, images_uint8: np.ndarray, dataset: str = "mnist") -> Path:
    """An ONNX generator (the contract's z -> image) that returns one of ``images`` chosen by z[:, 0]
    (uniform in [-1, 1]): a 'generator' whose output distribution we know exactly."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inference import contract

    k = len(images_uint8)
    table = (images_uint8.astype(np.float32) / 127.5 - 1).reshape(k, 1, 28, 28)
    inits = [numpy_helper.from_array(table, "table"),
             numpy_helper.from_array(np.array([0], np.int64), "s0"), numpy_helper.from_array(np.array([1], np.int64), "s1"),
             numpy_helper.from_array(np.array([1], np.int64), "ax"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(k / 2, np.float32), "half_k"),
             numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(k - 1, np.float32), "hi"),
             numpy_helper.from_array(np.array([-1], np.int64), "flat")]
    nodes = [helper.make_node("Slice", ["z", "s0", "s1", "ax"], ["z0"]),
             helper.make_node("Add", ["z0", "one"], ["a"]), helper.make_node("Mul", ["a", "half_k"], ["b"]),
             helper.make_node("Floor", ["b"], ["c"]), helper.make_node("Clip", ["c", "lo", "hi"], ["d"]),
             helper.make_node("Cast", ["d"], ["e"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["e", "flat"], ["idx"]),
             helper.make_node("Gather", ["table", "idx"], ["image"], axis=0)]
    graph = helper.make_graph(nodes, "real-images", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    meta = {"latent_dim": 4, "latent_distribution": "uniform", "latent_bound": 1.0, "image_shape": (1, 28, 28),
            "output_range": (-1.0, 1.0), "num_classes": 0, "dataset": dataset, "architecture": "lookup",
            "loss": "none", "train_steps": 0, "metrics": {}, "created": "2026-11-24T00:00:00Z",
            "training_command": "tests/test_evaluation.py"}
    helper.set_model_props(model, contract.metadata_to_props(meta))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "metadata": contract.metadata_to_card(meta)}))
    return path


def _run_cli(argv) -> int:
    from training.cli import main

    return main(argv)


@pytest.fixture(scope="module")
def mnist_test():
    _evaluator_or_skip("mnist")
    return _test_split("mnist")


def test_evaluate_cli_on_generator_gives_every_metric_and_updates_card(tmp_path, mnist_test, capsys):
    images = mnist_test.images.numpy()[:1000, 0]
    model = real_image_generator(tmp_path / "real.onnx", images)
    assert _run_cli(["evaluate", str(model), "--n", "1000", "--kid-subsets", "5", "--update-card"]) == 0
    out = capsys.readouterr().out
    assert "fid" in out and "feature network" in out
    report = json.loads((tmp_path / "real.eval.json").read_text())
    assert set(report["metrics"]) >= REPORT_KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in report["metrics"].values())
    assert report["reference"] == "mnist test (10,000)" and report["n_generated"] == 1000
    assert report["feature_network"].startswith("mnist-cnn.onnx:features(128)")
    m = report["metrics"]
    assert m["classes_covered"] == 10 and m["fid"] < 5 and m["recall"] > 0.5 and m["precision"] > 0.5
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metadata"]["metrics"]["metrics"]["fid"] == pytest.approx(m["fid"])
    # the file itself carries the same scores, for apps that have only the .onnx
    from inference import Generator

    inside = Generator.load(model, device="cpu").metadata["metrics"]
    assert inside["metrics"]["fid"] == pytest.approx(m["fid"]) and inside["reference"] == report["reference"]
    assert card["metadata"]["train_steps"] == Generator.load(model, device="cpu").metadata["train_steps"]


def test_collapsed_generator_is_caught_by_class_coverage_and_recall(tmp_path, mnist_test):
    labels = mnist_test.labels.numpy()
    ones = mnist_test.images.numpy()[labels == 1][:500, 0]
    healthy = mnist_test.images.numpy()[:500, 0]
    reports = {}
    for name, images in (("ones", ones), ("healthy", healthy)):
        report, _, _ = evaluation.evaluate_target(str(real_image_generator(tmp_path / f"{name}.onnx", images)),
                                                  n=1000, kid_subsets=5)
        reports[name] = report["metrics"]
    collapsed, ok = reports["ones"], reports["healthy"]
    assert collapsed["classes_covered"] == 1 and ok["classes_covered"] == 10
    assert collapsed["class_kl"] > 1.5 > 0.1 > ok["class_kl"]
    assert collapsed["recall"] < 0.2 < ok["recall"]
    assert collapsed["coverage"] < 0.2 < ok["coverage"]
    assert collapsed["fid"] > 10 * ok["fid"]


def test_stacked_mnist_is_scored_digit_by_digit_with_its_modes(mnist_test):
    from training.data import load_dataset

    stacked = load_dataset("stacked-mnist", None, "test").images.numpy()[:3000]
    full = evaluation.evaluate_images(stacked, "stacked-mnist", kid_subsets=5)
    m = full["metrics"]
    # Real triples: nearly all modes (3,000 draws of 1,000 equally likely modes leave ~50 unseen) and
    # a KL from uniform near its finite-sample value, ~(1000 - 1) / (2 * 3000).
    assert m["modes_captured"] >= 930 and m["mode_kl"] < 0.3
    assert m["classes_covered"] == 10 and m["fid"] < 1.0  # each channel is real MNIST
    assert full["n_generated"] == 9_000 and full["n_stacked_images"] == 3_000
    assert "each of the 3 channels" in full["reference"]
    one_digit_last = stacked.copy()
    one_digit_last[:, 2] = stacked[0, 2]  # the last channel never changes: at most 100 modes
    m = evaluation.evaluate_images(one_digit_last, "stacked-mnist", kid_subsets=5)["metrics"]
    assert m["modes_captured"] <= 100 and m["mode_kl"] > math.log(10) - 0.1
    with pytest.raises(evaluation.EvaluationError, match="3 channels"):
        evaluation.evaluate_images(stacked[:, :1], "stacked-mnist")


# ----------------------------------------------------------------------------- live evaluation while training
def test_training_with_eval_every_writes_chartable_rows(tmp_path, mnist_test):
    runs = tmp_path / "runs"
    argv = ["train", "--preset", "gan-mlp-mnist", "--runs-dir", str(runs), "--set", "steps=4", "--set", "batch_size=32",
            "--set", "eval_every=2", "--set", "eval_samples=200", "--set", "log_every=2", "--set", "sample_every=100",
            "--set", "checkpoint_every=100", "--device", "cpu"]
    assert _run_cli(argv) == 0
    (run,) = runs.iterdir()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r.get("kind") == "eval"]
    assert [r["step"] for r in evals] == [2, 4]
    for r in evals:
        for key in evaluation.CHART_KEYS:
            assert isinstance(r[key], (int, float)), key
        assert r["n_generated"] == 200 and r["reference"] == "mnist test (10,000)"
    assert (run / "checkpoints" / "best.pt").exists()
    # The best checkpoint exports with the scores of its own step; the last one with the last step's.
    best = min(evals, key=lambda r: r["fid"])
    for which, row in (("best", best), ("last", evals[-1])):
        out = tmp_path / f"{which}.onnx"
        assert _run_cli(["export", str(run), "--checkpoint", which, "--out", str(out)]) == 0
        card = json.loads(out.with_suffix(".json").read_text())
        assert card["training"]["checkpoint"] == which and card["training"]["steps"] == row["step"]
        scores = card["metadata"]["metrics"]
        assert scores["metrics"]["fid"] == row["fid"] and scores["step"] == row["step"]
        assert scores["reference"] == "mnist test (10,000)" and scores["n_generated"] == 200


# ----------------------------------------------------------------------------- 2-D mode benchmarks
def test_ring_and_grid_benchmarks_run_end_to_end(tmp_path):
    sys.path.insert(0, str(ROOT / "bench"))
    import modes_toy

    out = tmp_path / "toy.md"
    assert modes_toy.main(["--steps", "20", "--pack", "2", "--out", str(out)]) == 0
    text = out.read_text()
    assert "| ring |" in text and "| grid |" in text
    row = modes_toy.train_toy("grid", steps=10, loss="hinge")
    assert row["num_modes"] == 25 and 0 <= row["modes_covered"] <= 25
    assert 0 <= row["high_quality_share"] <= 1
    assert row["exact_samples_high_quality_share"] > 0.97

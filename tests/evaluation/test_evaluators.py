"""evaluation/evaluators.py: the shipped evaluator networks, where evaluators are found, their
sessions and their hashes."""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from evaluation.errors import EvaluationError
from evaluation.evaluators import (DEFAULT_INPUT_SHAPE, EVALUATOR_DIR, Evaluator, evaluator_path, get_evaluator,
                                   parse_input_shape, sha256_of)

from tests.helpers import REPO_ROOT, make_onnx_generator

EVALUATORS = REPO_ROOT / "exported" / "evaluators"
TARGETS = {"mnist": 0.993, "fashion-mnist": 0.92}


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_shipped_evaluator_accuracy_on_test_split(dataset):
    from dataio import DataError, read_split

    path = EVALUATORS / f"{dataset}-cnn.onnx"
    ev = Evaluator(path)
    assert ev.meta["dataset"] == dataset and ev.meta["input_range"] == "-1,1"
    assert ev.feature_dim == int(ev.meta["feature_dim"]) == 128
    try:
        test = read_split(dataset, None, "test")
    except DataError as error:
        pytest.skip(f"no {dataset} test split here: {error}")
    feats, logits = ev.run(test.images.astype(np.float32) / 127.5 - 1)
    assert feats.shape == (len(test), 128) and logits.shape == (len(test), 10)
    acc = float((logits.argmax(1) == test.labels).mean())
    assert acc >= TARGETS[dataset], f"{path.name}: test accuracy {acc:.4f} < {TARGETS[dataset]}"
    card = json.loads(path.with_suffix(".json").read_text())
    assert abs(card["test_accuracy"] - acc) < 1e-3  # the card tells the truth
    assert path.stat().st_size < 5e6


def test_scores_name_the_evaluator_by_file_layer_and_hash():
    ev = get_evaluator("mnist")
    assert ev.sha256 == hashlib.sha256((EVALUATORS / "mnist-cnn.onnx").read_bytes()).hexdigest()
    assert ev.name == f"mnist-cnn.onnx:features(128) sha256:{ev.sha256[:12]}"
    assert ev.class_names and len(ev.class_names) == 10


def test_a_missing_evaluator_says_which_command_makes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_EVALUATORS", str(tmp_path))
    shutil.copy(EVALUATORS / "mnist-cnn.onnx", tmp_path / "mnist-cnn.onnx")
    assert evaluator_path("mnist") == tmp_path / "mnist-cnn.onnx"
    with pytest.raises(EvaluationError, match=r"have: mnist\).*train-evaluator --dataset svhn --out"):
        evaluator_path("svhn")
    with pytest.raises(EvaluationError, match="not found"):
        get_evaluator(str(tmp_path / "other.onnx"))


def test_a_generator_is_not_an_evaluator(tmp_path):
    with pytest.raises(EvaluationError, match="not a GAN Studio evaluator"):
        Evaluator(make_onnx_generator(tmp_path / "g.onnx"))


def _with_props(tmp_path, **props):
    import onnx

    model = onnx.load(str(EVALUATORS / "mnist-cnn.onnx"))
    for prop in model.metadata_props:
        if prop.key in props:
            prop.value = props[prop.key]
    path = tmp_path / "odd-cnn.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("props, words", [
    ({"class_names": "[" * 100_000}, "nests more than 64 levels deep"),
    ({"class_names": "not json"}, "class_names metadata 'not json' is unusable"),
    ({"feature_dim": "many"}, "feature_dim metadata 'many' is no whole number"),
])
def test_evaluator_metadata_that_would_crash_is_one_clear_error(tmp_path, props, words):
    with pytest.raises(EvaluationError, match=words):
        Evaluator(_with_props(tmp_path, **props))


def test_a_file_that_is_no_onnx_is_one_clear_error(tmp_path):
    (tmp_path / "junk-cnn.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(EvaluationError, match="not an ONNX file onnxruntime can load"):
        Evaluator(tmp_path / "junk-cnn.onnx")


def test_one_session_per_file_and_a_changed_file_is_reloaded(tmp_path):
    path = shutil.copy(EVALUATORS / "mnist-cnn.onnx", tmp_path / "mine-cnn.onnx")
    first = get_evaluator(str(path))
    assert get_evaluator(str(path)) is first
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert get_evaluator(str(path)) is not first
    assert sha256_of(path) == first.sha256


def test_sessions_sleep_rather_than_spin_and_honour_the_thread_setting(monkeypatch):
    # scoring shares the cores with training: idle onnxruntime workers must not spin on them
    from evaluation.evaluators import session_options

    for optimize in (False, True):
        opts = session_options(optimize=optimize)
        assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    monkeypatch.setenv("GAN_STUDIO_EVAL_THREADS", "1")
    assert session_options().intra_op_num_threads == 1


def test_features_do_not_depend_on_the_batch():
    # BATCH is a speed setting (cache-sized calls), so the scores must not move with it
    from evaluation.evaluators import BATCH

    images = np.random.default_rng(0).uniform(-1, 1, (2 * BATCH + 7, 1, 28, 28)).astype(np.float32)
    ev = get_evaluator("mnist")
    by_default, whole = ev.run(images), ev.run(images, batch=len(images))
    for ours, ref in zip(by_default, whole):
        assert ours.shape == ref.shape and np.abs(ours - ref).max() <= 1e-5 * np.abs(ref).max()


def test_the_shipped_evaluators_read_1x28x28_and_a_file_without_the_shape_defaults_to_it(tmp_path):
    for name in ("mnist-cnn.onnx", "fashion-mnist-cnn.onnx"):
        assert Evaluator(EVALUATOR_DIR / name).input_shape == (1, 28, 28) == DEFAULT_INPUT_SHAPE
    assert parse_input_shape(None, tmp_path) == (1, 28, 28) and parse_input_shape("3,32,32", tmp_path) == (3, 32, 32)

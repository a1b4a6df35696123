"""training/auxiliary/folder_evaluator.py: a labelled folder becomes the evaluator's training and
held-out images, the same split every time, read as the scoring side reads it (alpha composited over
black); an evaluator trained on it classifies its held-out images well above chance, and an
unlabelled or single-class folder is refused before any training."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dataio import read_split
from evaluation.evaluators import Evaluator
from evaluation.images import to_evaluator_input
from training.auxiliary.evaluator_net import EvaluatorError
from training.auxiliary.folder_evaluator import folder_splits, held_out_mask
from training.cli.main import main

from tests.helpers import image_folder, rgba_folder

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def evaluators(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_EVALUATORS", str(tmp_path / "evaluators"))
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "evaluators"


def test_every_tenth_image_of_each_class_is_held_out_in_path_order():
    labels = np.array([0] * 12 + [1] * 3 + [0] * 3)
    held = np.flatnonzero(held_out_mask(labels))
    assert held.tolist() == [0, 10, 12]  # class 0: its 1st and 11th image; class 1: its 1st


def test_the_split_is_the_folder_read_with_alpha_and_composited_over_black(tmp_path, evaluators):
    folder = rgba_folder(tmp_path / "shapes", per_class=12, size=16)
    train, test, info = folder_splits(folder, 16)
    again = folder_splits(folder, 16)
    assert (len(train), len(test)) == (20, 4) and train.class_names == ["circles", "squares"]
    assert np.array_equal(again[1].images.numpy(), test.images.numpy()) and again[2] == info
    rgba = read_split("folder", folder, "train", 16, transparency="alpha").images.astype(np.float32) / 255
    composited = np.rint((rgba[:, :3] * rgba[:, 3:]) * 255)
    assert np.array_equal(test.images.numpy(), composited[held_out_mask(np.repeat([0, 1], 12))])
    assert info["folder"]["read"] == {"image_size": 16, "transparency": "alpha", "composited_over": "black"}
    assert info["folder"]["held_out"]["n"] == 4 and len(info["folder"]["fingerprint"]) == 64


@pytest.mark.parametrize("make", [lambda root: image_folder(root, 12, 16),
                                  lambda root: rgba_folder(root, per_class=6, size=16, classes=("only",))])
def test_an_unlabelled_or_single_class_folder_is_refused_before_any_training(tmp_path, evaluators, capsys, make):
    root = make(tmp_path / "images")
    assert main(["train-evaluator", "--dataset", "folder", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert "is not labelled: an evaluator learns classes" in err and "two or more" in err
    assert not evaluators.exists()
    with pytest.raises(EvaluatorError, match="single image cannot be both learned and checked: squares"):
        folder_splits(_one_lonely_class(tmp_path), 16)


def _one_lonely_class(tmp_path):
    """Two classes, the second of one image: nothing left to train it on once one is held out."""
    root = rgba_folder(tmp_path / "lonely", per_class=4, size=16)
    for extra in sorted((root / "squares").iterdir())[1:]:
        extra.unlink()
    return root


def test_train_evaluator_on_a_labelled_folder_beats_chance_and_writes_onnx_and_card(tmp_path, evaluators, capsys):
    folder = rgba_folder(tmp_path / "shapes", per_class=20, size=16, classes=("circles", "squares", "discs", "boxes"))
    assert main(["train-evaluator", "--dataset", "folder", "--data-root", str(folder), "--image-size", "16",
                 "--epochs", "25"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    (made,) = evaluators.glob("folder-shapes-cnn-*.onnx")
    assert printed["file"] == str(made) and printed["held_out"]["n"] == 8
    assert printed["test_accuracy"] >= 0.75 > printed["held_out"]["chance_accuracy"] == 0.25
    card = json.loads(made.with_suffix(".json").read_text())
    assert card["test_accuracy"] == printed["test_accuracy"] and card["target_accuracy"] is None
    assert card["folder"]["read"]["image_size"] == 16 and card["folder"]["class_names"][0] == "boxes"
    assert "--data-root" in card["metadata"]["training_command"] and "held out (8" in card["metadata"]["test_split"]
    ev = Evaluator(made)
    assert ev.input_shape == (3, 16, 16) and ev.dataset == "folder" and len(ev.class_names) == 4
    assert ev.meta["folder_fingerprint"] == card["folder"]["fingerprint"]
    rgba = read_split("folder", folder, "train", 16, transparency="alpha")
    _, logits = ev.run(to_evaluator_input(rgba.images, input_shape=ev.input_shape))
    assert (logits.argmax(1) == rgba.labels).mean() >= 0.75  # RGBA reaches it composited, as it trained

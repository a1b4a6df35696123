"""Explore's direction picker through AppTest: SeFa where the model stores it, PCA always, and a
name given to a direction kept in the model card (atomically; the .onnx untouched)."""
from __future__ import annotations

import hashlib
import json

import pytest

from app.directions import DirectionNameError, read_names, save_name
from inference import Generator

from tests.helpers import frame_url, make_philox_generator, new_app, no_errors


@pytest.fixture
def sefa_model(app_env):
    return make_philox_generator(app_env["models"] / "sefa.onnx", latent_dim=16, shape=(1, 28, 28))


def _slider_labels(at) -> list[str]:
    return [s.label for s in at.slider if str(s.key).startswith("dir-")]


def test_sefa_directions_are_offered_moved_along_and_named(app_env, sefa_model):
    onnx_hash = hashlib.sha256(sefa_model.read_bytes()).hexdigest()
    at = new_app()
    at.selectbox(key="model").select(str(sefa_model)).run()
    no_errors(at)
    assert at.radio(key="dir_method").options == ["PCA", "SeFa"]
    at.radio(key="dir_method").set_value("SeFa").run()
    no_errors(at)
    labels = _slider_labels(at)
    assert len(labels) == 4 and all("of the first layer's stretch" in lab for lab in labels)  # it stores 4
    assert labels[0].startswith("Direction 1")
    still = frame_url(at)
    at.slider(key="dir-0").set_value(2.0).run()
    no_errors(at)
    assert frame_url(at) != still, "a SeFa direction must move the image"

    at.selectbox(key="dir_name_pick").set_value(1).run()
    at.text_input(key="dir_name_text").input("stroke width").run()
    at.button(key="dir_name_save").click().run()
    no_errors(at)
    assert _slider_labels(at)[1].startswith("stroke width")
    card = json.loads(sefa_model.with_suffix(".json").read_text())
    assert card["direction_names"] == {"sefa": {"1": "stroke width"}}
    assert card["metadata"]["directions"]["share"]  # the rest of the card is kept
    assert hashlib.sha256(sefa_model.read_bytes()).hexdigest() == onnx_hash, "the .onnx is never touched"
    assert not list(sefa_model.parent.glob(".*.tmp"))

    # the name stays with the model: a new session shows it
    at = new_app()
    at.selectbox(key="model").select(str(sefa_model)).run()
    at.radio(key="dir_method").set_value("SeFa").run()
    assert _slider_labels(at)[1].startswith("stroke width")
    # a PCA direction's name is its own
    at.radio(key="dir_method").set_value("PCA").run()
    no_errors(at)
    assert all(lab.startswith("Direction") and "of image variance" in lab for lab in _slider_labels(at))

    # a name that cannot be kept: a message, and the card unchanged
    before = sefa_model.with_suffix(".json").read_bytes()
    at.text_input(key="dir_name_text").input("x" * 41).run()
    at.button(key="dir_name_save").click().run()
    assert any("at most 40 characters" in e.value for e in at.error)
    assert sefa_model.with_suffix(".json").read_bytes() == before


def test_a_model_without_stored_directions_offers_pca_only(app_env):
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)
    assert at.radio(key="dir_method").options == ["PCA"]
    assert len(_slider_labels(at)) == 5


def test_names_are_kept_in_the_card_and_a_model_without_one_gets_one(tmp_path):
    model = make_philox_generator(tmp_path / "m.onnx", latent_dim=8, shape=(1, 4, 4))
    model.with_suffix(".json").unlink()
    g = Generator.load(model)
    save_name(model.with_suffix(".json"), g, "sefa", 0, "  thick   strokes ")
    save_name(model.with_suffix(".json"), g, "pca", 2, "slant")
    assert read_names(model.with_suffix(".json"), "sefa") == {0: "thick strokes"}
    assert read_names(model.with_suffix(".json"), "pca") == {2: "slant"}
    card = json.loads(model.with_suffix(".json").read_text())
    assert card["metadata"]["latent_scheme"] == "philox"  # a card the examples can read
    save_name(model.with_suffix(".json"), g, "sefa", 0, "")  # empty: forget it
    assert read_names(model.with_suffix(".json"), "sefa") == {}
    with pytest.raises(DirectionNameError, match="control characters"):
        save_name(model.with_suffix(".json"), g, "sefa", 0, "a\x00b")
    model.with_suffix(".json").write_text("{ torn")
    assert read_names(model.with_suffix(".json"), "sefa") == {}
    with pytest.raises(DirectionNameError, match="cannot take a name"):
        save_name(model.with_suffix(".json"), g, "sefa", 0, "x")

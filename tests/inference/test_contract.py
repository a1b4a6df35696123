"""inference/contract.py: the metadata a generator file carries, as metadata_props and as a model card."""
from __future__ import annotations

import json

import pytest

from inference import Generator, InferenceError, contract


def test_metadata_parsed_from_literal_props(small_generator, tmp_path):
    # Literal key names, so a rename in contract.py that the exporter would follow fails here.
    props = {"gan_studio.format": "1", "gan_studio.latent_dim": "8",
             "gan_studio.latent_distribution": "uniform", "gan_studio.latent_bound": "1",
             "gan_studio.image_shape": "1,4,4", "gan_studio.output_range": "0,1",
             "gan_studio.num_classes": "0", "gan_studio.class_names": "[]",
             "gan_studio.dataset": "toy", "gan_studio.architecture": "mlp",
             "gan_studio.loss": "minimax", "gan_studio.train_steps": "500",
             "gan_studio.metrics": '{"fid": 12.5}', "gan_studio.created": "2026-11-24",
             "gan_studio.training_command": "python -m training", "gan_studio.extra": "kept",
             "other.key": "ignored"}
    g = Generator.load(small_generator("m.onnx", props=props))
    m = g.metadata
    assert (m["latent_dim"], m["latent_distribution"], m["latent_bound"]) == (8, "uniform", 1.0)
    assert m["image_shape"] == (1, 4, 4) and m["output_range"] == (0.0, 1.0)
    assert m["train_steps"] == 500 and m["metrics"] == {"fid": 12.5}
    assert m["extra"] == "kept" and "other.key" not in m
    assert (g.latent_dim, g.num_classes, g.image_shape, g.class_names) == (8, 0, (1, 4, 4), [])
    assert g.metadata_source == "onnx" and g.path == tmp_path / "m.onnx"


def test_contract_round_trips(small_meta):
    meta = dict(small_meta, num_classes=2, class_names=["x", "y"], class_prior=[0.75, 0.25], latent_bound=2.5, note=3)
    props = contract.metadata_to_props(meta)
    assert props["gan_studio.format"] == "1"
    assert props["gan_studio.output_range"] == "-1,1" and props["gan_studio.image_shape"] == "1,4,4"
    assert props["gan_studio.latent_bound"] == "2.5"
    assert all(isinstance(v, str) for v in props.values())
    parsed = contract.metadata_from_props(props)
    card = contract.metadata_to_card(meta)
    json.dumps(card)  # the card form is plain JSON
    assert contract.metadata_from_card({"metadata": card}) == parsed
    assert parsed["note"] == "3" and parsed["class_names"] == ["x", "y"] and parsed["class_prior"] == [0.75, 0.25]
    assert contract.metadata_from_props(contract.metadata_to_props(small_meta))["class_prior"] == []


@pytest.mark.parametrize("change, words", [
    ({"latent_dim": "eight"}, "latent_dim"),
    ({"latent_distribution": "cauchy"}, "normal, uniform"),
    ({"latent_distribution": "uniform"}, "latent_bound"),
    ({"image_shape": "28,28"}, "C,H,W"),
    ({"output_range": "1,-1"}, "lo must be < hi"),
    ({"metrics": "{not json"}, "metrics"),
    ({"num_classes": 2, "class_names": ["only one"]}, "class_names"),
    ({"num_classes": 2, "class_prior": [1.0]}, "1 shares but num_classes is 2"),
    ({"num_classes": 2, "class_prior": [0.5, 0.6]}, "add up to 1"),
    ({"num_classes": 2, "class_prior": [1.5, -0.5]}, "shares >= 0"),
    ({"num_classes": 2, "class_prior": "[0.5, \"half\"]"}, "class_prior"),
    ({"format": "2"}, "not supported"),
])
def test_contract_rejects_bad_metadata(small_meta, change, words):
    with pytest.raises(InferenceError, match=words):
        contract.metadata_to_props(dict(small_meta, **change))


def test_contract_names_missing_keys():
    with pytest.raises(InferenceError, match="latent_dim, latent_distribution"):
        contract.metadata_from_props({"gan_studio.format": "1"})


def test_conditional_default_class_names(small_generator):
    g = Generator.load(small_generator("c.onnx", num_classes=3))
    assert g.class_names == ["0", "1", "2"] and g.conditional


@pytest.mark.parametrize("key, value, words", [
    ("metrics", "[" * 100_000 + "]" * 100_000, "nests more than 64 levels deep"),
    ("class_names", "[" * 100_000, "nests more than 64 levels deep"),
    ("directions", "{" * 100_000, "nests more than 64 levels deep"),
    ("num_classes", str(10**9), "must be at most 100,000"),
    ("class_names", json.dumps(["x" * 300]), "at most 256 characters each"),
])
def test_metadata_that_would_crash_or_exhaust_a_reader_is_refused_with_a_short_line(small_meta, key, value, words):
    values = contract.metadata_to_props(small_meta)
    values[contract.PREFIX + key] = value
    with pytest.raises(InferenceError, match=words) as caught:
        contract.metadata_from_props(values)
    assert len(str(caught.value)) < 400  # the value is shown by its start, not repeated whole

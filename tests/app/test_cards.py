"""app/cards.py: a model's card as Explore and Models show it: dataset, model, training budget, image
size and classes at a glance, the card's scores, and the full card on request."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.helpers import make_onnx_generator

EVALUATED = {"metrics": {"fid": 12.5, "precision": 0.8125, "not_on_cards": 1.0, "flag": True},
             "n_generated": 10000, "reference": "mnist test", "feature_network": "mnist-cnn"}


def card_page(path: str, compact: bool) -> None:
    from pathlib import Path

    from app.catalogue import ModelEntry
    from app.cards import card_view
    from inference import Generator

    card_view(ModelEntry(Path(path), Path(path).stem, "exported"), Generator.load(path), compact=compact)


def show(path, compact: bool = False) -> AppTest:
    at = AppTest.from_function(card_page, args=(str(path), compact), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_card_shows_the_model_at_a_glance_and_its_scores(tmp_path):
    path = make_onnx_generator(tmp_path / "toy.onnx", latent_dim=8, num_classes=10, meta={"metrics": EVALUATED})
    at = show(path)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {"Dataset": "toy-mnist", "Model": "matmul-tanh", "Trained": "100 steps",
                       "Images": "28×28×1", "Classes": "10"}
    [scores] = [c.value for c in at.caption if c.value.startswith("Scores")]
    assert scores == "Scores (10000 samples vs mnist test): **fid** 12.5 · **precision** 0.8125"   # card scores only
    [full] = at.expander
    assert full.label == "Full card"
    assert any("python -m training train --preset toy" in c.value for c in at.code)


def test_a_model_without_scores_says_so_and_compact_leaves_out_the_full_card(tmp_path):
    path = make_onnx_generator(tmp_path / "plain.onnx", meta={"metrics": {}})
    at = show(path, compact=True)
    assert any(c.value == "No evaluation scores in this model's card yet." for c in at.caption)
    assert {m.label: m.value for m in at.metric}["Classes"] == "—"
    assert not at.expander


def test_a_card_that_cannot_be_read_is_a_warning_and_the_files_facts_still_show(tmp_path):
    path = make_onnx_generator(tmp_path / "toy.onnx")
    path.with_suffix(".json").write_text(json.dumps(["a card that is a list"]))
    at = show(path)
    assert "the card's extra facts are not shown" in at.warning[0].value
    assert {m.label: m.value for m in at.metric}["Dataset"] == "toy-mnist"   # from the .onnx's own metadata

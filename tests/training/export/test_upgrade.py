"""``python -m training upgrade``: an export made before ``latent_scheme`` and ``directions`` existed
gets them without retraining. The directions read from the .onnx's own weight equal what export
computes from the torch module (a fresh tiny run's export, stripped, then upgraded; and the graphs of
generators whose first layer export rewrites), only the two metadata entries change (graph, weights, other metadata and
the card's scores stay), the card records the upgrade, and nothing is overwritten without --force."""
from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest

from inference import Generator
from inference.contract import PREFIX
from training.cli.main import main
from training.export.generator import _export_graph, export_run
from training.export.sefa import NoDirections, first_layer_weight
from training.export.upgrade import FOLDER_READING, UpgradeError, onnx_first_layer_weight, upgrade_model

from tests.helpers import image_folder, make_exact_encoder, make_onnx_generator, tiny_run
from tests.training.export.common import export_ready_generator

NEW_KEYS = ("latent_scheme", "directions")


def strip_to_old(path, extra_card: dict | None = None, keys=NEW_KEYS):
    """``path`` as an export from before ``keys`` existed: neither in the .onnx nor in the card."""
    model = onnx.load(str(path))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key not in {PREFIX + k for k in keys}]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    card_path = path.with_suffix(".json")
    card = json.loads(card_path.read_text())
    for key in keys:
        card["metadata"].pop(key)
    card_path.write_text(json.dumps({**card, **(extra_card or {})}, indent=2))


@pytest.fixture(scope="module")
def fresh_export(tmp_path_factory):
    """A real tiny run exported now (directions from torch) and the same file stripped to an old export."""
    tmp = tmp_path_factory.mktemp("upgrade")
    run = tiny_run(tmp / "runs", image_folder(tmp / "images", 16))
    current = export_run(run, tmp / "current" / "tiny.onnx", metrics={"metrics": {"fid": 12.5}, "seed": 0})
    old = tmp / "old" / "tiny.onnx"
    old.parent.mkdir()
    for suffix in (".onnx", ".json"):
        old.with_suffix(suffix).write_bytes(current.with_suffix(suffix).read_bytes())
    strip_to_old(old)
    return current, old


def props(path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_an_old_export_upgraded_gets_the_directions_export_computes(fresh_export):
    current, old = fresh_export
    before = Generator.load(old)
    assert before.metadata["latent_scheme"] == "pcg64" and before.metadata["directions"] is None
    old_props, old_graph = props(old), onnx.load(str(old)).graph.SerializeToString()
    old_card = json.loads(old.with_suffix(".json").read_text())

    changed = upgrade_model(old, force=True)
    assert changed[0] == "latent_scheme pcg64 -> philox" and changed[1].startswith("directions: 8 SeFa directions")
    after, exported = Generator.load(old), Generator.load(current)
    assert after.metadata["latent_scheme"] == "philox"
    assert after.metadata["directions"] == exported.metadata["directions"]  # the same numbers, to the digit
    # Only the two entries changed: the graph and weights, and every other metadata entry, are as they were.
    assert onnx.load(str(old)).graph.SerializeToString() == old_graph
    new_props = props(old)
    assert {k: v for k, v in new_props.items() if k[len(PREFIX):] not in NEW_KEYS} == old_props
    assert new_props[PREFIX + "latent_scheme"] == props(current)[PREFIX + "latent_scheme"]
    z = after.sample_latent(5, seed=3)
    np.testing.assert_array_equal(after.run(z), exported.run(z))  # and the same latents through both
    np.testing.assert_array_equal(z, exported.sample_latent(5, seed=3))

    card = json.loads(old.with_suffix(".json").read_text())
    assert card["metadata"]["directions"] == after.metadata["directions"]
    assert card["metadata"]["latent_scheme"] == "philox"
    for key in ("metrics", "training_command", "created", "train_steps"):
        assert card["metadata"][key] == old_card["metadata"][key]
    assert card["training"] == old_card["training"] and card["export"] == old_card["export"]
    (note,) = card["upgrades"]
    assert note["changed"] == changed and note["date"][:4].isdigit()
    assert "unchanged" in note["scores"] and "philox" in note["seeds"]

    assert upgrade_model(old) == []  # current now: nothing to do, and nothing is written
    assert len(json.loads(old.with_suffix(".json").read_text())["upgrades"]) == 1


def test_a_folder_model_exported_before_its_reading_was_recorded_gets_it_from_its_card(fresh_export, tmp_path):
    """Scoring reads a folder model's reference folder as its metadata says the run read it; an export
    without transparency/background would be scored against the folder over the default white."""
    current, _ = fresh_export
    trained = json.loads(current.with_suffix(".json").read_text())["training"]["config"]
    assert {k: Generator.load(current).metadata[k] for k in FOLDER_READING} == \
        {"transparency": trained["transparency"], "background": trained["background"]}
    old = tmp_path / "old.onnx"
    for suffix in (".onnx", ".json"):
        old.with_suffix(suffix).write_bytes(current.with_suffix(suffix).read_bytes())
    training = json.loads(old.with_suffix(".json").read_text())["training"]
    training["config"]["background"] = "#000000"  # what that run read its transparent pictures over
    strip_to_old(old, {"training": training}, keys=FOLDER_READING)
    assert "background" not in Generator.load(old).metadata

    assert upgrade_model(old, force=True) == [
        f"how the folder was read, from the card's training config: transparency {trained['transparency']}, "
        "background #000000"]
    after = Generator.load(old)
    assert (after.metadata["transparency"], after.metadata["background"]) == (trained["transparency"], "#000000")
    assert json.loads(old.with_suffix(".json").read_text())["metadata"]["background"] == "#000000"
    assert upgrade_model(old) == []


def test_it_refuses_to_overwrite_without_force(fresh_export, tmp_path, capsys):
    current, _ = fresh_export
    model = tmp_path / "m.onnx"
    model.write_bytes(current.read_bytes())
    model.with_suffix(".json").write_text(current.with_suffix(".json").read_text())
    strip_to_old(model)
    half = tmp_path / "m.fp16.onnx"  # stands for a half-precision copy: the same metadata, upgraded along
    half.write_bytes(model.read_bytes())
    before = model.read_bytes()
    assert main(["upgrade", str(model)]) == 2
    assert "pass --force" in capsys.readouterr().err and model.read_bytes() == before

    copy = tmp_path / "copy" / "m2.onnx"
    copy.parent.mkdir()
    assert main(["upgrade", str(model), "--out", str(copy)]) == 0
    assert model.read_bytes() == before  # the source is left alone
    card = json.loads(copy.with_suffix(".json").read_text())
    assert card["name"] == "m2" and card["export"]["files"] == ["m2.onnx", "m2.fp16.onnx"]  # the copy's own files
    assert Generator.load(copy).metadata["directions"] == Generator.load(current).metadata["directions"]
    assert main(["upgrade", str(model), "--out", str(copy)]) == 2  # the copy now exists
    assert "pass --force" in capsys.readouterr().err
    assert main(["upgrade", str(model), "--force"]) == 0 and "latent_scheme pcg64 -> philox" in capsys.readouterr().out
    assert Generator.load(half).metadata["directions"] == Generator.load(model).metadata["directions"] is not None
    assert Generator.load(copy.parent / "m2.fp16.onnx").metadata["latent_scheme"] == "philox"

    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    assert main(["upgrade", str(tmp_path / "bad.onnx"), "--force"]) == 2
    assert "cannot read it as ONNX" in capsys.readouterr().err
    with pytest.raises(UpgradeError, match="no such file"):
        upgrade_model(tmp_path / "missing.onnx")
    with pytest.raises(UpgradeError, match="not an .onnx file"):
        upgrade_model(tmp_path / "m.json")


# The ways a first layer differs in the graph from the module: batch norm folded in (dcgan, dcgan-keras),
# [z, class code] concatenated (conditional), the spectral norm's weight computed at export (sngan).
def test_the_encoder_beside_the_model_goes_with_it(tmp_path):
    """The upgrade rewrites the .onnx, so its bytes' hash changes; the encoder still inverts the same
    graph, so it is re-stamped rather than left stale (in place and for a copy)."""
    from inference.encoder import encoder_path, find_encoder

    model = make_onnx_generator(tmp_path / "toy.onnx")
    make_exact_encoder(model)
    copy = tmp_path / "copy.onnx"
    upgrade_model(model, out=copy)
    changed = upgrade_model(model, force=True)
    assert any("toy.encoder.onnx" in c for c in changed)
    for path in (model, copy):
        encoder, note = find_encoder(Generator.load(path, device="cpu"))
        assert encoder is not None, note
        assert encoder_path(path).is_file() and note == f"started from the encoder {encoder_path(path).name}"
    stale = tmp_path / "stale.onnx"
    make_onnx_generator(stale, name="other")  # another graph name: other bytes
    encoder_path(model).replace(encoder_path(stale))  # trained for toy.onnx's bytes, not stale.onnx's
    upgrade_model(stale, force=True)
    assert find_encoder(Generator.load(stale, device="cpu"))[0] is None  # a stale encoder stays stale


@pytest.mark.parametrize("model_name, conditional", [("dcgan", True), ("dcgan-keras", False), ("sngan", False)])
def test_the_weight_read_from_the_graph_is_the_one_sefa_reads_in_torch(model_name, conditional, tmp_path):
    config, g = export_ready_generator(model_name, conditional)
    _export_graph(g, config, tmp_path / "g.onnx")
    try:
        name, expected = first_layer_weight(g)
    except NoDirections:
        with pytest.raises(NoDirections):
            onnx_first_layer_weight(onnx.load(str(tmp_path / "g.onnx")), 12)
        return
    layer, w = onnx_first_layer_weight(onnx.load(str(tmp_path / "g.onnx")), 12)
    assert layer == name and w.shape == expected.shape
    np.testing.assert_array_equal(w, expected)


def _pipe(path):
    path.unlink(missing_ok=True)
    os.mkfifo(path)


@pytest.mark.parametrize("spoil, words", [
    (lambda m: _pipe(m.with_suffix(".json")), "model card .*m.json: unreadable: m.json is a named pipe"),
    (lambda m: m.with_suffix(".json").write_text('{"metadata": ' + "[" * 100_000 + "}"), "nests more than 64 levels"),
    (lambda m: m.with_suffix(".json").write_text('{"name": "m"}'), "no top-level \"metadata\" object"),
    (lambda m: _pipe(m.with_name("m.fp16.onnx")), "its half-precision copy .*m.fp16.onnx is not a regular file"),
])
def test_side_files_that_would_hang_or_crash_are_refused_before_anything_is_written(tmp_path, spoil, words):
    model = make_onnx_generator(tmp_path / "m.onnx")
    spoil(model)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(UpgradeError, match=words):
        upgrade_model(model, tmp_path / "out.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == before

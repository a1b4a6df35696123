"""app/catalogue.py: which models the app lists, uploads, publishing, cache keys."""
from __future__ import annotations

import os
import shutil

import pytest

from app.catalogue import ModelExists, check_upload, file_key, find_models, publish
from inference import InferenceError
from training.runfolder.files import RunError
from training.runfolder.folder import create_run

from tests.helpers import exported_run, tree_hashes


def test_models_folder_first_then_runs_newest_first_without_web_copies(app_env):
    models = app_env["models"]
    shutil.copy(models / "toy.onnx", models / "toy.fp16.onnx")            # the web copy is not listed twice
    shutil.copy(models / "toy.onnx", models / "toy.encoder.onnx")         # nor is its encoder (a side file)
    older, newer = (create_run(app_env["runs"], name, {"steps": 1}) for name in ("older", "newer"))
    for age, run in ((100, older), (0, newer)):
        shutil.copy(models / "toy.onnx", run.onnx_path)
        stamp = run.onnx_path.stat().st_mtime - age
        os.utime(run.onnx_path, (stamp, stamp))
    entries = find_models()
    assert [e.label for e in entries] == ["toy-cond", "toy", f"run: {newer.id}", f"run: {older.id}"]
    assert [e.source for e in entries] == ["exported", "exported", "run", "run"]
    assert entries[0].card()["metadata"]["dataset"] == "toy-mnist"
    assert entries[2].card() == {}                                         # a run exported without its card


def test_an_upload_gets_a_safe_unused_name_and_a_bad_one_saves_nothing(app_env):
    models = app_env["models"]
    good = (models / "toy.onnx").read_bytes()
    first, g = check_upload(good, "My Model!.onnx")
    second, _ = check_upload(good, "My Model!.onnx")
    assert (first.name, second.name) == ("my-model.onnx", "my-model-2.onnx") and g.latent_dim == 16
    before = sorted(models.iterdir())
    with pytest.raises(InferenceError):
        check_upload(b"not onnx", "bad.onnx")
    with pytest.raises(InferenceError, match="only .onnx"):
        check_upload(good, "model.txt")
    assert sorted(models.iterdir()) == before


def test_publish_copies_a_runs_generator_and_card(app_env):
    run = create_run(app_env["runs"], "done", {"steps": 1})
    with pytest.raises(RunError, match="export it first"):
        publish(run, "mine")
    shutil.copy(app_env["models"] / "toy.onnx", run.onnx_path)
    shutil.copy(app_env["models"] / "toy.json", run.card_path)
    target = publish(run, "My Pick")
    assert target == app_env["models"] / "my-pick.onnx"
    assert target.read_bytes() == run.onnx_path.read_bytes() and target.with_suffix(".json").is_file()
    # an export's hub files (Markdown card, both nets' weights) go with it, named after the model
    for suffix in (".md", ".generator.safetensors", ".discriminator.safetensors"):
        run.path.joinpath("generator" + suffix).write_bytes(suffix.encode())
    target = publish(run, "My Pick", replace=True)
    assert target.with_name("my-pick.generator.safetensors").read_bytes() == b".generator.safetensors"
    assert target.with_name("my-pick.md").is_file() and target.with_name("my-pick.discriminator.safetensors").is_file()


def test_publish_replaces_a_taken_name_only_when_asked_and_takes_its_side_files(app_env):
    models = app_env["models"]
    (models / "toy.eval.json").write_text('{"n_generated": 10000}')
    (models / "toy.fp16.onnx").write_bytes(b"the old model's web copy")
    run = exported_run(app_env["runs"])
    before = tree_hashes(models)
    with pytest.raises(ModelExists, match="'toy' already exists .*tick 'Replace'"):
        publish(run, "toy")
    assert tree_hashes(models) == before
    assert publish(run, "toy", replace=True) == models / "toy.onnx"
    assert (models / "toy.onnx").read_bytes() == run.onnx_path.read_bytes()
    assert (models / "toy.json").read_bytes() == run.card_path.read_bytes()
    # the old model's report and web copy described another model: gone with it, no temp files left
    assert sorted(p.name for p in models.iterdir()) == ["toy-cond.json", "toy-cond.onnx", "toy.json", "toy.onnx"]
    assert {p: h for p, h in tree_hashes(models).items() if "toy-cond" in p} == \
        {p: h for p, h in before.items() if "toy-cond" in p}


def test_a_rewritten_file_gets_a_new_cache_key(app_env):
    path = app_env["models"] / "toy.onnx"
    key = file_key(path)
    assert key == file_key(path)
    path.write_bytes(path.read_bytes() + b"\0")
    assert file_key(path) != key

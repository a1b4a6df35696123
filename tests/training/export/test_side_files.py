"""The files beside an exported model (training/export/side_files.py): an export writes the generator it
exported and the run's discriminator as safetensors, and the Markdown card, all recorded in the JSON
card; ``upgrade --weights`` recovers the generator of an export whose run is gone, says that no
discriminator exists, and leaves the model and its JSON card untouched."""
from __future__ import annotations

import hashlib
import json
import shutil

import pytest
import torch
import yaml

from training.checkpoint import load_checkpoint
from training.export import side_files
from training.export.generator import load_generator
from training.export.safetensors_io import read_weights
from training.export.side_files import write_recovered_files

from tests.helpers import file_hashes

pytestmark = pytest.mark.usefixtures("one_thread")


def front_matter(markdown: str) -> dict:
    assert markdown.startswith("---\n")
    return yaml.safe_load(markdown.split("---\n")[1])


def test_an_export_writes_both_nets_weights_and_the_markdown_card(dcgan_export):
    model, run = dcgan_export.model, dcgan_export.run
    card = json.loads(model.with_suffix(".json").read_text())
    generator, config, state = load_generator(run)
    exported = read_weights(model.with_name("small.generator.safetensors"), "generator")
    assert exported.config() == config and exported.metadata["weights"] == "ema"
    assert f"from run {run.id}, checkpoint last (step 3)" in exported.metadata["source"]
    for name, tensor in exported.tensors().items():  # the EMA generator export took, buffers included
        assert torch.equal(tensor, generator.state_dict()[name]), name
    checkpoint = load_checkpoint(run.last_checkpoint)
    discriminator = read_weights(model.with_name("small.discriminator.safetensors"), "discriminator")
    assert discriminator.tensors().keys() == checkpoint["discriminator"].keys()
    assert all(torch.equal(t, checkpoint["discriminator"][k]) for k, t in discriminator.tensors().items())

    for role, weights in (("generator", exported), ("discriminator", discriminator)):
        entry = card["weights"][role]
        assert entry["file"] == weights.path.name
        assert entry["sha256"] == hashlib.sha256(weights.path.read_bytes()).hexdigest()
    assert set(card["export"]["files"]) == {"small.onnx", "small.generator.safetensors",
                                            "small.discriminator.safetensors", "small.md"}
    markdown = model.with_suffix(".md").read_text()
    assert front_matter(markdown)["pipeline_tag"] == "unconditional-image-generation"
    assert "discriminator weights: `small.discriminator.safetensors`" in markdown
    assert "--init-from small.generator.safetensors --freeze-d 1" in markdown


def test_upgrade_weights_recovers_the_generator_and_says_no_discriminator_exists(dcgan_export, tmp_path):
    for suffix in (".onnx", ".json"):  # an export whose run, checkpoint and weights are gone
        shutil.copy(dcgan_export.model.with_suffix(suffix), tmp_path / f"old{suffix}")
    model = tmp_path / "old.onnx"
    before = file_hashes(tmp_path)
    lines = write_recovered_files(model)
    assert lines[-1] == "discriminator weights: not kept for this model; fine-tuning starts D from scratch"
    after = file_hashes(tmp_path)
    assert {path: after[path] for path in before} == before  # the model and its JSON card untouched
    weights = read_weights(tmp_path / "old.generator.safetensors", "generator")
    assert "recovered from old.onnx" in weights.metadata["source"] and float(weights.metadata["parity_max_abs_diff"]) < 1e-4
    assert not (tmp_path / "old.discriminator.safetensors").exists()  # none is made up
    markdown = (tmp_path / "old.md").read_text()
    assert "discriminator weights: not kept for this model; fine-tuning starts D from scratch" in markdown
    assert "--freeze-d" not in markdown  # FreezeD needs a trained D

    with pytest.raises(side_files.UserError, match="would replace old.md, old.generator.safetensors; pass --force"):
        write_recovered_files(model)
    write_recovered_files(model, force=True)


def test_upgrade_weights_never_replaces_a_shipped_file(dcgan_export, tmp_path, monkeypatch):
    for suffix in (".onnx", ".json", ".md"):
        shutil.copy(dcgan_export.model.with_suffix(suffix), tmp_path / f"m{suffix}")
    monkeypatch.setattr(side_files, "is_shipped", lambda path: path.name == "m.md")
    with pytest.raises(side_files.UserError, match="m.md ship with GAN Studio and are never replaced, even with --force"):
        write_recovered_files(tmp_path / "m.onnx", force=True)
    assert not (tmp_path / "m.generator.safetensors").exists()


def test_new_scores_reach_the_markdown_card(dcgan_export, tmp_path):
    from training.export.generator import update_scores

    for suffix in (".onnx", ".json", ".md"):
        shutil.copy(dcgan_export.model.with_suffix(suffix), tmp_path / f"m{suffix}")
    assert "Not scored yet" in (tmp_path / "m.md").read_text()
    update_scores(tmp_path / "m.onnx", {"metrics": {"fid": 12.5}, "feature_network": "f.onnx:features(8)",
                                        "reference": "toy test (10)", "n_generated": 10, "n_reference": 10})
    markdown = (tmp_path / "m.md").read_text()
    assert front_matter(markdown)["model-index"][0]["results"][0]["metrics"][0]["value"] == 12.5
    assert "| FID (evaluator CNN features) | 12.5 | in f.onnx:features(8): 10 generated samples vs toy test (10) |" in markdown

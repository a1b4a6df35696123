"""The Markdown card (training/export/model_card.py): YAML front matter in the hubs' vocabulary that
parses with yaml.safe_load, every score with its protocol, and prose a table cell cannot break."""
from __future__ import annotations

import yaml

from training.export.model_card import NO_DISCRIMINATOR, markdown_card

SCORES = {
    "metrics": {"fid": 3.97, "class_kl": 0.017, "fid_inception": 5.98, "not_a_number": "x"},
    "feature_network": "mnist-cnn.onnx:features(128) sha256:01207bad3175", "reference": "mnist test (10,000)",
    "n_generated": 10000, "n_reference": 10000, "source": "m.onnx (unconditional)",
    "inception": {"metrics": {"fid": 5.98}, "feature_network": "Inception-v3 pool3 (2048), TF 2015-12-05 graph",
                  "reference": "mnist test (10,000)", "n_generated": 10000, "n_reference": 10000},
}


def card(**metadata) -> dict:
    meta = {"latent_dim": 100, "latent_distribution": "normal", "latent_bound": 1.0, "latent_scheme": "philox",
            "image_shape": [1, 28, 28], "output_range": [-1.0, 1.0], "num_classes": 0, "class_names": [],
            "dataset": "mnist", "architecture": "dcgan", "loss": "hinge", "train_steps": 140000, "metrics": SCORES,
            "training_command": "python -m training train --preset dcgan-mnist-tuned"} | metadata
    return {"name": "m", "metadata": meta, "training": {"preset": "dcgan-mnist-tuned", "steps": 140000,
                                                        "images_seen": 4480000, "weights": "ema"}}


def front_matter(markdown: str) -> dict:
    head, _, _ = markdown.removeprefix("---\n").partition("\n---\n")
    return yaml.safe_load(head)


def test_the_front_matter_parses_and_names_the_protocol_of_every_score():
    weights = {"generator": {"file": "m.generator.safetensors", "sha256": "0" * 64, "source": "from run r"},
               "discriminator": {"file": None, "note": NO_DISCRIMINATOR}}
    markdown = markdown_card(card(), weights=weights)
    front = front_matter(markdown)
    assert front["pipeline_tag"] == "unconditional-image-generation" and front["datasets"] == ["ylecun/mnist"]
    assert front["license"] == "other" and {"gan", "dcgan", "hinge", "onnx", "safetensors"} <= set(front["tags"])
    (result,) = front["model-index"][0]["results"]
    assert result["dataset"] == {"type": "ylecun/mnist", "name": "MNIST", "split": "test"}
    metrics = {m["type"]: m for m in result["metrics"]}
    assert set(metrics) == {"fid", "class_kl", "fid_inception"}  # a value that is no number is left out
    assert metrics["fid"]["name"] == "FID (evaluator CNN features)" and metrics["fid"]["value"] == 3.97
    assert metrics["fid"]["args"]["protocol"] == ("in mnist-cnn.onnx:features(128): 10,000 generated samples, "
                                                  "m.onnx (unconditional), vs mnist test (10,000)")
    assert metrics["class_kl"]["args"]["protocol"].startswith("classes predicted by mnist-cnn.onnx: 10,000")
    assert metrics["fid_inception"]["args"]["protocol"] == (
        "Inception-v3 pool3 FID (Lucic et al.'s protocol): 10,000 generated samples vs mnist test (10,000); "
        "features: Inception-v3 pool3 (2048), TF 2015-12-05 graph")
    assert "Class KL (data \\|\\| generated)" in markdown  # a bare | would split the table's cell
    assert "- discriminator weights: not kept for this model; fine-tuning starts D from scratch" in markdown
    assert "--init-from m.generator.safetensors\n" in markdown  # no FreezeD without a trained D


def test_a_conditional_folder_model_without_scores_still_has_a_valid_card():
    markdown = markdown_card(card(num_classes=2, class_names=["cats", "dogs"], dataset="folder", metrics={}),
                             sample_image="samples.png")
    front = front_matter(markdown)
    assert "datasets" not in front and "model-index" not in front and "class-conditional" in front["tags"]
    assert "class-conditional (2 classes: cats, dogs)" in markdown and "![samples of seed 0](samples.png)" in markdown
    assert "Not scored yet" in markdown and "Your own images: their licence is yours to state." in markdown


def test_a_scored_folder_models_results_name_the_images_it_learned_as_their_split():
    front = front_matter(markdown_card(card(dataset="folder")))
    (result,) = front["model-index"][0]["results"]
    assert result["dataset"] == {"type": "folder", "name": "folder", "split": "train"}
    named = card(dataset="folder")
    named["training"]["config"] = {"data_root": "../shared/data/emoji-google"}
    assert "images (unconditional), trained on the folder `emoji-google` with" in markdown_card(named)


def test_a_fine_tuned_models_card_says_where_it_started():
    tuned = card()
    tuned["training"]["config"] = {"init_from": "/models/mnist-dcgan.generator.safetensors", "init_from_sha256": "ab" * 32}
    assert f"- started from: `/models/mnist-dcgan.generator.safetensors` (sha256 {'ab' * 32})" in markdown_card(tuned)

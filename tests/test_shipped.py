"""The generators shipped in exported/: they load and generate through the torch-free package, their
cards say how they were made and how good they are, and their samples are what the README promises
(every digit drawn; the conditional model draws the digit it is asked for), judged by the shipped
evaluator networks."""
import json

import numpy as np
import pytest

from evaluation import Evaluator, to_evaluator_input
from evaluation.metrics import stacked_mnist_metrics
from inference import Generator
from inference.encoder import Encoder, encoder_path
from inference.projection import onnx_features, project
from inference.target_image import read_target

from tests.helpers import REPO_ROOT

ROOT = REPO_ROOT
EXPORTED = ROOT / "exported"
SHIPPED = {  # name -> (dataset, conditional)
    "mnist-dcgan": ("mnist", False),
    "fashion-mnist-dcgan": ("fashion-mnist", False),
    "mnist-cgan": ("mnist", True),
    "mnist-wgan-gp": ("mnist", False),
}
SAMPLES = 1000


def _evaluator(dataset: str):
    return Evaluator(EXPORTED / "evaluators" / f"{dataset}-cnn.onnx")


def _predicted_classes(g: Generator, dataset: str, labels=None, n: int = SAMPLES, seed: int = 0) -> np.ndarray:
    """The evaluator's class for each channel of each of n samples: [n * channels]."""
    images = g.run(g.sample_latent(n, seed=seed), labels)
    one_per_channel = images.reshape(-1, 1, *images.shape[2:])  # Stacked MNIST: one digit a channel
    _, logits = _evaluator(dataset).run(to_evaluator_input(one_per_channel, g.output_range))
    return logits.argmax(1)


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_generator_loads_generates_and_has_a_complete_card(name):
    path = EXPORTED / f"{name}.onnx"
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: scripts/train_shipped.sh trains and exports it"
    assert path.stat().st_size < 15e6
    dataset, conditional = SHIPPED[name]
    g = Generator.load(path, device="cpu")
    assert g.metadata["dataset"] == dataset and g.conditional == conditional
    labels = np.arange(4) % 10 if conditional else None
    images = g.generate(g.sample_latent(4, seed=7), labels)
    assert images.shape == (4, 28, 28, 1) and images.dtype == np.uint8
    assert np.array_equal(images, g.generate(g.sample_latent(4, seed=7), labels))  # seeded: the same images

    card = json.loads(path.with_suffix(".json").read_text())
    meta, training, export = card["metadata"], card["training"], card["export"]
    assert meta["training_command"].startswith("python -m training train --preset ")
    assert training["steps"] == meta["train_steps"] > 0 and training["images_seen"] > 0
    assert training["wall_time_s"] > 0 and training["machine"] and training["state"] == "finished"
    assert export["parity_max_abs_diff"] <= 1e-4 and export["files"] == [path.name]
    scores = meta["metrics"]
    assert {"fid", "kid_mean", "precision", "recall", "coverage", "classes_covered", "class_kl"} <= set(scores["metrics"])
    assert scores["reference"] == f"{dataset} test (10,000)" and scores["n_generated"] >= 10_000
    assert scores["feature_network"].startswith(f"{dataset}-cnn.onnx")
    # The card's metadata is the file's metadata: apps without metadata_props (the web) read the card.
    assert meta["latent_dim"] == g.latent_dim and meta["train_steps"] == g.metadata["train_steps"]


@pytest.mark.parametrize("name", ["mnist-dcgan", "fashion-mnist-dcgan", "mnist-cgan"])
def test_shipped_cards_carry_the_paper_comparable_inception_fid_with_its_protocol(name):
    """Lucic et al.'s protocol: Inception-v3 pool features of 10,000 samples against the 10,000 test
    images; the conditional model's card also says how often it draws the asked digit."""
    dataset, conditional = SHIPPED[name]
    scores = json.loads((EXPORTED / f"{name}.json").read_text())["metadata"]["metrics"]
    inception = scores["inception"]
    assert scores["metrics"]["fid_inception"] == inception["metrics"]["fid"] > 0
    assert inception["n_generated"] == 10_000 and inception["reference"] == f"{dataset} test (10,000)"
    assert inception["feature_network"].startswith("Inception-v3 pool3 (2048)")
    assert ("label_accuracy" in scores["metrics"]) == conditional


@pytest.mark.parametrize("name", [*SHIPPED, "stacked-mnist-pacgan"])
def test_shipped_generators_have_philox_seeds_and_sefa_directions(name):
    """Exported with latent_scheme and directions, or trained before they existed and upgraded by
    `python -m training upgrade`: a seed draws the contract's latent (the same in the examples), the
    SeFa directions are those of the file's own first layer, and an upgraded card says so and keeps
    its scores."""
    from training.export.sefa import directions_from_weight  # torch: only this check needs it
    from training.export.upgrade import onnx_first_layer_weight
    import onnx

    path = EXPORTED / f"{name}.onnx"
    g = Generator.load(path, device="cpu")
    assert g.metadata["latent_scheme"] == "philox" and g.metadata_source == "onnx"
    layer, w = onnx_first_layer_weight(onnx.load(str(path)), g.latent_dim)
    assert g.metadata["directions"] == directions_from_weight(layer, w)
    card = json.loads(path.with_suffix(".json").read_text())
    assert {k: card["metadata"][k] for k in ("latent_scheme", "directions")} == \
        {k: g.metadata[k] for k in ("latent_scheme", "directions")}
    assert card["metadata"]["metrics"] == g.metadata["metrics"] and card["metadata"]["metrics"]["metrics"]["fid"] > 0
    for upgrade in card.get("upgrades", []):
        assert upgrade["changed"][0] == "latent_scheme pcg64 -> philox" and "unchanged" in upgrade["scores"]


def test_shipped_encoder_fits_its_generator_and_projection_finds_real_digits(mnist_test):
    """exported/mnist-dcgan.encoder.onnx (python -m training train-encoder): bound to the shipped
    generator's bytes, its card entry says how it was trained, its guess alone (no search) draws the
    input's digit for most real test digits, and projection refined from it (what Explore and
    --project do) for nearly all of them."""
    g = Generator.load(EXPORTED / "mnist-dcgan.onnx", device="cpu")
    path = encoder_path(g.path)
    assert path.is_file(), f"{path.relative_to(ROOT)} is missing: python -m training train-encoder {g.path.relative_to(ROOT)}"
    encoder = Encoder.load(path, g)  # refuses an encoder trained for another version of the file
    made = json.loads(g.path.with_suffix(".json").read_text())["encoder"]
    assert made["file"] == path.name and made["training_command"].startswith("python -m training train-encoder")
    assert made["train_steps"] > 0 and made["wall_time_s"] > 0 and made["val_z_mse"] < made["val_z_variance"]
    x = mnist_test.images[:200].astype(np.float32) / 127.5 - 1
    guesses = g.run(np.clip(encoder.encode(x), -1, 1))
    _, logits = _evaluator("mnist").run(to_evaluator_input(guesses, g.output_range))
    agree = float((logits.argmax(1) == mnist_test.labels[:200]).mean())
    # a first guess, not a match (docs/inference.md): the refinement below gets the strokes
    assert agree >= 0.7, f"the encoder's guess alone draws the input's digit for {agree:.1%} of 200 test digits"
    features = onnx_features(EXPORTED / "evaluators" / "mnist-cnn.onnx")
    found = [project(g, read_target(image[0], g.image_shape), features=features, seed=i)
             for i, image in enumerate(mnist_test.images[:40])]
    assert all(f.init == "encoder" for f in found)
    matches = np.stack([f.image.transpose(2, 0, 1) for f in found]).astype(np.float32) / 127.5 - 1
    _, logits = _evaluator("mnist").run(matches)
    right = float((logits.argmax(1) == mnist_test.labels[:40]).mean())
    assert right >= 0.9, f"projection from the encoder draws the input's digit for {right:.0%} of 40 test digits"


@pytest.mark.parametrize("name", [n for n, (_, conditional) in SHIPPED.items() if not conditional])
def test_unconditional_shipped_generators_draw_every_class(name):
    dataset, _ = SHIPPED[name]
    g = Generator.load(EXPORTED / f"{name}.onnx", device="cpu")
    shares = np.bincount(_predicted_classes(g, dataset), minlength=10) / SAMPLES
    assert shares.min() >= 0.03, f"{name}: class shares {np.round(shares, 3).tolist()}"


def test_conditional_shipped_generator_draws_the_asked_digit():
    g = Generator.load(EXPORTED / "mnist-cgan.onnx", device="cpu")
    asked = np.arange(SAMPLES) % 10
    accuracy = float((_predicted_classes(g, "mnist", asked) == asked).mean())
    assert accuracy >= 0.95, f"the MNIST evaluator agrees with the asked digit on {accuracy:.1%} of samples"


def test_shipped_clustered_generator_draws_every_digit_in_its_clusters_proportions():
    """mnist-clusters learned MNIST without labels, conditioned on 10 clusters it found: the file
    says how often it draws each, its card holds the scores sampled that way (no label accuracy: a
    cluster is no digit), and drawn as the file says, it draws every digit."""
    path = EXPORTED / "mnist-clusters.onnx"
    g = Generator.load(path, device="cpu")
    assert g.num_classes == 10 and g.class_names == [f"cluster {i}" for i in range(1, 11)]
    assert len(g.class_prior) == 10 and sum(g.class_prior) == pytest.approx(1) and min(g.class_prior) > 0.02
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["metadata"]["training_command"].startswith("python -m training train --preset dcgan-mnist-clusters")
    scores = card["metadata"]["metrics"]
    assert scores["source"] == "mnist-clusters.onnx (clusters drawn in the training images' proportions)"
    assert scores["n_generated"] == 10_000 and scores["reference"] == "mnist test (10,000)"
    assert "label_accuracy" not in scores["metrics"] and scores["metrics"]["fid_inception"] > 0
    assert scores["inception"]["n_generated"] == 10_000
    shares = np.bincount(_predicted_classes(g, "mnist", g.sample_labels(SAMPLES, seed=0)), minlength=10) / SAMPLES
    assert shares.min() >= 0.03, f"digit shares {np.round(shares, 3).tolist()}"


def test_shipped_stacked_mnist_generator_captures_all_1000_modes():
    """Stacked MNIST (three digits as the three channels): the card holds PacGAN's 26,000-sample
    protocol, and a fresh 10,000 samples, classified digit by digit, still reach nearly every mode."""
    path = EXPORTED / "stacked-mnist-pacgan.onnx"
    g = Generator.load(path, device="cpu")
    assert g.metadata["dataset"] == "stacked-mnist" and tuple(g.metadata["image_shape"]) == (3, 28, 28)
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["metadata"]["training_command"].startswith("python -m training train --preset pacgan-stacked-mnist")
    scores = card["metadata"]["metrics"]
    assert scores["n_stacked_images"] == 26_000 and scores["feature_network"].startswith("mnist-cnn.onnx")
    assert scores["metrics"]["modes_captured"] == 1000 and scores["metrics"]["mode_kl"] < 0.1

    n = 10_000
    measured = stacked_mnist_metrics(_predicted_classes(g, "mnist", n=n, seed=1).reshape(n, 3))
    # a uniform generator leaves ~0 of 1,000 modes empty at 10,000 samples; a collapsed one, hundreds
    assert measured["modes_captured"] >= 990, measured


def test_the_app_shows_a_shipped_models_card_and_scores(app_env):
    import shutil

    from streamlit.testing.v1 import AppTest

    for suffix in (".onnx", ".json"):
        shutil.copy(EXPORTED / f"mnist-dcgan{suffix}", app_env["models"] / f"mnist-dcgan{suffix}")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.selectbox(key="model").select(str(app_env["models"] / "mnist-dcgan.onnx")).run()
    assert not at.exception and not at.error
    card = json.loads((EXPORTED / "mnist-dcgan.json").read_text())
    fid = card["metadata"]["metrics"]["metrics"]["fid"]
    scores = [c.value for c in at.caption if c.value.startswith("Scores")]
    assert scores and "vs mnist test (10,000)" in scores[0] and f"**fid** {fid:.4g}" in scores[0]


@pytest.mark.parametrize("name", [*SHIPPED, "stacked-mnist-pacgan"])
def test_shipped_generators_have_a_hub_card_and_their_weights_as_safetensors(name):
    """NAME.md (YAML front matter as hubs read it, every score with its protocol) and
    NAME.generator.safetensors beside each shipped model (python -m training upgrade NAME.onnx
    --weights): the generator rebuilt from that file alone draws what the ONNX file draws. Their
    runs are gone, and with them every discriminator: the card says so, and no D file is made up."""
    import torch  # only these checks need it
    import yaml

    from inference.images import to_uint8
    from training.export.safetensors_io import read_weights
    from training.models import build_models

    path = EXPORTED / f"{name}.onnx"
    markdown = path.with_suffix(".md").read_text()
    front = yaml.safe_load(markdown.removeprefix("---\n").partition("\n---\n")[0])
    dataset = "fashion-mnist" if name.startswith("fashion") else "mnist"
    hub_id = {"mnist": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist"}[dataset]
    assert front["pipeline_tag"] == "unconditional-image-generation" and front["datasets"] == [hub_id]
    assert front["license"] == "other" and "safetensors" in front["tags"]
    scores = json.loads(path.with_suffix(".json").read_text())["metadata"]["metrics"]
    metrics = {m["type"]: m for m in front["model-index"][0]["results"][0]["metrics"]}
    assert set(metrics) == set(scores["metrics"])
    for key, metric in metrics.items():  # each score, and how it was measured: samples, reference, features
        assert metric["value"] == pytest.approx(scores["metrics"][key], abs=1e-6)
        assert "generated samples" in metric["args"]["protocol"]
        assert f" vs {dataset} test (10,000)" in metric["args"]["protocol"]
    if "fid_inception" in metrics:
        assert metrics["fid_inception"]["args"]["protocol"].startswith("Inception-v3 pool3 FID (Lucic et al.'s protocol): 10,000")
    assert "discriminator weights: not kept for this model; fine-tuning starts D from scratch" in markdown
    assert not path.with_name(f"{name}.discriminator.safetensors").exists()

    weights = read_weights(path.with_name(f"{name}.generator.safetensors"), "generator")
    generator = build_models(weights.config(), weights.num_classes).generator.eval()
    generator.load_state_dict(weights.tensors())
    g = Generator.load(path, device="cpu")
    n = 10 * g.num_classes if g.conditional else 64  # the run's sample grid: seed 0, labels cycled
    z, labels = g.sample_latent(n, seed=0), (np.arange(n) % g.num_classes if g.conditional else None)
    with torch.no_grad():
        drawn = generator(torch.from_numpy(z), torch.from_numpy(labels) if g.conditional else None).numpy()
    assert np.abs(drawn - g.run(z, labels)).max() < 1e-5
    assert np.array_equal(to_uint8(drawn, g.output_range), g.generate(z, labels))


COLOUR = {"emoji-dcgan": "emoji-google"}  # name -> the folder of ../shared/data it learned


@pytest.mark.parametrize("name", COLOUR)
def test_shipped_colour_generator_draws_distinct_64px_colour_images_and_says_how_it_was_scored(name):
    """A generator of the user's own kind of data: 64x64 RGB from a folder of a few thousand colour
    images. Its card holds the folder protocol (every image of the folder, Inception-v3 features, as
    many samples as the folder has images) and how long it trained; its samples are colour, distinct
    and drawn on the folder's black background (its transparency blended over #000000)."""
    path = EXPORTED / f"{name}.onnx"
    g = Generator.load(path, device="cpu")
    assert g.metadata["dataset"] == "folder" and tuple(g.metadata["image_shape"]) == (3, 64, 64)
    assert not g.conditional and g.metadata["background"] == "#000000"
    images = g.generate(g.sample_latent(64, seed=3))
    assert images.shape == (64, 64, 64, 3) and np.array_equal(images, g.generate(g.sample_latent(64, seed=3)))

    pixels = images.reshape(64, -1, 3).astype(np.int16)
    saturation = (pixels.max(2) - pixels.min(2)).mean()
    assert saturation > 20, f"samples are nearly grey: mean channel spread {saturation:.1f} of 255"
    flat = images.reshape(64, -1).astype(np.float32)
    distances = np.abs(flat[:, None] - flat[None]).mean(2)[np.triu_indices(64, 1)]
    assert distances.min() > 8, f"two of 64 samples are near copies (mean pixel difference {distances.min():.1f})"
    corners = images[:, [0, 0, -1, -1], [0, -1, 0, -1]].mean()
    assert corners < 40, f"the folder's background is black; the samples' corners average {corners:.0f}"

    card = json.loads(path.with_suffix(".json").read_text())
    meta, training = card["metadata"], card["training"]
    assert meta["training_command"].startswith("python -m training train --preset ")
    assert training["state"] == "finished" and training["wall_time_s"] > 0 and training["images_seen"] > 0
    scores = meta["metrics"]
    assert scores["feature_network"].startswith("Inception-v3 pool3 (2048)")
    assert scores["reference"].startswith(f"folder ../shared/data/{COLOUR[name]} (all 3,786 images")
    assert scores["n_generated"] == scores["n_reference"] == 3786 and scores["metrics"]["fid"] > 0


@pytest.mark.parametrize("name", COLOUR)
def test_shipped_colour_generator_keeps_both_nets_as_safetensors(name):
    """A new export keeps both nets: fine-tuning (--init-from NAME, --freeze-d N) starts from them, and
    the generator rebuilt from its file alone draws what the ONNX file draws."""
    import torch  # only this check needs it

    from training.export.safetensors_io import read_weights
    from training.models import build_models

    path = EXPORTED / f"{name}.onnx"
    weights = read_weights(path.with_name(f"{name}.generator.safetensors"), "generator")
    generator = build_models(weights.config(), 0).generator.eval()
    generator.load_state_dict(weights.tensors())
    g = Generator.load(path, device="cpu")
    z = g.sample_latent(16, seed=0)
    with torch.no_grad():
        assert np.abs(generator(torch.from_numpy(z)).numpy() - g.run(z)).max() < 1e-4
    discriminator = read_weights(path.with_name(f"{name}.discriminator.safetensors"), "discriminator")
    build_models(discriminator.config(), 0).discriminator.load_state_dict(discriminator.tensors())
    assert "discriminator weights: `" in path.with_suffix(".md").read_text()

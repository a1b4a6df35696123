"""Scoring images against a dataset's test split: every registered metric, with its provenance.

    from evaluation import evaluate_model
    report = evaluate_model("exported/mnist-dcgan.onnx", n=10_000)
    report["metrics"]["fid"], report["feature_network"], report["reference"]

Conventions, fixed so that scores are comparable:
* images are mapped onto the evaluator's input as ``images.to_evaluator_input`` says;
* FID, KID and the classifier scores use the whole test split (10,000); precision/recall and
  density/coverage compare equal-sized sets, as their papers do (``metrics.prdc.reference_subset``);
* Stacked MNIST is scored digit by digit: each of its three channels is an MNIST digit for the
  MNIST evaluator, and the three predicted digits name one of its 1,000 modes.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dataio import DATASETS
from inference import Generator, InferenceError
from studio.registry import unknown_name_message
from studio.seeds import MAX_SEED

from .errors import EvaluationError
from .evaluators import Evaluator, default_evaluator_file, get_evaluator
from .feature_reference import FOLDER, feature_reference
from .feature_scoring import evaluate_in_features, reference_read_options
from .features import feature_network
from .images import to_evaluator_input, to_unit_range
from .inception import inception_extractor
from .metrics import METRICS, Samples
from .provenance import with_provenance
from .reference import get_reference, inception_statistics
from .sampling import asked_labels, describe, sample_images

STACKED = {"stacked-mnist": "mnist"}  # dataset -> the dataset whose evaluator reads each channel
MAX_SAMPLES = 100_000  # generated images per report: 100,000 Stacked MNIST images are 0.9 GiB as float32
# The datasets scored in their evaluator network's own features: train-evaluator's recipes
# (training.auxiliary.evaluator_net.EVALUATOR_DATASETS) but the folder, whose evaluator adds its logits to general features.
EVALUATOR_RECIPES = ("mnist", "fashion-mnist")


def _whole(what: str, value, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and value > hi):
        bounds = f"a whole number from {lo:,} to {hi:,}" if hi is not None else f"a whole number >= {lo:,}"
        raise EvaluationError(f"{what} must be {bounds}, got {value!r}")


def check_request(n: int = 10_000, seed: int = 0, dataset: str | None = None, evaluator=None, kid_subsets: int = 100,
                  inception_n: int | None = None) -> None:
    """Everything about a scoring request that can be checked before a model is loaded or an image
    drawn; raises EvaluationError saying what to change."""
    _whole("n (--n, the generated samples)", n, 10, MAX_SAMPLES)
    _whole("seed (--seed)", seed, 0, MAX_SEED)  # the one range of seeds (studio.seeds): inference takes the same
    _whole("kid_subsets (--kid-subsets)", kid_subsets, 1, 10_000)
    if inception_n is not None:
        _whole("inception_n (--inception-n)", inception_n, 10, MAX_SAMPLES)
    if evaluator is not None:
        if not str(evaluator).endswith(".onnx") or not Path(evaluator).is_file():
            raise EvaluationError(f"--evaluator {evaluator}: no such evaluator file; name an evaluator .onnx "
                                  "(those shipped are in exported/evaluators/)")
        get_evaluator(str(evaluator))  # opened now: one with unusable metadata fails before any image is drawn
    if dataset is not None:
        check_dataset(dataset, evaluator)


def scored_in_features(dataset: str, evaluator=None) -> bool:
    """True for a dataset without an evaluator network of its own (a folder, CIFAR-10, SVHN...): it is
    scored in a general feature space (``feature_scoring``). A folder always is; an evaluator given
    for it adds its class logits only."""
    if dataset == FOLDER:
        return True
    if dataset in STACKED or dataset in EVALUATOR_RECIPES or evaluator is not None:
        return False
    return not default_evaluator_file(dataset).is_file()


def check_dataset(dataset: str, evaluator=None) -> None:
    """A dataset the registry knows, with a network to score it: its evaluator (the default one, or
    ``evaluator`` when given), or for a dataset without one the general feature network."""
    if dataset not in DATASETS:
        raise EvaluationError(unknown_name_message("dataset", dataset, DATASETS.names()))
    if scored_in_features(dataset, evaluator):
        try:
            feature_network()  # before any work
        except EvaluationError as error:
            raise EvaluationError(f"{dataset} has no evaluator network, so it is scored in Inception-v3 features: "
                                  f"{error}") from None
        return
    scored_as = STACKED.get(dataset, dataset)
    path = default_evaluator_file(scored_as)
    if evaluator is None and not path.is_file():
        raise EvaluationError(f"no evaluator network for {scored_as} at {path}; train it with `python -m training "
                              f"train-evaluator --dataset {scored_as} --out {path}`, or pass --evaluator FILE.onnx")


def inception_fid(images: np.ndarray, dataset: str, output_range=(-1.0, 1.0), data_root=None,
                  ref_limit: int | None = None, extractor=None) -> dict[str, Any]:
    """Paper-comparable FID (Lucic et al. 2018): Inception pool features of the generated images
    against the test split's, whose statistics are cached. ``extractor``: the onnxruntime network
    by default (any object with ``features``, ``name`` and ``device``)."""
    extractor = extractor if extractor is not None else inception_extractor()
    t0 = time.perf_counter()
    samples = Samples(inception_features=extractor.features(to_unit_range(images, output_range)),
                      inception_reference=inception_statistics(dataset, extractor.features, data_root, ref_limit))
    value = METRICS["fid-inception"].compute(samples)["fid_inception"]
    n_ref = samples.inception_reference[2]
    return with_provenance({"fid": value}, feature_network=extractor.name, reference=f"{dataset} test ({n_ref:,})",
                           n_generated=len(samples.inception_features), n_reference=n_ref,
                           device=str(extractor.device), seconds=round(time.perf_counter() - t0, 1))


def evaluate_images(images: np.ndarray, dataset: str, *, output_range=(-1.0, 1.0), seed: int = 0,
                    evaluator: Evaluator | None = None, source: str = "images", data_root=None,
                    kid_subsets: int = 100, inception=None, inception_n: int | None = None, labels=None,
                    read_options: dict | None = None, **extra) -> dict[str, Any]:
    """Score a set of images (generator outputs, or any fixed set) against ``dataset``'s test split;
    a dataset without an evaluator network of its own (``scored_in_features``) in Inception-v3
    features against all its images (``feature_scoring``; ``inception`` is then the main score).

    ``inception``: an Inception extractor (``inception.inception_extractor()``) to add the Inception
    FID on the first ``inception_n`` images (default all); ``labels``: the classes a conditional
    generator was asked for, one per image (adds ``label_accuracy``); ``read_options``: how a folder's
    reference is read (``feature_scoring``); ``extra`` goes into the record."""
    if scored_in_features(dataset, evaluator):
        return evaluate_in_features(images, dataset, output_range=output_range, seed=seed, data_root=data_root,
                                    read_options=read_options, evaluator=evaluator, source=source, kid_subsets=kid_subsets, labels=labels, **extra)
    t0 = time.perf_counter()
    images = np.asarray(images)
    stacked_images, scored_as, described_as = None, dataset, None
    if dataset in STACKED:
        if images.ndim != 4 or images.shape[1] != 3:
            raise EvaluationError(f"{dataset} images have 3 channels (one digit each), got shape {images.shape}")
        stacked_images, scored_as = len(images), STACKED[dataset]
        extra = {"n_stacked_images": stacked_images, **extra}
    if evaluator is None:
        check_dataset(dataset)
    ev = evaluator or get_evaluator(scored_as)
    ref = get_reference(ev, scored_as, data_root=data_root)
    one_per_channel = images.reshape(-1, 1, *images.shape[2:]) if stacked_images else images
    feats, logits = ev.run(to_evaluator_input(one_per_channel, output_range, ev.input_shape))
    if labels is not None and (stacked_images or len(labels) != len(images)):
        raise EvaluationError(f"labels: one per image ({len(images):,}), got {len(labels):,}")
    samples = Samples(features=feats, logits=logits, reference=ref, stacked_images=stacked_images, seed=seed,
                      kid_subsets=kid_subsets, labels=None if labels is None else np.asarray(labels))
    scores = METRICS.compute(samples)
    if stacked_images:
        described_as = f"{ref.description}, each of the 3 channels of {stacked_images:,} stacked images"
    if inception is not None:
        m = min(inception_n or len(images), len(images))
        extra["inception"] = inception_fid(images[:m], dataset, output_range, data_root, extractor=inception)
        scores["fid_inception"] = extra["inception"]["metrics"]["fid"]
    hist = np.bincount(logits.argmax(1), minlength=logits.shape[1]) / len(logits)
    return with_provenance(
        scores, feature_network=ev.name, reference=described_as or ref.description, n_generated=len(feats),
        n_reference=len(ref.features), feature_network_sha256=ev.sha256, **samples.provenance, seed=seed,
        source=source, predicted_class_histogram=[round(float(h), 4) for h in hist],
        seconds=round(time.perf_counter() - t0, 2), **extra)


def folder_read_options(settings) -> dict:
    """How the folder's images were read for training (a model's metadata or a run's config, where
    they record it): the reference is read the same way."""
    get = settings.get if isinstance(settings, dict) else lambda key: getattr(settings, key, None)
    return {key: get(key) for key in ("transparency", "background") if get(key)}


def reference_first(g: Generator, dataset: str, data_root, say: Callable[[str], None]) -> None:
    """A dataset scored in general features: its reference before any image is drawn (a missing
    folder is refused before any work; the first time, the one slow part is announced)."""
    channels, size = g.image_shape[0], g.image_shape[1]
    told = []

    def progress(done: int, total: int) -> None:
        if not told:
            told.append(say(f"reference: {total:,} {dataset} images through the feature network, once "
                            "(slow on a CPU; cached after)"))

    feature_reference(dataset, feature_network(), data_root=data_root, image_size=size, progress=progress,
                      read_options=reference_read_options(channels, folder_read_options(g.metadata)))


def load_generator(path: str | os.PathLike) -> Generator:
    path = Path(path)
    if not path.is_file():
        raise EvaluationError(f"model file not found: {path}")
    try:
        return Generator.load(path, device="cpu")
    except InferenceError as error:
        raise EvaluationError(str(error)) from None


def evaluate_generator(g: Generator, name: str, dataset: str | None = None, n: int = 10_000, seed: int = 0, *,
                       data_root=None, evaluator: str | os.PathLike | None = None, kid_subsets: int = 100,
                       inception=None, inception_n: int | None = None,
                       progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Score a loaded generator (``name``: its file name): ``n`` images from latent seed ``seed``."""
    say = progress or (lambda text: None)
    dataset = dataset or g.metadata.get("dataset")
    if not dataset:
        raise EvaluationError(f"{name} names no dataset; pass --dataset")
    check_request(n, seed, dataset, evaluator, kid_subsets, inception_n)
    if scored_in_features(dataset, evaluator):
        reference_first(g, dataset, data_root, say)
    say(f"generating {n:,} images with {name}")
    images = sample_images(g, n, seed)
    steps = g.metadata.get("train_steps")
    if scored_in_features(dataset, evaluator):
        say(f"scoring against {dataset} in {feature_network().name.split(' (')[0]} features (the reference's are "
            "computed once and cached)")
    else:
        say(f"scoring against {dataset} test with the evaluator network"
            + (f", then the Inception-v3 FID on {min(inception_n or n, n):,} images (slow on a CPU)" if inception else ""))
    return evaluate_images(images, dataset, output_range=g.output_range, seed=seed, data_root=data_root,
                           evaluator=get_evaluator(evaluator) if evaluator else None, source=describe(g, name),
                           kid_subsets=kid_subsets, inception=inception, inception_n=inception_n, latent_seed=seed,
                           labels=asked_labels(n, g.num_classes, g.class_prior), read_options=folder_read_options(g.metadata),
                           **({"train_steps": steps} if steps is not None else {}))


def evaluate_model(model_path: str | os.PathLike, dataset: str | None = None, n: int = 10_000, seed: int = 0,
                   **options) -> dict[str, Any]:
    """Score an exported generator (.onnx); ``options`` as ``evaluate_generator``'s."""
    check_request(n, seed, dataset, options.get("evaluator"), options.get("kid_subsets", 100), options.get("inception_n"))
    return evaluate_generator(load_generator(model_path), Path(model_path).name, dataset, n, seed, **options)

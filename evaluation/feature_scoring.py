"""Scoring against a dataset without an evaluator network of its own (an image folder, CIFAR-10,
SVHN): FID, KID, precision/recall and density/coverage in a general feature space (Inception-v3
pool3 by default, ``features``), against the features of every reference image (``feature_reference``).

The record names what was compared with what: the feature network (with its hash) and the runtime
that ran it, the reference and its count, the generated count, KID's subsets and their size, and
how transparency was treated. With an evaluator trained on the folder's classes (``--evaluator``,
made by ``python -m training train-evaluator --dataset folder``), its logits add the classifier
score, class coverage and a conditional generator's label accuracy.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .errors import EvaluationError
from .evaluators import Evaluator
from .feature_reference import feature_reference
from .features import ALPHA_NOTE, feature_input, feature_network
from .images import to_evaluator_input
from .metrics import METRICS, Samples
from .provenance import with_provenance


def reference_read_options(channels: int, read_options: dict | None = None) -> dict:
    """How the reference is read for generated images of ``channels``: with its alpha for RGBA (both
    sides then composited over black), else as the generator was trained (``read_options``)."""
    return {"transparency": "alpha"} if channels in (2, 4) else dict(read_options or {})


def evaluate_in_features(images: np.ndarray, dataset: str, *, output_range=(-1.0, 1.0), seed: int = 0,
                         data_root=None, read_options: dict | None = None, network=None,
                         evaluator: Evaluator | None = None, source: str = "images", kid_subsets: int = 100,
                         labels=None, progress=None, **extra) -> dict[str, Any]:
    """Every metric that applies, in ``network``'s features (default ``features.feature_network()``),
    of ``images`` (generator output [N, C, H, W] in ``output_range``; 4 channels are RGBA) against
    all of ``dataset``'s reference images, read at the images' size: with their alpha for RGBA
    images (both composited over black), else as ``read_options`` say (the folder reader's
    ``transparency`` and ``background`` the generator was trained with)."""
    t0 = time.perf_counter()
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[1] not in (1, 2, 3, 4):
        raise EvaluationError(f"expected images [N, C, H, W] with 1 to 4 channels, got shape {images.shape}")
    network = network if network is not None else feature_network()
    with_alpha = images.shape[1] in (2, 4)
    ref = feature_reference(dataset, network, data_root=data_root, image_size=int(images.shape[2]),
                            read_options=reference_read_options(images.shape[1], read_options), evaluator=evaluator,
                            progress=progress)
    unit = feature_input(images, output_range)
    features = network.features(unit, progress=progress)
    logits = evaluator.run(to_evaluator_input(unit, (0.0, 1.0), evaluator.input_shape))[1] if evaluator is not None else None
    if labels is not None and len(labels) != len(images):
        raise EvaluationError(f"labels: one per image ({len(images):,}), got {len(labels):,}")
    if labels is not None and logits is not None and len(labels) and int(np.max(labels)) >= logits.shape[1]:
        raise EvaluationError(f"the generator draws classes 0..{int(np.max(labels))}, but {evaluator.path.name} knows "
                              f"{logits.shape[1]}: score with an evaluator trained on the folder the generator was")
    samples = Samples(features=features, logits=logits, reference=ref, seed=seed, kid_subsets=kid_subsets,
                      labels=None if labels is None or logits is None else np.asarray(labels))
    scores = METRICS.compute(samples)
    if logits is not None:
        hist = np.bincount(logits.argmax(1), minlength=logits.shape[1]) / len(logits)
        extra = {"predicted_class_histogram": [round(float(h), 4) for h in hist],
                 "classifier": evaluator.name, "classifier_sha256": evaluator.sha256, **extra}
    if with_alpha:
        extra = {"alpha": ALPHA_NOTE, **extra}
    return with_provenance(
        scores, feature_network=network.name, reference=ref.description, n_generated=len(features),
        n_reference=len(ref.features), feature_network_sha256=network.sha256, device=str(network.device),
        **samples.provenance, seed=seed, source=source, seconds=round(time.perf_counter() - t0, 2), **extra)

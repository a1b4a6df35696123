"""Feature-space GAN metrics, numpy/scipy only, one module each, registered by name in ``METRICS``.

    from evaluation.metrics import METRICS, Samples
    scores = METRICS.compute(Samples(features=feats, logits=logits, reference=ref))
    [s.key for s in METRICS.on_card()]    # what a model card's summary shows

Modules (each registers its metric on import; the order here is the order of every table):
``fid`` (FID in the evaluator's and in Inception-v3's features), ``kid`` (KID), ``prdc``
(precision/recall, density/coverage), ``classifier`` (classifier score), ``classes`` (class
coverage and KL), ``labels`` (a conditional generator's asked class drawn), ``stacked`` (Stacked-MNIST modes), ``toy`` (ring/grid mixtures of VEEGAN and
PacGAN). A score without its provenance is not comparable with any other: see
``evaluation.provenance``.
"""

from __future__ import annotations

from .registry import HIGHER, LOWER, METRICS, NEITHER, Metric, MetricRegistry, Samples, Score
from .fid import feature_statistics, fid, frechet_distance  # noqa: I001 - registration order
from .kid import kid
from .prdc import prdc
from .classifier import classifier_score, predicted_class_histogram, to_probs
from .classes import class_kl, classes_covered
from .labels import label_accuracy
from .stacked import stacked_mnist_metrics
from .toy import grid_modes, ring_modes, sample_mixture, toy_metrics

__all__ = [
    "METRICS", "Metric", "MetricRegistry", "Samples", "Score", "LOWER", "HIGHER", "NEITHER",
    "feature_statistics", "frechet_distance", "fid", "kid", "prdc", "classifier_score", "to_probs",
    "predicted_class_histogram", "classes_covered", "class_kl", "label_accuracy", "stacked_mnist_metrics",
    "ring_modes", "grid_modes", "sample_mixture", "toy_metrics",
]

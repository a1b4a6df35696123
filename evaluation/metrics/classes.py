"""Class coverage of generated samples, from an evaluator classifier's predictions (numpy/scipy).

* ``classes_covered``: class c counts as covered when its share of argmax predictions is at least
  ``min_fraction`` (default 0.1) of its share in the data, i.e. share_c >= 0.1 * p_data(c)
  (= 0.1 / C for balanced data). A generator that draws a class ten times too rarely has, for
  practical purposes, dropped it; one stray prediction does not count as coverage.
* ``class_kl``: KL(p_data || p_gen) between the data's class distribution and the histogram of
  predicted classes, as in the AM Score's first term (Zhou et al., 2018, "Activation
  Maximization Generative Adversarial Nets", arXiv:1703.02000). This direction is the one that
  punishes *dropped* classes (p_gen -> 0 where p_data > 0); both sides are smoothed with ``eps``
  and renormalised, so a fully dropped class of share q contributes about q * log(q / eps).
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

from .classifier import predicted_class_histogram, to_probs
from .registry import HIGHER, LOWER, METRICS, Samples, Score

__all__ = ["classes_covered", "class_kl"]


def _prior(data_class_prior, num_classes: int) -> np.ndarray:
    if data_class_prior is None:
        return np.full(num_classes, 1.0 / num_classes)
    prior = np.asarray(data_class_prior, dtype=np.float64)
    if prior.shape != (num_classes,) or (prior < 0).any() or prior.sum() <= 0:
        raise ValueError(f"data_class_prior must be {num_classes} non-negative weights")
    return prior / prior.sum()


def classes_covered(probs, data_class_prior=None, min_fraction: float = 0.1, from_logits: bool = False) -> int:
    """Number of classes predicted for at least ``min_fraction`` x their data share of samples."""
    hist = predicted_class_histogram(probs, from_logits=from_logits)
    prior = _prior(data_class_prior, hist.shape[0])
    return int(np.count_nonzero((hist > 0) & (hist >= min_fraction * prior)))


def class_kl(probs, data_class_prior=None, eps: float = 1e-6, from_logits: bool = False) -> float:
    """KL(p_data || p_gen) in nats, p_gen the predicted-class histogram; both eps-smoothed."""
    hist = predicted_class_histogram(probs, from_logits=from_logits)
    prior = _prior(data_class_prior, hist.shape[0])
    p_data = (prior + eps) / (1.0 + eps * prior.shape[0])
    p_gen = (hist + eps) / (1.0 + eps * hist.shape[0])
    return float(rel_entr(p_data, p_gen).sum())


@METRICS.register("class-coverage", Score("classes_covered", "Classes covered", HIGHER, on_card=True),
                  Score("class_kl", "Class KL (data || generated)", LOWER, on_card=True),
                  needs=("logits", "reference"))
def _class_coverage(samples: Samples) -> dict[str, float]:
    probs, prior = to_probs(samples.logits, from_logits=True), samples.reference.class_prior
    return {"classes_covered": classes_covered(probs, prior), "class_kl": class_kl(probs, prior)}

"""Scores from an evaluator classifier's outputs on generated samples (numpy/scipy only).

* ``classifier_score``: the Inception Score (Salimans et al., 2016, "Improved Techniques for
  Training GANs", arXiv:1606.03498) computed with any evaluator network:
      CS = exp( E_x[ KL( p(y|x) || p(y) ) ] ),   p(y) = E_x[p(y|x)],
  in [1, C]: 1 when every sample gets the same prediction, C when predictions are confident and
  the classes balanced. As usual it is computed on ``n_splits`` consecutive splits and reported
  as mean and std over splits. Scores from different evaluators are not comparable.
* ``classes_covered``: class c counts as covered when its share of argmax predictions is at least
  ``min_fraction`` (default 0.1) of its share in the data, i.e. share_c >= 0.1 * p_data(c)
  (= 0.1 / C for balanced data). A generator that draws a class ten times too rarely has, for
  practical purposes, dropped it; one stray prediction does not count as coverage.
* ``class_kl``: KL(p_data || p_gen) between the data's class distribution and the histogram of
  predicted classes, as in the AM Score's first term (Zhou et al., 2018, "Activation
  Maximization Generative Adversarial Nets", arXiv:1703.02000). This direction is the one that
  punishes *dropped* classes (p_gen -> 0 where p_data > 0); both sides are smoothed with ``eps``
  and renormalised, so a fully dropped class of share q contributes about q * log(q / eps).
* Stacked MNIST (Metz et al., 2017, "Unrolled GANs"; used by VEEGAN and PacGAN): three MNIST
  digits stacked as channels give 1000 modes; the mode of a sample is 100*d0 + 10*d1 + d2.
  Reported: modes captured (>= 1 sample) and KL(p_gen_modes || uniform over 1000).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, rel_entr

__all__ = [
    "to_probs",
    "classifier_score",
    "predicted_class_histogram",
    "classes_covered",
    "class_kl",
    "stacked_mnist_modes",
    "mode_histogram",
    "stacked_mnist_metrics",
]


def to_probs(probs_or_logits, from_logits: bool = False) -> np.ndarray:
    """Class probabilities ``[N, C]`` (float64) from probabilities or, with ``from_logits``, logits."""
    p = np.asarray(probs_or_logits, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"expected class scores [N, C] with C >= 2, got shape {p.shape}")
    if not np.isfinite(p).all():
        raise ValueError("class scores contain NaN or infinite values")
    if from_logits:
        return np.exp(log_softmax(p, axis=1))
    if (p < 0).any() or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("probabilities must be non-negative and sum to 1 per row (pass from_logits=True for logits)")
    return p / p.sum(axis=1, keepdims=True)


def classifier_score(probs, n_splits: int = 10, from_logits: bool = False) -> tuple[float, float]:
    """Inception-Score-style ``(mean, std)`` over ``min(n_splits, N)`` consecutive splits."""
    p = to_probs(probs, from_logits)
    scores = []
    for part in np.array_split(p, max(1, min(int(n_splits), p.shape[0]))):
        marginal = part.mean(axis=0, keepdims=True)
        # rel_entr(p, q) = p log(p/q) with 0 log 0 = 0: exact for one-hot predictions.
        mean_kl = rel_entr(part, marginal).sum(axis=1).mean()
        scores.append(np.exp(mean_kl))
    return float(np.mean(scores)), float(np.std(scores))


def predicted_class_histogram(probs, num_classes: int | None = None, from_logits: bool = False) -> np.ndarray:
    """Share of samples whose argmax prediction is each class, ``[C]`` summing to 1."""
    p = to_probs(probs, from_logits)
    c = p.shape[1] if num_classes is None else int(num_classes)
    counts = np.bincount(p.argmax(axis=1), minlength=c).astype(np.float64)
    return counts / counts.sum()


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


def stacked_mnist_modes(digit_predictions) -> np.ndarray:
    """Mode ids 0..999 from per-channel digits ``[N, 3]`` (ints) or digit scores ``[N, 3, 10]``."""
    d = np.asarray(digit_predictions)
    if d.ndim == 3:
        if d.shape[1:] != (3, 10):
            raise ValueError(f"digit scores must be [N, 3, 10], got {d.shape}")
        d = d.argmax(axis=2)
    if d.ndim != 2 or d.shape[1] != 3:
        raise ValueError(f"digit predictions must be [N, 3], got {d.shape}")
    if not np.issubdtype(d.dtype, np.integer) and not np.array_equal(d, np.round(d)):
        raise ValueError("digit predictions must be integers 0..9")
    d = d.astype(np.int64)
    if d.size and (d.min() < 0 or d.max() > 9):
        raise ValueError("digit predictions must be integers 0..9")
    return d @ np.array([100, 10, 1])


def mode_histogram(mode_ids, num_modes: int = 1000) -> np.ndarray:
    """Counts per mode, ``[num_modes]`` (int64)."""
    return np.bincount(np.asarray(mode_ids, dtype=np.int64), minlength=num_modes)


def stacked_mnist_metrics(digit_predictions) -> dict[str, float]:
    """``modes_captured`` (modes with >= 1 sample, of 1000) and ``mode_kl`` = KL(p_gen || U_1000)."""
    counts = mode_histogram(stacked_mnist_modes(digit_predictions), 1000)
    if counts.sum() == 0:
        raise ValueError("no samples")
    p_gen = counts / counts.sum()
    # rel_entr handles empty modes (0 log 0 = 0); the uniform side is never 0, so no smoothing.
    kl = rel_entr(p_gen, np.full(1000, 1e-3)).sum()
    return {"modes_captured": int(np.count_nonzero(counts)), "mode_kl": float(kl)}

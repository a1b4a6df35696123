"""The classifier score: the Inception Score (Salimans et al., 2016, "Improved Techniques for
Training GANs", arXiv:1606.03498) computed with any evaluator network (numpy/scipy only):

    CS = exp( E_x[ KL( p(y|x) || p(y) ) ] ),   p(y) = E_x[p(y|x)],

in [1, C]: 1 when every sample gets the same prediction, C when predictions are confident and the
classes balanced. As usual it is computed on ``n_splits`` consecutive splits and reported as mean
and std over splits. Scores from different evaluators are not comparable.

Also the helpers of every metric that reads class predictions (``to_probs``,
``predicted_class_histogram``).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, rel_entr

from .registry import HIGHER, METRICS, NEITHER, Samples, Score

__all__ = ["to_probs", "classifier_score", "predicted_class_histogram"]

N_SPLITS = 10


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


@METRICS.register("classifier-score", Score("classifier_score", "Classifier score", HIGHER),
                  Score("classifier_score_std", "Classifier score, std over splits", NEITHER, charted=False),
                  needs=("logits",))
def _classifier_score(samples: Samples) -> dict[str, float]:
    mean, std = classifier_score(to_probs(samples.logits, from_logits=True), N_SPLITS)
    return {"classifier_score": mean, "classifier_score_std": std}

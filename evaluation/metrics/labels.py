"""How often a class-conditional generator draws the class it is asked for (numpy only).

``label_accuracy``: the share of samples whose evaluator prediction (argmax of its logits) is the
label the generator was given, as in the conditional GAN literature's "classification accuracy"
of generated samples (e.g. the AC-GAN paper, Odena et al. 2017; Miyato & Koyama 2018). With a
uniform label mix it is also a per-class check: one class drawn wrongly costs a tenth of it on
MNIST. It applies only when the asked labels are known (a conditional generator).
"""
from __future__ import annotations

import numpy as np

from .registry import HIGHER, METRICS, Samples, Score

__all__ = ["label_accuracy"]


def label_accuracy(logits, labels) -> float:
    """Share of rows whose argmax prediction equals their asked label."""
    logits, labels = np.asarray(logits), np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),):
        raise ValueError(f"label_accuracy needs logits [N, C] and labels [N], got {logits.shape} and {labels.shape}")
    return float(np.mean(logits.argmax(1) == labels))


@METRICS.register("label-accuracy", Score("label_accuracy", "Asked class drawn", HIGHER, on_card=True),
                  needs=("logits", "labels"), when="class-conditional generators only")
def _label_accuracy(samples: Samples) -> dict[str, float]:
    return {"label_accuracy": label_accuracy(samples.logits, samples.labels)}

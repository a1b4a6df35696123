"""GAN Studio evaluation: score generators with numpy, scipy and onnxruntime (no torch).

    from evaluation import evaluate_model, METRICS
    report = evaluate_model("exported/mnist-dcgan.onnx", n=10_000)
    report["metrics"]["fid"], report["feature_network"], report["reference"]
    [score.key for score in METRICS.scores()]          # every metric, in the order of every table

The evaluator networks (``evaluators``) turn images (``images``) into features and class logits;
the test split's are cached (``reference``); each metric is one module of ``metrics``, registered
in ``METRICS``; ``inception`` runs Inception-v3 for the paper-comparable FID; a dataset without an
evaluator network (a folder) is scored in Inception features against all its images
(``feature_scoring``, ``feature_reference``, ``features``); every score is stored with its
provenance (``provenance``). ``python -m evaluation MODEL.onnx`` prints them all.
"""

from .errors import EvaluationError
from .evaluators import Evaluator, cache_dir, evaluator_dir, evaluator_path, get_evaluator
from .images import to_evaluator_input
from .metrics import METRICS, Samples, Score
from .provenance import comparison, format_table, same_feature_network, with_provenance
from .reference import Reference, get_reference
from .scoring import evaluate_generator, evaluate_images, evaluate_model, inception_fid

__all__ = [
    "EvaluationError", "Evaluator", "METRICS", "Reference", "Samples", "Score", "cache_dir", "comparison",
    "evaluate_generator", "evaluate_images", "evaluate_model", "evaluator_dir", "evaluator_path",
    "format_table", "get_evaluator", "get_reference", "inception_fid", "same_feature_network",
    "to_evaluator_input", "with_provenance",
]

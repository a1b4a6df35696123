"""The reference side of a dataset scored in a general feature space (``features``: Inception-v3 or
``$GAN_STUDIO_FEATURE_NETWORK``): every image of the dataset's test split through the network, once.

A folder has no test split: its reference is all its images, read at the generator's size as the
folder dataset reads them. The features are cached in ``$GAN_STUDIO_CACHE/reference/`` under

* ``folder-<content key[:16]>-<size>px-<network hash[:16]>.npz`` for a folder, the key a hash of its
  files' bytes and read settings (``dataio.folder.fingerprint``), so an edited folder is read again
  and an untouched one never is;
* ``<dataset>-test-<network hash[:16]>.npz`` for a dataset with a fixed test split (CIFAR-10, SVHN).

Features are kept, not only their mean and covariance: KID and precision/recall/density/coverage
need the points. When an evaluator network trained on the folder's classes is given, its logits of
the same images come with them (class coverage, label accuracy).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from dataio import DataError, read_split
from dataio.folder import fingerprint

from .errors import EvaluationError
from .evaluators import Evaluator, cache_dir
from .features import composite_over_black
from .images import to_evaluator_input
from .reference import Reference, cached_reference

log = logging.getLogger("evaluation")
FOLDER = "folder"


def folder_content_key(root: str | Path, image_size: int, read_options: dict | None = None) -> str:
    """What names a folder's cached reference: ``dataio.folder.fingerprint``, a hash of its image files
    (paths and bytes) and the settings they are read with, as the folder's decode cache is keyed."""
    return fingerprint(root, image_size, **(read_options or {}))


def reference_name(dataset: str, data_root, image_size: int, read_options: dict | None = None) -> str:
    """The dataset part of the cache file's name (see the module's docstring)."""
    if dataset != FOLDER:
        return f"{dataset}-test"
    root = _folder_root(data_root)
    return f"{FOLDER}-{folder_content_key(root, image_size, read_options)[:16]}-{image_size}px"


def _folder_root(data_root) -> Path:
    if data_root is None:
        raise EvaluationError("the folder dataset is scored against its own images: pass --data-root DIR")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise EvaluationError(f"--data-root {root} is not a folder")
    return root


def _read(dataset: str, data_root, image_size: int, read_options: dict):
    try:
        if dataset != FOLDER:
            return read_split(dataset, data_root, "test")
        # only the settings given: a reader without transparency settings is called as it always was
        return read_split(dataset, data_root, "test", image_size, **{k: v for k, v in read_options.items() if v})
    except DataError as error:
        raise EvaluationError(f"no {dataset} images to score against: {error}") from None


def _describe(dataset: str, data_root, n: int, image_size: int, read_options: dict) -> str:
    if dataset != FOLDER:
        return f"{dataset} test ({n:,})"
    how = ", ".join(f"{key} {value}" for key, value in read_options.items() if value)
    return (f"folder {Path(data_root).expanduser()} (all {n:,} images, read at {image_size}x{image_size}"
            f"{', ' + how if how else ''})")


def feature_reference(dataset: str, network, *, data_root=None, image_size: int = 64, read_options: dict | None = None,
                      evaluator: Evaluator | None = None, progress=None) -> Reference:
    """The dataset's images in ``network``'s features (and ``evaluator``'s logits when given), from
    the cache or computed once; labels are the folder's classes (all 0 when unlabelled).
    ``read_options``: the folder reader's ``transparency`` and ``background``, as the generator was
    trained on them (4 channels: ``transparency="alpha"``, composited over black here)."""
    read_options = {k: v for k, v in (read_options or {}).items() if v is not None}
    name = reference_name(dataset, data_root, image_size, read_options)
    logits_tag = f"-logits-{evaluator.sha256[:12]}" if evaluator is not None else ""
    path = cache_dir() / "reference" / f"{name}-{network.sha256[:16]}{logits_tag}.npz"

    def compute() -> Reference:
        data = _read(dataset, data_root, image_size, read_options)
        log.info("reference features of %d %s images (once; cached in %s)", len(data.images), dataset, path.parent)
        images01 = composite_over_black(data.images.astype(np.float32) / np.float32(255.0))
        features = network.features(images01, progress=progress).astype(np.float32)
        if evaluator is not None:
            logits = evaluator.run(to_evaluator_input(images01, (0.0, 1.0), evaluator.input_shape))[1]
        else:  # no classifier: the class metrics do not apply, the labels still describe the set
            logits = np.zeros((len(features), 0), np.float32)
        return Reference(features, logits, data.labels.astype(np.int64),
                         _describe(dataset, data_root, len(features), image_size, read_options))

    return cached_reference(path, compute)

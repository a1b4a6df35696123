"""A labelled folder as the evaluator CNN's training and held-out images.

A folder has no test split, so one is made from it, the same on every run and machine: every
``HELD_OUT_EVERY``-th image of each class in sorted-path order (the 1st, 11th, 21st...) is held out,
the rest train. The images are read as the scoring side reads an RGBA generator's reference
(``evaluation.feature_reference``): with their alpha (``transparency="alpha"``), then composited over
black (RGB x alpha), at ``image_size``; generated images reach the evaluator the same way
(``evaluation.images.to_evaluator_input``). The folder's fingerprint (``dataio.folder.fingerprint``
of those read settings) names exactly which images it learned.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from dataio import DataError, read_split
from dataio.folder import fingerprint
from training.auxiliary.evaluator_net import EvaluatorError

HELD_OUT_EVERY = 10
DEFAULT_IMAGE_SIZE = 32  # emoji-sized classes stay recognisable, and an epoch of thousands takes seconds on a CPU
TRANSPARENCY = "alpha"
HELD_OUT_RULE = (f"every {HELD_OUT_EVERY}th image of each class in sorted-path order (the 1st, "
                 f"{HELD_OUT_EVERY + 1}th, ...), the same on every run")
INPUT_MAPPING = "RGB composited over black (RGB x alpha), then pixel / 127.5 - 1 (0 -> -1, 255 -> 1)"


@dataclass
class LabelledImages:
    """One side of the split, shaped as ``training.data``'s datasets are."""
    images: torch.Tensor  # uint8 [N, 3, S, S], composited over black
    labels: torch.Tensor  # int64 [N]
    class_names: list

    def __len__(self) -> int:
        return len(self.images)


def folder_root(data_root) -> Path:
    """The folder named by ``--data-root``, checked before any image is read."""
    if data_root is None:
        raise EvaluatorError("an evaluator for a folder learns its classes: pass --data-root DIR "
                             "(one subfolder per class)")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise EvaluatorError(f"--data-root {root} is not a folder")
    return root


def evaluator_name(data_root) -> str:
    """``folder-<folder name>``: what the evaluator file and its resumable checkpoint are named after."""
    return f"folder-{folder_root(data_root).resolve().name}"


def composite_over_black(images: np.ndarray) -> np.ndarray:
    """uint8 RGBA [N, 4, S, S] -> uint8 RGB x alpha, rounded (the float composite of the scoring side to 1/2 level)."""
    rgb, alpha = images[:, :3].astype(np.uint32), images[:, 3:].astype(np.uint32)
    return ((rgb * alpha + 127) // 255).astype(np.uint8)


def held_out_mask(labels: np.ndarray) -> np.ndarray:
    """True for the held-out images: per class, every ``HELD_OUT_EVERY``-th in the order given."""
    mask = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        mask[np.flatnonzero(labels == c)[::HELD_OUT_EVERY]] = True
    return mask


def folder_splits(data_root, image_size: int = DEFAULT_IMAGE_SIZE) -> tuple[LabelledImages, LabelledImages, dict]:
    """(train, held out, what the card records of the folder); an unlabelled folder, one of a single
    class, or a class of one image is refused, saying how to label it."""
    root = folder_root(data_root)
    try:
        data = read_split("folder", root, "train", image_size, transparency=TRANSPARENCY)
    except DataError as error:
        raise EvaluatorError(f"cannot read the folder: {error}") from None
    if len(data.class_names) < 2:
        raise EvaluatorError(
            f"{root} is not labelled: an evaluator learns classes, and a folder's classes are its first-level "
            "subfolders (two or more, each holding its class's images; images directly in the folder, or all in "
            "one subfolder, have none). Without classes a folder is still scored in Inception-v3 features: "
            "`python -m evaluation MODEL.onnx --dataset folder --data-root DIR`")
    labels = np.asarray(data.labels, np.int64)
    counts = np.bincount(labels, minlength=len(data.class_names))
    if counts.min() < 2:
        small = [name for name, count in zip(data.class_names, counts) if count < 2]
        raise EvaluatorError(f"classes with a single image cannot be both learned and checked: {', '.join(small)}; "
                             "give each class two images or more")
    images = composite_over_black(np.asarray(data.images))
    held = held_out_mask(labels)
    names = list(data.class_names)

    def side(mask: np.ndarray) -> LabelledImages:
        return LabelledImages(torch.from_numpy(np.ascontiguousarray(images[mask])), torch.from_numpy(labels[mask]), names)

    info = {"folder": {
        "root": str(root.resolve()), "fingerprint": fingerprint(root, image_size, TRANSPARENCY),
        "read": {"image_size": image_size, "transparency": TRANSPARENCY, "composited_over": "black"},
        "class_names": names, "images_per_class": [int(c) for c in counts],
        "held_out": {"rule": HELD_OUT_RULE, "n": int(held.sum()), "n_train": int((~held).sum()),
                     "chance_accuracy": round(float(counts.max() / counts.sum()), 4)},
    }}
    return side(~held), side(held), info


def describe_held_out(info: dict) -> str:
    """The metadata ``test_split`` of a folder's evaluator."""
    folder = info["folder"]
    return (f"folder {Path(folder['root']).name} held out ({folder['held_out']['n']:,}: {HELD_OUT_RULE}; "
            f"fingerprint {folder['fingerprint'][:16]})")

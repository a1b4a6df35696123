"""How big one array of latents or images may get: a request past it is refused, naming the limit,
before anything is allocated (a typo like ``--n 100000000`` would otherwise ask for tens of GiB
and end in a memory error, or in the machine swapping)."""
from __future__ import annotations

import math
import os

from .errors import InferenceError

MAX_ARRAY_BYTES = 2 * 2**30  # one array; a grid of 10,000 RGB 64x64 images is 123 MB
# An ONNX file is one protobuf message, which cannot exceed 2 GiB (bigger weights go in external
# data files beside it): a larger file is not a model, and reading it whole first would be the harm.
MAX_MODEL_BYTES = 2 * 2**30


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:,.1f} MiB"


def check_bytes(what: str, shape, itemsize: int, advice: str = "ask for fewer") -> None:
    """Refuse an array of ``shape`` x ``itemsize`` bytes above MAX_ARRAY_BYTES."""
    need = math.prod(int(d) for d in shape) * int(itemsize)
    if need > MAX_ARRAY_BYTES:
        raise InferenceError(f"{what} would need {gib(need)} of memory ({' x '.join(f'{int(d):,}' for d in shape)}"
                             f" x {itemsize} bytes); the limit is {gib(MAX_ARRAY_BYTES)} per array: {advice}.")


def check_model_size(path: str | os.PathLike) -> None:
    """Refuse an .onnx file larger than any ONNX file can be, before onnxruntime reads it whole."""
    size = os.stat(path).st_size
    if size > MAX_MODEL_BYTES:
        raise InferenceError(f"{path} is {gib(size)}, more than the {gib(MAX_MODEL_BYTES)} an ONNX file can be "
                             "(larger weights live in external data files beside it); is it the right file?")

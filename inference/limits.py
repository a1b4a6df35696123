"""How big one array of latents or images may get: a request past it is refused, naming the limit,
before anything is allocated (a typo like ``--n 100000000`` would otherwise ask for tens of GiB
and end in a memory error, or in the machine swapping)."""
from __future__ import annotations

import math

from .errors import InferenceError

MAX_ARRAY_BYTES = 2 * 2**30  # one array; a grid of 10,000 RGB 64x64 images is 123 MB


def gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:,.1f} MiB"


def check_bytes(what: str, shape, itemsize: int, advice: str = "ask for fewer") -> None:
    """Refuse an array of ``shape`` x ``itemsize`` bytes above MAX_ARRAY_BYTES."""
    need = math.prod(int(d) for d in shape) * int(itemsize)
    if need > MAX_ARRAY_BYTES:
        raise InferenceError(f"{what} would need {gib(need)} of memory ({' x '.join(f'{int(d):,}' for d in shape)}"
                             f" x {itemsize} bytes); the limit is {gib(MAX_ARRAY_BYTES)} per array: {advice}.")

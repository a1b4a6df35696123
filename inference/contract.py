"""The GAN Studio ONNX generator contract, in one place.

The exporter (training/) writes metadata with `metadata_to_props` (the ONNX file's
metadata_props) and `metadata_to_card` (the `<name>.json` model card beside it); the reader
(inference/) parses them with `metadata_from_props` and `metadata_from_card`. Because both
sides go through the same field table, they cannot drift apart.

Metadata values are strings in the ONNX file (`gan_studio.latent_dim` = "8") and JSON values
in the card (`"latent_dim": 8`); every parser below accepts either form.

Pure Python on purpose: no numpy, no onnxruntime, no torch.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable, Mapping

from studio.files import FileRefused, parse_json

from .errors import InferenceError

FORMAT = "1"
PREFIX = "gan_studio."

# Graph names.
INPUT_LATENT = "z"  # float32 [batch, latent_dim], batch axis dynamic
INPUT_LABEL = "label"  # int64 [batch], only in class-conditional generators
OUTPUT_IMAGE = "image"  # float32 [batch, C, H, W], values within metadata output_range

DISTRIBUTIONS = ("normal", "uniform")

# How a seed becomes a latent (docs/inference.md, "How a seed becomes a latent"). "philox" is
# written by every export since it existed and can be re-implemented anywhere (inference/philox.py,
# examples/common/gan.mjs). A file without the field is older: its seeds were numpy's PCG64
# stream, and reading it as "pcg64" keeps every seed a user noted giving the image it gave.
LATENT_SCHEMES = ("philox", "pcg64")
LATENT_SCHEME = "philox"        # what export writes
LEGACY_LATENT_SCHEME = "pcg64"  # what a file without the field means
DIRECTION_METHODS = ("sefa",)
# A file may claim anything: 10**9 classes would make a billion class names and a picker of them.
# ImageNet-21k has 21,841 classes; a folder dataset has one per subfolder.
MAX_CLASSES = 100_000
MAX_NAME_CHARS = 256  # a class name is a folder's name (255 bytes at most on common file systems)

CONTRACT_SUMMARY = (
    "a GAN Studio generator takes 'z': float32 [batch, latent_dim] (plus 'label': int64 "
    "[batch] when class-conditional) and returns 'image': float32 [batch, C, H, W]"
)


# --- field parsers: (value as str or JSON value) -> Python value; ValueError says why ---

def _json(text: str) -> Any:
    """A JSON value stored as a metadata string, refused (ValueError) past studio.files' depth limit:
    Python's parser recurses, and a value nested 100,000 deep would end in RecursionError."""
    try:
        return parse_json(text, what="the value")
    except FileRefused as error:
        raise ValueError(str(error)) from None


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _parse_int(v: Any, minimum: int) -> int:
    if _is_str(v):
        v = int(v.strip())  # int("3.5") and int("") raise: both are wrong here
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError("must be an integer")
    if v < minimum:
        raise ValueError(f"must be >= {minimum}")
    return v


def _parse_float(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise ValueError("must be a number")
    f = float(v)
    if not math.isfinite(f):
        raise ValueError("must be finite")
    return f


def _parse_list(v: Any) -> list:
    if _is_str(v):
        v = [p for p in v.split(",")]
    if not isinstance(v, (list, tuple)):
        raise ValueError("must be a comma-separated list")
    return list(v)


def _parse_format(v: Any) -> str:
    v = str(v).strip()
    if v != FORMAT:
        raise ValueError(f"format {v!r} is not supported (this reader understands {FORMAT!r})")
    return v


def _parse_latent_dim(v: Any) -> int:
    return _parse_int(v, 1)


def _one_of(choices, hint: str = "") -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        v = str(v).strip().lower()
        if v not in choices:
            raise ValueError(f"must be one of {', '.join(choices)}{hint}")
        return v

    return parse


def _parse_bound(v: Any) -> float | None:
    if v is None or (_is_str(v) and not v.strip()):
        return None
    f = _parse_float(v)
    if f <= 0:
        raise ValueError("must be > 0 (or empty for no bound)")
    return f


def _parse_directions(v: Any) -> dict | None:
    """{"method": "sefa", "layer": str, "vectors": [[D floats]] (unit rows), "share": [floats]}."""
    if v is None or (_is_str(v) and not v.strip()):
        return None
    if _is_str(v):
        v = _json(v)
    if not isinstance(v, dict):
        raise ValueError("must be a JSON object")
    method = v.get("method")
    if method not in DIRECTION_METHODS:
        raise ValueError(f"method must be one of {', '.join(DIRECTION_METHODS)}, got {method!r}")
    vectors, share = v.get("vectors"), v.get("share")
    if not isinstance(vectors, list) or not vectors or not all(isinstance(r, list) and r for r in vectors):
        raise ValueError("vectors must be a non-empty list of lists of numbers")
    if not isinstance(share, list) or len(share) != len(vectors):
        raise ValueError("share must be a list with one number per vector")
    out = dict(v)
    out["vectors"] = [[_parse_float(x) for x in row] for row in vectors]
    out["share"] = [_parse_float(x) for x in share]
    if len({len(r) for r in out["vectors"]}) != 1:
        raise ValueError("every vector must have the same length")
    if any(not 0.0 <= x <= 1.0 for x in out["share"]):
        raise ValueError("every share must be in [0, 1]")
    return out


def _parse_image_shape(v: Any) -> tuple[int, int, int]:
    parts = _parse_list(v)
    if len(parts) != 3:
        raise ValueError("must be C,H,W")
    return tuple(_parse_int(p, 1) for p in parts)  # type: ignore[return-value]


def _parse_output_range(v: Any) -> tuple[float, float]:
    parts = _parse_list(v)
    if len(parts) != 2:
        raise ValueError("must be lo,hi")
    lo, hi = (_parse_float(p) for p in parts)
    if not lo < hi:
        raise ValueError("lo must be < hi")
    return lo, hi


def _parse_num_classes(v: Any) -> int:
    k = _parse_int(v, 0)
    if k > MAX_CLASSES:
        raise ValueError(f"must be at most {MAX_CLASSES:,} (no file of ours has that many classes)")
    return k


def _parse_class_names(v: Any) -> list[str]:
    if _is_str(v):
        v = _json(v) if v.strip() else []
    if not isinstance(v, list) or not all(isinstance(n, str) for n in v):
        raise ValueError("must be a JSON list of strings")
    if len(v) > MAX_CLASSES or any(len(n) > MAX_NAME_CHARS for n in v):
        raise ValueError(f"must be at most {MAX_CLASSES:,} names of at most {MAX_NAME_CHARS} characters each")
    return v


def _parse_class_prior(v: Any) -> list[float]:
    if _is_str(v):
        v = _json(v) if v.strip() else []
    if not isinstance(v, list) or len(v) > MAX_CLASSES:
        raise ValueError(f"must be a JSON list of at most {MAX_CLASSES:,} numbers")
    shares = [_parse_float(x) for x in v]
    if any(not math.isfinite(x) or x < 0 for x in shares) or (shares and abs(sum(shares) - 1) > 1e-6):
        raise ValueError("must be finite shares >= 0 that add up to 1")
    return shares


def _parse_train_steps(v: Any) -> int | None:
    if v is None or (_is_str(v) and not v.strip()):
        return None
    return _parse_int(v, 0)


def _parse_metrics(v: Any) -> dict:
    if _is_str(v):
        v = _json(v) if v.strip() else {}
    if not isinstance(v, dict):
        raise ValueError("must be a JSON object")
    return v


def _parse_text(v: Any) -> str:
    if v is None:
        return ""
    if not _is_str(v):
        raise ValueError("must be a string")
    return v


# --- formatters: Python value -> the string stored in metadata_props ---

def _fmt_float(f: float) -> str:
    # "-1,1" rather than "-1.0,1.0"; repr keeps every other float exact.
    return str(int(f)) if float(f).is_integer() else repr(float(f))


def _fmt_join(values) -> str:
    return ",".join(_fmt_float(x) if isinstance(x, float) else str(x) for x in values)


def _fmt_json(v: Any) -> str:
    return json.dumps(v, sort_keys=True)


_REQUIRED = object()

# key -> (parser, formatter, default). The order is the order the CLI prints them in.
FIELDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], str], Any]] = {
    "format": (_parse_format, str, FORMAT),
    "latent_dim": (_parse_latent_dim, str, _REQUIRED),
    "latent_distribution": (_one_of(DISTRIBUTIONS), str, _REQUIRED),
    "latent_bound": (_parse_bound, lambda v: "" if v is None else _fmt_float(v), None),
    "latent_scheme": (_one_of(LATENT_SCHEMES, " (a newer GAN Studio may know more)"), str, LEGACY_LATENT_SCHEME),
    "image_shape": (_parse_image_shape, _fmt_join, _REQUIRED),
    "output_range": (_parse_output_range, _fmt_join, _REQUIRED),
    "num_classes": (_parse_num_classes, str, 0),
    "class_names": (_parse_class_names, _fmt_json, []),
    "class_prior": (_parse_class_prior, _fmt_json, []),
    "dataset": (_parse_text, str, ""),
    "architecture": (_parse_text, str, ""),
    "loss": (_parse_text, str, ""),
    "train_steps": (_parse_train_steps, lambda v: "" if v is None else str(v), None),
    "metrics": (_parse_metrics, _fmt_json, {}),
    "created": (_parse_text, str, ""),
    "training_command": (_parse_text, str, ""),
    "directions": (_parse_directions, lambda v: "" if v is None else _fmt_json(v), None),
}


def _shown(value: Any, most: int = 80) -> str:
    """A value as a message shows it: a 100 KB string is cut to its start, not repeated whole."""
    text = repr(value)
    return text if len(text) <= most else f"{text[:most]}… ({len(text):,} characters)"


def _unknown_to_str(v: Any) -> str:
    return v if _is_str(v) else json.dumps(v, sort_keys=True)


def parse_metadata(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate un-prefixed metadata (strings or JSON values) into typed values.

    Known keys are parsed and defaulted; unknown keys are kept as strings. Raises
    InferenceError naming the first bad or missing key.
    """
    missing = [k for k, (_, _, d) in FIELDS.items() if d is _REQUIRED and k not in values]
    if missing:
        raise InferenceError("metadata lacks required key(s): " + ", ".join(missing))
    meta: dict[str, Any] = {}
    for key, (parse, _, default) in FIELDS.items():
        if key not in values:
            meta[key] = default.copy() if isinstance(default, (list, dict)) else default
            continue
        try:
            meta[key] = parse(values[key])
        except (ValueError, TypeError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
            raise InferenceError(f"metadata {key!r} = {_shown(values[key])}: {exc}") from None
    for key, value in values.items():
        if key not in FIELDS:
            meta[key] = _unknown_to_str(value)

    if meta["latent_distribution"] == "uniform" and meta["latent_bound"] is None:
        raise InferenceError("metadata 'latent_bound' is required for a uniform latent")
    dirs = meta["directions"]
    if dirs is not None and len(dirs["vectors"][0]) != meta["latent_dim"]:
        raise InferenceError(f"metadata 'directions' has vectors of {len(dirs['vectors'][0])} numbers "
                             f"but latent_dim is {meta['latent_dim']}")
    names, k = meta["class_names"], meta["num_classes"]
    if names and len(names) != k:
        raise InferenceError(f"metadata 'class_names' has {len(names)} names but num_classes is {k}")
    if meta["class_prior"] and len(meta["class_prior"]) != k:
        raise InferenceError(f"metadata 'class_prior' has {len(meta['class_prior'])} shares but num_classes is {k}")
    if not names:
        meta["class_names"] = [str(i) for i in range(k)]  # so callers can always label a class
    return meta


def metadata_from_props(props: Mapping[str, str]) -> dict[str, Any]:
    """Parse an ONNX file's metadata_props (only the `gan_studio.` keys are read)."""
    return parse_metadata({k[len(PREFIX):]: v for k, v in props.items() if k.startswith(PREFIX)})


def metadata_to_props(meta: Mapping[str, Any]) -> dict[str, str]:
    """Validate metadata and render it as `gan_studio.`-prefixed strings for metadata_props."""
    parsed = parse_metadata(meta)
    props = {}
    for key, value in parsed.items():
        fmt = FIELDS[key][1] if key in FIELDS else _unknown_to_str
        props[PREFIX + key] = fmt(value)
    return props


def metadata_from_card(card: Mapping[str, Any]) -> dict[str, Any]:
    """Parse a model card (`<name>.json`): its top-level "metadata" object, un-prefixed keys."""
    if not isinstance(card, Mapping):
        kind = {list: "list", str: "string", bool: "boolean", type(None): "null"}.get(type(card), "number")
        raise InferenceError(f"model card is a JSON {kind}, not an object with a \"metadata\" object")
    meta = card.get("metadata")
    if not isinstance(meta, Mapping):
        raise InferenceError("model card has no top-level \"metadata\" object")
    return parse_metadata(meta)


def metadata_to_card(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Validate metadata and return it as JSON values, for a card's "metadata" object."""
    parsed = parse_metadata(meta)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in parsed.items()}

"""The morph studio as a Streamlit component: the generator runs in the browser (onnxruntime-web).

The folder ``app/morph_web`` holds the page (index.html + main.mjs, plain ES modules, no build step)
and, once ``scripts/install_web_runtime.sh`` has run (scripts/install.sh does), the runtime in
``app/morph_web/ort/``, copied from the npm package examples/web pins: Streamlit serves both from
this machine, nothing is fetched from elsewhere. Python sends numbers and the model's bytes; the
component reports back, once the sliders rest, the exact latent it drew (see main.mjs).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from app.catalogue import file_key
from inference.limits import MAX_MODEL_BYTES
from studio.files import read_bytes

WEB_DIR = Path(__file__).resolve().parent / "morph_web"
RUNTIME_DIR = WEB_DIR / "ort"
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")

_component = components.declare_component("gan_studio_morph", path=str(WEB_DIR))


def runtime_problem() -> str | None:
    """Why the component cannot be offered on this install, or None when it can."""
    missing = [f for f in RUNTIME_FILES if not (RUNTIME_DIR / f).is_file()]
    if missing:
        return (f"onnxruntime-web is not installed beside the app ({', '.join(missing)} missing from "
                f"{RUNTIME_DIR}); run `bash scripts/install_web_runtime.sh` (needs node and npm)")
    return None


def model_id(path: Path) -> str:
    """Names one version of a model file: a rewritten file is loaded again in the browser."""
    return hashlib.sha256(repr(file_key(path)).encode()).hexdigest()[:16]


@st.cache_data(max_entries=4, show_spinner=False)
def _read(key: tuple) -> bytes:
    return read_bytes(key[0], limit=MAX_MODEL_BYTES, what="model")


def model_bytes(path: Path) -> bytes:
    return _read(file_key(path))


def _floats(a: np.ndarray) -> list:
    """float32 values as the Python floats that equal them exactly (JSON carries them losslessly)."""
    return np.asarray(a, np.float32).astype(np.float64).tolist()


def morph_view(*, model_bytes: bytes, model_id: str, keys: np.ndarray, labels: list | None, method: str,
               dirs: np.ndarray, spread: np.ndarray, direction_labels: list[str], bound: float | None,
               image_shape, output_range, t: float, amounts: list[float], server_run: int, px: int,
               key: str) -> dict | None:
    """Draw the studio; returns what the component last reported (None until it has)."""
    return _component(
        model=model_bytes, model_id=model_id, keys=_floats(keys),
        labels=None if labels is None else [int(x) for x in labels], method=method,
        dirs=_floats(dirs), spread=_floats(spread), direction_labels=list(direction_labels),
        bound=None if bound is None else float(bound), image_shape=[int(x) for x in image_shape],
        output_range=[float(x) for x in output_range], t=float(t), amounts=[float(a) for a in amounts],
        server_run=int(server_run), px=int(px), key=key, default=None)


def reported_latent(value, latent_dim: int, model_id: str) -> np.ndarray | None:
    """The latent the component says it drew, when the report is for this model and well-formed."""
    if not isinstance(value, dict) or value.get("model_id") != model_id or not value.get("ready"):
        return None
    z = value.get("z")
    if not isinstance(z, list) or len(z) != latent_dim or not all(isinstance(x, (int, float)) for x in z):
        return None
    z = np.asarray(z, np.float32)
    return z if np.isfinite(z).all() else None


FAILED = "morph_browser_failed"   # session keys: why the browser could not draw, and that it once did
WORKED = "morph_browser_worked"


def mode(state, key: str) -> tuple[str, str]:
    """("browser" | "loading" | "server", a note for the page) from the component's last report.

    "loading": the component is starting; the server draws meanwhile (and in AppTest, which cannot
    run components, always). "server": this install or this browser cannot run the generator."""
    problem = runtime_problem()
    if problem:
        return "server", f"Drawing on the server: {problem}."
    value = state.get(key)
    if isinstance(value, dict) and value.get("failed"):
        state[FAILED] = str(value["failed"])[:300]
    if state.get(FAILED):
        return "server", (f"This browser cannot run the generator ({state[FAILED]}), so the server draws "
                          "each frame instead: moves update the picture when the slider is released.")
    if isinstance(value, dict) and value.get("ready"):
        state[WORKED] = True
    if state.get(WORKED):
        return "browser", ""
    return "loading", ""


def reported_controls(value, model_id: str, n_dirs: int) -> tuple[float, list[float]] | None:
    """(t, direction amounts) from the component's report for this model, or None."""
    if not isinstance(value, dict) or value.get("model_id") != model_id:
        return None
    t, amounts = value.get("t"), value.get("amounts")
    if not isinstance(t, (int, float)) or not isinstance(amounts, list) or len(amounts) != n_dirs \
            or not all(isinstance(a, (int, float)) for a in amounts):
        return None
    return min(max(float(t), 0.0), 1.0), [min(max(float(a), -3.0), 3.0) for a in amounts]

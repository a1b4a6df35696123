"""Explore's "Find your image": upload a picture, find the latent whose image matches it, use it as a key.

The search is inference.projection (onnxruntime only); the app wires in the evaluator network of the
model's dataset as the judge of what an image shows (evaluation.evaluators), pixels alone where
there is none, and starts from the model's encoder (NAME.encoder.onnx) when one fits it (init "auto").
A found latent is kept in the session (``found``) and named in the key list as
(FOUND, its index, its class), beside the (seed, grid index, class) keys.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

import numpy as np
import streamlit as st
import streamlit.components.v1 as components

from app.catalogue import file_key
from app.images import shown_png
from app.model_cache import load_generator
from evaluation.errors import EvaluationError
from evaluation.evaluators import default_evaluator_file, get_evaluator
from inference import InferenceError
from inference.encoder import encoder_path
from inference.projection import draws_light_on_dark, project
from inference.target_image import read_target

FOUND = -1  # the "seed" of a key that is a found latent: its index points into session_state["found"]
TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
# a drawing pad in the page (app/draw_web: plain ES module); it sends {png: data URL, at: ms} on "Find my drawing"
_draw_pad = components.declare_component("gan_studio_draw", path=str(Path(__file__).resolve().parent / "draw_web"))


def _features(dataset: str, image_shape):
    """The evaluator's feature function and its name, or (None, why not)."""
    path = default_evaluator_file(dataset) if dataset else None
    if path is None or not path.is_file() or tuple(image_shape) != (1, 28, 28):
        return None, "pixels alone (no evaluator network for this model's dataset)"
    try:
        ev = get_evaluator(dataset)
    except EvaluationError as exc:
        return None, f"pixels alone ({exc})"
    return (lambda x: ev.run(x)[0]), f"what the {path.name} evaluator sees, plus pixels"


@st.cache_data(max_entries=16, show_spinner=False)
def _dark_background(model_key: tuple) -> bool:
    return draws_light_on_dark(load_generator(Path(model_key[0])))


def _light_on_dark(entry) -> bool:
    return _dark_background(file_key(entry.path))


@st.cache_data(max_entries=16, show_spinner="Searching the latent space for your image…")
def _search(model_key: tuple, encoder_key: tuple | None, digest: str, target: np.ndarray, label: int | None):
    g = load_generator(Path(model_key[0]))
    features, judged = _features(g.metadata.get("dataset") or "", g.image_shape)
    found = project(g, target.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0, features=features,
                    seed=int(digest[:8], 16), label=label, init="auto")
    return found, judged


def panel(g, entry, label: int | None, keys: list) -> None:
    st.subheader("Find your image")
    st.caption("Upload a picture (a digit on paper, a photo) or draw one: the app searches the generator's latent space "
               "for the image closest to it, shows it beside yours, and can make it a key of the morph →")
    from_file, from_pad = st.tabs(["Upload", "Draw"])
    with from_file:
        upload = st.file_uploader("Your image", type=TYPES, key="find_upload",
                                  help="any size from the model's own up to 20 MiB; dark ink on a light page is "
                                       "inverted for a model that draws light on dark")
    with from_pad:
        drawing = _draw_pad(key="find_draw", default=None, channels=int(g.image_shape[0]))  # ink and page choices fit the model
    source = _latest_source(upload, drawing)
    if source is None:
        return
    name, data = source
    try:
        target = read_target(data, g.image_shape, name=name, light_on_dark=_light_on_dark(entry))
    except InferenceError as exc:
        st.error(f"**This image cannot be used.** {exc}", icon=":material/image_not_supported:")
        return
    digest = hashlib.sha256(data).hexdigest()
    encoder = encoder_path(entry.path)  # a new or retrained encoder is a new search, not a cached one
    found, judged = _search(file_key(entry.path), file_key(encoder) if encoder.is_file() else None, digest,
                            target.image, label if g.conditional else None)
    yours, match = st.columns(2)
    yours.image(shown_png(target.image, 168), caption="yours" + (f" ({'; '.join(target.notes)})" if target.notes else ""),
                width=168, output_format="PNG")
    what = f" · class {g.class_names[found.label]}" if found.label is not None else ""
    match.image(shown_png(found.image, 168), caption=f"the match{what}", width=168, output_format="PNG")
    st.caption(f"Judged by {judged}; {found.note}: {found.evaluations:,} images tried in {found.seconds:.1f} s; pixel distance "
               f"{found.pixel_distance:.3f}" + (f", feature distance {found.feature_distance:.2f}"
                                                if found.feature_distance is not None else ""))
    st.button("Use as a key", icon=":material/add:", key="use_found", on_click=_use, args=(found.z, found.label, keys),
              help="add the match to the morph's keys")


def _latest_source(upload, drawing) -> tuple[str, bytes] | None:
    """(name, bytes) of whichever came last: a new upload or a drawing sent from the pad."""
    state = st.session_state
    if upload is not None and state.get("find_upload_id") != upload.file_id:
        state["find_upload_id"], state["find_from"] = upload.file_id, "upload"
    if isinstance(drawing, dict) and drawing.get("at") != state.get("find_draw_at"):
        state["find_draw_at"], state["find_from"] = drawing.get("at"), "draw"
    if upload is None and state.get("find_from") == "upload":
        state["find_from"] = "draw" if isinstance(drawing, dict) else None
    if state.get("find_from") == "draw" and isinstance(drawing, dict):
        url = str(drawing.get("png", ""))
        try:
            return "your drawing", base64.b64decode(url.partition("base64,")[2], validate=True)
        except (binascii.Error, ValueError):
            return "your drawing", b""
    return (upload.name, upload.getvalue()) if upload is not None else None


def _use(z: np.ndarray, lab: int | None, keys: list) -> None:
    found = st.session_state.setdefault("found", [])
    found.append(np.asarray(z, np.float32))
    keys.append((FOUND, len(found) - 1, None if lab is None else int(lab)))

"""Explore: pick a generator, browse samples, morph between images, move along directions."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import streamlit as st

from app import find_image, latent_maths, morph_view
from app.cards import card_view
from app.catalogue import file_key, find_models
from app.directions import direction_picker
from app.guard import guard, section
from app.images import CRISP_CSS, gif_bytes, png_bytes, shown_png
from app.markdown_escape import escape
from app.model_cache import load_generator
from app.paths import models_dir, runs_dir
from inference import image_grid, upscale

GRID_SIZES = (8, 16, 32, 64)
N_DIRECTIONS = 5
FRAME_PX = 256   # the studio image: big, crisp pixels
TILE_PX = 84     # a grid tile of a small model (up to 32 px): eight a row
BIG_TILE_PX = 128  # of a larger one (64 px colour, say): four a row, each pixel doubled

st.title("Explore")
st.html(CRISP_CSS)

models = find_models()
if not models:
    st.info(
        "**No models yet.** Train one on the **Train** page and press *Export to ONNX* when it is done, "
        "upload an `.onnx` generator on the **Models** page, or export a run from a terminal:\n\n"
        "```bash\npython -m training train --preset dcgan-mnist\npython -m training export RUN\n```\n\n"
        f"Models are read from `{models_dir()}` and from exported runs in `{runs_dir()}`.",
        icon=":material/auto_awesome:")
    st.page_link("app/pages/train.py", label="Go to Train", icon=":material/fitness_center:")
    st.stop()

paths = [str(m.path) for m in models]
by_path = {str(m.path): m for m in models}
# Another page (Models, a run) may ask us to open a given model.
wanted = st.session_state.pop("open_model", None)
if wanted in paths:
    st.session_state["model"] = wanted
if st.session_state.get("model") not in paths:
    st.session_state["model"] = paths[0]
choice = st.selectbox("Model", paths, key="model",
                      format_func=lambda p: f"{by_path[p].label}  ·  "
                                            f"{'unreadable' if by_path[p].problem else by_path[p].dataset()}")
entry = by_path[choice]
if entry.problem:
    st.error(f"**This model is not opened.** {escape(entry.problem)}\n\nPick another model above.", icon=":material/block:")
    st.stop()
g = None
with section():  # a broken file: its message here, and the picker above still works
    g = load_generator(entry.path)
    card_view(entry, g, compact=False)
if g is None:
    st.stop()

# --- the sample controls (sidebar) ---

def _resample():
    st.session_state["seed"] = random.randrange(0, 100_000)


with st.sidebar:
    st.subheader("Samples")
    st.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed",
                    help="the same seed gives the same images on every machine")
    st.button("Resample", icon=":material/casino:", on_click=_resample, width="stretch")
    truncation = st.slider("Truncation ψ", 0.0, 1.0, 1.0, 0.05, key="truncation",
                           help="pulls latents toward the mean: lower is cleaner but less varied")
    n = st.select_slider("Grid size", GRID_SIZES, value=16, key="grid_n")
    label = None
    if g.conditional:
        options = ["every class in turn", *g.class_names]
        picked = st.selectbox("Class", options, index=0, key="class_pick",
                              help="this generator is class-conditional: it draws the class you pick")
        label = None if picked == options[0] else options.index(picked) - 1
seed = int(st.session_state["seed"])

# Key images are (seed, grid index, class) triples: one names one latent whatever the grid size;
# a found image's is (find_image.FOUND, its index in session_state["found"], class).
if st.session_state.get("keys_model") != choice:
    st.session_state["keys_model"] = choice
    st.session_state["keys"] = []
    st.session_state["found"] = []
    # another model has other directions and other images: start its studio from scratch
    for k in [k for k in st.session_state if str(k).startswith("dir-") or k == "morph"]:
        del st.session_state[k]
keys: list[tuple[int, int, int | None]] = st.session_state["keys"]


def key_latent(s: int, i: int) -> np.ndarray:
    """A key's latent: the found one as it was found, a seed's scaled by the truncation."""
    if s == find_image.FOUND:
        return st.session_state.setdefault("found", [])[i]
    return latent_maths.latent(g, s, i) * truncation


def tile_label(i: int) -> int | None:
    return latent_maths.labels_for(g, i + 1, label)[i] if g.conditional else None


def _add_key(s: int, i: int, lab):
    keys.append((int(s), int(i), None if lab is None else int(lab)))


left, right = st.columns([1, 1], gap="large")

with left, section():  # a model that fails to generate: its message here, the studio still shown
    st.subheader("Samples")
    st.caption("Press **+** under an image to make it a key image for the morph →")
    images = latent_maths.grid(g, seed, n, truncation, label)
    small = max(g.image_shape[1:]) <= 32
    per_row, tile_px = (8, TILE_PX) if small else (4, BIG_TILE_PX)
    for start in range(0, n, per_row):
        cols = st.columns(per_row, gap="small")
        for i in range(start, min(start + per_row, n)):
            with cols[i - start]:
                st.image(shown_png(images[i], tile_px), width="stretch", output_format="PNG")
                st.button(":material/add:", key=f"pick-{i}", help=f"use image #{i} (seed {seed}) as a key",
                          on_click=_add_key, args=(seed, i, tile_label(i)), width="stretch")
    st.download_button("Grid PNG", png_bytes(image_grid(images, nrow=8), 0),
                       file_name=f"{entry.path.stem}-seed{seed}.png", mime="image/png", icon=":material/download:")

with left, section():
    find_image.panel(g, entry, label, keys)


@st.cache_data(max_entries=32, show_spinner=False)
def strip_and_gif(model_key: tuple, keys_bytes: bytes, labels: tuple, method: str, steps: int,
                  offset_bytes: bytes | None) -> tuple[bytes, bytes, bytes]:
    """The strip as shown (transparency over a checkerboard) and as downloaded (alpha kept), and the GIF."""
    gen = load_generator(Path(model_key[0]))
    key_z = np.frombuffer(keys_bytes, np.float32).reshape(len(labels), gen.latent_dim)
    path = gen.interpolate(key_z, steps=steps, method=method)
    if offset_bytes is not None:
        path = latent_maths.clip_to_bound(gen, path + np.frombuffer(offset_bytes, np.float32))
    frame_labels = None
    if gen.conditional:  # each frame takes the class of its nearest key
        frame_labels = np.array([labels[min(int(j / (steps - 1) + 0.5), len(labels) - 1)] for j in range(len(path))])
    frames = gen.generate(path, frame_labels)
    strip = upscale(image_grid(frames, nrow=len(frames)), 2)
    return shown_png(strip), png_bytes(strip), gif_bytes(frames, 192)


def _reset_directions(k: int):
    for i in range(k):
        st.session_state[f"dir-{i}"] = 0.0


@st.fragment
@guard
def studio():
    """Morph and direction sliders rerun only this fragment: the grid is not redrawn."""
    st.subheader("Morph")
    active = list(keys)
    if label is not None:  # a class picked in the sidebar applies to every key
        active = [(s, i, label) for s, i, _ in active]
    for default in [(seed, 0, tile_label(0)), (seed, 1, tile_label(1))]:
        if len(active) < 2 and default[:2] not in [a[:2] for a in active]:
            active.append(default)
    if len(keys) < 2:
        st.caption("Using the first grid images as keys until you pick two or more.")
    # key thumbnails with remove buttons, and a box to add a key by seed
    cols = st.columns(max(len(active), 2) + 1)
    for j, (s, i, lab) in enumerate(active):
        with cols[j]:
            z = key_latent(s, i)
            st.image(shown_png(g.generate(z[None], None if lab is None else np.array([lab]))[0], 64),
                     caption=(f"your image {i + 1}" if s == find_image.FOUND else f"seed {s} #{i}") + (f" · {g.class_names[lab]}" if lab is not None else ""),
                     output_format="PNG")
            if j < len(keys) and st.button(":material/close:", key=f"unkey-{j}", help="remove this key"):
                keys.pop(j)
                st.rerun()
    with cols[-1]:
        add_seed = st.number_input("Add seed", min_value=0, value=seed + 1, step=1, key="add_seed",
                                   label_visibility="collapsed")
        if st.button("Add seed", icon=":material/add:", help="add image #0 of this seed as a key"):
            _add_key(add_seed, 0, label if label is not None else (0 if g.conditional else None))
            st.rerun()

    method = st.radio("Path", ["slerp", "lerp"], horizontal=True, key="method",
                      help="slerp follows the sphere where Gaussian latents live; lerp is a straight line")
    key_z = np.stack([key_latent(s, i) for s, i, _ in active]).astype(np.float32)
    st.session_state["studio_runs"] = st.session_state.get("studio_runs", 0) + 1
    model_id = morph_view.model_id(entry.path)
    view, note = morph_view.mode(st.session_state, "morph_view")
    slot = st.container()  # the in-browser studio always stands here, so its frame is never rebuilt
    if note:
        st.caption(note)
    t = 0.0 if view == "browser" else st.slider("Morph", 0.0, 1.0, 0.0, 0.01, key="morph",
                                                 help="0 is the first key, 1 the last")
    picture, knobs = st.columns([1, 1], gap="medium") if view != "browser" else (None, st.container())
    with knobs:
        dirs, spread, dir_labels = direction_picker(entry, g, N_DIRECTIONS)
        amounts = [0.0] * len(dirs)
        if view != "browser":
            amounts = [st.slider(dir_labels[k], -3.0, 3.0, 0.0, 0.1,
                                 key=f"dir-{k}", help="in standard deviations of z along this direction")
                       for k in range(len(dirs))]
            st.button("Reset directions", icon=":material/restart_alt:", on_click=_reset_directions,
                      args=(len(dirs),))
    value = None
    if view != "server":
        if view == "browser":  # the component owns the sliders now: start from what it last reported
            t, amounts = morph_view.reported_controls(st.session_state.get("morph_view"), model_id, len(dirs)) \
                or (t, amounts)
        with slot:
            value = morph_view.morph_view(
                model_bytes=morph_view.model_bytes(entry.path), model_id=model_id, keys=key_z,
                labels=[a[2] for a in active] if g.conditional else None, method=method, dirs=dirs, spread=spread,
                direction_labels=dir_labels, bound=g.metadata.get("latent_bound"), image_shape=g.image_shape,
                output_range=g.output_range, t=t, amounts=amounts, server_run=st.session_state["studio_runs"],
                px=FRAME_PX, key="morph_view")
    seg = min(int(t * (len(active) - 1) + 0.5), len(active) - 1)
    frame_label = active[seg][2]   # a class cannot be blended: use the nearest key's
    offset = None
    if any(amounts):
        offset = sum(a * s * d for a, s, d in zip(amounts, spread, dirs)).astype(np.float32)
    drawn = morph_view.reported_latent(value, g.latent_dim, model_id) if view == "browser" else None
    if drawn is not None:  # the downloads show exactly the latent the browser drew
        frame_image = g.generate(drawn[None], latent_maths.labels_for(g, 1, frame_label))[0]
    else:
        frame_image = latent_maths.frame(g, key_z, t, method, frame_label, offset)
    frame_png = png_bytes(frame_image, FRAME_PX)
    if picture is not None:
        with picture:
            st.image(shown_png(frame_image, FRAME_PX), caption=f"morph {t:.2f}", width="stretch", output_format="PNG")

    steps = st.slider("Frames per segment", 3, 16, 8, key="strip_steps")
    # The strip and the GIF do not depend on the morph slider: cached, so moving it stays cheap.
    strip_shown, strip_png, gif = strip_and_gif(file_key(entry.path), key_z.tobytes(), tuple(a[2] for a in active),
                                   method, steps, None if offset is None else offset.tobytes())
    st.image(strip_shown, caption="the path, frame by frame", output_format="PNG")
    d1, d2, d3 = st.columns(3)
    d1.download_button("Frame PNG", frame_png, file_name=f"{entry.path.stem}-morph.png", mime="image/png", icon=":material/download:")
    d2.download_button("Strip PNG", strip_png, file_name=f"{entry.path.stem}-strip.png",
                       mime="image/png", icon=":material/download:")
    d3.download_button("GIF", gif, file_name=f"{entry.path.stem}-morph.gif",
                       mime="image/gif", icon=":material/download:")


with right:
    studio()

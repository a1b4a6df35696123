"""Explore's direction picker: GANSpace-style PCA directions (found by the app) or the SeFa directions
stored with the model (found at export), with names a user gives them, kept in the model card.

Names live in the card beside the .onnx (``direction_names``: {"sefa": {"0": "stroke width"}, "pca":
{...}}), written whole to a temporary file and renamed onto the card, so a reader sees the old card
or the new one; the .onnx itself is never touched.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import streamlit as st

from app.model_cache import load_directions
from app.catalogue import ModelEntry
from inference import Generator, metadata_to_card
from studio.errors import UserError
from training.runfolder.files import RunError, UnreadableFile, atomic_write_json, read_json_object

METHODS = {"PCA": "pca", "SeFa": "sefa"}
MAX_NAME = 40
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class DirectionNameError(UserError, ValueError):
    """A direction name that cannot be kept (the message says why)."""


def read_names(card_path: Path, method: str) -> dict[int, str]:
    """{direction index: name} for this method; {} when the card has none (or cannot be read)."""
    try:
        card = read_json_object(card_path)
    except (FileNotFoundError, UnreadableFile):
        return {}
    names = card.get("direction_names")
    found = names.get(method) if isinstance(names, dict) else None
    if not isinstance(found, dict):
        return {}
    return {int(k): v for k, v in found.items() if isinstance(k, str) and k.isdigit() and isinstance(v, str)}


def clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if _CONTROL.search(name):
        raise DirectionNameError("a direction name cannot hold control characters")
    if len(name) > MAX_NAME:
        raise DirectionNameError(f"a direction name is at most {MAX_NAME} characters; this one has {len(name)}")
    return name


def save_name(card_path: Path, g: Generator, method: str, index: int, name: str) -> None:
    """Keep ``name`` for direction ``index`` of ``method`` in the card (an empty name forgets it).
    A model without a card gets one, made of its metadata, so the examples can still read it."""
    name = clean_name(name)
    try:
        card = read_json_object(card_path)
    except FileNotFoundError:
        card = {"name": g.path.stem, "metadata": metadata_to_card(g.metadata)}
    except UnreadableFile as error:
        raise DirectionNameError(f"the model card cannot take a name: {error}") from None
    names = card.get("direction_names") if isinstance(card.get("direction_names"), dict) else {}
    own = names.get(method) if isinstance(names.get(method), dict) else {}
    if name:
        own[str(index)] = name
    else:
        own.pop(str(index), None)
    names[method] = own
    card["direction_names"] = names
    try:
        atomic_write_json(card_path, card)
    except (OSError, RunError) as error:
        raise DirectionNameError(f"the name could not be saved: {error}") from None


def sefa_directions(g: Generator, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unit vectors [k, D], the spread of the model's latents along each [k], share [k])."""
    vectors, share = g.sefa
    vectors, share = vectors[:k], share[:k]
    z = g.sample_latent(512, seed=1234)  # no model run: the spread of z along each direction
    return vectors, (z.astype(np.float64) @ vectors.T.astype(np.float64)).std(0).astype(np.float32), share


def _reset_amounts(k: int) -> None:
    for i in range(k):
        st.session_state[f"dir-{i}"] = 0.0


def _save(entry: ModelEntry, g: Generator, method: str) -> None:
    index = st.session_state.get("dir_name_pick", 0)
    try:
        save_name(entry.card_path, g, method, int(index), st.session_state.get("dir_name_text", ""))
    except DirectionNameError as error:
        st.session_state["dir_name_problem"] = str(error)
    else:
        st.session_state["dir_name_problem"] = None


def direction_picker(entry: ModelEntry, g: Generator, k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The picker (PCA, or SeFa where the model stores it) and the naming box; returns the directions
    [k, D], their spread in z [k] (a slider step is one spread) and each slider's label."""
    choices = ["PCA", "SeFa"] if g.sefa is not None else ["PCA"]
    if st.session_state.get("dir_method") not in choices:
        st.session_state["dir_method"] = choices[0]
    label = st.radio("Directions", choices, horizontal=True, key="dir_method", on_change=_reset_amounts, args=(k,),
                     help="PCA: the main modes of variation of the images (PCA of many samples), mapped back to z "
                          "by least squares, found by the app. SeFa: closed form from the generator's first layer "
                          "(eigenvectors of WᵀW), stored in the model when it was exported.")
    method = METHODS[label]
    if method == "sefa":
        dirs, spread, share = sefa_directions(g, k)
        what = "of the first layer's stretch"
    else:
        dirs, spread, share = load_directions(entry.path, k)
        what = "of image variance"
    names = read_names(entry.card_path, method)
    labels = [f"{names.get(i) or f'Direction {i + 1}'}  ({share[i]:.0%} {what})" for i in range(len(dirs))]
    if st.session_state.get("dir_name_pick") not in range(len(dirs)):
        st.session_state["dir_name_pick"] = 0
    with st.popover("Name a direction", icon=":material/label:"):
        st.selectbox("Direction", list(range(len(dirs))), key="dir_name_pick",
                     format_func=lambda i: f"{i + 1}: {names.get(i) or 'unnamed'}")
        st.text_input("Name", key="dir_name_text",
                      help=f"at most {MAX_NAME} characters, kept with the model in its card; empty forgets the name")
        st.button("Save name", key="dir_name_save", on_click=_save, args=(entry, g, method))
        if st.session_state.get("dir_name_problem"):
            st.error(st.session_state["dir_name_problem"], icon=":material/error:")
    return dirs, spread, labels

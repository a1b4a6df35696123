"""The generators and their GANSpace directions that the pages share, made once per version of a
model file and kept across reruns and sessions (a re-exported file is a new version)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app.catalogue import file_key
from app.latent_maths import directions
from inference import Generator


@st.cache_resource(max_entries=16, show_spinner="Loading the model…")
def _load(path: str, mtime_ns: int, size: int) -> Generator:
    # keyed by mtime and size too: a re-exported file gets a fresh session
    return Generator.load(path)


def load_generator(path: Path) -> Generator:
    return _load(*file_key(path))


@st.cache_data(max_entries=16, show_spinner="Finding latent directions…")
def _directions(path: str, mtime_ns: int, size: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return directions(_load(path, mtime_ns, size), k)


def load_directions(path: Path, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k unit directions in z, their spread, their share of image variance): app.latent_maths.directions."""
    return _directions(*file_key(path), k)

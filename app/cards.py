"""A model's card: what it was trained on, how long, and how good it is."""
from __future__ import annotations

import hashlib
import json

import streamlit as st

from app.catalogue import ModelEntry
from app.markdown_escape import code, escape
from evaluation.metrics import METRICS
from inference import Generator

SCORES_SHOWN = tuple(score.key for score in METRICS.on_card())
# The full card shown in the page, at most: our cards are a few KB; a card that is not ours (a 10 MB one
# passes the readers' limit) would otherwise travel whole to every browser that opens the expander.
CARD_SHOWN_CHARS = 100_000


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def card_view(entry: ModelEntry, g: Generator, compact: bool = False) -> None:
    meta = g.metadata
    card, problem = entry.card_and_problem()
    if problem:
        st.warning(f"{escape(problem)}: the card's extra facts are not shown.", icon=":material/rule:")
    training = card.get("training", {}) if isinstance(card.get("training"), dict) else {}
    c, h, w = meta["image_shape"]
    # Streamlit cuts a metric's value that is wider than its column ("fashion-…"): a smaller
    # font, and wrapping as the last resort, keep every value whole in a 1400-pixel window.
    st.html("<style>[class*='st-key-model_card'] [data-testid='stMetricValue'] * { font-size: 1.6rem; line-height: 1.25; "
            "white-space: normal; overflow-wrap: anywhere; }</style>")
    cols = st.container(key=f"model_card_{hashlib.sha1(str(entry.path).encode()).hexdigest()[:12]}").columns(5)
    # a metric's value and help are Markdown (images too): the model's own words are escaped
    cols[0].metric("Dataset", escape(meta.get("dataset") or "?"))
    cols[1].metric("Model", escape(meta.get("architecture") or "?"), help=f"loss: {escape(meta.get('loss') or '?')}")
    steps = meta.get("train_steps")
    cols[2].metric("Trained", f"{steps:,} steps" if steps is not None else "?",
                   help=escape(f"{training.get('wall_time_s', '?')} s on {training.get('machine', '?')}"))
    cols[3].metric("Images", f"{w}×{h}×{c}", help=f"latent: {meta['latent_dim']}-d {escape(meta['latent_distribution'])}")
    cols[4].metric("Classes", meta["num_classes"] or "—")
    stored = meta.get("metrics") or {}
    # the metadata's "metrics" is any JSON object: its inner "metrics" may be anything at all
    inner = stored.get("metrics") if isinstance(stored.get("metrics"), dict) else {}
    scores = {k: v for k, v in inner.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if scores:
        shown = {k: scores[k] for k in SCORES_SHOWN if k in scores}
        st.caption(f"Scores ({escape(stored.get('n_generated', '?'))} samples vs {escape(stored.get('reference', '?'))}): "
                   + " · ".join(f"**{k}** {_fmt(v)}" for k, v in shown.items()),
                   help=f"feature network: {escape(stored.get('feature_network', '?'))}; every score is in the full card")
    else:
        st.caption("No evaluation scores in this model's card yet.")
    if compact:
        return
    with st.expander("Full card"):
        if training.get("description"):
            st.markdown(escape(training["description"]))
        if meta.get("training_command"):
            st.code(meta["training_command"], language="bash")
        st.caption(f"file {code(entry.path)} · runs on {g.provider}"
                   + (f" ({escape(g.provider_note)})" if g.provider_note else ""))
        full_card({"metadata": meta, **{k: v for k, v in card.items() if k != "metadata"}}, entry)


def full_card(card: dict, entry: ModelEntry) -> None:
    """The card as a JSON tree, or the first CARD_SHOWN_CHARS of it as text when it is larger."""
    text = json.dumps(card, indent=1, default=str)
    if len(text) <= CARD_SHOWN_CHARS:
        st.json(card, expanded=False)
        return
    st.caption(f"This card is {len(text) / 1e6:.1f} million characters, too large to send whole to the page; its "
               f"first {CARD_SHOWN_CHARS:,} are below. The whole card is {code(entry.card_path)}.")
    st.code(text[:CARD_SHOWN_CHARS] + "\n…", language="json")

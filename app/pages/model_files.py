"""Models: exported generators with their cards; upload (validated, never saved if rejected); download."""
from __future__ import annotations

import streamlit as st

from app.cards import card_view
from app.catalogue import check_upload, find_models
from app.guard import section
from app.markdown_escape import code, escape
from app.model_cache import load_generator
from app.paths import models_dir
from inference import InferenceError
from inference.limits import MAX_MODEL_BYTES
from studio.files import read_bytes
from training.runfolder.files import JSON_LIMIT

st.title("Models")

with st.expander("Upload a generator (.onnx)", icon=":material/upload:", expanded=not find_models()):
    st.caption("The file must follow the GAN Studio contract: input `z` float32 [batch, latent_dim] "
               "(plus `label` int64 [batch] if conditional), output `image` [batch, C, H, W], and "
               "`gan_studio.*` metadata. It is checked before anything is saved.")
    upload = st.file_uploader("Generator file", type=["onnx"], key="upload")
    if upload is not None and st.session_state.get("uploaded") != upload.file_id:
        try:
            target, g = check_upload(upload.getvalue(), upload.name)
        except (InferenceError, OSError) as error:
            st.error(f"**Rejected, nothing was saved.** {escape(error)}", icon=":material/block:")
        else:
            st.session_state["uploaded"] = upload.file_id
            st.success(f"Saved as {code(target.name)}: {escape(g.metadata['dataset'] or 'unknown data')}, "
                       f"{escape(g.metadata['architecture'] or 'unknown model')}.", icon=":material/check_circle:")

models = find_models()
if not models:
    st.info("**No models yet.** Train a run on the **Train** page and press *Export to ONNX*, "
            f"or upload a file above. Shipped models live in `{models_dir()}`.", icon=":material/auto_awesome:")
    st.stop()

for entry in models:
    with st.container(border=True):
        st.markdown(f"### {escape(entry.label)}")
        if entry.problem:
            st.error(f"**This file is not opened.** {escape(entry.problem)}", icon=":material/block:")
            continue
        try:
            g = load_generator(entry.path)
        except (InferenceError, OSError) as error:  # OSError: deleted or unreadable since it was listed
            st.error(f"**This file is not a usable generator.** {escape(error)}\n\nRe-export it, or delete {code(entry.path)}.",
                     icon=":material/broken_image:")
            continue
        with section():
            card_view(entry, g)
        c1, c2, c3 = st.columns(3)
        if c1.button("Open in Explore", icon=":material/palette:", key=f"open-{entry.path}"):
            st.session_state["open_model"] = str(entry.path)
            st.switch_page("app/pages/explore.py")
        with section():
            # bounded reads: a file swapped for a pipe or grown past any model since it was listed is refused here
            c2.download_button("ONNX", read_bytes(entry.path, limit=MAX_MODEL_BYTES, what="model"), file_name=entry.path.name,
                               mime="application/octet-stream", key=f"dl-{entry.path}", icon=":material/download:")
            if entry.card_path.is_file():
                c3.download_button("Card (JSON)", read_bytes(entry.card_path, limit=JSON_LIMIT, what="model card"),
                                   file_name=entry.card_path.name,
                                   mime="application/json", key=f"card-{entry.path}", icon=":material/download:")

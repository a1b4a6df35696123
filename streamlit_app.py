"""GAN Studio: `streamlit run streamlit_app.py`.

The entry point only sets up navigation; the pages live in app/. Each page runs inside a guard
so an error becomes a message with the way out, never a traceback.
"""
import sys
from pathlib import Path

# `streamlit run` puts this folder on sys.path; AppTest and other launchers may not.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from app import ui  # noqa: E402

st.set_page_config(page_title="GAN Studio", page_icon=":material/palette:", layout="wide")

pages = [
    st.Page("app/explore.py", title="Explore", icon=":material/palette:", default=True),
    st.Page("app/train.py", title="Train", icon=":material/fitness_center:"),
    st.Page("app/runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page("app/studies.py", title="Studies", icon=":material/science:"),
    st.Page("app/playground.py", title="2-D playground", icon=":material/scatter_plot:"),
    st.Page("app/models.py", title="Models", icon=":material/inventory_2:"),
]
page = st.navigation(pages)
ui.guard(page.run)()

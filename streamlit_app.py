"""GAN Studio: `streamlit run streamlit_app.py`.

The entry point only sets up navigation; the page scripts live in app/pages/. Each page runs inside a guard
so an error becomes a message with the way out, never a traceback.
"""
import sys
from pathlib import Path

# `streamlit run` puts this folder on sys.path; AppTest and other launchers may not.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import streamlit as st  # noqa: E402

from app.guard import guard  # noqa: E402

st.set_page_config(page_title="GAN Studio", page_icon=":material/palette:", layout="wide")

pages = [
    st.Page("app/pages/explore.py", title="Explore", icon=":material/palette:", default=True),
    st.Page("app/pages/train.py", title="Train", icon=":material/fitness_center:"),
    st.Page("app/pages/runs.py", title="Runs", icon=":material/monitoring:"),
    st.Page("app/pages/studies.py", title="Studies", icon=":material/science:"),
    st.Page("app/pages/playground.py", title="2-D playground", icon=":material/scatter_plot:"),
    # /models, as the page's address always was: the script's name only avoids training/models/
    st.Page("app/pages/model_files.py", title="Models", icon=":material/inventory_2:", url_path="models"),
]
page = st.navigation(pages)
guard(page.run)()

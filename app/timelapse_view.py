"""One click on a run's view: its sample grids as a timelapse (GIF, or MP4 where imageio-ffmpeg is
installed), made by training/runfolder/timelapse.py exactly as `python -m training timelapse` makes it, and
offered for download."""
from __future__ import annotations

import streamlit as st

from training.runfolder.folder import RunFolder
from training.runfolder.timelapse import make_timelapse

MIME = {"gif": "image/gif", "mp4": "video/mp4"}


def timelapse(run: RunFolder, key: str, grids: int) -> None:
    """The format, the button, and once made the download (kept until the run has another grid)."""
    cols = st.columns([1, 2, 3], vertical_alignment="bottom")
    fmt = cols[0].selectbox("Timelapse", ("gif", "mp4"), format_func=str.upper, key=f"timelapse-fmt-{key}",
                            help="MP4 (H.264) needs imageio-ffmpeg, which requirements.txt installs")
    made_key = f"timelapse-made-{key}"
    if cols[1].button("Make timelapse", icon=":material/movie:", key=f"timelapse-{key}",
                      help="every sample grid of the run, in step order, one frame each"):
        with st.spinner(f"Making the {fmt.upper()} from {grids} grid(s)…"):
            data, steps = make_timelapse(run, fmt)
        st.session_state[made_key] = {"fmt": fmt, "grids": grids, "data": data, "steps": steps}
    made = st.session_state.get(made_key)
    if made and made["grids"] == grids:
        steps = made["steps"]
        cols[2].download_button(
            f"Download {made['fmt'].upper()} ({len(steps)} frames, steps {steps[0]}–{steps[-1]})", made["data"],
            file_name=f"{run.id}-timelapse.{made['fmt']}", mime=MIME[made["fmt"]], icon=":material/download:",
            key=f"timelapse-download-{key}")

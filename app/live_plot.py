"""A plotly figure that a live view redraws in place, several times a second, without flicker.

``st.plotly_chart`` derives its element's identity from the figure itself, so the browser throws
the chart away and builds a new one whenever the figure changes: redrawn every second, a chart is
blank much of the time. This minimal Streamlit component keeps one iframe per ``key`` and hands
each new figure to ``Plotly.react``, which updates the plot where it stands (zoom kept through
``uirevision``). It speaks the components' message protocol itself (componentReady, render,
setFrameHeight), and serves plotly.js from the plotly package already installed: nothing is
downloaded, nothing vendored.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import plotly
import plotly.graph_objects as go
import streamlit.components.v1 as components

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><script src="plotly.min.js"></script>
<style>html, body { margin: 0; font-family: sans-serif; } #plot { width: 100%; }</style></head>
<body><div id="plot"></div><script>
function send(type, extra) {
  window.parent.postMessage(Object.assign({isStreamlitMessage: true, type: type}, extra || {}), "*");
}
window.addEventListener("message", function (event) {
  if (!event.data || event.data.type !== "streamlit:render") return;
  const figure = JSON.parse(event.data.args.figure);
  Plotly.react("plot", figure.data, figure.layout, {displayModeBar: false, responsive: true}).then(function () {
    send("streamlit:setFrameHeight", {height: document.getElementById("plot").offsetHeight});
  });
});
send("streamlit:componentReady", {apiVersion: 1});
</script></body></html>
"""


def _folder() -> Path:
    """The component's files, made once per plotly version and page (a temporary folder that is
    filled, then renamed into place, so two app processes starting together both see it whole)."""
    tag = hashlib.sha256((plotly.__version__ + PAGE).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"gan-studio-live-plot-{tag}"
    if not (folder / "index.html").is_file():
        staging = Path(tempfile.mkdtemp(prefix=".live-plot-", dir=folder.parent))
        shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", staging / "plotly.min.js")
        (staging / "index.html").write_text(PAGE)
        os.chmod(staging, 0o755)
        try:
            staging.rename(folder)
        except OSError:       # another process got there first: its copy is the same
            shutil.rmtree(staging, ignore_errors=True)
    return folder


_component = components.declare_component("gan_studio_live_plot", path=str(_folder()))


def live_plot(figure: go.Figure, key: str) -> None:
    """Show ``figure``; the next call with the same ``key`` redraws it in place."""
    _component(figure=figure.to_json(), key=key, default=None)

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
import stat
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
    """The component's files, made once per user, plotly version and page: a folder under the temporary
    folder that is filled, then renamed into place (two app processes starting together both see it
    whole). Its files are served to every browser of the app, so it is used only when it is this user's
    own and nobody else can write to it (``_private``): a folder or link another local user put under
    that name is passed over, untouched, for a fresh private folder of this process's."""
    tag = hashlib.sha256((plotly.__version__ + PAGE).encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"gan-studio-live-plot-{os.getuid()}-{tag}"
    if _private(folder) and _filled(folder):
        return folder
    staging = _fill(Path(tempfile.mkdtemp(prefix=".live-plot-", dir=folder.parent)))  # mkdtemp: 0700, ours
    if os.path.lexists(folder) and not _private(folder):  # someone else's, or a link: not ours to use or remove
        return staging
    try:
        staging.rename(folder)
    except OSError:       # another process got there first: its copy is the same, if it is whole
        if _private(folder) and _filled(folder):
            shutil.rmtree(staging, ignore_errors=True)
        else:
            return staging
    return folder


def _fill(folder: Path) -> Path:
    shutil.copy(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", folder / "plotly.min.js")
    (folder / "index.html").write_text(PAGE)
    return folder


def _private(folder: Path) -> bool:
    """A real folder (not a link) owned by this user that no one else may enter or write to."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


def _filled(folder: Path) -> bool:
    """Both files there, each a regular file (a link is not)."""
    try:
        return all(stat.S_ISREG(os.lstat(folder / name).st_mode) for name in ("index.html", "plotly.min.js"))
    except OSError:
        return False


_component = components.declare_component("gan_studio_live_plot", path=str(_folder()))


def live_plot(figure: go.Figure, key: str) -> None:
    """Show ``figure``; the next call with the same ``key`` redraws it in place."""
    _component(figure=figure.to_json(), key=key, default=None)

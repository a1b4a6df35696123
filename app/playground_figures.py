"""The 2-D playground's figures (plotly), from a snapshot the trainer wrote: D's surface as a heat
map, real points and G's samples over it, arrows of G's gradient on the samples; the live chart
of modes covered and the high-quality share; and the canvas on which the user draws a target."""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

CANVAS_LIMIT, CANVAS_CELLS = 4.0, 33     # the drawing canvas: a 33x33 grid of selectable points on [-4, 4]^2
REAL, FAKE, ARROW = "#1b9e77", "#7b3294", "rgba(40, 40, 40, 0.75)"


def _square(fig: go.Figure, bounds) -> None:
    x0, x1, y0, y1 = bounds
    fig.update_xaxes(range=[x0, x1], constrain="domain", showgrid=False, zeroline=False)
    fig.update_yaxes(range=[y0, y1], scaleanchor="x", scaleratio=1, showgrid=False, zeroline=False)


def arrow_segments(points: np.ndarray, pulls: np.ndarray, length: float) -> tuple[list, list]:
    """Line segments (x and y lists with None between them) from each point along its pull, the
    longest ``length`` long and the others in proportion, so their sizes compare."""
    points, pulls = np.asarray(points, dtype=float), np.asarray(pulls, dtype=float)
    if not len(pulls):
        return [], []
    largest = float(np.linalg.norm(pulls, axis=1).max())
    scaled = pulls * (length / largest if largest > 0 else 0.0)
    xs, ys = [], []
    for (x, y), (dx, dy) in zip(points, scaled):
        xs += [x, x + dx, None]
        ys += [y, y + dy, None]
    return xs, ys


def game_figure(snap: dict[str, Any], height: int = 560, title: str | None = None) -> go.Figure:
    """D's surface under the real points and G's samples, with the arrows of G's gradient."""
    grid, bounds = snap["grid"], snap["bounds"]
    probability = snap.get("surface_kind") == "probability"
    fig = go.Figure()
    if grid["z"]:
        fig.add_trace(go.Heatmap(
            x=grid["xs"], y=grid["ys"], z=grid["z"], colorscale="RdBu", opacity=0.85,
            zmid=0.5 if probability else 0.0, zmin=0.0 if probability else None, zmax=1.0 if probability else None,
            colorbar={"title": {"text": "D(x)" if probability else "critic"}, "thickness": 12}, name="D",
            hovertemplate="D(%{x:.2f}, %{y:.2f}) = %{z:.3f}<extra></extra>"))
    real = np.asarray(snap["real"], dtype=float).reshape(-1, 2)
    fake = np.asarray(snap.get("fake", []), dtype=float).reshape(-1, 2)
    fig.add_trace(go.Scatter(x=real[:, 0].tolist(), y=real[:, 1].tolist(), mode="markers", name="real",
                             marker={"size": 4, "color": REAL, "opacity": 0.7}))
    fig.add_trace(go.Scatter(x=fake[:, 0].tolist(), y=fake[:, 1].tolist(), mode="markers", name="G(z)",
                             marker={"size": 4, "color": FAKE, "opacity": 0.8}))
    pulls = np.asarray(snap.get("arrows", []), dtype=float).reshape(-1, 2)
    xs, ys = arrow_segments(fake[:len(pulls)], pulls, 0.08 * (bounds[1] - bounds[0]))
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="G's gradient", line={"color": ARROW, "width": 1.2},
                             hoverinfo="skip"))
    fig.update_layout(height=height, margin={"l": 45, "r": 10, "t": 40, "b": 35}, plot_bgcolor="white",
                      legend={"orientation": "h", "y": 1.06, "x": 0}, uirevision="game",
                      title={"text": title or f"D step {snap['d_steps']}, G step {snap['g_steps']}", "x": 0.5, "y": 0.99,
                             "font": {"size": 13}})
    _square(fig, bounds)
    return fig


def progress_figure(rows: list[dict[str, Any]], height: int = 300) -> go.Figure:
    """Modes covered (left axis) and the high-quality share (right axis) over G steps."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    steps = [r["step"] for r in rows]
    fig.add_trace(go.Scatter(x=steps, y=[r.get("modes_covered") for r in rows], name="modes covered",
                             mode="lines+markers", marker={"size": 4}), secondary_y=False)
    fig.add_trace(go.Scatter(x=steps, y=[r.get("high_quality_share") for r in rows], name="high-quality share",
                             mode="lines", line={"dash": "dot"}), secondary_y=True)
    top = max((r.get("num_modes") or 0 for r in rows), default=1)
    fig.update_yaxes(title_text="modes covered", range=[0, top + 0.5], secondary_y=False)
    fig.update_yaxes(title_text="high-quality share", range=[0, 1], dtick=0.2, secondary_y=True)
    fig.update_xaxes(title_text="G step")
    fig.update_layout(height=height, margin={"l": 45, "r": 45, "t": 30, "b": 40}, uirevision="progress",
                      plot_bgcolor="white",
                      legend={"orientation": "h", "y": 1.15, "x": 0})
    return fig


def canvas_points() -> np.ndarray:
    axis = np.linspace(-CANVAS_LIMIT, CANVAS_LIMIT, CANVAS_CELLS)
    gx, gy = np.meshgrid(axis, axis)
    return np.stack([gx.ravel(), gy.ravel()], 1).round(3)


def canvas_figure(points, height: int = 380) -> go.Figure:
    """A faint grid to lasso or box (each selected grid point becomes a target point), with the
    points drawn so far on top."""
    grid = canvas_points()
    fig = go.Figure(go.Scatter(x=grid[:, 0], y=grid[:, 1], mode="markers", name="canvas",
                               marker={"size": 9, "color": "rgba(120, 120, 120, 0.18)"},
                               hovertemplate="(%{x:.2f}, %{y:.2f})<extra>lasso to add</extra>"))
    drawn = np.asarray(points, dtype=float).reshape(-1, 2)
    fig.add_trace(go.Scatter(x=drawn[:, 0], y=drawn[:, 1], mode="markers", name="your points",
                             marker={"size": 10, "color": REAL}, hoverinfo="skip"))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": 10, "b": 10}, showlegend=False,
                      dragmode="lasso")
    limit = CANVAS_LIMIT + 0.3
    _square(fig, (-limit, limit, -limit, limit))
    return fig


def selected_points(event) -> list[list[float]]:
    """The canvas grid points a box or lasso selected (the canvas trace only)."""
    try:
        chosen = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    return [[round(float(p["x"]), 3), round(float(p["y"]), 3)] for p in chosen if p.get("curve_number", 0) == 0]

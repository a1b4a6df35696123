"""app/playground_figures.py: the 2-D playground's figures from a snapshot (D's surface, the real
points, G's samples and the arrows of G's gradient), the live progress chart, and the drawing canvas."""
from __future__ import annotations

import numpy as np

from app.playground_figures import (CANVAS_CELLS, arrow_segments, canvas_figure, canvas_points, game_figure,
                                    progress_figure, selected_points)


def snapshot(kind: str = "probability") -> dict:
    return {"grid": {"xs": [-1.0, 0.0, 1.0], "ys": [-1.0, 1.0], "z": [[0.1, 0.5, 0.9], [0.2, 0.6, 0.8]]},
            "bounds": [-2.0, 2.0, -1.0, 1.0], "surface_kind": kind, "d_steps": 30, "g_steps": 10,
            "real": [[0.0, 0.0], [1.0, 1.0]], "fake": [[0.5, 0.5], [-0.5, 0.0], [1.5, -0.5]],
            "arrows": [[1.0, 0.0], [0.0, -2.0]]}


def test_the_canvas_turns_a_selection_into_points():
    grid = canvas_points()
    assert grid.shape == (33 * 33, 2) and grid.min() == -4 and grid.max() == 4
    event = {"selection": {"points": [{"x": 1.25, "y": -0.5, "curve_number": 0},
                                      {"x": 9, "y": 9, "curve_number": 1}]}}   # the drawn points' own trace
    assert selected_points(event) == [[1.25, -0.5]]
    assert selected_points(None) == [] and selected_points({"selection": {}}) == []
    xs, ys = arrow_segments(grid[:2], [[3.0, 0.0], [0.0, -1.5]], 0.5)
    assert xs == [-4, -3.5, None, -3.75, -3.75, None] and ys == [-4, -4, None, -4, -4.25, None]


def test_no_pull_draws_no_arrow_and_a_zero_pull_no_length():
    assert arrow_segments(np.zeros((0, 2)), np.zeros((0, 2)), 1.0) == ([], [])
    xs, ys = arrow_segments([[1.0, 2.0]], [[0.0, 0.0]], 1.0)
    assert xs == [1.0, 1.0, None] and ys == [2.0, 2.0, None]


def test_the_game_shows_d_real_points_samples_and_gradient_arrows():
    fig = game_figure(snapshot())
    traces = {t.name: t for t in fig.data}
    assert list(traces) == ["D", "real", "G(z)", "G's gradient"]
    surface = traces["D"]
    assert (surface.zmin, surface.zmax, surface.zmid) == (0.0, 1.0, 0.5)            # D(x) is a probability
    assert surface.colorbar.title.text == "D(x)"
    assert list(traces["real"].x) == [0.0, 1.0] and list(traces["G(z)"].y) == [0.5, 0.0, -0.5]
    # arrows start on the first samples (one per pull), the longest 8% of the x range: 0.32
    arrow_x, arrow_y = list(traces["G's gradient"].x), list(traces["G's gradient"].y)
    assert arrow_x[:3] == [0.5, 0.5 + 0.16, None] and arrow_y[3:5] == [0.0, -0.32]
    assert fig.layout.title.text == "D step 30, G step 10"
    assert list(fig.layout.xaxis.range) == [-2.0, 2.0] and fig.layout.yaxis.scaleanchor == "x"


def test_a_critic_surface_is_centred_on_zero_and_an_empty_grid_is_no_heat_map():
    critic = game_figure(snapshot("score")).data[0]
    assert critic.zmid == 0.0 and critic.zmin is None and critic.colorbar.title.text == "critic"
    preview = {"grid": {"xs": [], "ys": [], "z": []}, "bounds": [-1, 1, -1, 1], "real": [[0.2, 0.3]]}
    fig = game_figure(preview, title="ring: 500 real points")
    assert [t.name for t in fig.data] == ["real", "G(z)", "G's gradient"] and fig.layout.title.text.startswith("ring")


def test_the_progress_chart_has_modes_on_the_left_and_quality_on_the_right():
    rows = [{"step": 0, "modes_covered": 1, "high_quality_share": 0.1, "num_modes": 8},
            {"step": 50, "modes_covered": 6, "high_quality_share": 0.7, "num_modes": 8}]
    fig = progress_figure(rows)
    modes, quality = fig.data
    assert list(modes.x) == [0, 50] and list(modes.y) == [1, 6] and modes.yaxis == "y"
    assert list(quality.y) == [0.1, 0.7] and quality.yaxis == "y2"
    assert list(fig.layout.yaxis.range) == [0, 8.5] and list(fig.layout.yaxis2.range) == [0, 1]


def test_the_canvas_shows_its_grid_and_the_points_drawn_so_far():
    fig = canvas_figure([[1.0, -1.0], [2.0, 2.0]])
    grid, drawn = fig.data
    assert len(grid.x) == CANVAS_CELLS ** 2 and list(drawn.x) == [1.0, 2.0]
    assert fig.layout.dragmode == "lasso"                               # drawing starts at once, no tool to pick

"""app/timelapse_view.py: one click turns a run's sample grids into a timelapse (GIF or MP4) offered
for download, until the run writes another grid."""
from __future__ import annotations

import importlib.util
import io

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from training.runfolder.folder import RunFolder, create_run


def write_grid(run: RunFolder, step: int) -> None:
    run.samples_dir.mkdir(exist_ok=True)
    Image.fromarray(np.full((16, 16, 3), step % 256, np.uint8)).save(run.sample_path(step))


@pytest.fixture
def run(tmp_path) -> RunFolder:
    made = create_run(tmp_path / "runs", "grids", {"steps": 20})
    for step in (0, 10, 20):
        write_grid(made, step)
    return made


def timelapse_page(run_path: str) -> None:
    from pathlib import Path

    from app.timelapse_view import timelapse
    from training.runfolder.folder import RunFolder

    run = RunFolder(Path(run_path))
    timelapse(run, "k", len(run.sample_grids()))


def offered(at) -> list[str]:
    return [str(button.proto.label) for button in at.get("download_button")]


def test_one_click_makes_the_gif_of_every_grid_in_step_order(run):
    at = AppTest.from_function(timelapse_page, args=(str(run.path),), default_timeout=60).run()
    assert not at.exception and offered(at) == []                       # nothing made before the click
    at.button(key="timelapse-k").click().run()
    assert not at.exception
    assert offered(at) == ["Download GIF (3 frames, steps 0–20)"]
    made = at.session_state["timelapse-made-k"]
    assert made["steps"] == [0, 10, 20]
    with Image.open(io.BytesIO(made["data"])) as gif:
        assert gif.format == "GIF" and gif.n_frames == 3
    [button] = at.get("download_button")
    assert button.proto.url.endswith(".gif")                            # served as image/gif


def test_a_new_grid_takes_the_old_timelapse_away(run):
    at = AppTest.from_function(timelapse_page, args=(str(run.path),), default_timeout=60).run()
    at.button(key="timelapse-k").click().run()
    write_grid(run, 30)
    at.run()
    assert offered(at) == []                                            # it no longer shows the whole run
    at.button(key="timelapse-k").click().run()
    assert offered(at) == ["Download GIF (4 frames, steps 0–30)"]


@pytest.mark.skipif(importlib.util.find_spec("imageio_ffmpeg") is None, reason="MP4 needs imageio-ffmpeg")
def test_mp4_is_offered_as_a_video(run):
    at = AppTest.from_function(timelapse_page, args=(str(run.path),), default_timeout=120).run()
    at.selectbox(key="timelapse-fmt-k").select("mp4").run()
    at.button(key="timelapse-k").click().run()
    assert not at.exception
    assert offered(at) == ["Download MP4 (3 frames, steps 0–20)"]
    made = at.session_state["timelapse-made-k"]
    assert made["data"][4:8] == b"ftyp"                                 # an MP4 file's first box
    assert at.get("download_button")[0].proto.url.endswith(".mp4")     # served as video/mp4

"""app/run_view.py: one run's live view as the Train and Runs pages show it, read from its folder alone:
the header and progress, the buttons its state allows, its charts, its sample grids, and what it says
of a run that died on launch or cannot be read."""
from __future__ import annotations

import os
import time

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from training.runfolder.folder import RunFolder, create_run

from tests.helpers import exported_run, plotly_specs

CONFIG = {"preset": "toy", "dataset": "mnist", "steps": 100}


def run_page(run_path: str) -> None:
    from pathlib import Path

    from app.run_view import run_view
    from training.runfolder.folder import RunFolder

    run_view(RunFolder(Path(run_path)), key="v")


def view(run: RunFolder) -> AppTest:
    at = AppTest.from_function(run_page, args=(str(run.path),), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def buttons(at) -> set[str]:
    return {b.key for b in at.button}


def write_grid(run: RunFolder, step: int) -> None:
    run.samples_dir.mkdir(exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), step, np.uint8)).save(run.sample_path(step))


def test_a_stopped_run_shows_its_progress_and_offers_resume_and_export(app_env):
    run = create_run(app_env["runs"], "paused", CONFIG)
    run.write_status(state="stopped", step=40, total_steps=100, message="stopped by the user")
    run.last_checkpoint.parent.mkdir(exist_ok=True)
    run.last_checkpoint.write_bytes(b"checkpoint")
    run.append_metrics({"step": 20, "time": 1.0, "loss_d": 1.3, "loss_g": 0.7})
    run.append_metrics({"step": 40, "time": 2.0, "loss_d": 1.1, "loss_g": 0.9})
    at = view(run)
    assert at.markdown[0].value == f"**{run.id}** · :gray[:material/stop_circle: stopped] · step 40 / 100"
    assert any(c.value == "stopped by the user" for c in at.caption)
    assert buttons(at) >= {"resume-v", "export-v"} and "stop-v" not in buttons(at)
    assert at.button(key="export-v").label == "Export to ONNX"
    assert "loss_d" in plotly_specs(at) and "loss_g" in plotly_specs(at)       # the loss chart from metrics.jsonl


def test_an_exported_run_can_be_explored_and_published(app_env):
    run = exported_run(app_env["runs"])
    at = view(run)
    assert at.markdown[0].value.startswith(f"**{run.id}** · :blue[:material/check_circle: finished]")
    assert at.button(key="export-v").label == "Re-export" and "explore-v" in buttons(at)
    assert "resume-v" not in buttons(at)                                         # finished: nothing to resume
    assert at.text_input(key="pubname-v").value == run.id
    at.text_input(key="pubname-v").set_value("My Digits").run()
    at.button(key="publish-v").click().run()
    assert not at.exception and not at.error
    assert (app_env["models"] / "my-digits.onnx").read_bytes() == run.onnx_path.read_bytes()
    assert any("Saved as `my-digits.onnx`." in s.value for s in at.success)
    at.run()
    assert "`my-digits` already exists in the models folder" in at.warning[0].value   # now asks before replacing


def test_without_metrics_or_grids_the_view_says_what_comes_when(app_env):
    run = create_run(app_env["runs"], "fresh", CONFIG)
    run.write_status(state="stopped", step=0, total_steps=100)
    at = view(run)
    assert "No metrics yet" in at.info[0].value
    assert not at.get("select_slider") and not at.get("image")


def test_sample_grids_by_step_and_never_one_from_outside_the_folder(app_env):
    run = create_run(app_env["runs"], "grids", CONFIG)
    run.write_status(state="stopped", step=20, total_steps=100)
    for step in (0, 10):
        write_grid(run, step)
    outside = app_env["tmp"] / "elsewhere.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(outside)
    run.sample_path(20).symlink_to(outside)
    at = view(run)
    assert any(c.value == "1 sample grid(s) lie outside this run's folder: not shown." for c in at.caption)
    [slider] = at.get("select_slider")
    assert list(slider.options) == ["0", "10"] and slider.value == 10            # the newest grid first
    assert [img.caption for image in at.get("image") for img in image.proto.imgs] == ["fixed latents at step 10"]


def test_a_launch_that_died_before_training_says_so_with_its_log(app_env):
    run = create_run(app_env["runs"], "died", CONFIG)
    run.write_status(state="queued", step=0, message="starting")
    run.log_path.write_text("ValueError: device 'cuda:7' does not exist\n")
    old = time.time() - 300
    os.utime(run.status_path, (old, old))                                        # nobody wrote for 5 minutes
    at = view(run)
    assert "No process has worked on this run for 5 min" in at.warning[0].value
    assert any("device 'cuda:7' does not exist" in c.value for c in at.code)
    assert "stop-v" not in buttons(at)


def test_a_run_that_cannot_be_read_offers_no_buttons_and_says_what_is_left(app_env):
    run = create_run(app_env["runs"], "torn", CONFIG)
    run.status_path.write_text('{"state": "runn')
    at = view(run)
    assert "This run cannot be read" in at.error[0].value and "deleting it" in at.error[0].value
    assert not buttons(at)


def test_unreadable_metric_lines_are_passed_over_with_a_warning(app_env):
    run = create_run(app_env["runs"], "partial", CONFIG)
    run.write_status(state="stopped", step=10, total_steps=100)
    run.append_metrics({"step": 5, "time": 1.0, "loss_d": 1.0})
    with open(run.metrics_path, "a") as f:
        f.write('{"step": 10, "loss_d": \n')
    at = view(run)
    assert "metrics.jsonl: 1 line(s) passed over, unreadable" in at.warning[0].value
    assert "loss_d" in plotly_specs(at)                                          # the readable rows still charted

"""The Streamlit app through streamlit.testing.v1.AppTest: every page's main flows.

Models are small real ONNX generators (tests/conftest.py: make_onnx_generator); training runs
are real `python -m training` processes on the offline MNIST copy (the MLP preset: seconds).
AppTest never fires `run_every`, so the tests call at.run() again to see a run progress.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from training.runs import RunFolder, list_runs

from tests.helpers import REPO_ROOT as REPO, rerun_until

TIMEOUT = 120  # generous: CPU is shared with background training jobs


def new_app(page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def images(at: AppTest) -> list[tuple[str, str]]:
    """(caption, url) of every image; the url is a hash of the image's bytes."""
    out = []
    for image in at.get("image"):
        for img in image.proto.imgs:
            out.append((img.caption, img.url))
    return out


def frame_url(at: AppTest) -> str:
    return next(url for caption, url in images(at) if caption.startswith("morph"))


def grid_urls(at: AppTest) -> list[str]:
    return [url for caption, url in images(at) if not caption]


def only_run(runs: Path) -> RunFolder:
    found = list(list_runs(runs))
    assert len(found) == 1, found
    return found[0]


def plotly_specs(at: AppTest) -> str:
    return " ".join(str(chart.proto) for chart in at.get("plotly_chart"))


# --- Explore ---

def test_explore_grid_morph_and_directions(app_env):
    at = new_app()
    no_errors(at)
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)
    assert len(grid_urls(at)) >= 16                                     # the sample grid
    assert any(m.label == "Dataset" for m in at.metric)                 # the card
    first = frame_url(at)
    at.slider(key="morph").set_value(0.5).run()
    no_errors(at)
    assert frame_url(at) != first                                       # the morph moved the image
    half = frame_url(at)
    at.slider(key="dir-0").set_value(2.0).run()
    assert frame_url(at) != half                                        # a direction moves it too
    # a new seed draws a new grid; picking a grid image makes it a key
    grid = grid_urls(at)
    at.number_input(key="seed").set_value(7).run()
    assert grid_urls(at) != grid
    at.button(key="pick-3").click().run()
    at.button(key="pick-5").click().run()
    assert at.session_state["keys"] == [(7, 3, None), (7, 5, None)]
    assert any(c.startswith("seed 7 #5") for c, _ in images(at))
    assert {b.label for b in at.get("download_button")} >= {"Frame PNG", "Strip PNG", "GIF"}
    no_errors(at)


def test_conditional_model_draws_the_chosen_class(app_env):
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "toy-cond.onnx")).run()
    no_errors(at)
    at.selectbox(key="class_pick").select("3").run()
    three = grid_urls(at)
    at.selectbox(key="class_pick").select("5").run()
    five = grid_urls(at)
    assert three[0] != five[0] and len(three) == len(five)              # same seed, other class
    at.selectbox(key="class_pick").select("3").run()
    assert grid_urls(at) == three                                       # and deterministic


def test_empty_states_guide_the_user(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(tmp_path / "none"))
    at = new_app()
    no_errors(at)
    assert "No models yet" in at.info[0].value
    at.switch_page("app/runs.py").run()
    assert "No runs yet" in at.info[0].value
    at.switch_page("app/models.py").run()
    assert "No models yet" in at.info[0].value


def test_a_corrupt_model_is_a_message_not_a_traceback(app_env):
    (app_env["models"] / "broken.onnx").write_bytes(b"\x00 not a model")
    at = new_app()
    at.selectbox(key="model").select(str(app_env["models"] / "broken.onnx")).run()
    assert not at.exception
    assert "This model cannot be used" in at.error[0].value
    at.selectbox(key="model").select(str(app_env["models"] / "toy.onnx")).run()
    no_errors(at)                                                        # and the way out works


def test_a_failed_run_shows_the_tail_of_its_log(app_env):
    from training.runs import create_run

    run = create_run(app_env["runs"], "broken", {"preset": "dcgan-mnist", "dataset": "mnist", "steps": 10})
    run.write_status(state="failed", step=3, message="RuntimeError: out of memory")
    run.log_path.write_text("line one\nTraceback (most recent call last):\nRuntimeError: out of memory\n")
    at = new_app("app/runs.py")
    assert not at.exception
    assert "failed" in at.error[0].value and "out of memory" in at.error[0].value
    assert any("RuntimeError: out of memory" in c.value for c in at.code)


# --- Models ---

def test_upload_rejects_a_bad_file_and_saves_a_good_one(app_env):
    models = app_env["models"]
    before = sorted(p.name for p in models.iterdir())
    at = new_app("app/models.py")
    no_errors(at)
    at.file_uploader(key="upload").set_value(("evil name.onnx", b"this is not onnx", "application/octet-stream")).run()
    assert "Rejected" in at.error[0].value
    assert sorted(p.name for p in models.iterdir()) == before          # nothing saved

    good = (models / "toy.onnx").read_bytes()
    at = new_app("app/models.py")
    at.file_uploader(key="upload").set_value(("My Model!.onnx", good, "application/octet-stream")).run()
    no_errors(at)
    assert (models / "my-model.onnx").is_file()                         # saved under a safe name
    assert any("my-model" in m.value for m in at.markdown)


# --- Train, Runs: real training processes ---

@pytest.fixture(autouse=True)
def no_leftover_runs(request):
    """Stop (SIGTERM to the group) any training process a test started, pass or fail."""
    yield
    env = request.node.funcargs.get("app_env")
    if not env:
        return
    import os
    import signal

    from training.runs import process_alive

    for run in list_runs(env["runs"]):
        pid = run.read_status().get("pid")
        if pid and process_alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def start_run(at: AppTest, steps: int, sample_every: int = 10) -> None:
    at.selectbox(key="preset").select("gan-mlp-mnist").run()
    at.number_input(key="steps@gan-mlp-mnist").set_value(steps).run()
    at.number_input(key="sample_every@gan-mlp-mnist").set_value(sample_every).run()
    at.number_input(key="checkpoint_every@gan-mlp-mnist").set_value(10).run()
    at.number_input(key="log_every@gan-mlp-mnist").set_value(5).run()
    assert f"steps={steps}" in at.code[0].value                         # the CLI command shown
    no_errors(at)
    at.button(key="start").click().run()
    no_errors(at)


@pytest.mark.slow
def test_train_a_real_run_watch_it_finish_and_export_it(app_env, mnist_root):
    at = new_app("app/train.py")
    start_run(at, steps=20)
    run = only_run(app_env["runs"])
    rerun_until(at, lambda a: run.read_status().get("state") == "finished", what="the run to finish")
    at.run()
    no_errors(at)
    assert "loss_d" in plotly_specs(at) and "d_real" in plotly_specs(at)   # live charts from metrics.jsonl
    assert any("finished" in m.value for m in at.markdown)
    assert at.get("select_slider")                                         # slider back through sample grids
    # export through the button, then Explore lists the run's generator
    at.button(key=f"export-train-{run.id}").click().run(timeout=300)
    no_errors(at)
    assert run.onnx_path.is_file() and run.card_path.is_file()
    at.run()
    at.button(key=f"explore-train-{run.id}").click().run()                # straight to Explore
    no_errors(at)
    assert at.selectbox(key="model").value == str(run.onnx_path)
    assert len(grid_urls(at)) >= 16
    # Runs page: the table, the overlay chart, and deletion with confirmation
    at.switch_page("app/runs.py").run()
    no_errors(at)
    assert list(at.dataframe[0].value["run"]) == [run.id]
    assert "loss_g" in plotly_specs(at)
    at.button(key="delete").click().run()
    assert run.path.is_dir()                                                # the first click only asks
    at.button(key="delete_yes").click().run()
    assert not run.path.exists()
    assert "No runs yet" in at.info[0].value


def test_invalid_settings_block_the_start(app_env):
    at = new_app("app/train.py")
    at.text_area(key="extra@dcgan-mnist").input("lr_g=5\nnot_a_field=1").run()
    assert "Invalid settings" in at.error[0].value
    assert at.button(key="start").disabled
    assert not list(list_runs(app_env["runs"]))


def test_missing_data_is_a_clear_message(app_env):
    at = new_app("app/train.py")
    at.text_area(key="extra@dcgan-mnist").input("data_root=/nonexistent-data").run()
    at.button(key="start").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "did not start" in message and "/nonexistent-data" in message
    assert not list(list_runs(app_env["runs"]))                         # no run folder left behind


@pytest.mark.slow
def test_stop_a_running_run_and_it_survives_the_app(app_env, mnist_root):
    at = new_app("app/train.py")
    start_run(at, steps=100000, sample_every=1000)
    run = only_run(app_env["runs"])
    rerun_until(at, lambda a: run.read_status().get("state") == "running", what="the run to be running")
    del at  # "close the app": a new AppTest is a fresh session with nothing in memory
    at = new_app("app/runs.py")
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["run"]) == [run.id] and "running" in table["state"][0]
    at.switch_page("app/train.py").run()
    at.button(key=f"stop-train-{run.id}").click().run()                     # SIGTERM to its group
    rerun_until(at, lambda a: run.read_status().get("state") == "stopped", timeout=120, what="stopped")
    assert run.last_checkpoint.is_file()
    at.run()
    no_errors(at)
    assert at.button(key=f"resume-train-{run.id}")                          # and it can be resumed


def test_app_never_imports_torch():
    code = ("import sys; sys.path.insert(0, '.'); import app.core, app.charts, app.cards; "
            "import streamlit.testing.v1; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('streamlit_app.py', default_timeout=120); at.run(); "
            "[at.switch_page(p).run() for p in ('app/train.py', 'app/runs.py', 'app/models.py')]; "
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.')); "
            "print('TORCH', bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


# --- the app's logic without Streamlit ---

def test_overrides_round_trip_through_the_cli_parser():
    from app.core import override_value
    from training.config import parse_override

    for key, value in [("lr_g", 1e-05), ("lr_d", 0.0002), ("steps", 20), ("ema", True), ("latent_bound", None),
                       ("dataset", "fashion-mnist"), ("beta1", 0.0)]:
        assert parse_override(f"{key}={override_value(value)}") == (key, value)


def test_directions_move_the_image_more_than_random_ones(app_env):
    import numpy as np

    from app import core
    from inference import Generator

    g = Generator.load(app_env["models"] / "toy.onnx")
    dirs, spread, explained = core.directions(g, k=3)
    assert dirs.shape == (3, g.latent_dim) and np.allclose(np.linalg.norm(dirs, axis=1), 1, atol=1e-5)
    assert list(explained) == sorted(explained, reverse=True)
    z = g.sample_latent(64, seed=3)
    base = g.run(z)
    moved = np.abs(g.run(z + 2 * dirs[0]) - base).mean()
    rng = np.random.default_rng(0)
    random_dirs = rng.standard_normal((8, g.latent_dim)).astype(np.float32)
    random_dirs /= np.linalg.norm(random_dirs, axis=1, keepdims=True)
    randomly = np.mean([np.abs(g.run(z + 2 * d) - base).mean() for d in random_dirs])
    assert moved > randomly


def test_delete_refuses_anything_but_a_run_folder_inside_the_runs_folder(app_env, tmp_path):
    from app import core
    from training.runs import RunError, create_run

    outside = create_run(tmp_path / "elsewhere", "x", {"steps": 1})
    with pytest.raises(RunError, match="refusing"):
        core.delete_run(outside)
    assert outside.path.is_dir()
    inside = create_run(app_env["runs"], "y", {"steps": 1})
    with pytest.raises(RunError, match="stop it"):
        core.delete_run(inside)                                          # a queued run is not deleted
    inside.write_status(state="finished")
    link = app_env["runs"] / "link"
    link.symlink_to(outside.path)
    with pytest.raises(RunError, match="refusing"):
        core.delete_run(RunFolder(link))
    core.delete_run(inside)
    assert not inside.path.exists() and outside.path.is_dir()


def test_slider_update_is_fast(app_env):
    """The benchmark's measurement, as a loose guard (the target is 50 ms; CPU here is shared)."""
    import numpy as np

    from app import core
    from inference import Generator

    g = Generator.load(app_env["models"] / "toy-cond.onnx")
    keys = np.stack([core.latent(g, 0, i) for i in range(3)])
    core.frame_png(g, keys, 0.0, "slerp", 3)
    times = []
    for t in np.linspace(0, 1, 20):
        start = time.perf_counter()
        png = core.frame_png(g, keys, float(t), "slerp", 3)
        times.append(time.perf_counter() - start)
    assert png.startswith(b"\x89PNG") and sorted(times)[len(times) // 2] < 0.05

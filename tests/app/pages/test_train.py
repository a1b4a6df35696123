"""The Train page through AppTest: its form and lists, and real `python -m training` runs.

Training runs are real processes on the offline MNIST copy (the MLP preset: seconds). AppTest
never fires `run_every`, so the tests call at.run() again to see a run progress.
"""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dataio import DATASETS
from training.registry import LOSSES, MODELS
from training.runfolder.folder import list_runs

from tests.helpers import REPO_ROOT, app_text, grid_urls, new_app, no_errors, only_run, plotly_specs, rerun_until

FIRST = "dcgan-mnist-first-run"  # the preset the page opens on; its widgets' keys end in @FIRST


def start_run(at, steps: int, sample_every: int = 10) -> None:
    at.selectbox(key="preset").select("gan-mlp-mnist").run()
    at.number_input(key="steps@gan-mlp-mnist").set_value(steps).run()
    at.number_input(key="sample_every@gan-mlp-mnist").set_value(sample_every).run()
    at.number_input(key="checkpoint_every@gan-mlp-mnist").set_value(10).run()
    at.number_input(key="log_every@gan-mlp-mnist").set_value(5).run()
    assert f"steps={steps}" in at.code[0].value                         # the CLI command shown
    no_errors(at)
    at.button(key="start").click().run()
    no_errors(at)


LISTS_WITHOUT_TORCH = f"first = {FIRST!r}\n" + """
import json, sys
sys.path.insert(0, ".")
from streamlit.testing.v1 import AppTest

at = AppTest.from_file("streamlit_app.py", default_timeout=120)
at.run()
at.switch_page("app/pages/train.py").run()
assert not at.exception, [e.value for e in at.exception]
lists = {kind: {"options": list(at.selectbox(key=f"{kind}@{first}").options),
                "help": at.selectbox(key=f"{kind}@{first}").help} for kind in ("dataset", "model", "loss")}
print(json.dumps({"lists": lists, "torch": sorted(m for m in sys.modules if m.split(".")[0] == "torch")}))
"""


def test_the_lists_come_from_the_registries_without_torch(app_env):
    done = subprocess.run([sys.executable, "-c", LISTS_WITHOUT_TORCH], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    shown = json.loads(done.stdout.splitlines()[-1])
    assert shown["torch"] == []
    for kind, registry in (("model", MODELS), ("loss", LOSSES), ("dataset", DATASETS)):
        listed = shown["lists"][kind]
        assert listed["options"] == registry.names()
        for name in registry.names():                                   # each choice described in the help
            assert f"**{name}**: {registry.describe(name).description}" in listed["help"]


def test_a_newcomer_starts_from_the_first_run_preset(app_env):
    at = new_app("app/pages/train.py")
    assert at.selectbox(key="preset").value == FIRST
    assert f"--preset {FIRST}" in at.code[0].value and not at.button(key="start").disabled
    assert "ten minutes" in app_text(at)                                 # its caption says what to expect


def test_invalid_settings_block_the_start(app_env):
    at = new_app("app/pages/train.py")
    at.text_area(key=f"extra@{FIRST}").input("lr_g=5\nnot_a_field=1").run()
    assert "Invalid settings" in at.error[0].value
    assert at.button(key="start").disabled
    assert not list(list_runs(app_env["runs"]))


def test_clusters_stand_in_for_labels_of_a_conditional_model_only(app_env):
    at = new_app("app/pages/train.py")
    at.number_input(key=f"clusters@{FIRST}").set_value(12).run()
    assert "--set clusters=12" in at.code[0].value and not at.button(key="start").disabled
    at.checkbox(key=f"conditional@{FIRST}").uncheck().run()
    assert "set conditional=true" in at.error[0].value and at.button(key="start").disabled


def test_missing_data_is_a_clear_message(app_env):
    at = new_app("app/pages/train.py")
    at.text_area(key=f"extra@{FIRST}").input("data_root=/nonexistent-data").run()
    at.button(key="start").click().run()
    assert not at.exception
    message = at.error[0].value
    assert "did not start" in message and "/nonexistent-data" in message
    assert not list(list_runs(app_env["runs"]))                         # no run folder left behind


@pytest.mark.slow
def test_train_a_real_run_watch_it_finish_and_export_it(app_env, mnist_root):
    at = new_app("app/pages/train.py")
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
    at.switch_page("app/pages/runs.py").run()
    no_errors(at)
    assert list(at.dataframe[0].value["run"]) == [run.id]
    assert "loss_g" in plotly_specs(at)
    at.button(key="delete").click().run()
    assert run.path.is_dir()                                                # the first click only asks
    at.button(key="delete_yes").click().run()
    assert not run.path.exists()
    assert "No runs yet" in at.info[0].value


@pytest.mark.slow
def test_stop_a_running_run_and_it_survives_the_app(app_env, mnist_root):
    at = new_app("app/pages/train.py")
    start_run(at, steps=100000, sample_every=1000)
    run = only_run(app_env["runs"])
    rerun_until(at, lambda a: run.read_status().get("state") == "running", what="the run to be running")
    del at  # "close the app": a new AppTest is a fresh session with nothing in memory
    at = new_app("app/pages/runs.py")
    no_errors(at)
    table = at.dataframe[0].value
    assert list(table["run"]) == [run.id] and "running" in table["state"][0]
    at.switch_page("app/pages/train.py").run()
    at.button(key=f"stop-train-{run.id}").click().run()                     # SIGTERM to its group
    rerun_until(at, lambda a: run.read_status().get("state") == "stopped", timeout=120, what="stopped")
    assert run.last_checkpoint.is_file()
    at.run()
    no_errors(at)
    assert at.button(key=f"resume-train-{run.id}")                          # and it can be resumed

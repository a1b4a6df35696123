"""app/morph_view.py, the Python side of the in-browser morph studio: whether this install can offer
it, how a model version is named and sent, and what of the component's reports the page trusts.
(The component running in a real browser: tests/app/test_morph_component.py.)"""
from __future__ import annotations

import os

import numpy as np
import pytest

from app import morph_view
from app.morph_view import FAILED, WORKED, mode, model_bytes, model_id, reported_controls, reported_latent

from tests.helpers import make_onnx_generator

MODEL = "0123456789abcdef"


@pytest.fixture
def runtime(tmp_path, monkeypatch):
    """The runtime folder, complete: a test removes a file to see the install's problem."""
    folder = tmp_path / "ort"
    folder.mkdir()
    for name in morph_view.RUNTIME_FILES:
        (folder / name).write_text("//")
    monkeypatch.setattr(morph_view, "RUNTIME_DIR", folder)
    return folder


def test_a_missing_runtime_file_is_named_with_the_command_that_installs_it(runtime):
    assert morph_view.runtime_problem() is None
    (runtime / "ort-wasm-simd-threaded.wasm").unlink()
    problem = morph_view.runtime_problem()
    assert "ort-wasm-simd-threaded.wasm missing" in problem and "bash scripts/install_web_runtime.sh" in problem
    assert mode({}, "morph_view") == ("server", f"Drawing on the server: {problem}.")


def test_the_studio_loads_then_runs_in_the_browser_and_stays_there(runtime):
    state = {}
    assert mode(state, "morph_view") == ("loading", "")                    # no report yet: the server draws
    state["morph_view"] = {"model_id": MODEL, "ready": True}
    assert mode(state, "morph_view") == ("browser", "") and state[WORKED]
    state["morph_view"] = None                                              # a rerun before the next report
    assert mode(state, "morph_view") == ("browser", "")


def test_a_browser_that_cannot_run_the_model_hands_drawing_to_the_server_for_good(runtime):
    state = {"morph_view": {"failed": "no WebAssembly " + "x" * 400}}
    view, note = mode(state, "morph_view")
    assert view == "server" and "This browser cannot run the generator (no WebAssembly" in note
    assert len(state[FAILED]) == 300                                        # a browser's long message, cut
    state["morph_view"] = {"model_id": MODEL, "ready": True}
    assert mode(state, "morph_view")[0] == "server"


def test_a_model_version_has_one_id_and_its_bytes_are_sent(tmp_path):
    path = make_onnx_generator(tmp_path / "m.onnx", latent_dim=8)
    first = model_id(path)
    assert first == model_id(path) and len(first) == 16
    assert model_bytes(path) == path.read_bytes()
    stat = path.stat()
    make_onnx_generator(path, latent_dim=4)                                  # re-exported: loaded again in the page
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert model_id(path) != first and model_bytes(path) == path.read_bytes()


def test_only_a_well_formed_latent_for_this_model_is_trusted():
    z = [0.5, -1.25, 3.0]
    good = {"model_id": MODEL, "ready": True, "z": z}
    assert np.array_equal(reported_latent(good, 3, MODEL), np.asarray(z, np.float32))
    assert reported_latent(good, 3, "another-model") is None                # a report for the model before
    assert reported_latent({**good, "ready": False}, 3, MODEL) is None
    assert reported_latent({**good, "z": z[:2]}, 3, MODEL) is None          # the wrong size
    assert reported_latent({**good, "z": [0.5, "x", 1.0]}, 3, MODEL) is None
    assert reported_latent({**good, "z": [0.5, float("nan"), 1.0]}, 3, MODEL) is None
    assert reported_latent(None, 3, MODEL) is None and reported_latent("z", 3, MODEL) is None


def test_the_sliders_reported_are_clamped_to_their_ranges():
    report = {"model_id": MODEL, "t": 1.7, "amounts": [-9, 0.5, 3]}
    assert reported_controls(report, MODEL, 3) == (1.0, [-3.0, 0.5, 3.0])
    assert reported_controls({**report, "t": -0.2}, MODEL, 3)[0] == 0.0
    assert reported_controls(report, MODEL, 2) is None                       # another number of directions
    assert reported_controls(report, "another-model", 3) is None
    assert reported_controls({**report, "t": "half"}, MODEL, 3) is None
    assert reported_controls({**report, "amounts": [1, None, 2]}, MODEL, 3) is None


def test_floats_reach_the_page_exactly():
    values = np.asarray([0.1, 1 / 3, -2.5e-8], np.float32)
    sent = morph_view._floats(values)
    assert all(type(v) is float for v in sent) and np.array_equal(np.asarray(sent, np.float32), values)

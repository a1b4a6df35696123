"""A run's health and timelapse on the Runs page, through AppTest: the badge, the findings with their
remedies, the chart markers where each began, the health column of the table, and the timelapse
made with one click and offered for download. The run is real: gan-mlp-mnist with D at 20x G's rate."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from training.runfolder.folder import create_run
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import app_text, new_app, no_errors, plotly_specs, small_config


@pytest.fixture
def overpowered(app_env, mnist_train, one_thread):
    config = small_config(lr_g=2.5e-5, batch_size=64, steps=160, log_every=5, sample_every=40, health_warmup=50,
                          health_sustain=50)
    run = create_run(app_env["runs"], "overpowered", config.to_dict())
    assert Trainer(build_session(config, dataset=mnist_train), run).train() == "finished"
    [finding] = [e for e in run.read_health() if e["event"] == "found"]
    assert finding["kind"] == "d_overpowering"
    return run, finding


def test_the_run_view_shows_the_findings_where_they_began_and_makes_a_timelapse(overpowered):
    run, finding = overpowered
    at = new_app("app/pages/runs.py")
    no_errors(at)
    text = app_text(at)
    assert f"Health: D overpowering G since step {finding['step']}" in text          # the badge
    assert finding["summary"] in text and "--set lr_d=1.3e-4" in text                # the finding, its remedies
    assert any(e.label.startswith("Health findings (1)") for e in at.expander)
    specs = plotly_specs(at)
    assert f"D overpowering G (step {finding['step']})" in specs                     # the marker on the charts
    assert "Sample grid variety" in specs
    table = at.dataframe[0].value
    assert list(table.loc[table["run"] == run.id, "health"]) == [f"D overpowering G since step {finding['step']}"]

    # one click: the timelapse of the run's grids, offered for download
    key = f"runs-{run.id}"
    gifs = lambda: [b for b in at.get("download_button") if "GIF" in b.proto.label]  # noqa: E731 - not Metrics CSV
    assert not gifs()
    at.button(key=f"timelapse-{key}").click().run()
    no_errors(at)
    [download] = gifs()
    assert "Download GIF (5 frames, steps 0–160)" in str(download.proto)
    made = at.session_state[f"timelapse-made-{key}"]
    with Image.open(io.BytesIO(made["data"])) as gif:
        assert gif.format == "GIF" and gif.n_frames == 5 == len(run.sample_grids())

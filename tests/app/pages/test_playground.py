"""The 2-D playground page (app/pages/playground.py): through AppTest (its controls, its messages, a
real run started, stepped and stopped) and in a real headless Chromium (a ring of 8 trains and the
plot moves)."""
from __future__ import annotations

import json
import os
import time

import pytest

from training.playground import files
from training.playground.settings import check_settings
from training.runfolder.folder import create_run, list_runs

from tests.app.browser import App, open_browser, settle, shot
from tests.helpers import (CHROMIUM, app_text, new_app, no_errors, only_run, plotly_specs, rerun_until,
                           stop_training_processes)

PAGE = "app/pages/playground.py"


def live_figures(at) -> str:
    """The figures the live view hands its plot component (app/live_plot.py), as JSON text."""
    return " ".join(element.proto.json_args for element in at.get("component_instance"))


def test_the_page_shows_its_controls_and_the_command(app_env):
    at = new_app(PAGE)
    no_errors(at)
    assert at.selectbox(key="pg_target").value == "ring"
    assert at.selectbox(key="pg_loss").options == ["non-saturating", "minimax", "wasserstein", "wgan-gp", "hinge"]
    assert not at.button(key="pg_start").disabled
    command = at.code[0].value
    assert command.startswith("python -m training playground") and "--target ring" in command
    text = app_text(at)
    assert "all eight modes" in text and "PacGAN packing 2" in text      # the page says which settings
    assert "500 real points" in plotly_specs(at)                        # the target's preview
    at.number_input(key="pg_pack").set_value(4).run()                   # only what differs is spelled out
    assert "--pack 4" in at.code[0].value
    at.selectbox(key="pg_loss").select("wgan-gp").run()
    assert at.number_input(key="pg_gp").value == 0.1                    # the loss's own knob appears


@pytest.mark.parametrize("key, value, words", [
    ("pg_lr_g", -0.5, "lr_g (G's Adam learning rate) is -0.5"),
    ("pg_n_critic", 0, "n_critic (D steps per G step) is 0"),
    ("pg_pack", 3, "batch_size 256 is not a multiple of pack 3"),
])
def test_nonsense_knobs_block_the_start_with_a_message(app_env, key, value, words):
    at = new_app(PAGE)
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert "Check the settings" in at.error[0].value and words in at.error[0].value
    assert at.button(key="pg_start").disabled


def test_drawn_points_need_two_and_lines_must_be_points(app_env):
    at = new_app(PAGE)
    at.selectbox(key="pg_target").select("points").run()
    assert "at least 2 points" in at.error[0].value and at.button(key="pg_start").disabled
    at.text_area(key="pg_typed").input("1, 1").run()
    assert "(there is 1)" in at.error[0].value
    at.text_area(key="pg_typed").input("1, 1\nhello").run()
    assert "point line 2 is 'hello'" in at.error[0].value
    at.text_area(key="pg_typed").input("1, 1\n-1, 0.5").run()
    no_errors(at)
    assert "--points '1,1; -1,0.5'" in at.code[0].value


def test_start_a_run_step_it_and_stop_it(app_env):
    at = new_app(PAGE)
    at.checkbox(key="pg_paused").check().run()
    at.number_input(key="pg_n_critic").set_value(3).run()
    at.button(key="pg_start").click().run()
    no_errors(at)
    run = only_run(app_env["runs"])
    assert json.loads(run.config_path.read_text())["kind"] == "playground"
    rerun_until(at, lambda a: any("G step 0" in m.value for m in a.markdown), 60, "the first snapshot")
    assert "D step 0, G step 0" in live_figures(at) and "modes covered" in live_figures(at)
    assert any("paused" in m.value for m in at.markdown)
    at.button(key="pg_step").click().run()                              # one D update and one G update,
    no_errors(at)                                                       # though the knob says 3 D steps
    rerun_until(at, lambda a: any("D step 1, G step 1 ·" in m.value for m in a.markdown), 30, "the single step")
    time.sleep(0.5)
    snap = files.read_snapshot(run)
    assert (snap["d_steps"], snap["g_steps"], snap["mode"]) == (1, 1, "pause")
    other = new_app(PAGE)                                               # a new tab finds the live run
    assert any(run.id in m.value for m in other.markdown), [m.value for m in other.markdown]
    at.button(key="pg_play").click().run()
    rerun_until(at, lambda a: (files.read_snapshot(run) or {}).get("g_steps", 0) >= 50, 60, "training to go on")
    at.button(key="pg_stop").click().run()
    rerun_until(at, lambda a: run.read_status()["state"] == "stopped", 30, "the run to stop")
    at.run()
    no_errors(at)
    assert at.button(key="pg_step").disabled and any("stopped" in m.value for m in at.markdown)


def pick_target(page, name: str) -> None:
    page.locator("[data-testid='stSelectbox']").filter(has_text="Target").click()
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    settle(page)


def draw_two_lassos(page) -> None:
    """Pick the points target and draw two small lassos on the canvas: each adds the grey dots it
    encloses, and the command then names them."""
    pick_target(page, "points")
    assert "at least 2 points" in page.locator("[data-testid='stAlert']").first.inner_text()
    counts = []
    for fx in (0.25, 0.75):
        page.wait_for_selector("[data-testid='stPlotlyChart'] .nsewdrag", timeout=30_000)
        page.wait_for_timeout(1000)
        box = page.locator("[data-testid='stPlotlyChart'] .nsewdrag").first.bounding_box()
        x, y = box["x"] + fx * box["width"], box["y"] + 0.5 * box["height"]
        page.mouse.move(x, y)
        page.mouse.down()
        for dx, dy in ((25, 0), (25, 25), (0, 25), (0, 0)):   # 25 px: at least 2x2 of the dots
            page.mouse.move(x + dx, y + dy, steps=4)
        page.mouse.up()
        settle(page)
        page.wait_for_timeout(1000)
        settle(page)
        command = page.locator("[data-testid='stCode']").first.inner_text() \
            if page.locator("[data-testid='stCode']").count() else ""
        counts.append(command.split("--points", 1)[-1].count(",") if "--points" in command else 0)
    assert counts[0] >= 4 and counts[1] > counts[0], counts     # the second lasso added to the first


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_in_a_browser_the_ring_trains_and_the_plot_moves(tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    app = App({**os.environ, "GAN_STUDIO_RUNS": str(runs)}, tmp_path / "streamlit.log")
    app.start()
    try:
        p, browser, page = open_browser()
        try:
            page.goto(app.url + "/playground", wait_until="domcontentloaded")
            page.wait_for_selector("text=Set up", timeout=90_000)
            settle(page)
            assert page.locator("[data-testid='stException']").count() == 0
            draw_two_lassos(page)
            assert page.locator("[data-testid='stException']").count() == 0
            pick_target(page, "ring")
            assert "--target ring" in page.locator("[data-testid='stCode']").first.inner_text()
            page.get_by_role("button", name="Start", exact=True).click()
            def samples():   # the title and G's samples as the live plot's plotly figure in its iframe holds them
                for frame in page.frames:
                    found = frame.evaluate("() => { const g = document.getElementById('plot');"
                                           " const t = g && g.data && g.data.find(t => t.name === 'G(z)');"
                                           " return t && t.x.length ? [g.layout.title.text, Array.from(t.x).slice(0, 50)]"
                                           " : null; }") if "live_plot" in frame.url else None
                    if found:
                        return found
                return None

            deadline = time.monotonic() + 120
            while (before := samples()) is None and time.monotonic() < deadline:
                page.wait_for_timeout(500)
            assert before, "no live plot of G's samples appeared"
            page.wait_for_timeout(4000)
            after = samples()
            assert before[0] != after[0] and before[1] != after[1], (before[0], after[0])   # trained on, redrawn
            assert page.locator("[data-testid='stException']").count() == 0
            shot(page, "playground")
            run = only_run(runs)
            assert files.read_snapshot(run)["g_steps"] > 0 and run.live_status()["state"] == "running"
            page.get_by_role("button", name="Stop", exact=True).click()
            deadline = time.monotonic() + 30
            while run.read_status()["state"] != "stopped" and time.monotonic() < deadline:
                time.sleep(0.2)
            assert run.read_status()["state"] == "stopped"
        finally:
            browser.close()
            p.stop()
    finally:
        stop_training_processes(runs)
        app.stop()
    assert len(list(list_runs(runs))) == 1


def test_a_torn_snapshot_is_a_message_not_a_traceback(app_env):
    run = create_run(app_env["runs"], "playground-ring", check_settings({}).to_dict())
    run.write_status(state="stopped", step=10, message="stopped")
    files.snapshot_path(run).write_text('{"step": 10, "grid": ')
    at = new_app(PAGE)
    at.session_state["pg_run"] = str(run.path)
    at.run()
    assert not at.exception
    assert any("snapshot.json is not valid JSON" in e.value for e in at.error), [e.value for e in at.error]

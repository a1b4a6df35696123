"""2-D playground: a small GAN on a 2-D target, trained live in its own process (GAN Lab's idea).

The page only starts `python -m training playground`, writes the run's control.json (play,
pause, step, stop) and draws the snapshots the process writes; it never imports torch.
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import numpy as np
import streamlit as st

from app.guard import guard
from app.markdown_escape import escape
from app.live_plot import live_plot
from app.paths import mtime, runs_dir
from app.playground_figures import canvas_figure, game_figure, progress_figure, selected_points
from app.processes import LaunchError, going, launch, override_value, stop_training
from training.config import ConfigError
from training.playground import files
from training.playground.settings import LOSSES, RANGES, Settings, check_settings
from training.playground.targets import TARGETS, make_target, read_points
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder, list_runs

DEFAULTS = Settings()
RECIPE = (f"ring of 8, {DEFAULTS.loss} loss, Adam {DEFAULTS.lr_g:g} for G and D, {DEFAULTS.n_critic} D step per "
          f"G step, G and D {DEFAULTS.depth} hidden layers of {DEFAULTS.g_width}, PacGAN packing {DEFAULTS.pack}, "
          f"batch {DEFAULTS.batch_size}")
REFRESH_S = 0.7
STEP_WAIT_S = 5.0

st.title("2-D playground")
st.caption("Watch the game in two dimensions: D's opinion of every point as a heat map (red: fake, blue: real), "
           "the real points (green), G's samples (purple) and the arrows along which G's gradient pushes them. "
           f"The defaults ({RECIPE}) reach all eight modes of the ring in 750-1,250 G steps, 3-8 seconds on "
           "one CPU core (three seeds measured).")


def playground_argv(settings: Settings, name: str) -> list[str]:
    """The command that trains ``settings``; only what differs from the defaults is spelled out."""
    argv = [sys.executable, "-m", "training", "playground", "--name", name, "--runs-dir", str(runs_dir()),
            "--target", settings.target, "--loss", settings.loss]
    if settings.start != DEFAULTS.start:
        argv += ["--start", settings.start]
    for key in RANGES:
        value = getattr(settings, key)
        if value != getattr(DEFAULTS, key) and (key != "point_std" or settings.target == "points"):
            argv += ["--" + key.replace("_", "-"), override_value(value)]
    if settings.points:
        argv += ["--points", "; ".join(f"{x:g},{y:g}" for x, y in settings.points)]
    return argv


def drawn_points(typed: str) -> list:
    """The canvas's points and the typed ones together (ConfigError for a line that is no point)."""
    return st.session_state.get("pg_drawn", []) + [list(p) for p in read_points(typed)]


def point_inputs() -> tuple[list, float]:
    st.session_state.setdefault("pg_drawn", [])
    st.session_state.setdefault("pg_canvas_n", 0)
    st.caption("Draw on the canvas: drag a lasso around grey dots (or pick the box tool in its toolbar); each dot "
               "you enclose becomes a Gaussian of the target. Or type points below.")
    event = st.plotly_chart(canvas_figure(st.session_state["pg_drawn"]), on_select="rerun",
                            selection_mode=("points", "box", "lasso"), key=f"pg_canvas{st.session_state['pg_canvas_n']}",
                            config={"displayModeBar": True})
    added = [point for point in selected_points(event) if point not in st.session_state["pg_drawn"]]
    if added:   # each selection is used once: a fresh canvas widget has none, so the next one adds anew
        st.session_state["pg_drawn"] += added
        st.session_state["pg_canvas_n"] += 1
        st.rerun()
    typed = st.text_area("Points (x, y), one a line", key="pg_typed", placeholder="-2, 0\n2, 0\n0, 2",
                         help="within -10 and 10; at least 2 points, at most 200 (with the canvas's)")
    c1, c2 = st.columns(2)
    std = c1.number_input("Spread of each point", value=DEFAULTS.point_std, format="%.3f", step=0.01, key="pg_point_std")
    if c2.button("Clear the canvas", key="pg_clear", icon=":material/ink_eraser:"):
        st.session_state["pg_drawn"] = []
        st.session_state["pg_canvas_n"] += 1     # a new canvas widget: its old selection goes too
        st.rerun()
    return drawn_points(typed), std


def knob_inputs(values: dict) -> None:
    values["loss"] = st.selectbox("Loss", list(LOSSES), key="pg_loss",
                                  help="\n\n".join(f"- **{k}**: {v}" for k, v in LOSSES.items()))
    c1, c2, c3 = st.columns(3)
    values["lr_g"] = c1.number_input("G learning rate", value=DEFAULTS.lr_g, format="%.1e", step=1e-4, key="pg_lr_g")
    values["lr_d"] = c2.number_input("D learning rate", value=DEFAULTS.lr_d, format="%.1e", step=1e-4, key="pg_lr_d")
    values["n_critic"] = c3.number_input("D steps per G step", value=DEFAULTS.n_critic, step=1, key="pg_n_critic")
    c1, c2, c3 = st.columns(3)
    values["g_width"] = c1.number_input("G width", value=DEFAULTS.g_width, step=16, key="pg_g_width")
    values["d_width"] = c2.number_input("D width", value=DEFAULTS.d_width, step=16, key="pg_d_width")
    values["pack"] = c3.number_input("PacGAN packing", value=DEFAULTS.pack, step=1, key="pg_pack",
                                     help="D judges this many samples at once (1: a plain GAN)")
    if values["loss"] == "wasserstein":
        values["clip_value"] = st.number_input("Weight clipping bound", value=DEFAULTS.clip_value, format="%.3f",
                                               step=0.005, key="pg_clip")
    if values["loss"] == "wgan-gp":
        values["gp_lambda"] = st.number_input("Gradient-penalty weight", value=DEFAULTS.gp_lambda, step=0.1,
                                              key="pg_gp")
    with st.expander("More settings"):
        c1, c2, c3 = st.columns(3)
        values["depth"] = c1.number_input("Hidden layers", value=DEFAULTS.depth, step=1, key="pg_depth")
        values["batch_size"] = c2.number_input("Batch size", value=DEFAULTS.batch_size, step=32, key="pg_batch")
        values["latent_dim"] = c3.number_input("Latent size", value=DEFAULTS.latent_dim, step=1, key="pg_latent")
        c1, c2, c3 = st.columns(3)
        values["steps"] = c1.number_input("G steps at most", value=DEFAULTS.steps, step=1000, key="pg_steps")
        values["snapshot_every"] = c2.number_input("Snapshot every", value=DEFAULTS.snapshot_every, step=10,
                                                   key="pg_snapshot_every")
        values["seed"] = c3.number_input("Seed", value=DEFAULTS.seed, step=1, key="pg_seed")
    values["start"] = "pause" if st.checkbox("Start paused (then Play or Step)", key="pg_paused") else "play"


def current_run() -> RunFolder | None:
    """This session's playground run; in a new session (the tab was closed, the app restarted), the
    newest playground run still training, since a run outlives the page that started it."""
    path = st.session_state.get("pg_run")
    if path and Path(path).is_dir():
        return RunFolder(Path(path))
    for run in sorted(list_runs(runs_dir()), key=lambda r: mtime(r.config_path), reverse=True):
        try:
            if files.is_playground(run.read_config()) and going(run):
                st.session_state["pg_run"] = str(run.path)
                return run
        except RunError:
            continue
    return None


def stop(run: RunFolder) -> None:
    if run.path.is_dir():
        files.write_control(run, stop=True)
    stop_training(run)


def control_buttons(run: RunFolder, alive: bool, snap: dict | None) -> None:
    c1, c2, c3, c4 = st.columns(4)
    playing = bool(snap) and snap.get("mode") == "play"
    if c1.button("Play", key="pg_play", icon=":material/play_arrow:", disabled=not alive, type="primary"):
        files.write_control(run, mode="play")
    if c2.button("Pause", key="pg_pause", icon=":material/pause:", disabled=not alive):
        files.write_control(run, mode="pause")
    if c3.button("Step", key="pg_step", icon=":material/skip_next:", disabled=not alive,
                 help="one D update, then one G update (and pause)"):
        wanted = files.write_control(run, step=True)["step_requests"]
        deadline = time.monotonic() + STEP_WAIT_S   # show the step it asked for, not the snapshot before it
        while time.monotonic() < deadline and ((files.read_snapshot(run) or {}).get("served_step_requests", 0) < wanted):
            time.sleep(0.05)
    if c4.button("Stop", key="pg_stop", icon=":material/stop:", disabled=not alive):
        stop(run)
    if alive and not playing and snap:
        st.caption("Paused: **Play** to go on, **Step** for one D update and one G update.")


def live_view(run_path: str, refreshing: bool) -> None:
    run = RunFolder(Path(run_path))
    if not run.path.is_dir():
        st.warning("This playground run's folder is gone; press **Start** for a new one.", icon=":material/folder_off:")
        return
    status = run.live_status()
    alive = going(run, status)
    snap = files.read_snapshot(run)
    control_buttons(run, alive, snap)
    status, snap = run.live_status(), files.read_snapshot(run) or snap   # what the buttons changed
    state = status.get("state")
    if state == "running" and snap:
        state = "playing" if snap.get("mode") == "play" else "paused"
    if snap:
        st.markdown(f"**{escape(run.id)}** · {state} · D step {escape(snap['d_steps'])}, G step {escape(snap['g_steps'])} · "
                    f"**{escape(snap['modes_covered'])}/{escape(snap['num_modes'])} modes** · "
                    f"{snap['high_quality_share']:.0%} high quality")
        live_plot(game_figure(snap), key="pg_game")
        rows = [r for r in run.read_metrics() if "modes_covered" in r]
        if rows:
            live_plot(progress_figure(rows), key="pg_progress")
    else:
        st.info(f"**{escape(run.id)}** · {state}: {escape(status.get('message', ''))}", icon=":material/hourglass_top:")
    if state in ("failed", "unreadable"):
        st.error(f"The playground process ended: {escape(status.get('message'))}", icon=":material/error:")
    if refreshing and not alive:
        st.rerun()   # the whole page, so the live view stops refreshing


setup, live = st.columns([2, 3], gap="large")
with setup:
    st.subheader("Set up")
    values: dict = {"target": st.selectbox("Target", list(TARGETS), key="pg_target",
                                           format_func=lambda k: f"{k}: {TARGETS[k]}")}
    problem = None
    if values["target"] == "points":
        try:
            values["points"], values["point_std"] = point_inputs()
        except ConfigError as error:
            problem = str(error)
    knob_inputs(values)
    name = f"playground-{values['target']}"
    if problem is None:
        try:
            settings = check_settings(values)
        except ConfigError as error:
            problem = str(error)
    if problem:
        st.error(f"**Check the settings.** {problem}", icon=":material/tune:")
    else:
        st.code(shlex.join(["python", *playground_argv(settings, name)[1:]]), language="bash", wrap_lines=True)
    if st.button("Start", key="pg_start", type="primary", icon=":material/rocket_launch:", disabled=problem is not None):
        previous = current_run()
        if previous is not None and going(previous):
            stop(previous)
        with st.spinner("Starting: loading PyTorch…"):
            try:
                run = launch(playground_argv(settings, name), name, wait_s=120)
            except (LaunchError, RunError) as error:
                st.error(f"**The playground did not start.** {error}", icon=":material/error:")
            else:
                st.session_state["pg_run"] = str(run.path)

with live:
    run = current_run()
    if run is None:
        st.subheader("The target")
        if problem is None:
            target = make_target(settings.target, settings.points, settings.point_std)
            preview = target.sample(500, np.random.default_rng(0))
            st.plotly_chart(game_figure({"grid": {"xs": [], "ys": [], "z": []}, "bounds": list(target.bounds()),
                                         "real": preview.tolist()}, title=f"{target.name}: 500 real points"),
                            key="pg_preview")
        st.info("Press **Start** to train on it; the live view appears here.", icon=":material/play_circle:")
    else:
        refreshing = going(run)
        # guarded again: a fragment's reruns happen outside the page's own guard
        st.fragment(run_every=REFRESH_S if refreshing else None)(guard(live_view))(str(run.path), refreshing)

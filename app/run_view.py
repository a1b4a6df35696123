"""A run's live view, on the Train and Runs pages: its header, progress, buttons (stop, resume,
export, explore, publish), health, charts, sample grids and timelapse, all read from its folder."""
from __future__ import annotations

import streamlit as st

from app import charts, dataframes, health_view, processes, timelapse_view
from app.catalogue import model_files, publish, publish_target
from app.guard import guard, section
from app.markdown_escape import code, escape
from app.paths import inside
from app.summaries import eta_text
from training.runfolder.files import RunError
from training.runfolder.folder import UNREADABLE, RunFolder
from training.runfolder.tables import frame_of_metrics, metrics_frame
from training.runfolder.timelapse import grid_png

# state -> (colour, Material icon) for the run header
STATE_STYLE = {"queued": ("gray", "hourglass_empty"), "running": ("green", "play_circle"),
               "stopping": ("orange", "pause_circle"), "stopped": ("gray", "stop_circle"),
               "finished": ("blue", "check_circle"), "failed": ("red", "error"), "diverged": ("red", "warning"),
               "pruned": ("violet", "content_cut")}  # pruned: a sweep's trial that fell behind (docs/sweeps.md)


def run_header(run: RunFolder, status: dict) -> None:
    state = status.get("state", "?")
    colour, icon = STATE_STYLE.get(state, ("gray", "help"))
    st.markdown(f"**{escape(run.id)}** · :{colour}[:material/{icon}: {state}] · "
                f"step {status.get('step', 0)} / {status.get('total_steps', '?')}")


def run_view(run: RunFolder, key: str, show_charts: bool = True) -> None:
    """Progress, buttons, charts, samples and (for a failed run) the log's tail.

    The body is a fragment that reruns every 2 s while the run is active, so only this part of
    the page refreshes. Everything comes from the run folder: a reload or a restart of the app
    finds the same picture.
    """
    active = processes.going(run)

    @st.fragment(run_every=2 if active else None)
    @guard
    def body():
        processes.reap()
        status = run.live_status()
        state = status.get("state", "?")
        going = processes.going(run, status)
        rows = run.read_metrics()
        events = run.read_health()  # the health monitor's findings (training/runfolder/health.py)
        run_header(run, status)
        health_view.badge(run, status, events)
        total = status.get("total_steps") or 0
        step = status.get("step") or 0
        if total:
            text = f"{step} / {total} steps"
            if going:
                text += f" · {eta_text(status, rows)}" if eta_text(status, rows) else ""
            st.progress(min(step / total, 1.0), text=text)
        if state == UNREADABLE:
            st.error(f"**This run cannot be read.** {escape(status['message'])}\n\nOnly deleting it (on the Runs page) "
                     "still makes sense, unless you can repair the file.", icon=":material/broken_image:")
        elif status.get("message"):
            st.caption(escape(status["message"]))
        if state == "queued" and not going:
            st.warning(f"No process has worked on this run for {processes.status_age_s(run) / 60:.0f} min: its "
                       "launch ended before training began (the log below says why). Delete it on the Runs page "
                       "and start a new run.", icon=":material/hourglass_disabled:")
        with section():
            _buttons(run, status, going, key)
        if state in ("failed", "diverged", UNREADABLE) or (state == "queued" and not going):
            if state in ("failed", "diverged"):
                st.error(f"This run {state}: {escape(status.get('message', ''))}\n\nThe end of its log is below; fix the "
                         "cause, then **Resume** (it continues from the last checkpoint).", icon=":material/error:")
            st.code(processes.run_log(run) or "(the log is empty)", language="text")
        if rows.unreadable or rows.skipped:
            st.warning(escape(rows.unreadable or f"metrics.jsonl: {len(rows.skipped)} line(s) passed over, unreadable: "
                              f"{rows.skipped[0]}" + (" …" if len(rows.skipped) > 1 else "")), icon=":material/rule:")
        with section():
            health_view.details(events, key)
        if show_charts:
            with section():
                _charts(rows, key, health_view.markers(events))
        if rows:
            with section():
                _metrics_table(run, rows, key)
        with section():
            _samples(run, key)
        if active and not going:
            st.rerun()  # the run just ended: redraw the page once so the fragment stops polling

    body()


def _buttons(run: RunFolder, status: dict, going: bool, key: str) -> None:
    state = status.get("state")
    if state == UNREADABLE:
        return  # nothing here can act on a run whose status is unknown (Delete is on the Runs page)
    cols = st.columns(5)
    if going and state in ("running", "queued"):
        if cols[0].button("Stop", icon=":material/stop:", key=f"stop-{key}", help="graceful: finishes the step, saves a checkpoint"):
            if processes.stop_training(run):
                # keep it on the Train page once stopped, so Resume and Export stay at hand
                st.session_state.setdefault("watching", []).append(run.id)
                st.toast(f"Stopping {escape(run.id)}…")
            else:
                st.warning("The process is not running any more.")
    has_checkpoint = run.last_checkpoint.exists()
    if state in ("stopped", "failed", "diverged", "pruned") and has_checkpoint and processes.lock_holder(run) is None:
        if cols[1].button("Resume", icon=":material/play_arrow:", key=f"resume-{key}",
                          help="continue from the last checkpoint"):
            processes.resume_training(run)
            st.toast(f"Resuming {escape(run.id)}…")
            st.rerun()
    if has_checkpoint and not going:
        exported = run.onnx_path.is_file()
        if cols[2].button("Re-export" if exported else "Export to ONNX", icon=":material/deployed_code:", key=f"export-{key}",
                          help="writes generator.onnx + its card into the run folder; Explore lists it"):
            with st.spinner("Exporting (checks the ONNX file against PyTorch)…"):
                processes.export_run(run)
            st.success(f"Exported to {code(run.onnx_path)}: open it on the Explore page.")
        if exported:
            if cols[3].button("Explore", icon=":material/palette:", key=f"explore-{key}",
                              help="open this run's generator on the Explore page"):
                st.session_state["open_model"] = str(run.onnx_path)
                st.switch_page("app/pages/explore.py")
            with cols[4].popover("Publish", icon=":material/publish:"):
                _publish_form(run, key)


def _publish_form(run: RunFolder, key: str) -> None:
    """Publishing onto a taken name needs the box ticked: nothing is replaced by accident."""
    name = st.text_input("Model name", value=run.id, key=f"pubname-{key}")
    target = publish_target(name)
    replace = False
    if model_files(target):
        st.warning(f"`{target.stem}` already exists in the models folder.", icon=":material/warning:")
        replace = st.checkbox(f"Replace `{target.stem}` (its card and evaluation report go too)",
                              key=f"pubreplace-{key}")
    if st.button("Copy into the models folder", key=f"publish-{key}"):
        with section():
            target = publish(run, name, replace=replace)
            st.success(f"Saved as `{target.name}`" + (" (the old model was replaced)." if replace else "."))


def _charts(rows: list[dict], key: str, markers: list[dict] = ()) -> None:
    if not rows:
        st.info("No metrics yet: the first row arrives after `log_every` steps.")
        return
    figures = charts.run_figures(rows, markers)
    cols = st.columns(2)
    for i, fig in enumerate(figures):
        cols[i % 2].plotly_chart(fig, key=f"chart-{key}-{i}", config={"displayModeBar": False})


def _metrics_table(run: RunFolder, rows: list[dict], key: str) -> None:
    """metrics.jsonl as a table, on request (a live view redraws every 2 s), and as a CSV of every row
    and column, made when the button is clicked."""
    cols = st.columns([3, 1])
    # a fixed label: a label that changed with every new row would make a new widget, switched off again
    show = cols[0].toggle("Metrics table", key=f"metrics-table-{key}", help=f"{len(rows)} rows of metrics.jsonl")
    with cols[1]:
        dataframes.csv_download("Metrics CSV", lambda: metrics_frame(run), f"{run.id}-metrics.csv", key=f"metrics-csv-{key}",
                                help="every row of metrics.jsonl, every column: training, sample-grid and evaluation rows")
    if show:
        frame = frame_of_metrics(rows)
        st.dataframe(frame, hide_index=True, width="stretch",
                     column_config=dataframes.column_formats(frame, dataframes.metrics_columns()))


def _samples(run: RunFolder, key: str) -> None:
    found = run.sample_grids()
    grids = [p for p in found if inside(p, run.path)]  # a link out of the folder is not shown
    if len(grids) < len(found):
        st.caption(f"{len(found) - len(grids)} sample grid(s) lie outside this run's folder: not shown.")
    if not grids:
        return
    steps = [int(p.stem.split("_")[-1]) for p in grids]
    if len(grids) > 1:
        # the slider's value is the step; it follows the newest grid unless the user moved it
        choice = st.select_slider("Sample grid at step", options=steps, value=steps[-1], key=f"samples-{key}-{len(steps)}")
    else:
        choice = steps[0]
    try:  # a pipe, a link out or a PNG bomb where a grid should be is named, never opened or decoded
        png = grid_png(run, grids[steps.index(choice)])
    except RunError as error:
        st.warning(str(error), icon=":material/broken_image:")
    else:
        st.image(png, caption=f"fixed latents at step {choice}", width=360, output_format="PNG")
    with section():
        timelapse_view.timelapse(run, key, len(grids))

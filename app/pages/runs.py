"""Runs: every run in a table, curves of several overlaid, one opened in full, deletion."""
from __future__ import annotations

import streamlit as st

from app import charts, dataframes
from app.guard import guard, section
from app.markdown_escape import escape
from app.paths import runs_dir
from app.processes import delete_run, going, run_log
from app.run_view import run_view
from app.summaries import run_summary
from training.runfolder.folder import RunFolder, list_runs

st.title("Runs")

root = runs_dir()
runs = {r.id: r for r in list_runs(root)}
if not runs:
    st.info(f"**No runs yet** in `{root}`. Start one on the **Train** page, or from a terminal with "
            "`python -m training train --preset gan-mlp-mnist`.", icon=":material/inbox:")
    st.page_link("app/pages/train.py", label="Go to Train", icon=":material/fitness_center:")
    st.stop()

any_active = any(going(r) for r in runs.values())


@st.fragment(run_every=5 if any_active else None)  # the table keeps up with running runs
@guard
def table():
    summaries = [run_summary(r) for r in runs.values() if r.path.is_dir()]
    summaries.sort(key=lambda s: s["updated"] or "", reverse=True)
    frame = dataframes.runs_frame(summaries)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=dataframes.column_formats(frame, dataframes.runs_columns()))


table()
summaries = sorted((run_summary(r) for r in runs.values()), key=lambda s: s["updated"] or "", reverse=True)
ids = [s["run"] for s in summaries]
problems = {s["run"]: s["problem"] for s in summaries if s["problem"]}

st.subheader("Compare")
with section():
    picked = st.multiselect("Runs to overlay", ids, default=ids[:min(2, len(ids))], key="overlay")
    if picked:
        rows = {rid: runs[rid].read_metrics() for rid in picked}
        columns = sorted({c for r in rows.values() for c in charts.numeric_columns(r)})
        if columns:
            default = "loss_g" if "loss_g" in columns else columns[0]
            column = st.selectbox("Metric", columns, index=columns.index(default), key="overlay_metric")
            st.plotly_chart(charts.overlay_figure(rows, column), key="overlay_chart")
        else:
            st.caption("These runs have no metrics yet.")


def delete_section(run: RunFolder) -> None:
    """Two clicks: the first asks, the second (on a fresh rerun) stops the run's process, if it
    has one, and deletes the folder. Offered for every run, an unreadable one included."""
    if st.session_state.get("confirm_delete") != run.id:
        if st.button("Delete run…", icon=":material/delete:", key="delete"):
            st.session_state["confirm_delete"] = run.id
            st.rerun()
        return
    busy = going(run)
    st.warning(f"Delete **{escape(run.id)}** and everything in it (checkpoints, samples, exported model)? "
               + ("Its training process is stopped first. " if busy else "") + "This cannot be undone.")
    c1, c2 = st.columns(2)
    if c1.button("Yes, delete it", type="primary", key="delete_yes"):
        st.session_state.pop("confirm_delete", None)
        with st.spinner("Stopping its training process, then deleting…" if busy else "Deleting…"):
            delete_run(run)
        st.session_state.pop("open_run", None)
        st.toast(f"Deleted {escape(run.id)}")
        st.rerun()
    if c2.button("Cancel", key="delete_no"):
        st.session_state.pop("confirm_delete", None)
        st.rerun()


st.subheader("Open a run")
current = st.selectbox("Run", ids, key="open_run",
                       format_func=lambda rid: f"{rid}  ·  unreadable" if rid in problems else rid)
run = runs[current]
with st.container(border=True):
    if run.id in problems:
        st.warning(escape(problems[run.id]), icon=":material/rule:")
    run_view(run, key=f"runs-{run.id}")
    with st.expander("Config and log"):
        with section():
            st.json(run.read_config(), expanded=False)
        st.code(run_log(run, 40) or "(empty log)", language="text")
    with section():
        delete_section(run)

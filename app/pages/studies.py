"""Studies: the hyperparameter searches of `python -m training sweep` in the runs folder's sweeps.db."""
from __future__ import annotations

import streamlit as st

from app import dataframes, study_view
from app.guard import guard, section, show_error
from app.markdown_escape import code, escape
from app.paths import runs_dir
from studio.errors import UserError
from training.runfolder.folder import sanitize_name

st.title("Studies")

root = runs_dir()
try:
    names = study_view.names(root)
except UserError as error:  # a sweeps.db linking out of the runs folder: not this app's to show
    show_error(error)
    st.stop()
if not names:
    st.info(f"**No studies yet** in `{study_view.database(root)}`. Start one from a terminal, e.g. "
            "`python -m training sweep --space sweeps/dcgan-mnist.yaml --trials 50`; each trial is a run "
            "(see the Runs page) and docs/sweeps.md explains the rest.", icon=":material/science:")
    st.stop()

name = st.selectbox("Study", names, key="study")


@guard
def show(name: str) -> None:
    study = study_view.load(root, name)
    rows = study_view.trial_rows(study)
    states = [r["state"] for r in rows]
    wanted = study.user_attrs.get("trials")
    cols = st.columns(5)
    cols[0].metric("results", f"{states.count('complete') + states.count('pruned')}" + (f" / {wanted}" if wanted else ""),
                   help="complete + pruned trials; failed ones are not results")
    cols[1].metric("complete", states.count("complete"))
    cols[2].metric("pruned", states.count("pruned"))
    cols[3].metric("running", states.count("running") + states.count("waiting"))
    best = study_view.best(study)
    cols[4].metric("best FID", f"{best.value:.3f}" if best else "–", help="lower is better")
    if best:
        params = ", ".join(f"{k} = {v:.4g}" if isinstance(v, float) else f"{k} = {v if v != '' else '(none)'}" for k, v in best.params.items())
        st.markdown(f"**Best so far:** trial {best.number}, run {code(best.user_attrs.get('run', '?'))}: {escape(params)}")
    space = study.user_attrs.get("space") or {}
    if space.get("description"):
        st.caption(escape(space["description"]))
    frame = dataframes.trials_frame(rows)
    st.dataframe(frame, hide_index=True, width="stretch", column_config=dataframes.column_formats(frame, dataframes.trials_columns()))
    dataframes.csv_download("Trials CSV", lambda: study_view.load(root, name).trials_dataframe(),
                            f"{sanitize_name(name)}-trials.csv", key=f"trials-csv-{name}",
                            help="every trial as Optuna's study.trials_dataframe() has it: number, value, times, "
                                 "params_*, user_attrs_*, state")
    with section():
        st.plotly_chart(study_view.objective_figure(study), key=f"objective-{name}")
    with section():
        figure = study_view.parallel_figure(study)
        if figure is None:
            st.caption("The parallel-coordinates chart appears with the first complete trial.")
        else:
            st.plotly_chart(figure, key=f"parallel-{name}")


@guard
def under_way(name: str) -> bool:
    return study_view.under_way(study_view.load(root, name))


@st.fragment(run_every=10 if under_way(name) else None)  # a study with trials under way keeps up with them
def live() -> None:
    show(name)


live()

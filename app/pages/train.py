"""Train: a form over a preset and its main hyperparameters; launch runs and watch them live."""
from __future__ import annotations

import shlex

import streamlit as st

from app.guard import section
from app.image_picker import images_panel
from app.paths import mtime, runs_dir
from app.processes import LaunchError, going, override_value, start_training, train_argv
from app.run_view import run_view
from training import config as configs
from training.registry import REGISTRIES
from training.runfolder.folder import list_runs, sanitize_name

DEVICES, PRECISIONS = configs.field_choices("device"), configs.field_choices("precision")
FOLDER_PRESET = "dcgan-ada-folder-64"  # the colour recipe: 1.93x lower FID than dcgan-folder at 1 CPU-hour (docs/results.md)
FIRST_RUN_PRESET = "dcgan-mnist-first-run"  # digits in ten minutes on two CPU cores (docs/results.md)

st.title("Train")


@st.cache_data(show_spinner=False)
def catalogue() -> dict:
    """Presets, every registry's names with their one-line descriptions, and the fields' help: all
    read in this process, as the registries list themselves without importing torch."""
    return {
        "presets": {name: configs.load_preset(name) for name in configs.preset_names()},
        "described": {kind: {name: registry.describe(name).description for name in registry.names()}
                      for kind, registry in REGISTRIES.items()},
        "fields": configs.field_help(),
    }


cat = catalogue()
presets: dict = cat["presets"]
described: dict = cat["described"]
names = {kind: list(entries) for kind, entries in described.items()}
helps: dict = cat["fields"]
defaults = configs.Config().to_dict()


def choices_help(kind: str) -> str:
    """The field's help, then one line per choice: what each name is."""
    lines = [f"- **{name}**: {text}" if text else f"- **{name}**" for name, text in described[kind].items()]
    return "\n\n".join([helps.get(kind, ""), "\n".join(lines)])


form, watch = st.columns([2, 3], gap="large")

with form:
    st.subheader("New run")
    # the key's value, not index=, picks the first preset: the "own images" button sets it too
    st.session_state.setdefault("preset", FIRST_RUN_PRESET if FIRST_RUN_PRESET in presets else min(presets))
    preset = st.selectbox("Preset", sorted(presets), key="preset",
                          help="a recipe from training/presets/; the fields below start from it")
    base = {**defaults, **presets[preset]}
    if base.get("description"):
        st.caption(base["description"])
    if base["dataset"] != "folder" and FOLDER_PRESET in presets:
        st.button("Train on your own images", icon=":material/photo_library:", key="own_images",
                  on_click=st.session_state.update, kwargs={"preset": FOLDER_PRESET},
                  help=f"switches to the {FOLDER_PRESET} preset: upload a .zip or pick a folder, see it, then start")
    p = preset  # widget keys carry the preset, so picking another preset resets the fields to its values

    def field_kw(name: str) -> dict:
        return {"help": helps.get(name), "key": f"{name}@{p}"}

    name = st.text_input("Run name", value=preset, key=f"name@{p}",
                         help="the run id adds the date and time; letters, digits, '.', '_', '-'")
    values: dict = {}

    def registry_pick(column, kind: str, label: str) -> None:
        options = names[kind]
        values[kind] = column.selectbox(label, options, index=options.index(base[kind]) if base[kind] in options else 0,
                                        key=f"{kind}@{p}", help=choices_help(kind))

    registry_pick(st, "dataset", "Dataset")   # a row of its own: your images open below it
    images_problem = None
    if values["dataset"] == "folder":
        with st.container(border=True):
            chosen, images_problem = images_panel(base, set(defaults))
        values.update(chosen)
    c1, c2 = st.columns(2)   # two a row: three cut "non-saturating" in a 1400-pixel window
    registry_pick(c1, "model", "Model")
    registry_pick(c2, "loss", "Loss")
    c1, c2, c3 = st.columns(3)
    values["steps"] = c1.number_input("Steps", min_value=1, value=int(base["steps"]), step=100, **field_kw("steps"))
    values["batch_size"] = c2.number_input("Batch size", min_value=1, value=int(base["batch_size"]), step=16,
                                           **field_kw("batch_size"))
    values["n_critic"] = c3.number_input("D steps per G step", min_value=1, value=int(base["n_critic"]),
                                         **field_kw("n_critic"))
    c1, c2, c3 = st.columns(3)
    values["lr_g"] = c1.number_input("G learning rate", min_value=0.0, value=float(base["lr_g"]), step=1e-5,
                                     format="%.2e", **field_kw("lr_g"))
    values["lr_d"] = c2.number_input("D learning rate", min_value=0.0, value=float(base["lr_d"]), step=1e-5,
                                     format="%.2e", **field_kw("lr_d"))
    values["latent_dim"] = c3.number_input("Latent size", min_value=1, value=int(base["latent_dim"]),
                                           **field_kw("latent_dim"))
    # Two a row: in a 1400-pixel window four columns cut "Class-conditional" to "Cl…".
    c1, c2 = st.columns(2)
    values["conditional"] = c1.checkbox("Class-conditional", value=bool(base["conditional"]), **field_kw("conditional"))
    values["ema"] = c2.checkbox("EMA of G", value=bool(base["ema"]), **field_kw("ema"))
    c1, _ = st.columns(2)
    values["clusters"] = c1.number_input("Clusters as classes (no labels needed)", min_value=0, max_value=1000,
                                         value=int(base["clusters"]), **field_kw("clusters"))
    c1, c2 = st.columns(2)
    values["device"] = c1.selectbox("Device", DEVICES, index=DEVICES.index(base["device"]), **field_kw("device"))
    values["precision"] = c2.selectbox("Precision", PRECISIONS, index=PRECISIONS.index(base["precision"]),
                                       **field_kw("precision"))
    with st.expander("Logging and checkpoints"):
        c1, c2 = st.columns(2)
        values["log_every"] = c1.number_input("Log every", min_value=1, value=int(base["log_every"]), **field_kw("log_every"))
        values["sample_every"] = c2.number_input("Samples every", min_value=1, value=int(base["sample_every"]),
                                                 **field_kw("sample_every"))
        c1, c2 = st.columns(2)
        values["checkpoint_every"] = c1.number_input("Checkpoint every", min_value=1,
                                                     value=int(base["checkpoint_every"]), **field_kw("checkpoint_every"))
        values["eval_every"] = c2.number_input("Evaluate every", min_value=0, value=int(base["eval_every"]),
                                               **field_kw("eval_every"))
    extra = st.text_area("More overrides (key=value, one a line)", key=f"extra@{p}",
                         placeholder="label_smoothing=0.1\nbeta1=0.5",
                         help="any config field; `python -m training presets --fields` lists them all")

    # Only what differs from the preset becomes a --set, so the command stays short and readable.
    overrides = [f"{k}={override_value(v)}" for k, v in values.items() if v != base.get(k)]
    overrides += [line.strip() for line in extra.splitlines() if line.strip()]
    problem = None
    try:
        resolved = configs.load_preset(preset)
        for text in overrides:
            key, value = configs.parse_override(text)
            resolved[key] = value
        config = configs.build_config(resolved)
        configs.check_names(config, names)
    except configs.ConfigError as error:
        problem = str(error)
    if images_problem and not problem:
        problem = f"Your images: {images_problem}."
    if not name.strip() or sanitize_name(name) != name.strip().lower():
        safe = sanitize_name(name)
        st.caption(f"The run will be named `{safe}`.")
    argv = train_argv(preset, sanitize_name(name), overrides)
    st.code(shlex.join(["python", *argv[1:]]), language="bash", wrap_lines=True)
    if problem:
        st.error(f"**Invalid settings.** {problem}", icon=":material/tune:")
    if st.button("Start training", icon=":material/rocket_launch:", type="primary", disabled=problem is not None, key="start"):
        with st.spinner("Starting: loading PyTorch and the dataset…"):
            try:
                run = start_training(preset, sanitize_name(name), overrides)
            except LaunchError as error:
                st.error(f"**The run did not start.** {error}\n\nIf the dataset is missing, put it under "
                         "`$GAN_STUDIO_DATA` (or pass `data_root=...` in the overrides) and try again.",
                         icon=":material/error:")
            else:
                st.session_state.setdefault("watching", []).append(run.id)
                st.toast(f"Started {run.id}")

with watch:
    st.subheader("Runs in progress")
    root = runs_dir()
    mine = st.session_state.get("watching", [])
    shown = []
    with section():
        for run in list_runs(root):
            if going(run) or run.id in mine:
                shown.append(run)
    if not shown:
        st.info("Nothing is training right now. Pick a preset and press **Start training**; "
                "finished runs are on the **Runs** page.", icon=":material/bedtime:")
    # newest first: the run you just started is at the top
    for run in sorted(shown, key=lambda r: mtime(r.config_path), reverse=True):
        if not run.path.is_dir():
            continue
        with st.container(border=True):
            run_view(run, key=f"train-{run.id}")

"""Issue 29's catalogue of files that hung or crashed a command, and of the disk: a named pipe or a
device where a file is expected, JSON nested 100,000 deep, a PNG bomb for a sample grid, a model
claiming a billion classes, a 64 MB+ metrics file, a full disk, a read-only output folder and the
temporary files of killed writes. Each case is one clear line (exit status 2) or the package's own
exception, or a command that carries on and names the file it passed over; never a traceback or a
hang (an alarm fails a case that blocks); and every file and folder of the world is the same after,
or, where something must change (a resume that finds the disk full, the leftovers a resume removes),
exactly what should."""
from __future__ import annotations

import errno
import json
import os
import shlex
import time
from pathlib import Path

import pytest

from app import catalogue
from evaluation.cli import main as evaluation_main
from inference import Generator, InferenceError, contract
from inference.cli import main as inference_main
from training.cli.main import main as training_main
from training.runfolder import files as run_files
from training.runfolder.folder import RunFolder

from tests.dataio.common import bomb_png
from tests.helpers import make_onnx_generator, toy_metadata
from tests.hostile.common import call, case_parts, error_line, no_hang, tree

MAINS = {"inference": inference_main, "evaluation": evaluation_main, "training": training_main}
DEEP = "[" * 100_000 + "]" * 100_000


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def deep_card(path: Path) -> None:
    path.write_text('{"name": "x", "metadata": ' + DEEP + "}")


def bare_model(w, spoil_card) -> None:
    """work/bare.onnx: a generator with no metadata of its own, so its card is what describes it."""
    make_onnx_generator(w.work / "bare.onnx", props=None)
    spoil_card(w.work / "bare.json")


def many_classes(w) -> None:
    """work/many.onnx: a real conditional generator whose metadata claims 10**9 classes (no names)."""
    props = contract.metadata_to_props(toy_metadata(num_classes=3))
    props = {k: v for k, v in props.items() if k != contract.PREFIX + "class_names"}
    make_onnx_generator(w.work / "many.onnx", num_classes=3, props=props | {contract.PREFIX + "num_classes": str(10**9)})


def deep_props(w) -> None:
    props = contract.metadata_to_props(toy_metadata()) | {contract.PREFIX + "metrics": DEEP}
    make_onnx_generator(w.work / "deep.onnx", props=props)


def evaluator_with(w, **props) -> None:
    import onnx

    from evaluation.evaluators import EVALUATOR_DIR

    model = onnx.load(str(EVALUATOR_DIR / "mnist-cnn.onnx"))
    for prop in model.metadata_props:
        prop.value = props.get(prop.key, prop.value)
    onnx.save(model, str(w.work / "odd-cnn.onnx"))


def huge_metrics(w, monkeypatch) -> None:
    """metrics.jsonl past the readers' limit (lowered to 2 KB here, 64 MB really): its tail is read."""
    monkeypatch.setattr(run_files, "ROWS_LIMIT", 2048)
    with open(w.run_path / "metrics.jsonl", "a") as f:
        for step in range(11, 200):
            f.write(json.dumps({"step": step, "loss_d": 0.5}) + "\n")


def run_file(name: str):
    return lambda w: w.run_path / name


R = "{run} --runs-dir {runs}"  # a run id and where it lives
PIPE = "is a named pipe, not a regular file"
SPOILS = {  # what a case does to its world before the command runs
    "status-pipe": lambda w, m: fifo(w.run_path / "status.json"),
    "config-pipe": lambda w, m: fifo(w.run_path / "config.json"),
    "metrics-pipe": lambda w, m: fifo(w.run_path / "metrics.jsonl"),
    "health-pipe": lambda w, m: fifo(w.run_path / "health.jsonl"),
    "grid-pipe": lambda w, m: fifo(w.run_path / "samples" / "step_0000010.png"),
    "grid-bomb": lambda w, m: (w.run_path / "samples" / "step_0000010.png").write_bytes(bomb_png()),
    "last-pipe": lambda w, m: fifo(w.run_path / "checkpoints" / "last.pt"),
    "config-deep": lambda w, m: (w.run_path / "config.json").write_text('{"a": ' + DEEP + "}"),
    "status-deep": lambda w, m: (w.run_path / "status.json").write_text('{"a": ' + DEEP + "}"),
    "card-pipe": lambda w, m: fifo(w.models / "mnist-dcgan.json"),
    "card-deep": lambda w, m: deep_card(w.models / "mnist-dcgan.json"),
    "bare-card-pipe": lambda w, m: bare_model(w, fifo),
    "bare-card-deep": lambda w, m: bare_model(w, deep_card),
    "props-deep": lambda w, m: deep_props(w),
    "many-classes": lambda w, m: many_classes(w),
    "onnx-pipe": lambda w, m: fifo(w.work / "pipe.onnx"),
    "evaluator-pipe": lambda w, m: fifo(w.work / "odd-cnn.onnx"),
    "evaluator-deep": lambda w, m: evaluator_with(w, class_names=DEEP),
    "half-pipe": lambda w, m: fifo(w.models / "mnist-dcgan.fp16.onnx"),
    "huge-metrics": huge_metrics,
    "nothing": lambda w, m: None,
}
CASES = [  # id, spoil, CLI (or "api"), arguments (or a call), exit status (or exception), words
    # (3) files that hung or crashed a command
    ("runs-status-pipe", "status-pipe", "training", "runs --runs-dir {runs}", 0, f"unreadable: status.json {PIPE}"),
    ("runs-config-pipe", "config-pipe", "training", "runs --runs-dir {runs}", 0, "{run}"),
    ("runs-health-pipe", "health-pipe", "training", "runs --runs-dir {runs}", 0, "finished"),
    ("runs-status-deep", "status-deep", "training", "runs --runs-dir {runs}", 0, "nests more than 64 levels deep"),
    ("resume-config-pipe", "config-pipe", "training", f"resume {R} --set steps=20", 2, f"config.json {PIPE}"),
    ("resume-config-deep", "config-deep", "training", f"resume {R} --set steps=20", 2,
     "config.json nests more than 64 levels deep"),
    ("resume-metrics-pipe", "metrics-pipe", "training", f"resume {R} --set steps=20", 2, f"metrics.jsonl {PIPE}"),
    ("export-last-pipe", "last-pipe", "training", f"export {R} --out {{work}}/g.onnx", 2, PIPE),
    ("timelapse-grid-pipe", "grid-pipe", "training", f"timelapse {R} --out {{work}}/t.gif", 2,
     f"sample grid step_0000010.png {PIPE}"),
    ("timelapse-grid-bomb", "grid-bomb", "training", f"timelapse {R} --out {{work}}/t.gif", 2,
     "sample grid step_0000010.png declares 900000000 pixels"),
    ("upgrade-card-pipe", "card-pipe", "training", "upgrade {shipped} --out {work}/u.onnx", 2, f"mnist-dcgan.json {PIPE}"),
    ("upgrade-card-deep", "card-deep", "training", "upgrade {shipped} --out {work}/u.onnx", 2,
     "nests more than 64 levels deep"),
    ("upgrade-half-pipe", "half-pipe", "training", "upgrade {shipped} --out {work}/u.onnx", 2,
     "mnist-dcgan.fp16.onnx is not a regular file"),
    ("evaluate-update-card-deep", "card-deep", "training", "evaluate {shipped} --update-card --n 10", 2,
     "nests more than 64 levels deep"),
    ("inf-card-pipe", "bare-card-pipe", "inference", "{work}/bare.onnx --info", 2, f"bare.json {PIPE}"),
    ("inf-card-deep", "bare-card-deep", "inference", "{work}/bare.onnx --info", 2, "nests more than 64 levels deep"),
    ("inf-props-deep", "props-deep", "inference", "{work}/deep.onnx --info", 2, "nests more than 64 levels deep"),
    ("inf-many-classes", "many-classes", "inference", "{work}/many.onnx --info", 2,
     "'num_classes' = '1000000000': must be at most 100,000"),
    ("inf-onnx-pipe", "onnx-pipe", "inference", "{work}/pipe.onnx --info", 2, "not a file"),
    ("inf-dev-zero", "nothing", "inference", "/dev/zero --info", 2, "not a file"),
    ("eval-card-deep", "bare-card-deep", "evaluation", "{work}/bare.onnx --n 10", 2, "nests more than 64 levels deep"),
    ("eval-evaluator-pipe", "evaluator-pipe", "evaluation", "{shipped} --n 10 --evaluator {work}/odd-cnn.onnx", 2,
     "odd-cnn.onnx"),
    ("eval-evaluator-deep", "evaluator-deep", "evaluation", "{shipped} --n 10 --evaluator {work}/odd-cnn.onnx", 2,
     "nests more than 64 levels deep"),
    ("api-many-classes", "many-classes", "api", lambda w: Generator.load(w.work / "many.onnx"), InferenceError,
     "must be at most 100,000"),
    ("api-upload-many-classes", "many-classes", "api",
     lambda w: catalogue.check_upload((w.work / "many.onnx").read_bytes(), "many.onnx"), InferenceError,
     "must be at most 100,000"),
    ("api-status-pipe", "status-pipe", "api", lambda w: RunFolder(w.run_path).live_status()["message"], None, PIPE),
    ("api-huge-metrics", "huge-metrics", "api", lambda w: RunFolder(w.run_path).read_metrics().skipped[0], None,
     "not read (only the last 0 MB"),
    ("api-grid-pipe", "grid-pipe", "api", lambda w: RunFolder(w.run_path).sample_grids()[-1].name, None,
     "step_0000010.png"),
]


@pytest.fixture
def models_env(world, monkeypatch):
    """The app's models folder is the world's (an accepted upload would land there)."""
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(world.models))
    return world


@pytest.mark.parametrize("spoil, command, args, expected, words",
                         [pytest.param(*values[1:], marks=marks, id=values[0]) for values, marks in map(case_parts, CASES)])
def test_a_file_that_would_hang_or_crash_is_one_clear_line_and_changes_nothing(models_env, capsys, monkeypatch,
                                                                              restore_logging, spoil, command, args,
                                                                              expected, words):
    world = models_env
    SPOILS[spoil](world, monkeypatch)
    before = tree(world.root)
    with no_hang():
        if command == "api" and isinstance(expected, type):
            with pytest.raises(expected) as caught:
                args(world)
            message = str(caught.value)
        elif command == "api":
            message = args(world)
        else:
            code, out, err = call(MAINS[command], shlex.split(args.format(**world.names)), capsys)
            assert "Traceback" not in out + err, err
            if expected == 2:
                error_line(err)
            assert code == expected, (code, err)
            message = out + err
    assert words.format(**world.names) in message, message
    assert tree(world.root) == before, "a case changed, added or removed a file or folder"


def test_the_catalogue_covers_every_command_line_and_the_apis():
    ids = [case_parts(case)[0][0] for case in CASES]
    assert len(ids) == len(set(ids)) >= 25
    assert {case_parts(case)[0][2] for case in CASES} == {"inference", "evaluation", "training", "api"}


# (4) the disk
def no_space_in(folder: Path, monkeypatch) -> None:
    """Every write that reaches fsync in ``folder`` finds the disk full (ENOSPC), as a full disk answers."""
    real_fsync = os.fsync

    def fsync(fd):
        if Path(os.readlink(f"/proc/self/fd/{fd}")).parent == folder:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)


def test_a_full_disk_at_a_checkpoint_is_one_line_and_the_older_checkpoint_survives(world, capsys, monkeypatch,
                                                                                  restore_logging):
    checkpoints = world.run_path / "checkpoints"
    kept = tree(checkpoints)
    no_space_in(checkpoints, monkeypatch)
    with no_hang():
        code, out, err = call(training_main, ["resume", world.run, "--runs-dir", str(world.runs), "--set", "steps=20"],
                              capsys)
    assert code == 2 and "Traceback" not in out + err, err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: the disk is full: ") and f"MB free in {checkpoints}; free space and resume " \
        f"(`python -m training resume {world.run}`" in line, line
    assert tree(checkpoints) == kept  # last.pt (step 10) and the step files whole, and no temporary file left
    status = RunFolder(world.run_path).read_status()
    assert status["state"] == "failed" and "the disk is full" in status["message"]


def test_a_full_disk_under_an_output_leaves_no_file_and_says_what_is_free(world, capsys, monkeypatch, restore_logging):
    before = tree(world.root)
    no_space_in(world.work, monkeypatch)
    with no_hang():
        code, out, err = call(training_main, ["timelapse", world.run, "--runs-dir", str(world.runs),
                                              "--out", str(world.work / "t.gif")], capsys)
    assert code == 2 and "Traceback" not in out + err, err
    assert err.strip() == f"error: the disk is full: {err.split('full: ')[1].split(' MB')[0]} MB free in {world.work}; " \
        "free space and run the command again; t.gif was left as it was."
    assert tree(world.root) == before


READ_ONLY_CASES = [  # CLI, arguments (the output in work/ro), the function that does the work
    ("evaluation", "{shipped} --n 10 --json {work}/ro/r.json", "evaluation.cli.evaluate_generator"),
    ("training", "evaluate {shipped} --n 10 --json {work}/ro/r.json", "training.evaluate.evaluate_target"),
    ("training", f"export {R} --out {{work}}/ro/g.onnx", "training.export.generator.export_run"),
    ("inference", "{toy} --out {work}/ro/x.png", "inference.Generator.generate"),
    ("inference", "{toy} --interpolate 1 2 --gif {work}/ro/x.gif", "inference.Generator.generate"),
    ("training", f"timelapse {R} --out {{work}}/ro/t.gif", "training.cli.timelapse.make_timelapse"),
    ("training", "upgrade {toy} --out {work}/ro/u.onnx", "training.export.upgrade.upgrade_model"),
]


@pytest.mark.parametrize("command, args, work", READ_ONLY_CASES, ids=[f"{c}-{a.split()[0]}-{w.split('.')[-1]}"
                                                                      for c, a, w in READ_ONLY_CASES])
def test_a_read_only_output_folder_fails_before_the_work(world, capsys, monkeypatch, restore_logging, command, args,
                                                        work):
    read_only = world.work / "ro"
    read_only.mkdir(mode=0o555)
    # As root, access() grants every write: answer for this folder as it does for its other users.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if Path(path) == read_only and mode & os.W_OK
                        else real_access(path, mode, **kw))

    def began(*_, **__):
        raise AssertionError("the work began before the output folder was checked")

    monkeypatch.setattr(work, began)
    before = tree(world.root)
    with no_hang():
        code, out, err = call(MAINS[command], shlex.split(args.format(**world.names)), capsys)
    assert code == 2 and "Traceback" not in out + err, err
    assert err.strip().endswith(f"cannot write in {read_only} (permission denied); choose a folder you can write to."), err
    assert tree(world.root) == before


def test_the_temporary_files_of_killed_writes_go_when_the_run_resumes(world, capsys, restore_logging):
    old = time.time() - 3600
    run = world.run_path
    left = [run / "checkpoints" / ".last.pt.k3j_x9q2.tmp", run / "checkpoints" / ".step_0000010.pt.abcdefgh.tmp",
            run / "samples" / ".step_0000010.png.a1b2c3d4.tmp", run / ".status.json.oldoldol.tmp"]
    kept = [run / ".generator.json.freshfre.tmp",  # another process's write, seconds old: maybe in progress
            run / "checkpoints" / "notes.tmp"]       # a user's file: not our pattern
    for path in left + kept:
        path.write_bytes(b"\0" * 1_000_000)
    for path in left:
        os.utime(path, (old, old))
    with no_hang():
        code, _, err = call(training_main, ["resume", world.run, "--runs-dir", str(world.runs), "--set", "steps=12"],
                            capsys)
    assert code == 0, err
    assert "removed 4 temporary file(s) of killed writes (3.8 MB)" in err
    assert not any(path.exists() for path in left) and all(path.exists() for path in kept)


# the app's pages, over the same hostile files
APP_CASES = [  # id, spoil, page, words the page shows in place of what it could not read
    ("runs-status-pipe", "status-pipe", "app/pages/runs.py", f"status.json {PIPE}"),
    ("runs-grid-bomb", "grid-bomb", "app/pages/runs.py", "sample grid step_0000010.png declares 900000000 pixels"),
    ("runs-huge-metrics", "huge-metrics", "app/pages/runs.py", "not read (only the last 0 MB"),
    ("models-many-classes", "many-classes", "app/pages/model_files.py", "must be at most 100,000"),
    ("explore-card-deep", "card-deep", "app/pages/explore.py", "nests more than 64 levels deep"),
]


@pytest.mark.parametrize("spoil, page, words", [pytest.param(*case[1:], id=case[0]) for case in APP_CASES])
def test_an_app_page_over_a_hostile_file_shows_what_it_passed_over_and_goes_on(world, monkeypatch, spoil, page, words):
    from tests.helpers import app_text, new_app  # Streamlit: only the app cases need it

    if spoil == "many-classes":  # the model claiming 10**9 classes sits in the models folder
        SPOILS[spoil](world, monkeypatch)
        for suffix in (".onnx", ".json"):
            (world.work / f"many{suffix}").rename(world.models / f"many{suffix}")
    else:
        SPOILS[spoil](world, monkeypatch)
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(world.runs))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(world.models))
    before = tree(world.root)
    with no_hang():
        at = new_app()
        at.session_state["open_model"] = str(world.shipped)  # Explore opens the model whose card was spoiled
        at.switch_page(page).run()
    assert words.format(**world.names) in app_text(at)
    assert tree(world.root) == before

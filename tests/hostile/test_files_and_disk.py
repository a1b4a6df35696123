"""Issue 29's catalogue of files that hung or crashed a command, and of the disk: a named pipe or a
device where a file is expected, JSON nested 100,000 deep, a PNG bomb for a sample grid, a model
claiming a billion classes, a 64 MB+ metrics file, a full disk, a read-only output folder and the
temporary files of killed writes. Each case is one clear line (exit status 2) or the package's own
exception, or a command that carries on and names the file it passed over; never a traceback or a
hang (an alarm fails a case that blocks); and every file and folder of the world is the same after,
but for the ones a case lists as changed (what a resume that fails on a full disk leaves, say)."""
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
from studio.files import FileRefused
from training.cli.main import main as training_main
from training.runfolder import files as run_files
from training.runfolder.folder import RunFolder

from tests.dataio.common import bomb_png
from tests.helpers import make_onnx_generator, toy_metadata
from tests.hostile.common import call, case_parts, no_hang, tree

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
CASES = [  # id, spoil, CLI (or "api"), arguments (or a call), exit status (or exception), words, what may change
    # (3) files that hung or crashed a command
    ("runs-status-pipe", "status-pipe", "training", "runs --runs-dir {runs}", 0, f"unreadable: status.json {PIPE}", ()),
    ("runs-config-pipe", "config-pipe", "training", "runs --runs-dir {runs}", 0, "{run}", ()),
    ("runs-health-pipe", "health-pipe", "training", "runs --runs-dir {runs}", 0, "finished", ()),
    ("runs-status-deep", "status-deep", "training", "runs --runs-dir {runs}", 0, "nests more than 64 levels deep", ()),
    ("resume-config-pipe", "config-pipe", "training", f"resume {R} --set steps=20", 2, f"config.json {PIPE}", ()),
    ("resume-config-deep", "config-deep", "training", f"resume {R} --set steps=20", 2,
     "config.json nests more than 64 levels deep", ()),
    ("resume-metrics-pipe", "metrics-pipe", "training", f"resume {R} --set steps=20", 2, f"metrics.jsonl {PIPE}", ()),
    ("export-last-pipe", "last-pipe", "training", f"export {R} --out {{work}}/g.onnx", 2, PIPE, ()),
    ("timelapse-grid-pipe", "grid-pipe", "training", f"timelapse {R} --out {{work}}/t.gif", 2,
     f"sample grid step_0000010.png {PIPE}", ()),
    ("timelapse-grid-bomb", "grid-bomb", "training", f"timelapse {R} --out {{work}}/t.gif", 2,
     "sample grid step_0000010.png declares 900000000 pixels", ()),
    ("upgrade-card-pipe", "card-pipe", "training", "upgrade {shipped} --out {work}/u.onnx", 2, f"mnist-dcgan.json {PIPE}",
     ()),
    ("upgrade-card-deep", "card-deep", "training", "upgrade {shipped} --out {work}/u.onnx", 2,
     "nests more than 64 levels deep", ()),
    ("upgrade-half-pipe", "half-pipe", "training", "upgrade {shipped} --out {work}/u.onnx", 2,
     "mnist-dcgan.fp16.onnx is not a regular file", ()),
    ("evaluate-update-card-deep", "card-deep", "training", "evaluate {shipped} --update-card --n 10", 2,
     "nests more than 64 levels deep", ()),
    ("inf-card-pipe", "bare-card-pipe", "inference", "{work}/bare.onnx --info", 2, f"bare.json {PIPE}", ()),
    ("inf-card-deep", "bare-card-deep", "inference", "{work}/bare.onnx --info", 2, "nests more than 64 levels deep", ()),
    ("inf-props-deep", "props-deep", "inference", "{work}/deep.onnx --info", 2, "nests more than 64 levels deep", ()),
    ("inf-many-classes", "many-classes", "inference", "{work}/many.onnx --info", 2,
     "'num_classes' = '1000000000': must be at most 100,000", ()),
    ("inf-onnx-pipe", "onnx-pipe", "inference", "{work}/pipe.onnx --info", 2, "not a file", ()),
    ("inf-dev-zero", "nothing", "inference", "/dev/zero --info", 2, "not a file", ()),
    ("eval-card-deep", "bare-card-deep", "evaluation", "{work}/bare.onnx --n 10", 2, "nests more than 64 levels deep", ()),
    ("eval-evaluator-pipe", "evaluator-pipe", "evaluation", "{shipped} --n 10 --evaluator {work}/odd-cnn.onnx", 2,
     "odd-cnn.onnx", ()),
    ("eval-evaluator-deep", "evaluator-deep", "evaluation", "{shipped} --n 10 --evaluator {work}/odd-cnn.onnx", 2,
     "nests more than 64 levels deep", ()),
    ("api-many-classes", "many-classes", "api", lambda w: Generator.load(w.work / "many.onnx"), InferenceError,
     "must be at most 100,000", ()),
    ("api-upload-many-classes", "many-classes", "api",
     lambda w: catalogue.check_upload((w.work / "many.onnx").read_bytes(), "many.onnx"), InferenceError,
     "must be at most 100,000", ()),
    ("api-status-pipe", "status-pipe", "api", lambda w: RunFolder(w.run_path).live_status()["message"], None, PIPE, ()),
    ("api-huge-metrics", "huge-metrics", "api", lambda w: RunFolder(w.run_path).read_metrics().skipped[0], None,
     "not read (only the last 0 MB", ()),
    ("api-grid-pipe", "grid-pipe", "api", lambda w: RunFolder(w.run_path).sample_grids()[-1].name, None,
     "step_0000010.png", ()),
]


@pytest.fixture
def models_env(world, monkeypatch):
    """The app's models folder is the world's (an accepted upload would land there)."""
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(world.models))
    return world


@pytest.mark.parametrize("spoil, command, args, expected, words, changes",
                         [pytest.param(*values[1:], marks=marks, id=values[0]) for values, marks in map(case_parts, CASES)])
def test_a_file_that_would_hang_or_crash_is_one_clear_line_and_changes_nothing(models_env, capsys, monkeypatch,
                                                                              restore_logging, spoil, command, args,
                                                                              expected, words, changes):
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
                lines = [line for line in err.splitlines() if line.strip() and not line.startswith("note: ")]
                assert len(lines) == 1 and lines[0].startswith("error: "), (code, err)
            assert code == expected, (code, err)
            message = out + err
    assert words.format(**world.names) in message, message
    assert tree(world.root) == before, "a case changed, added or removed a file or folder"


def test_the_catalogue_covers_every_command_line_and_the_apis():
    ids = [case_parts(case)[0][0] for case in CASES]
    assert len(ids) == len(set(ids)) >= 25
    assert {case_parts(case)[0][2] for case in CASES} == {"inference", "evaluation", "training", "api"}

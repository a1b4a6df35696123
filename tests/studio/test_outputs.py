"""studio.outputs: what an output option may replace (with --force, or never), and the atomic write."""
import errno
import os
import re
import shutil
import subprocess

import pytest

from studio import outputs
from studio.files import DiskFull
from studio.outputs import OutputRefused, check_output, is_shipped, why_never, write_atomically

from tests.helpers import REPO_ROOT


@pytest.fixture
def place(tmp_path):
    """A model with its card and report, a run folder, a file of the user's."""
    models, run = tmp_path / "models", tmp_path / "runs" / "r-1"
    models.mkdir()
    for name in ("g.onnx", "g.json", "g.eval.json"):
        (models / name).write_text(name)
    (run / "samples").mkdir(parents=True)
    for name in ("config.json", "status.json", "samples/step_10.png"):
        (run / name).write_text(name)
    (tmp_path / "mine.png").write_text("mine")
    return tmp_path


def test_a_new_file_is_fine_and_an_existing_one_needs_force(place):
    assert check_output(place / "new.png", "--out", force=False) == place / "new.png"
    with pytest.raises(OutputRefused, match=r"--out .*mine.png exists; pass --force to replace it"):
        check_output(place / "mine.png", "--out", force=False)
    assert check_output(place / "mine.png", "--out", force=True) == place / "mine.png"


@pytest.mark.parametrize("name, words", [
    ("models/g.json", "is the model card of g.onnx"),
    ("models/g.eval.json", "is the evaluation report of g.onnx"),
    ("models/g.onnx", "is a model (its card g.json is beside it)"),
    ("runs/r-1/config.json", "lies inside the run folder"),
    ("runs/r-1/samples/step_10.png", "lies inside the run folder"),
    ("runs/r-1/samples/new.png", "lies inside the run folder"),  # a new file in a run is the run's too
    ("runs/r-1/samples/../status.json", "lies inside the run folder"),
])
def test_what_no_output_replaces_even_with_force(place, name, words):
    with pytest.raises(OutputRefused, match=re.escape(words) + r".*: an output never replaces it, even with --force; "):
        check_output(place / name, "--json", force=True)
    assert why_never(place / name) is not None


def test_a_link_is_judged_by_where_it_leads(place):
    (place / "innocent.json").symlink_to(place / "runs" / "r-1" / "config.json")
    (place / "door").symlink_to(place / "runs" / "r-1")
    for path in (place / "innocent.json", place / "door" / "x.png", place / "runs" / "x" / ".." / "r-1" / "y.png"):
        with pytest.raises(OutputRefused, match="lies inside the run folder"):
            check_output(path, "--out", force=True)


def test_an_export_replaces_its_own_model_and_card_but_no_other_card(place):
    models = place / "models"
    written = [models / "g.json", models / "g.eval.json"]
    with pytest.raises(OutputRefused, match="would replace g.onnx, g.json, g.eval.json in .*; pass --force"):
        check_output(models / "g.onnx", "--out", force=False, replaces=written, model=True)
    assert check_output(models / "g.onnx", "--out", force=True, replaces=written, model=True)
    # g.eval.onnx's card would be g.eval.json: the report of g.onnx, which no export of another model replaces
    with pytest.raises(OutputRefused, match="would also write g.eval.json, which is the evaluation report of g.onnx"):
        check_output(models / "g.eval.onnx", "--out", force=True, replaces=[models / "g.eval.json"], model=True)


def test_a_command_never_writes_over_what_it_reads(place):
    with pytest.raises(OutputRefused, match="which the command reads"):
        check_output(place / "mine.png", "--out", force=True, inputs=[place / "target.png", place / "mine.png"])


def test_the_shipped_files_are_never_outputs_and_their_list_is_complete():
    for name in ("exported/mnist-dcgan.onnx", "exported/evaluators/mnist-cnn.onnx", "training/presets/dcgan-mnist.yaml",
                 "sweeps/dcgan-mnist.yaml"):
        assert is_shipped(REPO_ROOT / name), name
        with pytest.raises(OutputRefused, match="shipped with GAN Studio"):
            check_output(REPO_ROOT / name, "--out", force=True, model=True)
    assert not is_shipped(REPO_ROOT / "exported" / "mine-20270101.onnx")  # a new file of the user's
    if shutil.which("git") is None or not (REPO_ROOT / ".git").exists():
        pytest.skip("no git checkout to compare exported/SHIPPED.txt with")
    tracked = subprocess.run(["git", "ls-files", "exported"], cwd=REPO_ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    listed = {REPO_ROOT / "exported" / line.strip() for line in outputs.SHIPPED_LIST.read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    missing = {REPO_ROOT / name for name in tracked} - listed - {outputs.SHIPPED_LIST}
    assert not missing, f"add these to exported/SHIPPED.txt: {sorted(map(str, missing))}"


def test_a_write_is_whole_or_not_at_all_and_replaces_a_link_not_its_target(tmp_path):
    path = write_atomically(tmp_path / "new" / "a.bin", b"one")
    assert path.read_bytes() == b"one" and oct(path.stat().st_mode & 0o777) == "0o644"
    write_atomically(path, b"two")
    assert path.read_bytes() == b"two" and os.listdir(path.parent) == ["a.bin"]
    (tmp_path / "target").write_bytes(b"kept")
    (tmp_path / "link.bin").symlink_to(tmp_path / "target")
    write_atomically(tmp_path / "link.bin", b"new")
    assert (tmp_path / "target").read_bytes() == b"kept" and not (tmp_path / "link.bin").is_symlink()
    with pytest.raises(TypeError):  # a write that fails half-way leaves the old file and no temporary one
        write_atomically(path, "text, not bytes")
    assert path.read_bytes() == b"two" and os.listdir(path.parent) == ["a.bin"]


def test_a_write_that_finds_the_disk_full_is_one_line_and_leaves_the_old_file(tmp_path, monkeypatch):
    path = write_atomically(tmp_path / "report.json", b"old")
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, *args, **kwargs):
            self.file = real_fdopen(*args, **kwargs)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fdopen", Full)
    with pytest.raises(DiskFull, match=rf"^the disk is full: [\d,.]+ MB free in {tmp_path}; free space and run the "
                                       "command again; report.json was left as it was.$"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["report.json"]

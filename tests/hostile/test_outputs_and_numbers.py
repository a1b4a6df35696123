"""Issue 29's catalogue of output options that would overwrite what a user owns, and of numbers and
YAML that crashed or misled: each is refused with one clear line (exit status 2) or the package's
own exception, never a traceback or a hang (an alarm fails a case that blocks), and nothing on disk
changes: every file and folder of the world (models, run folder, odd files) is the same after, and
no run folder or study appears. Where --force is meant to replace a user's own file, exactly that
file changes. "Shipped" here is a tmp copy marked shipped (studio.outputs' list is patched), and the
real presets, whose hashes are checked too."""
from __future__ import annotations

import os
import shlex
import shutil

import pytest

from evaluation.cli import main as evaluation_main
from inference.cli import main as inference_main
from studio import outputs
from training import config as configs
from training.cli.main import main as training_main
from training.sweep.space import SpaceError, load_space

from tests.helpers import REPO_ROOT
from tests.hostile.common import call, case_parts, error_line, no_hang, tree

MAINS = {"inference": inference_main, "evaluation": evaluation_main, "training": training_main}
PRESET = REPO_ROOT / "training" / "presets" / "gan-mlp-mnist.yaml"
SEED_CAP = "9,007,199,254,740,991"
LAUGHS = 'a: &a ["lol", "lol"]\n' + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                                           for i in range(9))
SETTINGS = {  # odd settings files in the work folder, by name
    "deep.yaml": "[" * 20_000 + "]" * 20_000,  # 100,000 deep would be refused for its size first (big.yaml)
    "deep.json": "[" * 20_000 + "]" * 20_000,
    "laughs.yaml": LAUGHS,
    "twice.yaml": "steps: 10\nbatch_size: 8\nsteps: 20\n",
    "twice.json": '{\n  "steps": 10,\n  "steps": 20\n}\n',
    "null-key.yaml": "steps: 10\n~: 3\n",
    "number-key.yaml": "1: 3\n",
    "octal.yaml": "steps: 010\n",
    "digits.yaml": "seed: " + "9" * 5000 + "\n",
    "big.yaml": "steps: 10\n" + "# padding\n" * 10_000,
    "seed-space.yaml": "preset: gan-mlp-mnist\nfixed: {steps: 20, eval_every: 10}\n"
                       "search: {seed: {low: 0, high: 18446744073709551616}}\n",
    "seed-fixed-space.yaml": "preset: gan-mlp-mnist\nfixed: {steps: 20, eval_every: 10, seed: 9007199254740992}\n"
                             "search: {lr_g: {low: 1.0e-4, high: 1.0e-3}}\n",
    "octal-space.yaml": "preset: gan-mlp-mnist\nfixed: {steps: 020, eval_every: 10}\nsearch: {lr_g: {low: 1.0e-4, high: 1.0e-3}}\n",
    "twice-space.yaml": "preset: gan-mlp-mnist\nfixed: {steps: 20, eval_every: 10}\nsearch:\n  lr_g: {low: 1.0e-4, high: 1.0e-3}\n"
                        "  lr_g: {low: 1.0e-5, high: 1.0e-3}\n",
}


@pytest.fixture
def place(world, monkeypatch):
    """The world plus a user's own files, links into the run, odd settings files, a pipe, and a model
    copy (bundled.onnx with its card) that counts as shipped."""
    work, models = world.work, world.models
    for name in ("old.json", "old.png", "old.gif", "old.yaml"):
        (work / name).write_bytes(b"the user's own " + name.encode())
    (work / "link.json").symlink_to(world.run_path / "config.json")
    (work / "into-run").symlink_to(world.run_path)
    for name, text in SETTINGS.items():
        (work / name).write_text(text)
    os.mkfifo(work / "fifo.yaml")
    shutil.copy(world.toy, models / "bundled.onnx")
    (models / "bundled.json").write_text('{"name": "bundled"}\n')
    shipped = frozenset((models / name).resolve() for name in ("bundled.onnx", "bundled.json"))
    monkeypatch.setattr(outputs, "_shipped_list", lambda: shipped)
    world.names.update(repo=str(REPO_ROOT), preset=str(PRESET))
    return world


R = "{run} --runs-dir {runs}"  # a run id and where it lives
NEVER = "an output never replaces it, even with --force"
CASES = [  # id, CLI (or "api"), arguments (or a call), exit status (or exception), words of the message
    # (1) output options over what a user owns
    ("eval-json-over-card", "evaluation", "{shipped} --json {models}/mnist-dcgan.json --force", 2,
     f"is the model card of mnist-dcgan.onnx beside it: {NEVER}"),
    ("eval-json-over-report", "evaluation", "{shipped} --json {models}/mnist-dcgan.eval.json --force", 2,
     "is the evaluation report of mnist-dcgan.onnx"),
    ("eval-json-exists", "evaluation", "{shipped} --json {work}/old.json", 2, "exists; pass --force to replace it"),
    ("eval-json-run-status", "evaluation", "{shipped} --json {run_path}/status.json --force", 2,
     "lies inside the run folder"),
    ("evaluate-json-run-config", "training", f"evaluate {R} --json {{run_path}}/config.json --force", 2,
     "lies inside the run folder"),
    ("evaluate-json-link-to-config", "training", f"evaluate {R} --json {{work}}/link.json --force", 2,
     "lies inside the run folder"),
    ("evaluate-json-dotdot", "training", f"evaluate {R} --json {{run_path}}/samples/../eval.json --force", 2,
     "lies inside the run folder"),
    ("evaluate-json-over-card", "training", "evaluate {shipped} --json {models}/mnist-dcgan.json --force", 2,
     "is the model card of mnist-dcgan.onnx"),
    ("evaluate-json-exists", "training", "evaluate {shipped} --json {work}/old.json", 2, "exists; pass --force"),
    ("inf-out-exists", "inference", "{toy} --out {work}/old.png", 2, "old.png exists; pass --force to replace it"),
    ("inf-gif-exists", "inference", "{toy} --interpolate 1 2 --gif {work}/old.gif", 2, "old.gif exists; pass --force"),
    ("inf-out-in-run", "inference", "{toy} --out {run_path}/samples/mine.png --force", 2, "lies inside the run folder"),
    ("inf-gif-through-link", "inference", "{toy} --interpolate 1 2 --gif {work}/into-run/walk.gif --force", 2,
     "lies inside the run folder"),
    ("inf-project-over-target", "inference", "{toy} --project {work}/old.png --out {work}/old.png --force", 2,
     "old.png, which the command reads"),
    ("inf-latent-out-in-run", "inference",
     "{toy} --project {work}/old.png --out {work}/m.png --latent-out {run_path}/z.npy --force", 2, "inside the run"),
    ("timelapse-exists", "training", f"timelapse {R} --out {{work}}/old.gif", 2, "exists; pass --force"),
    ("timelapse-in-run", "training", f"timelapse {R} --out {{run_path}}/run.gif --force", 2, "inside the run folder"),
    ("export-into-another-folder-of-a-run", "training", f"export {R} --out {{run_path}}/samples/g.onnx --force", 2,
     "lies inside the run folder"),
    ("export-card-is-a-report", "training", f"export {R} --out {{models}}/mnist-dcgan.eval.onnx --force", 2,
     "would also write mnist-dcgan.eval.json, which is the evaluation report of mnist-dcgan.onnx"),
    ("export-over-shipped", "training", f"export {R} --out {{models}}/bundled.onnx --force", 2,
     f"is a file shipped with GAN Studio: {NEVER}"),
    ("upgrade-shipped-in-place", "training", "upgrade {models}/bundled.onnx --force", 2, "is shipped with GAN Studio"),
    ("upgrade-out-is-the-model", "training", "upgrade {toy} --out {toy} --force", 2, "which the command reads"),
    ("upgrade-out-card-is-a-report", "training", "upgrade {toy} --out {models}/mnist-dcgan.eval.onnx --force", 2,
     "which is the evaluation report of mnist-dcgan.onnx"),
    ("encoder-out-over-a-model", "training", "train-encoder {toy} --out {shipped} --force", 2,
     "is a model (its card mnist-dcgan.json is beside it)"),
    ("encoder-out-in-run", "training", "train-encoder {toy} --out {run_path}/e.onnx", 2, "inside the run folder"),
    ("best-config-exists", "training", "sweep --report --study s --runs-dir {runs} --best-config {work}/old.yaml", 2,
     "old.yaml exists; pass --force"),
    ("best-config-over-a-preset", "training", "sweep --report --study s --runs-dir {runs} --best-config {preset} --force",
     2, "is a file shipped with GAN Studio"),
    ("best-config-in-run", "training",
     "sweep --report --study s --runs-dir {runs} --best-config {run_path}/best.yaml --force", 2, "inside the run folder"),
    # (2) numbers and YAML that crashed or misled
    ("train-seed-2-64", "training", "train --preset gan-mlp-mnist --set seed=18446744073709551616 --runs-dir {runs}", 2,
     "seed must be at most 9007199254740991; got 18446744073709551616 (seeds run from 0 to 2**53 - 1"),
    ("train-seed-2-53", "training", "train --preset gan-mlp-mnist --set seed=9007199254740992 --runs-dir {runs}", 2,
     "seed must be at most 9007199254740991"),
    ("train-steps-octal", "training", "train --preset gan-mlp-mnist --set steps=010 --runs-dir {runs}", 2,
     "010 has a leading zero, which YAML 1.1 reads as an octal number (010 would be 8); write 10"),
    ("train-steps-08", "training", "train --preset gan-mlp-mnist --set steps=08 --runs-dir {runs}", 2, "write 8"),
    ("train-steps-base-60", "training", "train --preset gan-mlp-mnist --set steps=1:30 --runs-dir {runs}", 2,
     "1:30 is a base-60 number to YAML 1.1 (1:30 would be read as 90)"),
    ("train-set-deep", "training", "train --preset gan-mlp-mnist --set seed=" + "[" * 5000 + " --runs-dir {runs}", 2,
     "--set seed: nested more than 64 levels deep"),
    ("train-config-deep", "training", "train --config {work}/deep.yaml --runs-dir {runs}", 2,
     "nested more than 64 levels deep"),
    ("train-config-deep-json", "training", "train --config {work}/deep.json --runs-dir {runs}", 2,
     "nested more than 64 levels deep"),
    ("train-config-laughs", "training", "train --config {work}/laughs.yaml --runs-dir {runs}", 2,
     "line 2: *a is an alias"),
    ("train-config-key-twice", "training", "train --config {work}/twice.yaml --runs-dir {runs}", 2,
     "line 3: the key 'steps' is given twice, on line 1 and line 3; keep one"),
    ("train-config-key-twice-json", "training", "train --config {work}/twice.json --runs-dir {runs}", 2,
     "the key 'steps' is given twice, on lines 2 and 3"),
    ("train-config-null-key", "training", "train --config {work}/null-key.yaml --runs-dir {runs}", 2,
     "line 2: the key ~ is read as null"),
    ("train-config-number-key", "training", "train --config {work}/number-key.yaml --runs-dir {runs}", 2,
     "the key 1 is read as a number, not a name"),
    ("train-config-octal", "training", "train --config {work}/octal.yaml --runs-dir {runs}", 2, "write 10"),
    ("train-config-digits", "training", "train --config {work}/digits.yaml --runs-dir {runs}", 2,
     "a number of 5,000 digits is not a setting"),
    ("train-config-big", "training", "train --config {work}/big.yaml --runs-dir {runs}", 2, "more than the 65,536 bytes"),
    ("train-config-fifo", "training", "train --config {work}/fifo.yaml --runs-dir {runs}", 2, "is a named pipe"),
    ("train-config-dev-zero", "training", "train --config /dev/zero --runs-dir {runs}", 2, "is a character device"),
    ("resume-seed", "training", f"resume {R} --set steps=20 --set seed=18446744073709551616", 2,
     "seed must be at most 9007199254740991"),
    ("encoder-seed", "training", "train-encoder {toy} --seed 18446744073709551616", 2,
     f"--seed must be between 0 and {SEED_CAP}"),
    ("sweep-space-seed", "training", "sweep --space {work}/seed-space.yaml --runs-dir {runs}", 2,
     "search.seed: high 18446744073709551616 does not fit the field: seed must be at most 9007199254740991"),
    ("sweep-fixed-seed", "training", "sweep --space {work}/seed-fixed-space.yaml --runs-dir {runs}", 2,
     "seed must be at most 9007199254740991"),
    ("sweep-space-octal", "training", "sweep --space {work}/octal-space.yaml --runs-dir {runs}", 2, "write 20"),
    ("sweep-space-key-twice", "training", "sweep --space {work}/twice-space.yaml --runs-dir {runs}", 2,
     "line 5: the key 'lr_g' is given twice, on line 4 and line 5"),
    ("sweep-space-fifo", "training", "sweep --space {work}/fifo.yaml --runs-dir {runs}", 2, "is a named pipe"),
    ("sweep-sampler-seed", "training", "sweep --space {work}/seed-space.yaml --sampler-seed 4294967296 --runs-dir {runs}",
     2, "--sampler-seed must be between 0 and 4,294,967,295"),
    ("eval-seed-2-53", "evaluation", "{shipped} --seed 9007199254740992", 2, f"from 0 to {SEED_CAP}"),
    ("evaluate-seed-2-53", "training", "evaluate {shipped} --seed 9007199254740992", 2, f"from 0 to {SEED_CAP}"),
    ("inf-seed-2-53", "inference", "{toy} --seed 9007199254740992 --out {work}/x.png", 2,
     f"--seed must be between 0 and {SEED_CAP}"),
    ("inf-interpolate-seed-2-53", "inference", "{toy} --interpolate 1 9007199254740992 --gif {work}/x.gif", 2,
     f"each --interpolate seed must be between 0 and {SEED_CAP}"),
    ("api-config-seed", "api", lambda w: configs.resolve("gan-mlp-mnist", ["seed=9007199254740992"]),
     configs.ConfigError, "seed must be at most 9007199254740991"),
    ("api-config-number-key", "api", lambda w: configs.build_config({1: 3}), configs.ConfigError,
     "unknown config key '1'"),
    ("api-config-fifo", "api", lambda w: configs.load_config_file(w.work / "fifo.yaml"), configs.ConfigError,
     "is a named pipe"),
    ("api-space-laughs", "api", lambda w: load_space(w.work / "laughs.yaml"), SpaceError, "is an alias"),
]


@pytest.mark.parametrize("command, args, expected, words",
                         [pytest.param(*values[1:], marks=marks, id=values[0]) for values, marks in map(case_parts, CASES)])
def test_an_output_or_a_number_is_refused_in_one_line_and_nothing_changes(place, capsys, restore_logging, command,
                                                                         args, expected, words):
    before, preset = tree(place.root), PRESET.read_bytes()
    with no_hang():
        if command == "api":
            with pytest.raises(expected) as caught:
                args(place)
            message = str(caught.value)
        else:
            code, out, err = call(MAINS[command], shlex.split(args.format(**place.names)), capsys)
            assert "Traceback" not in out + err, err
            assert code == expected, (code, err)
            message = error_line(err)
    assert words in message, message
    assert tree(place.root) == before, "a refused case changed, added or removed a file or folder"
    assert PRESET.read_bytes() == preset


def test_the_catalogue_covers_both_kinds_and_every_command_line():
    ids = [case_parts(case)[0][0] for case in CASES]
    assert len(ids) == len(set(ids)) >= 50
    assert {case_parts(case)[0][1] for case in CASES} == {"inference", "evaluation", "training", "api"}


@pytest.mark.parametrize("command, args, changed", [
    ("inference", "{toy} --n 4 --out {work}/old.png --force", ["work/old.png"]),
    ("inference", "{toy} --interpolate 1 2 --steps 2 --gif {work}/old.gif --force", ["work/old.gif"]),
    ("training", f"timelapse {R} --out {{work}}/old.gif --force", ["work/old.gif"]),
])
def test_force_replaces_the_users_own_file_and_nothing_else(place, capsys, restore_logging, command, args, changed):
    before = tree(place.root)
    with no_hang():
        code, _, err = call(MAINS[command], shlex.split(args.format(**place.names)), capsys)
    assert code == 0, err
    after = tree(place.root)
    assert sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p)) == \
        sorted(str(place.root / name) for name in changed)

"""Issue 29's catalogue of runs that are not what they say, and of app pages asked to show what is not
their own, one case a line.

Each case builds one hostile thing in a tmp copy of the world (tests/hostile/conftest.py: a finished
tiny run, models, image folders): another run's checkpoints of the same shapes, a resume that would
train on other data, a status.json whose pid now belongs to a stranger (a live process whose command
line says "training" but which holds no run's lock), files and run folders that link out, a named
pipe where a checkpoint or the lock should be, Markdown and oversized cards in what the pages show.
It does what a user would (a CLI in-process, or a page through AppTest), and the test checks the
exit status and its one line, the words shown, that no traceback and no image or link the app did
not write reached the page, that nothing hung (an alarm fails the case), and that every file of the
world hashes the same afterwards except where the case says what may change.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import markdown
import pytest
import torch

from app.markdown_escape import shown
from training.cli.main import main as training_main
from training.runfolder.folder import RunFolder

from tests.helpers import app_text, make_onnx_generator, new_app, training_like_process, tree_hashes
from tests.hostile.common import call, error_line

CASE_SECONDS = 150           # the alarm: a case that takes longer hangs (AppTest itself allows 120 s a run)
SECRET = "SECRET-OF-ANOTHER-FOLDER"
OUTSIDE_IMAGE = "https://elsewhere.example/pixel.png"


# --- building the hostile things (each returns what the act needs) ---

def the_run(w) -> RunFolder:
    return RunFolder(w.run_path)


def another_run(w) -> RunFolder:
    """A run whose checkpoints are another run's (the world's), shapes and all: a copied folder given a uid of its own."""
    other = RunFolder(w.runs / "other-run")
    shutil.copytree(w.run_path, other.path)
    other.write_status(run_uid="0123456789abcdef")
    return other


def stranger(state: str = "running"):
    """The run's status names a live process that is not its trainer: a pid the system gave to
    another run's trainer since (its command line says "training"; it holds no run's lock)."""
    def setup(w):
        process = training_like_process()
        the_run(w).write_status(state=state, pid=process.pid, message="training")
        return SimpleNamespace(run=the_run(w), process=process)
    return setup


def lock_holder(w):
    """Another process trains the run: it holds the run's lock."""
    return SimpleNamespace(run=the_run(w), process=training_like_process(lock=w.run_path))


def planted(**files: Any):
    """Files of the run replaced: a Path is a link to it, "fifo" a named pipe, other text the content."""
    def setup(w):
        for name, what in files.items():
            path = w.run_path / name
            path.unlink(missing_ok=True)
            if isinstance(what, Path) or what in ("victim", "outside-config"):
                target = {"victim": w.work / "notes.txt", "outside-config": w.root / "outside" / "config.json"}.get(what, what)
                if what in ("victim", "outside-config") and not target.exists():
                    target.parent.mkdir(exist_ok=True)
                    target.write_text('{"note": "%s"}\n' % SECRET)
                path.symlink_to(target)
            elif what == "fifo":
                os.mkfifo(path)
            else:
                path.write_text(what)
        return the_run(w)
    return setup


def pre_identity_checkpoints(w):
    """Checkpoints written before checkpoints named their run."""
    for path in (w.run_path / "checkpoints").glob("*.pt"):
        state = torch.load(path, weights_only=True)
        del state["run"]
        torch.save(state, path)
    return the_run(w)


def run_linked_from_outside(w):
    """runs/alias: a link to a run folder that lies outside the runs folder, its log holding a secret."""
    theirs = w.root / "outside" / "theirs"
    theirs.parent.mkdir(exist_ok=True)
    shutil.copytree(w.run_path, theirs)
    (theirs / "log.txt").write_text(f"{SECRET}\n")
    (w.runs / "alias").symlink_to(theirs)
    return the_run(w)


def status_message(message: str):
    def setup(w):
        the_run(w).write_status(state="stopped", message=message)
        return the_run(w)
    return setup


def named(name: str):
    """The world's run under a folder name a user (or a script) chose."""
    def setup(w):
        path = w.runs / name
        w.run_path.rename(path)
        return RunFolder(path)
    return setup


def health_finding(w):
    finding = {"event": "found", "kind": "oscillating", "title": "oscillating", "sign": "oscillating", "step": 4,
               "found_at": 6, "summary": f"![pixel]({OUTSIDE_IMAGE}) the losses swing", "evidence": {"series": "loss_d"},
               "remedies": [f"`--set lr_d=1e-4`: see [this]({OUTSIDE_IMAGE})"]}
    (w.run_path / "health.jsonl").write_text(json.dumps(finding) + "\n")
    return the_run(w)


def sweeps_db_linked_outside(w):
    outside = w.root / "outside" / "sweeps.db"
    outside.parent.mkdir(exist_ok=True)
    outside.write_bytes(b"SQLite format 3\x00 of another user's")
    (w.runs / "sweeps.db").symlink_to(outside)
    return None


def model(card_extra: dict | None = None, meta: dict | None = None, card_bytes: int = 0):
    """One more model in the models folder: its metadata, its card's extra fields, or a card padded to a size."""
    def setup(w):
        path = make_onnx_generator(w.models / "hostile.onnx", meta=meta)
        card = json.loads(path.with_suffix(".json").read_text()) | (card_extra or {})
        if card_bytes:
            card["notes"] = "x" * card_bytes
        path.with_suffix(".json").write_text(json.dumps(card))
        return path
    return setup


# --- what the user does, returning what they are shown ---

def cli(args: str, code: int) -> Callable:
    """The training CLI in-process: its exit status must be ``code``; a refusal (2) is one error line."""
    def act(w, ctx, capsys):
        names = {**w.names, "ctx": getattr(ctx, "id", "")}
        got, out, err = call(training_main, shlex.split(args.format(**names)), capsys)
        assert got == code, (got, err)
        if code == 2:
            error_line(err)
        return out + err + _stranger_note(ctx)
    return act


def _stranger_note(ctx) -> str:
    process = getattr(ctx, "process", None)
    return f"\nstranger alive={process.poll() is None}" if process is not None else ""


def _rendered(at) -> str:
    """Every image and link the page's Markdown would make the browser show (Python-Markdown renders
    each element's Markdown; metric values are Markdown too)."""
    found = []
    for kind in ("error", "warning", "info", "success", "caption", "markdown", "toast", "metric"):
        for element in at.get(kind):
            html = markdown.markdown(str(element.value))
            found += [f"IMG:{src}" for src in re.findall(r"<img[^>]*src=\"([^\"]*)\"", html)]
            found += [f"LINK:{href}" for href in re.findall(r"<a[^>]*href=\"([^\"]*)\"", html)]
    return "\n".join(found)


def page(script: str, *steps: Callable) -> Callable:
    """Open ``script``, do ``steps``; the page's text, its buttons, what it would render, its largest element."""
    def act(w, ctx, capsys):
        at = new_app(script)
        for step in steps:
            step(at, ctx)
        values = [str(e.value) for kind in ("markdown", "caption", "code", "json") for e in at.get(kind)]
        buttons = " ".join(f"[{b.label}]" for b in at.button)
        metrics = "\n".join(f"{m.label}: {shown(str(m.value))}" for m in at.metric)
        return (f"{app_text(at)}\n{metrics}\n{buttons}\n{_rendered(at)}\nlargest element {max(map(len, values), default=0)} chars"
                + f"\nfolder exists={getattr(getattr(ctx, 'run', ctx), 'path', Path('.')).exists()}" + _stranger_note(ctx))
    return act


def open_run(name: str | None = None):
    def step(at, ctx):
        run = getattr(ctx, "run", ctx)
        at.selectbox(key="open_run").set_value(name or run.id).run()
    return step


def click(key: str):
    return lambda at, ctx: at.button(key=key).click().run()


# --- what each case may change: path prefixes of the world (anything else changing fails the case) ---

def nothing(w, ctx) -> list[str]:
    return []


def the_runs_folder(w, ctx) -> list[str]:
    return [str(w.run_path)]


@dataclass
class Case:
    setup: Callable[[SimpleNamespace], Any]
    act: Callable[[SimpleNamespace, Any, Any], str]
    expect: str                                   # a regex the shown text must match
    changes: Callable = nothing
    absent: str = r"Traceback|IMG:|LINK:"         # a regex it must not match


R = "{run} --runs-dir {runs}"
RUNS = "app/pages/runs.py"
CASES = {
    # a checkpoint names its run: another run's, even of the same shapes, is not resumed or exported
    "resume from another run's checkpoints": Case(another_run, cli("resume {ctx} --runs-dir {runs} --set steps=20", 2),
                                                   r"no checkpoint this resume can use: last.pt \(it belongs to another run \('tiny-"),
    "export another run's checkpoint": Case(another_run, cli("export {ctx} --runs-dir {runs} --out {work}/x.onnx", 2),
                                            r"other-run's last.pt is not exported: it belongs to another run"),
    "resume a checkpoint from before run ids": Case(pre_identity_checkpoints, cli(f"resume {R} --set steps=11", 0),
                                                    r"last.pt was written before checkpoints named their run: taken as this run's own",
                                                    changes=the_runs_folder),
    # resume goes on with the run as it began: what it trains on and what it trains are fixed
    "resume --set dataset": Case(the_run, cli(f"resume {R} --set dataset=mnist", 2),
                                 r"would change dataset \('folder' -> 'mnist'\).*start a new run from its config: `python -m training train --config \S+config.json --set dataset=mnist`"),
    "resume --set image_size": Case(the_run, cli(f"resume {R} --set image_size=32 --set steps=20", 2), r"would change image_size \(28 -> 32\)"),
    "resume --set model": Case(the_run, cli(f"resume {R} --set model=dcgan --set steps=20", 2), r"would change model \('mlp-gan' -> 'dcgan'\)"),
    "resume --set loss": Case(the_run, cli(f"resume {R} --set loss=hinge --set steps=20", 2), r"would change loss \('[\w-]+' -> 'hinge'\)"),
    "resume --set latent_dim": Case(the_run, cli(f"resume {R} --set latent_dim=16 --set steps=20", 2), r"would change latent_dim \(8 -> 16\)"),
    "resume --set channels": Case(the_run, cli(f"resume {R} --set channels=3 --set steps=20", 2), r"would change channels \(1 -> 3\)"),
    "resume --data-root elsewhere": Case(the_run, cli(f"resume {R} --data-root {{five}} --set steps=20", 2), r"would change data_root \('\S+/images' -> '\S+/five'\)"),
    # a status's pid is the trainer only while it holds the run's lock
    "resume a 'running' run whose pid is a stranger's": Case(stranger(), cli(f"resume {R}", 2),
                                                             r"(?s)at its total of 10 steps: nothing to train.*stranger alive=True", absent=r"still running"),
    "runs shows such a run as failed": Case(stranger(), cli("runs --runs-dir {runs}", 0),
                                            r"(?s)tiny-\S+\s+failed .*pid \d+\) ended without saying why.*stranger alive=True"),
    "export --out RUN/../RUN while it trains": Case(lock_holder, cli("export {run} --runs-dir {runs} --out {run_path}/../{run}/x.onnx", 2),
                                                    r"lies inside the run folder"),
    "export into RUNS/../RUNS/RUN while it trains": Case(lock_holder, cli("export {runs}/../runs/{run}", 2), r"is in use by pid \d+ .*cannot export into it now"),
    # links out of a run, pipes and links where a checkpoint or the lock should be
    "export with last.pt linking to /etc/passwd": Case(planted(**{"checkpoints/last.pt": Path("/etc/passwd")}), cli(f"export {R} --out {{work}}/x.onnx", 2),
                                                       r"cannot read checkpoint \S+last.pt: it leads outside run tiny-\S+'s folder"),
    "resume with every checkpoint linking out": Case(planted(**{f"checkpoints/{n}": Path("/etc/passwd") for n in ("last.pt", "step_0000005.pt", "step_0000010.pt")}),
                                                     cli(f"resume {R} --set steps=20", 2), r"no checkpoint this resume can use: last.pt \(unreadable: it leads outside run"),
    "export with last.pt a named pipe": Case(planted(**{"checkpoints/last.pt": "fifo"}), cli(f"export {R} --out {{work}}/x.onnx", 2),
                                             r"checkpoint \S+last.pt is a named pipe, not a regular file"),
    "resume with .lock a named pipe": Case(planted(**{".lock": "fifo"}), cli(f"resume {R} --set steps=20", 2),
                                           r"\.lock is not a regular file, so it cannot be the run's lock file; remove it"),
    "resume with .lock a link to a user's file": Case(planted(**{".lock": "victim"}), cli(f"resume {R} --set steps=20", 2),
                                                      r"\.lock cannot be used as the run's lock file \(it is a link, which a lock file never is\)"),
    "resume with config.json linking outside": Case(planted(**{"config.json": "outside-config"}), cli(f"resume {R} --set steps=20", 2),
                                                    r"config.json leads outside the run folder", absent=rf"Traceback|{SECRET}"),
    "resume by id of a run folder linking outside": Case(run_linked_from_outside, cli("resume alias --runs-dir {runs}", 2),
                                                         r"run 'alias' in \S+ is a link to \S+/outside/theirs, outside the runs folder"),
    "runs does not list a run folder linking outside": Case(run_linked_from_outside, cli("runs --runs-dir {runs}", 0), r"^tiny-\S+ ", absent=r"alias|theirs"),
    # the app shows its own files only, and their text as text
    "Runs page: a run folder linking outside": Case(run_linked_from_outside, page(RUNS), r"tiny-\d+", absent=rf"alias|{SECRET}|Traceback"),
    "Runs page: a status message with an image link": Case(status_message(f"done ![tracker]({OUTSIDE_IMAGE}) <img src={OUTSIDE_IMAGE}> [docs]({OUTSIDE_IMAGE})"),
                                                           page(RUNS), re.escape(f"done ![tracker]({OUTSIDE_IMAGE}) <img src={OUTSIDE_IMAGE}> [docs]({OUTSIDE_IMAGE})")),
    "Runs page: a run named as an image": Case(named("![x](https:elsewhere.example)"), page(RUNS, open_run()), re.escape("**![x](https:elsewhere.example)** · :blue[")),
    "Runs page: a health finding with an image": Case(health_finding, page(RUNS), rf"(?s)!\[pixel\]\({re.escape(OUTSIDE_IMAGE)}\) the losses swing.*--set lr_d=1e-4"),
    "Runs page: a stale 'running' run": Case(stranger(), page(RUNS), r"(?s)pid \d+\) ended without saying why.*stranger alive=True", absent=r"\[Stop\]|Traceback"),
    "Runs page: delete a stale run": Case(stranger(), page(RUNS, click("delete"), click("delete_yes")), r"(?s)folder exists=False\nstranger alive=True",
                                          changes=the_runs_folder),
    "Studies page: sweeps.db linking outside": Case(sweeps_db_linked_outside, page("app/pages/studies.py"),
                                                    r"the studies database \S+sweeps.db leads outside \S+ \(to \S+/outside/sweeps.db\)", absent=r"Traceback|No studies yet"),
    "Models page: a card whose words are images": Case(model(card_extra={"training": {"description": f"![a]({OUTSIDE_IMAGE})"}}, meta={"dataset": f"![d]({OUTSIDE_IMAGE})"}),
                                                       page("app/pages/model_files.py"), rf"(?s)### hostile\n{re.escape(f'![a]({OUTSIDE_IMAGE})')}.*Dataset: {re.escape(f'![d]({OUTSIDE_IMAGE})')}"),
    "Models page: a 12 MB card is shown cut": Case(model(card_bytes=12_000_000), page("app/pages/model_files.py"),
                                                   r"(?s)This card is 12.0 million characters, too large to send whole.*largest element \d{1,6} chars"),
    "Models page: a 50 MB card is refused in place": Case(model(card_bytes=50_000_000), page("app/pages/model_files.py"),
                                                          r"(?s)hostile.json is 4\d.\d MB, more than the 16.0 MB.*largest element \d{1,6} chars"),
}


def _alarm(signum, frame):
    raise TimeoutError(f"the case ran past {CASE_SECONDS} s: a hang")


@pytest.mark.parametrize("name", list(CASES))
def test_a_run_or_page_that_is_not_what_it_says_is_told_apart(name, world, capsys, monkeypatch, restore_logging):
    case = CASES[name]
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(world.runs))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(world.models))
    ctx = case.setup(world)
    before = tree_hashes(world.root)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        shown = case.act(world, ctx, capsys)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if getattr(ctx, "process", None) is not None:
            ctx.process.kill()
            ctx.process.wait()
    after = tree_hashes(world.root)
    assert re.search(case.expect, shown), shown
    assert not re.search(case.absent, shown), shown
    allowed = case.changes(world, ctx)
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert all(any(p.startswith(prefix) for prefix in allowed) for p in changed), sorted(changed)


def test_the_catalogue_covers_both_kinds_with_cli_and_pages():
    kinds = {"cli" if "cli.<locals>" in case.act.__qualname__ else "page" for case in CASES.values()}
    assert len(CASES) >= 25 and kinds == {"cli", "page"}

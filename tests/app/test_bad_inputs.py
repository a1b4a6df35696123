"""Issue 16's catalogue of bad inputs for the app and the readers it relies on, one case a line.

Each case builds one bad thing in a fresh runs and models folder (a torn status.json, a card that
is a list, a run whose launch log names a system file, a publish onto a taken name...), does what
a user would (opens a page, presses a button, calls the reader), and the test checks three things:
the message shown (or the reader's "unreadable: reason"), that no traceback reached the user, and
that nothing changed on disk except what the case is about (hashes of both folders, before/after).
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

from app import processes
from app.catalogue import check_upload, find_models
from app.processes import delete_run, run_log
from inference import Generator, InferenceError
from training.runfolder.files import RunError
from training.runfolder.folder import RunFolder, create_run, list_runs

from tests.helpers import (app_text, exported_run, make_onnx_generator, new_app, training_like_process,
                           tree_hashes)

CONFIG = {"preset": "toy", "dataset": "mnist", "model": "mlp", "loss": "bce", "steps": 10}
SYSTEM_FILE = Path("/etc/passwd")   # a file of the system's, which no page may show
HOUR_AGO = time.time() - 3600


# --- building the bad inputs (each returns what the act needs: a run, a path, a process) ---

def bad_run(status: str | bytes | None = None, metrics: str | None = None, config: str | None = None,
            state: str | None = None, files: dict | None = None, age_s: float = 0) -> Callable[[dict], RunFolder]:
    """A run folder with these raw file contents (files: name -> text, or a Path to link to)."""
    def setup(env):
        run = create_run(env["runs"], "bad", CONFIG)
        if state:
            run.write_status(state=state, step=3, total_steps=10, message=f"it {state}")
        run.log_path.write_text("step 1\n")
        for name, text in [("status.json", status), ("metrics.jsonl", metrics), ("config.json", config)]:
            if isinstance(text, bytes):
                (run.path / name).write_bytes(text)
            elif text is not None:
                (run.path / name).write_text(text)
        for name, value in (files or {}).items():
            target = run.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(value, Path):
                target.unlink(missing_ok=True)
                target.symlink_to(value)
            elif value == "fifo":
                os.mkfifo(target)
            elif value == "dir":
                target.unlink(missing_ok=True)
                target.mkdir()
            else:
                target.write_text(value.format(run=run.path))
        if age_s:
            os.utime(run.status_path, (time.time() - age_s,) * 2)
        return run
    return setup


def with_model(name: str, card: str | None = None, link: Path | str | None = None, meta: dict | None = None):
    """The models folder with one more model (or one model's card replaced, or a link put in)."""
    def setup(env):
        path = env["models"] / name
        if link is not None:
            target = Path(str(link).format(tmp=env["tmp"]))
            if target.suffix == ".onnx" and not target.exists():
                make_onnx_generator(target)
            path.unlink(missing_ok=True)
            path.symlink_to(target)
        elif meta is not None:
            make_onnx_generator(path, meta=meta)
        if card is not None:
            path.with_suffix(".json").write_text(card)
        return path
    return setup


def run_with_link_out(env):
    run = exported_run(env["runs"])
    make_onnx_generator(env["tmp"] / "outside" / "g.onnx")
    run.onnx_path.unlink()
    run.onnx_path.symlink_to(env["tmp"] / "outside" / "g.onnx")
    return run


def fails_when_run(env) -> Path:
    """A model that loads (its contract is right) but whose graph fails on every call."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    path = make_onnx_generator(env["models"] / "bad.onnx")
    model = onnx.load(path)
    shape = next(i for i in model.graph.initializer if i.name == "shape")
    shape.CopyFrom(numpy_helper.from_array(np.array([-1, 1, 28, 27], np.int64), "shape"))  # 784 values do not fit
    onnx.save(model, path)
    return path


def shipped_side_files(env):
    """An exported run to publish, and a taken name 'toy' with an evaluation report beside it."""
    (env["models"] / "toy.eval.json").write_text('{"n_generated": 10000}')
    return exported_run(env["runs"])


def live(ignore_term: bool = False, status: str = "running", launched_by_app: bool = False, lock: bool = False,
         word: str = "training"):
    """A run with a live 'training' process: named by its status (pid), only known to the app (a
    resume that has not written its pid yet), or only holding the run's lock (``lock``)."""
    def setup(env):
        run = create_run(env["runs"], "busy", CONFIG)
        # a trainer holds its run's lock whenever its status names it; `lock`: only the lock names it
        proc = training_like_process(ignore_term, lock=None if launched_by_app else run.path, word=word)
        run.write_status(state=status, step=1, pid=None if launched_by_app or lock else proc.pid)
        if launched_by_app:
            processes._FOR_RUN[processes._key(run)] = proc
        return run, proc
    return setup


# --- what the user does, returning what they are shown ---

def status_of(env, run: RunFolder) -> str:
    status = run.live_status()
    return f"{status['state']}: {status['message']}"


def metrics_of(env, run: RunFolder) -> str:
    rows = run.read_metrics()
    return f"{len(rows)} rows, skipped: {'; '.join(rows.skipped)} {rows.unreadable or ''}"


def config_of(env, run: RunFolder) -> str:
    try:
        return json.dumps(run.read_config())
    except RunError as error:
        return str(error)


def runs_listed(env, _) -> str:
    return "; ".join(f"{r.id}: {config_of(env, r)}" for r in list_runs(env["runs"]))


def card_of(name: str):
    return lambda env, _: next(f"{e.path.name}: {e.problem or e.card_and_problem()[1]}"
                               for e in find_models() if e.path.name == name)


def load_model(env, path: Path) -> str:
    try:
        return repr(Generator.load(path))
    except InferenceError as error:
        return str(error)


def log_of(env, run: RunFolder) -> str:
    return run_log(run)


def delete(wait_s: float = 2.0):
    def act(env, ctx):
        run, proc = ctx if isinstance(ctx, tuple) else (ctx, None)
        try:
            delete_run(run, wait_s=wait_s)
            shown = "deleted"
        except RunError as error:
            shown = str(error)
        if proc is not None:  # a deleted run's process has ended; a refused one's is left alone
            shown += f"; process rc={proc.wait(10) if shown == 'deleted' else proc.poll()}"
        return f"{shown}; folder exists={run.path.exists()}"
    return act


def upload(name: str, data: Callable[[dict], bytes]):
    def act(env, _):
        try:
            return check_upload(data(env), name)[0].name
        except InferenceError as error:
            return str(error)
    return act


def page(script: str, *steps: Callable) -> Callable[[dict, Any], str]:
    """Open ``script`` (the Runs page opens the case's run), do ``steps``, return the page's text."""
    def act(env, ctx):
        run = ctx[0] if isinstance(ctx, tuple) else ctx
        at = new_app(script)
        if script == "app/pages/runs.py" and isinstance(run, RunFolder) and run.id in at.selectbox(key="open_run").options:
            at.selectbox(key="open_run").set_value(run.id).run()
        for step in steps:
            step(at, run)
        buttons = " ".join(f"[{b.label}]" for b in at.button)
        return f"{app_text(at)}\n{buttons}\nfolder exists={getattr(run, 'path', Path('.')).exists()}"
    return act


def click(key: str):
    return lambda at, run: at.button(key=key.format(id=getattr(run, "id", ""))).click().run()


def tick(key: str):
    return lambda at, run: at.checkbox(key=key.format(id=getattr(run, "id", ""))).check().run()


def name_it(value: str):
    return lambda at, run: at.text_input(key=f"pubname-runs-{run.id}").set_value(value).run()


def pick_model(name: str):
    return lambda at, run: at.selectbox(key="model").set_value(str(run)).run()


# --- what each case may change: path prefixes (anything else changing fails the case) ---

def nothing(env, ctx) -> list[str]:
    return []


def the_run(env, ctx) -> list[str]:
    return [str((ctx[0] if isinstance(ctx, tuple) else ctx).path)]


def models_named(*names: str):
    return lambda env, ctx: [str(env["models"] / n) for n in names]


@dataclass
class Case:
    setup: Callable[[dict], Any]
    act: Callable[[dict, Any], str]
    expect: str                        # a regex the shown text must match
    changes: Callable = nothing
    absent: str = r"Traceback \(most recent call last\)"   # a regex it must not match


DELETE_BUTTONS = (click("delete"), click("delete_yes"))
PUBLISH = "publish-runs-{id}"
STATUS_OK = '{"state": "finished", "step": 10, "total_steps": 10}'
CASES = {
    # status.json: wrong types and torn writes read as "unreadable: why", never as queued or a crash
    "status is a list": Case(bad_run(status="[1, 2]"), status_of, r"^unreadable: unreadable: status.json is a JSON list, not an object"),
    "status is torn": Case(bad_run(status='{"state": "runn'), status_of, r"unreadable: status.json is not valid JSON"),
    "status is empty": Case(bad_run(status=""), status_of, r"status.json is empty"),
    "status is not UTF-8": Case(bad_run(status=b'\xff\xfe{"state"'), status_of, r"^unreadable: unreadable: status.json"),
    "status pid is text": Case(bad_run(status='{"state": "running", "step": 3, "pid": "12"}'), status_of, r"'pid' is '12', not a whole number"),
    "status pid is true": Case(bad_run(status='{"state": "running", "step": 3, "pid": true}'), status_of, r"'pid' is True"),
    "status state unknown": Case(bad_run(status='{"state": "exploded", "step": 3}'), status_of, r"'state' is 'exploded', not one of queued"),
    "status step negative": Case(bad_run(status='{"state": "stopped", "step": -4}'), status_of, r"'step' is -4, not a whole number"),
    "status eta is NaN": Case(bad_run(status='{"state": "stopped", "step": 1, "eta_s": NaN}'), status_of, r"'eta_s' is nan, not a number"),
    "status is a JSON string": Case(bad_run(status='"finished"'), status_of, r"status.json is a JSON string, not an object"),
    # metrics.jsonl: a bad line is passed over and named; the rest stays usable
    "metrics line is a list": Case(bad_run(metrics='{"step": 1}\n[1, 2]\n{"step": 2}\n'), metrics_of, r"^2 rows, skipped: line 2: a JSON list, not an object"),
    "metrics step is text": Case(bad_run(metrics='{"step": "ten", "loss_g": 1}\n'), metrics_of, r"^0 rows, skipped: line 1: 'step' is 'ten', not a whole number"),
    "metrics line not JSON": Case(bad_run(metrics='{"step": 1}\n\x00\x01garbage\n{"step": 2}\n'), metrics_of, r"^2 rows, skipped: line 2: not valid JSON"),
    "metrics torn last line": Case(bad_run(metrics='{"step": 1}\n{"step": 2, "lo'), metrics_of, r"^1 rows, skipped:  $"),
    "metrics is a folder": Case(bad_run(files={"metrics.jsonl": "dir"}), metrics_of, r"^0 rows, skipped:  unreadable: metrics.jsonl is a folder, not a regular file"),
    # config.json
    "config is a list": Case(bad_run(config="[]"), config_of, r"run bad-\S+: unreadable: config.json is a JSON list, not an object"),
    "config is torn": Case(bad_run(config='{"preset": "dcg'), config_of, r"unreadable: config.json is not valid JSON"),
    "config is a folder": Case(bad_run(files={"config.json": "dir"}), runs_listed, r"bad-\S+: run bad-\S+: unreadable: config.json is a folder, not a regular file"),
    # model cards and ONNX metadata
    "card is a JSON list": Case(with_model("toy.onnx", card="[1]"), card_of("toy.onnx"), r"^toy.onnx: model card unreadable: toy.json is a JSON list, not an object$"),
    "card is torn": Case(with_model("toy.onnx", card='{"metadata": {'), card_of("toy.onnx"), r"model card unreadable: toy.json is not valid JSON"),
    "card-only model, card a list": Case(lambda env: (p := make_onnx_generator(env["tmp"] / "o" / "c.onnx", props=None), p.with_suffix(".json").write_text("[]"))[0], load_model, r"invalid model card: model card is a JSON list, not an object"),
    "card-only model, metadata a list": Case(lambda env: (p := make_onnx_generator(env["tmp"] / "o" / "c.onnx", props=None), p.with_suffix(".json").write_text('{"metadata": []}'))[0], load_model, r"model card has no top-level \"metadata\" object"),
    # the app reads only inside its folders
    "model links outside": Case(with_model("evil.onnx", link="{tmp}/outside/evil.onnx"), card_of("evil.onnx"), r"^evil.onnx: refused: \S+/outside/evil.onnx lies outside the models folder"),
    "card links to a system file": Case(with_model("toy.json", link=SYSTEM_FILE), card_of("toy.onnx"), r"refused: /etc/passwd lies outside the models folder"),
    "run generator links outside": Case(run_with_link_out, card_of("generator.onnx"), r"refused: \S+/outside/g.onnx lies outside its run folder"),
    "launch log names a system file": Case(bad_run(files={"launch-log.txt": str(SYSTEM_FILE)}), log_of, r"^step 1\n--- process output ---\nrefused: /etc/passwd lies outside this run's folder", absent=r"root:"),
    "launch log climbs out": Case(bad_run(files={"launch-log.txt": "{run}/../../../../../../../etc/passwd"}), log_of, r"refused: /etc/passwd lies outside", absent=r"root:"),
    "log.txt links to a system file": Case(bad_run(files={"log.txt": SYSTEM_FILE}), log_of, r"^refused: /etc/passwd lies outside this run's folder", absent=r"root:"),
    "launch log names a FIFO": Case(bad_run(files={"pipe": "fifo", "launch-log.txt": "{run}/pipe"}), log_of, r"^step 1$"),
    # the pages: one bad run or model is one message; the rest of the page works
    "Runs page, status a list": Case(bad_run(status="[1]"), page("app/pages/runs.py"), r"(?s)This run cannot be read.*status.json is a JSON list.*\[Delete run…\]", absent=r"\[Stop\]|Traceback"),
    "Runs page, status torn": Case(bad_run(status='{"state": "running", "pid'), page("app/pages/runs.py"), r"(?s)status.json is not valid JSON.*\[Delete run…\]", absent=r"\[Stop\]|Traceback"),
    "Runs page, metrics line a list": Case(bad_run(state="failed", metrics='{"step": 1, "loss_g": 1}\n[1]\n'), page("app/pages/runs.py"), r"metrics.jsonl: 1 line\(s\) passed over, unreadable: line 2: a JSON list"),
    "Runs page, config a list": Case(bad_run(config="[1]", status=STATUS_OK), page("app/pages/runs.py"), r"(?s)config.json is a JSON list.*\[Delete run…\]"),
    "Runs page, launch log names a system file": Case(bad_run(state="failed", files={"launch-log.txt": str(SYSTEM_FILE)}), page("app/pages/runs.py"), r"refused: /etc/passwd lies outside", absent=r"root:|Traceback"),
    "Runs page, sample grid links outside": Case(bad_run(status=STATUS_OK, files={"samples/step_0000001.png": SYSTEM_FILE}), page("app/pages/runs.py"), r"1 sample grid\(s\) lie outside this run's folder: not shown"),
    "Train page, unreadable and abandoned runs": Case(lambda env: (bad_run(status="[]")(env), bad_run(age_s=3600)(env))[1], page("app/pages/train.py"), r"Nothing is training right now"),
    "Explore, a card that is a list": Case(with_model("toy-cond.onnx", card="[1]"), page("app/pages/explore.py"), r"(?s)model card unreadable: toy-cond.json is a JSON list.*key image for the morph"),
    "Explore, a model linking outside": Case(with_model("evil.onnx", link="{tmp}/outside/evil.onnx"), page("app/pages/explore.py", pick_model("evil.onnx")), r"\*\*This model is not opened.\*\* refused: \S+evil.onnx lies outside the models folder"),
    "Explore, a model that fails when run": Case(fails_when_run, page("app/pages/explore.py"), r"(?s)\*\*This model cannot be used.\*\* onnxruntime failed to run bad.onnx.*\[Resample\]"),
    "Models page, a card that is a list": Case(with_model("toy-cond.onnx", card='"x"'), page("app/pages/model_files.py"), r"(?s)toy-cond.json is a JSON string.*### toy\n"),
    "Models page, scores that are a list": Case(with_model("odd.onnx", meta={"metrics": {"metrics": [1, 2]}}), page("app/pages/model_files.py"), r"(?s)(?=.*### odd\n)(?=.*No evaluation scores)"),
    # publish and upload: nothing replaced without asking; a confirmed replace takes the side files
    "publish onto a taken name": Case(shipped_side_files, page("app/pages/runs.py", name_it("toy"), click(PUBLISH)), r"\*\*Not published.\*\* a model named 'toy' already exists \(toy.onnx, toy.json, toy.eval.json\)"),
    "publish onto a taken name, confirmed": Case(shipped_side_files, page("app/pages/runs.py", name_it("toy"), tick("pubreplace-runs-{id}"), click(PUBLISH)), r"Saved as `toy.onnx` \(the old model was replaced", changes=models_named("toy.onnx", "toy.json", "toy.eval.json")),
    "publish as NAME.fp16": Case(lambda env: exported_run(env["runs"]), page("app/pages/runs.py", name_it("mine.fp16"), click(PUBLISH)), r"Saved as `mine-fp16.onnx`", changes=models_named("mine-fp16.")),
    "upload onto a taken name": Case(lambda env: None, upload("toy.onnx", lambda env: (env["models"] / "toy.onnx").read_bytes()), r"^toy-2.onnx$", changes=models_named("toy-2.onnx")),
    "upload a file that is no model": Case(lambda env: None, upload("toy.onnx", lambda env: b"\x08\x01junk"), r"toy.onnx|upload.onnx"),
    # delete: a live process is stopped first; a launch that died can go; a starting one waits
    "delete a queued-forever run": Case(bad_run(age_s=3600), page("app/pages/runs.py", *DELETE_BUTTONS), r"folder exists=False", changes=the_run),
    "delete a just-queued run": Case(bad_run(), delete(), r"queued \d+ s ago and its process may still be starting.*folder exists=True"),
    "delete an unreadable run": Case(bad_run(status="[]"), page("app/pages/runs.py", *DELETE_BUTTONS), r"folder exists=False", changes=the_run),
    "delete a running run": Case(live(), delete(), r"^deleted; process rc=-15; folder exists=False", changes=the_run),
    "delete a run deaf to SIGTERM": Case(live(ignore_term=True), delete(wait_s=0.5), r"^deleted; process rc=-9; folder exists=False", changes=the_run),
    "delete while a resume starts": Case(live(status="stopped", launched_by_app=True), delete(), r"^deleted; process rc=-15; folder exists=False", changes=the_run),
    "delete a run only its lock holder knows": Case(live(status="finished", lock=True), delete(), r"^deleted; process rc=-15; folder exists=False", changes=the_run),
    "delete a run locked by a non-trainer": Case(live(status="finished", lock=True, word="other"), delete(), r"^run busy-\S+ is in use by pid \d+ .*cannot delete it now.*process rc=None; folder exists=True"),
    "delete from the page stops it first": Case(live(), page("app/pages/runs.py", *DELETE_BUTTONS), r"(?s)Deleted busy-\S+.*folder exists=False", changes=the_run),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_input_gets_one_clear_message_and_changes_nothing_else(name, app_env):
    case = CASES[name]
    ctx = case.setup(app_env)
    roots = (app_env["runs"], app_env["models"])
    before = tree_hashes(*roots)
    try:
        shown = case.act(app_env, ctx)
    finally:
        if isinstance(ctx, tuple):
            ctx[1].kill()
        processes._FOR_RUN.clear()
    after = tree_hashes(*roots)
    assert re.search(case.expect, shown), shown
    assert not re.search(case.absent, shown), shown
    allowed = case.changes(app_env, ctx)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert [p for p in changed if not any(p.startswith(a) for a in allowed)] == [], changed
    if allowed and "exists=False" in case.expect:
        assert changed, "the case should have deleted its run"


def test_the_catalogue_has_at_least_twenty_cases():
    assert len(CASES) >= 20

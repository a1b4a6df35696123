"""`python -m training` as a user runs it: kill -9 and SIGTERM in the middle of real training,
resume, and the deterministic equivalence with an uninterrupted run; `export`, `presets`, `runs`,
and the missing-data message."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dataio import sources as _sources
from training import config as configs
from training.checkpoint import save_checkpoint
from training.cli.main import main
from training.models import build_models
from training.runfolder.folder import RunFolder, create_run, list_runs
from training.session import build_session
from training.trainer import Trainer

from tests.helpers import wait_for_process

pytestmark = pytest.mark.usefixtures("one_thread")

STEPS, LOG_EVERY, CHECKPOINT_EVERY = 200, 5, 20
RUN_SETTINGS = ["batch_size=16", f"steps={STEPS}", f"log_every={LOG_EVERY}", f"checkpoint_every={CHECKPOINT_EVERY}",
                "sample_every=100", "keep_checkpoints=2", "deterministic=true", "seed=3"]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "training", *args]


def the_run(runs: Path) -> RunFolder | None:
    found = list(list_runs(runs))
    return found[0] if len(found) == 1 else None


def train_rows(run: RunFolder) -> list[dict]:
    return [r for r in run.read_metrics() if r.get("kind", "train") == "train"]


def test_kill_9_sigterm_and_resume_log_what_an_uninterrupted_run_logs(tmp_path, cli_env, mnist_train,
                                                                       restore_determinism):
    runs = tmp_path / "runs"
    overrides = [a for s in RUN_SETTINGS for a in ("--set", s)]
    out = tmp_path / "train.out"
    log = open(out, "w")
    process = subprocess.Popen(cli("train", "--preset", "gan-mlp-mnist", "--name", "killed", "--runs-dir", str(runs),
                                   *overrides), env=cli_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    # ----- kill -9 once a checkpoint exists, while the run is still going
    run = wait_for_process(lambda: the_run(runs), process, "the run folder appeared", out)
    wait_for_process(lambda: run.last_checkpoint.exists(), process, "the first checkpoint", out)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL

    status = run.read_status()
    assert status["state"] == "running" and status["pid"] == process.pid and status["step"] < STEPS
    assert run.live_status()["state"] == "failed"  # a dead process's 'running' is reported as failed
    state = torch.load(run.last_checkpoint, weights_only=True)  # never a broken checkpoint
    killed_at = state["step"]
    assert killed_at % CHECKPOINT_EVERY == 0 and 0 < killed_at < STEPS
    for kept in run.checkpoints():
        torch.load(kept, weights_only=True)
    logged = [r["step"] for r in train_rows(run)]
    assert logged[:killed_at // LOG_EVERY] == list(range(LOG_EVERY, killed_at + 1, LOG_EVERY))  # none lost

    # ----- resume, and stop that process with SIGTERM part-way
    resumed = subprocess.Popen(cli("resume", run.id, "--runs-dir", str(runs)), env=cli_env, cwd=tmp_path,
                               stdout=log, stderr=subprocess.STDOUT)
    wait_for_process(lambda: (s := run.read_status())["pid"] == resumed.pid and s["state"] == "running"
             and s["step"] >= killed_at + 2 * LOG_EVERY, resumed, "the resumed run made progress", out)
    resumed.send_signal(signal.SIGTERM)
    assert resumed.wait(timeout=120) == 0
    status = run.read_status()
    assert status["state"] == "stopped", status
    stopped_at = status["step"]
    assert killed_at < stopped_at < STEPS
    assert torch.load(run.last_checkpoint, weights_only=True)["step"] == stopped_at  # checkpoint at the stop
    assert "stopped at step" in status["message"]

    # ----- resume again, to the end
    finished = subprocess.run(cli("resume", str(run.path)), env=cli_env, cwd=tmp_path, stdout=log,
                              stderr=subprocess.STDOUT, timeout=300)
    log.close()
    assert finished.returncode == 0, out.read_text()[-3000:]
    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == STEPS
    rows = train_rows(run)
    assert [r["step"] for r in rows] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))  # each row once
    assert (run.log_path.read_text().count("resumed")) == 2

    # ----- the same losses as a run never interrupted (deterministic, CPU)
    config = configs.build_config(json.loads(run.config_path.read_text()))
    straight = create_run(tmp_path / "straight", "straight", config.to_dict())
    assert Trainer(build_session(config, dataset=mnist_train), straight).train() == "finished"
    reference = train_rows(straight)
    assert len(reference) == len(rows)
    print(f"killed after checkpoint {killed_at}, SIGTERM stopped at {stopped_at}; losses identical: "
          f"{[(r['loss_d'], r['loss_g']) for r in rows] == [(r['loss_d'], r['loss_g']) for r in reference]}")
    for row, ref in zip(rows, reference):
        assert set(row) == set(ref)
        for key in set(ref) - {"time", "images_per_s"}:
            assert row[key] == pytest.approx(ref[key], rel=1e-6, abs=1e-6), (row["step"], key)

    # `runs` lists it with its state
    assert main(["runs", "--runs-dir", str(runs)]) == 0


def test_presets_lists_every_preset_with_its_description(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in configs.preset_names():
        description = configs.load_preset(name)["description"]
        assert any(line.split()[0] == name and line.rstrip().endswith(description) for line in lines if line), name
    assert main(["presets", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert sorted(listing["presets"]) == configs.preset_names()
    assert {"mlp-gan", "dcgan", "dcgan-keras", "wgan-mlp", "sngan"} <= set(listing["names"]["model"])
    assert {"minimax", "non-saturating", "wasserstein", "wgan-gp", "hinge"} <= set(listing["names"]["loss"])
    assert main(["presets", "--fields"]) == 0
    assert "batch_size" in capsys.readouterr().out


def test_runs_lists_each_run_with_its_state(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    assert "no runs" in capsys.readouterr().out
    config = configs.resolve("dcgan-mnist", ["steps=50"]).to_dict()
    done = create_run(runs, "done", config)
    done.write_status(state="finished", step=50, message="finished at step 50 of 50")
    dead = create_run(runs, "dead", config)
    dead.write_status(state="running", step=7, pid=2**22 + 12345)  # no such process
    bad = create_run(runs, "diverged", config)
    bad.write_status(state="diverged", step=3, message="diverged at step 4: loss_d=nan")
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert lines[done.id].split()[1:3] == ["finished", "50/50"]
    assert lines[dead.id].split()[1:3] == ["failed", "7/50"]
    assert lines[bad.id].split()[1] == "diverged" and "loss_d=nan" in lines[bad.id]
    assert all("dcgan-mnist" in line for line in lines.values())


def test_missing_data_names_every_way_to_provide_it(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("GAN_STUDIO_DATA", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(name, folder, split):
        raise OSError("network disabled in tests")

    monkeypatch.setattr(_sources, "download", offline)
    runs = tmp_path / "runs"
    assert main(["train", "--preset", "dcgan-mnist", "--runs-dir", str(runs)]) == 2
    out, err = capsys.readouterr()
    assert err.startswith("error: no mnist data") and "Traceback" not in out + err
    for words in ("--data-root", "GAN_STUDIO_DATA", str(empty), "download", "network disabled"):
        assert words in err, words
    assert not runs.exists()  # nothing was created for a run that cannot start


def test_resume_refuses_an_unknown_run(tmp_path, capsys):
    assert main(["resume", "no-such-run", "--runs-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: no run 'no-such-run'")
    assert main(["resume", "../escape", "--runs-dir", str(tmp_path)]) == 2
    assert "no run folder" in capsys.readouterr().err


def test_export_writes_the_file_and_its_card_or_says_why_not(tmp_path, capsys):
    runs = tmp_path / "runs"
    config = configs.resolve("gan-mlp-mnist", ["g_width=8", "d_width=8"])
    run = create_run(runs, "export", config.to_dict())
    assert main(["export", run.id, "--runs-dir", str(runs)]) == 2
    assert "has no checkpoint yet" in capsys.readouterr().err
    save_checkpoint(run, {"step": 3, "generator": build_models(config).generator.state_dict(), "ema": None}, 3, keep=0)
    assert main(["export", run.id, "--runs-dir", str(runs), "--checkpoint", "best"]) == 2
    assert "no best.pt" in capsys.readouterr().err
    assert main(["export", run.id, "--runs-dir", str(runs)]) == 0
    assert capsys.readouterr().out.strip() == str(run.onnx_path)
    assert json.loads(run.card_path.read_text())["training"]["steps"] == 3

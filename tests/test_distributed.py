"""Two processes under torchrun on CPU (gloo): DistributedDataParallel trains, rank 0 alone writes
one consistent run folder."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from training import config as configs
from training.runs import list_runs

STEPS, LOG_EVERY = 12, 3


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="this PyTorch has no gloo backend")
def test_two_processes_write_one_consistent_run(tmp_path, cli_env):
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "training", "train", "--preset", "gan-mlp-mnist", "--name", "ddp", "--runs-dir", str(runs),
               "--device", "cpu", "--set", "batch_size=16", "--set", f"steps={STEPS}",
               "--set", f"log_every={LOG_EVERY}", "--set", "checkpoint_every=6", "--set", "sample_every=6"]
    result = subprocess.run(command, env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]  # torchrun fails when either rank fails
    assert "Traceback" not in output and "ChildFailedError" not in output

    folders = list(list_runs(runs))
    assert len(folders) == 1 and len(list(runs.iterdir())) == 1, list(runs.iterdir())
    run = folders[0]
    assert output.count("run folder:") == 1  # only rank 0 announces (and writes) it

    status = run.read_status()
    assert status["state"] == "finished" and status["step"] == STEPS
    rows = [r for r in run.read_metrics() if r.get("kind", "train") == "train"]
    assert [r["step"] for r in rows] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))  # once per step, not twice
    # Each of the two processes takes 16 images per step from its own half of the data.
    state = torch.load(run.last_checkpoint, weights_only=True)
    assert state["step"] == STEPS and state["images_seen"] == STEPS * 16 * 2
    assert len(state["order"]["order"]) == 30000  # rank 0's shard: every other image of the epoch's order
    assert [p.name for p in run.sample_grids()] == ["step_0000000.png", "step_0000006.png", "step_0000012.png"]
    config = configs.build_config(run.read_config())
    assert config.steps == STEPS and config.batch_size == 16
    log = run.log_path.read_text()
    assert "2 process(es)" in log

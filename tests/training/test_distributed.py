"""Two processes under torchrun on CPU (gloo): DistributedDataParallel trains, rank 0 alone writes
one consistent run folder; one process is the plain case of the same functions."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from training import config as configs
from training.config import ConfigError
from training.distributed import Processes, agree, end_processes, from_main, init_processes, pick_device, wrap
from training.runfolder.folder import list_runs

STEPS, LOG_EVERY = 12, 3

# Run under torchrun: trains a few steps of several presets (small nets, a real MNIST slice) and
# checks that both processes end with identical weights, i.e. DDP really averaged the gradients,
# also through the gradient penalty's double backward, clipping, spectral norm and batch norm.
SYNC_SCRIPT = """
import dataclasses, sys, torch, torch.distributed as dist
torch.set_num_threads(1)
from training import config as configs
from training.data.dataset import load_dataset
from training.distributed import init_processes
from training.session import build_session
from training.step import training_step
processes, device = init_processes("cpu")
data = load_dataset("mnist", None, "train")
data = dataclasses.replace(data, images=data.images[:2000], labels=data.labels[:2000])
failures = []
# FastGAN: its D's decoder works in D's step only (G's step scores fakes without rebuilding), and
# ADA steers p by signs all-reduced across the processes, so both must still agree bit for bit.
FASTGAN = ["dataset=mnist", "image_size=28", "channels=1", "ada_kimg=1"]
for preset, extra in [(p, []) for p in ["gan-mlp-mnist", "wgan-mnist", "wgan-gp-mnist", "dcgan-mnist", "cgan-mnist",
                                        "sngan-mnist"]] + [("fastgan-folder-64", FASTGAN)]:
    config = configs.resolve(preset, ["batch_size=8", "g_width=8", "d_width=16", "n_critic=2", *extra])
    session = build_session(config, processes, device, data)
    for step in range(3):
        training_step(session, step)
    for name, net in (("G", session.G), ("D", session.D)):
        # Parameters only: batch-norm running statistics are each process's own until DDP
        # broadcasts rank 0's at the next forward (and only rank 0's are ever saved).
        flat = torch.cat([p.detach().flatten().double() for p in net.parameters()])
        mine = torch.stack([flat.sum(), flat.abs().sum(), (flat * torch.arange(len(flat))).sum()])
        gathered = [torch.zeros_like(mine) for _ in range(processes.world_size)]
        dist.all_gather(gathered, mine)
        if not torch.allclose(gathered[0], gathered[1], rtol=1e-9, atol=0):
            failures.append(f"{preset} {name}: {gathered[0].tolist()} != {gathered[1].tolist()}")
dist.destroy_process_group()
if processes.rank == 0:
    print("DDP-SYNC", "OK" if not failures else "; ".join(failures))
sys.exit(1 if failures else 0)
"""


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
    order = state["order"]
    assert len(order["order"]) == 30000 and torch.equal(order["order"], order["permutation"][0::2])  # rank 0's half
    assert [p.name for p in run.sample_grids()] == ["step_0000000.png", "step_0000006.png", "step_0000012.png"]
    config = configs.build_config(run.read_config())
    assert config.steps == STEPS and config.batch_size == 16
    log = run.log_path.read_text()
    assert "2 process(es)" in log


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="this PyTorch has no gloo backend")
def test_both_processes_keep_identical_weights(tmp_path, cli_env):
    script = tmp_path / "ddp_sync.py"
    script.write_text(SYNC_SCRIPT)
    result = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                             str(script)], env=cli_env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert "DDP-SYNC OK" in output, output[-4000:]
    assert result.returncode == 0, output[-4000:]


def test_one_process_is_rank_0_of_1_and_every_helper_passes_through(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    processes, device = init_processes("cpu")
    assert processes == Processes() and processes.is_main and not processes.distributed
    assert device == torch.device("cpu")
    module = torch.nn.Linear(2, 2)
    assert wrap(module, processes, device) is module  # no DDP around a single process
    assert agree(processes, device, True, False) == (True, False)
    assert from_main("runs/x", processes) == "runs/x"
    end_processes(processes)  # nothing to tear down


def test_cuda_asked_for_without_a_gpu_says_what_to_do(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto") == torch.device("cpu")
    with pytest.raises(ConfigError, match="--device cpu or auto"):
        pick_device("cuda")

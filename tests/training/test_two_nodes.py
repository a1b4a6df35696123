"""Training with torchrun as two nodes on this machine: two torchrun agents (two "nodes", one process
each) meet through c10d rendezvous on localhost and train one run over gloo, as two machines would.
A node lost mid-run (its agent and trainer killed with SIGKILL) ends the other node by itself, the
run failed at its last checkpoint; torchrun on two nodes resumes it, and it ends with the very weights
and metrics rows of an uninterrupted two-node run (every process's own noise stream goes into the
checkpoint: rank 0's alone made the resumed run drift from the first step on)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training.runfolder.folder import RunFolder, list_runs

from tests.app.browser import free_port
from tests.helpers import wait_for_process

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                       reason="this PyTorch has no gloo backend"),
]

STEPS, LOG_EVERY, CHECKPOINT_EVERY = 240, 10, 20
STORE_LOST = "RendezvousConnectionError"  # torch.distributed.elastic: the agent lost its c10d store
SETTINGS = [f"--set={s}" for s in (f"steps={STEPS}", f"log_every={LOG_EVERY}", f"checkpoint_every={CHECKPOINT_EVERY}",
                                  "batch_size=16", "sample_every=120", "eval_every=0", "deterministic=true",
                                  "precision=fp32")]


def two_nodes(tmp_path: Path, env: dict, tag: str, *argv: str) -> list[subprocess.Popen]:
    """`torchrun --nnodes 2 --nproc-per-node 1 --rdzv-backend c10d --rdzv-endpoint localhost:PORT`, twice:
    c10d numbers the nodes as they meet (--node-rank is for the static rendezvous), rank 0 writes the run."""
    port = free_port()
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--rdzv-backend", "c10d", "--rdzv-endpoint", f"localhost:{port}", "--rdzv-id", tag,
               "-m", "training", *argv, "--runs-dir", str(tmp_path / "runs"), "--device", "cpu"]
    return [subprocess.Popen(command, cwd=tmp_path, env=env, stdout=(tmp_path / f"{tag}{node}.log").open("w"),
                             stderr=subprocess.STDOUT, start_new_session=True) for node in range(2)]


def ended(nodes: list[subprocess.Popen], tmp_path: Path, tag: str, timeout: float = 240) -> tuple[list[int], str]:
    """The nodes' exit codes and the end of their output; a node still running after ``timeout`` fails the test."""
    codes = []
    for node, process in enumerate(nodes):
        try:
            codes.append(process.wait(timeout=timeout))
        except subprocess.TimeoutExpired:
            for p in nodes:
                kill_node(p)
            pytest.fail(f"node {node} of {tag} did not end within {timeout} s: a hang")
    logs = "\n".join((tmp_path / f"{tag}{node}.log").read_text()[-3000:] for node in range(2))
    return codes, logs


def trainers_of(agent: subprocess.Popen) -> list[int]:
    """The processes a torchrun agent started (each in a session of its own: killing the agent's
    process group leaves them running)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == agent.pid:
            children.append(int(stat.parent.name))
    return children


def kill_node(agent: subprocess.Popen) -> None:
    """The node is lost: its agent and its trainer die at once, with nothing written."""
    for pid in [*trainers_of(agent), agent.pid]:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    agent.wait(timeout=30)


def run_named(tmp_path: Path, name: str) -> RunFolder:
    (run,) = [r for r in list_runs(tmp_path / "runs") if r.id.startswith(name)]
    return run


def training_rows(run: RunFolder) -> list[tuple]:
    return [(r["step"], r["epoch"], r["loss_d"], r["loss_g"], r["d_real"], r["d_fake"], r["grad_norm_d"])
            for r in run.read_metrics() if "loss_d" in r]


def test_two_nodes_lose_one_and_resume_exactly_as_an_uninterrupted_run(tmp_path, cli_env):
    straight = two_nodes(tmp_path, cli_env, "straight", "train", "--preset", "gan-mlp-mnist", "--name", "straight",
                         *SETTINGS)
    cut = two_nodes(tmp_path, cli_env, "cut", "train", "--preset", "gan-mlp-mnist", "--name", "cut", *SETTINGS)
    try:
        def mid_run():
            runs = [r for r in list_runs(tmp_path / "runs") if r.id.startswith("cut")]
            status = runs[0].read_status() if runs else {}
            if 2 * CHECKPOINT_EVERY <= status.get("step", 0) < STEPS and status.get("pid"):
                return runs[0], status["pid"]
        run, writer = wait_for_process(mid_run, cut[0], "two checkpoints of the run to cut", tmp_path / "cut0.log")
        (lost,) = [node for node in cut if writer not in trainers_of(node)]  # the node that does not write
        kill_node(lost)
        (survivor,) = [node for node in cut if node is not lost]
        codes, logs = ended([survivor], tmp_path, "cut", timeout=90)  # its peer's socket closes: no hang
        assert codes == [1], logs
        status = run.live_status()
        assert status["state"] == "failed" and status["step"] < STEPS
        saved = torch.load(run.last_checkpoint, weights_only=True)
        assert saved["step"] % CHECKPOINT_EVERY == 0 and saved["step"] <= status["step"]

        resumed = two_nodes(tmp_path, cli_env, "resumed", "resume", run.id)
        codes, logs = ended(resumed, tmp_path, "resumed")
        if codes != [0, 0] and STORE_LOST in logs:
            # torchrun's own rendezvous store, not the trainer, dropped a connection (seen once in CI
            # on the loaded 2-core machine: "Broken pipe" in an agent's poll of the c10d store). A
            # second resume, from whatever checkpoint the first left, must still end exactly as the
            # uninterrupted run: the assertions below hold it to that.
            saved = torch.load(run.last_checkpoint, weights_only=True)
            resumed = two_nodes(tmp_path, cli_env, "resumed-again", "resume", run.id)
            codes, logs = ended(resumed, tmp_path, "resumed-again")
        assert codes == [0, 0], logs
        assert f"resumed {run.id} at step {saved['step']}" in logs and "Traceback" not in logs
        codes, logs = ended(straight, tmp_path, "straight")
        assert codes == [0, 0], logs
    finally:
        for node in [*straight, *cut]:
            if node.poll() is None:
                kill_node(node)

    reference = run_named(tmp_path, "straight")
    for folder in (run, reference):
        assert folder.live_status()["state"] == "finished"
    assert training_rows(run) == training_rows(reference)  # every row, once, with the very same losses
    assert [r[0] for r in training_rows(run)] == list(range(LOG_EVERY, STEPS + 1, LOG_EVERY))
    ours, theirs = (torch.load(f.last_checkpoint, weights_only=True) for f in (run, reference))
    assert ours["step"] == theirs["step"] == STEPS and ours["images_seen"] == theirs["images_seen"]
    for part in ("generator", "discriminator"):
        for name, tensor in theirs[part].items():
            assert torch.equal(ours[part][name], tensor), f"{part}.{name} differs"
    for part in ("opt_g", "opt_d"):
        for index, moments in theirs[part]["state"].items():
            assert all(torch.equal(ours[part]["state"][index][k], v) for k, v in moments.items()), part
    assert len(ours["ranks"]) == 2 and not torch.equal(ours["ranks"][0]["rng_cpu"], ours["ranks"][1]["rng_cpu"])

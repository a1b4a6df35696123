"""The precision setting: what `auto` picks where, what stays fp32, and that runs resume under it."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from inference import hardware
from training import precision as precisions
from training.checkpoint import load_checkpoint
from training.config import ConfigError, field_choices
from training.losses import build_loss
from training.precision import choose
from training.runfolder.folder import create_run, list_runs
from training.session import build_session
from training.step import training_step
from training.trainer import Trainer

from tests.helpers import assert_same_losses, small_config, training_rows

pytestmark = pytest.mark.usefixtures("one_thread", "restore_determinism")

CPU, CUDA = torch.device("cpu"), torch.device("cuda")
NO_BF16 = frozenset({"avx2", "avx512f"})


@pytest.mark.parametrize("flags, chosen", [(NO_BF16, "fp32"), (frozenset({"avx512_bf16"}), "bf16"),
                                           (frozenset({"amx_bf16", "amx_tile"}), "bf16")])
def test_auto_on_a_cpu_takes_bf16_only_where_it_is_native(flags, chosen):
    picked = choose("auto", CPU, cpu_flags=flags)
    assert picked.name == chosen
    assert ("no native bf16" in picked.reason) == (chosen == "fp32")
    assert picked.scaler() is None


def test_asked_for_precisions_on_a_cpu():
    assert choose("fp32", CPU, cpu_flags=frozenset({"avx512_bf16"})).name == "fp32"
    emulated = choose("bf16", CPU, cpu_flags=NO_BF16)
    assert emulated.name == "bf16" and "emulated" in emulated.reason
    with pytest.raises(ConfigError, match="fp16 is for CUDA"):
        choose("fp16", CPU)


def test_auto_on_a_gpu_takes_bf16_where_it_has_it_else_fp16_with_a_scaler():
    assert choose("auto", CUDA, cuda_bf16=True).name == "bf16"
    old_gpu = choose("auto", CUDA, cuda_bf16=False)
    assert old_gpu.name == "fp16" and "scaler" in old_gpu.reason
    assert choose("fp16", CUDA, cuda_bf16=True).name == "fp16"
    with pytest.raises(ConfigError, match="no bf16"):
        choose("bf16", CUDA, cuda_bf16=False)


def test_a_trainer_on_a_cpu_without_native_bf16_trains_in_fp32(mnist_train, monkeypatch):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: NO_BF16)
    session = build_session(small_config("dcgan-keras-mnist", steps=2), dataset=mnist_train)
    assert session.precision.name == "fp32"
    seen = record_dtypes(session.D)
    training_step(session, 0)
    assert seen == {torch.float32}


def test_bf16_runs_the_forward_passes_in_bf16_and_keeps_weights_and_losses_in_fp32(mnist_train):
    session = build_session(small_config("dcgan-keras-mnist", steps=2, precision="bf16"), dataset=mnist_train)
    seen = record_dtypes(session.D)
    stats = training_step(session, 0, measure_grads=True)
    assert seen == {torch.bfloat16}
    assert stats["loss_d"].dtype == stats["loss_g"].dtype == torch.float32
    assert {p.dtype for p in [*session.G.parameters(), *session.D.parameters()]} == {torch.float32}
    moments = [s["exp_avg"] for s in session.opt_d.state.values()]
    assert moments and {m.dtype for m in moments} == {torch.float32}
    assert stats["grad_norm_d"] > 0 and stats["grad_norm_g"] > 0


def record_dtypes(module: torch.nn.Module) -> set[torch.dtype]:
    """The dtypes of the outputs ``module``'s forward passes return from now on."""
    seen: set[torch.dtype] = set()
    module.register_forward_hook(lambda m, args, out: seen.add(out.dtype))
    return seen


def test_r1_under_bf16_is_computed_in_fp32(mnist_train):
    """Scores from an autocast forward are rescored in fp32 before R1 differentiates them."""
    config = small_config("dcgan-mnist", r1_gamma=10.0)
    session = build_session(config, dataset=mnist_train)
    loss, D = build_loss(config), session.D
    real = loss.prepare_real(session.real_batch()[0])
    fp32_scores = D(real)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16_scores = D(real)
    assert bf16_scores.dtype == torch.bfloat16
    _, fp32 = loss.regularizer(D, real, real.detach(), None, fp32_scores)
    _, from_bf16 = loss.regularizer(D, real, real.detach(), None, bf16_scores)
    assert from_bf16["r1"].item() == pytest.approx(fp32["r1"].item(), rel=1e-6)


def test_a_bf16_run_resumes_exactly_and_under_another_precision(mnist_train, tmp_path):
    config = small_config("dcgan-mnist", steps=6, deterministic=True, precision="bf16", checkpoint_every=3)
    straight = create_run(tmp_path, "straight", config.to_dict())
    assert Trainer(build_session(config, dataset=mnist_train), straight).train() == "finished"

    halves = small_config("dcgan-mnist", steps=3, deterministic=True, precision="bf16", checkpoint_every=3)
    run = create_run(tmp_path, "halves", halves.to_dict())
    assert Trainer(build_session(halves, dataset=mnist_train), run).train() == "finished"
    assert load_checkpoint(run.last_checkpoint)["precision"].startswith("bf16")
    resumed = Trainer(build_session(config, dataset=mnist_train), run)
    resumed.resume_from(run)
    assert resumed.train() == "finished"
    assert_same_losses(training_rows(run), training_rows(straight))

    as_fp32 = small_config("dcgan-mnist", steps=9, deterministic=True, precision="fp32", checkpoint_every=3)
    again = Trainer(build_session(as_fp32, dataset=mnist_train), run)
    again.resume_from(run)
    assert again.session.precision.name == "fp32" and again.step == 6
    assert again.train() == "finished"


def test_status_and_log_say_which_precision_and_why(mnist_train, tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"amx_bf16"}))
    config = small_config(steps=2)
    run = create_run(tmp_path, "said", config.to_dict())
    with caplog.at_level("INFO", logger="training"):
        Trainer(build_session(config, dataset=mnist_train), run).train()
    status = run.read_status()
    assert status["precision"] == "bf16" and "amx_bf16" in status["precision_reason"]
    assert "precision: bf16 (auto: the CPU has native bf16 (amx_bf16))" in caplog.text


def test_fp16_on_a_cpu_is_refused_before_a_run_folder_exists(tmp_path, cli_env):
    runs = tmp_path / "runs"
    out = subprocess.run([sys.executable, "-m", "training", "train", "--preset", "gan-mlp-mnist", "--runs-dir",
                          str(runs), "--device", "cpu", "--set", "precision=fp16"],
                         env=cli_env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert "fp16 is for CUDA" in out.stderr and "Traceback" not in out.stderr
    assert not runs.exists() or not list(list_runs(runs))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 with a gradient scaler needs a CUDA GPU")
def test_fp16_on_cuda_trains_with_a_gradient_scaler_and_saves_its_scale(mnist_train, tmp_path):
    config = small_config("dcgan-mnist", steps=3, precision="fp16", device="cuda")
    run = create_run(tmp_path, "fp16", config.to_dict())
    trainer = Trainer(build_session(config, dataset=mnist_train), run)
    session = trainer.session
    assert session.precision.name == "fp16" and session.scaler_d is not None and session.channels_last
    assert trainer.train() == "finished"
    state = load_checkpoint(run.last_checkpoint)
    assert state["scaler_d"]["scale"] > 0
    assert run.read_status()["precision"] == "fp16"


def test_the_precision_module_names_every_choice_the_config_offers():
    assert set(field_choices("precision")) == {"auto", *precisions.DTYPES}

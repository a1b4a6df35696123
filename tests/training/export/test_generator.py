"""Export's own choices, apart from the ONNX graph (tests/training/test_onnx_graph.py): which
checkpoint, the command that reproduces a config, the weights it takes, and that exporting does
not load the training loop."""
from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys

import pytest
import torch

from training import config as configs
from training.checkpoint import save_checkpoint
from training.export.generator import ExportError, checkpoint_path, export_run, load_generator, training_command
from training.models import build_models
from training.runfolder.folder import create_run

from tests.helpers import REPO_ROOT, file_hashes, image_folder, tiny_run


def test_export_does_not_import_the_training_loop():
    loop = ("training.trainer", "training.session", "training.step", "training.run_writer", "training.distributed")
    code = (f"import sys, training.export.generator; loaded = [m for m in {loop!r} if m in sys.modules]; "
            "print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checkpoint_to_export_is_named_and_a_missing_one_explained(tmp_path):
    run = create_run(tmp_path / "runs", "which", {"steps": 1})
    with pytest.raises(ExportError, match="has not saved a checkpoint yet"):
        checkpoint_path(run, "last")
    with pytest.raises(ExportError, match="eval_every"):
        checkpoint_path(run, "best")
    with pytest.raises(ExportError, match="one of last, best"):
        checkpoint_path(run, "newest")


def test_the_training_command_is_the_preset_plus_what_differs():
    config = configs.resolve("dcgan-mnist", ["steps=123", "ema=true"], {"data_root": "/somewhere"})
    args = shlex.split(training_command(config))
    assert args[:6] == ["python", "-m", "training", "train", "--preset", "dcgan-mnist"]
    assert sorted(args[6:]) == sorted(["--set", "steps=123", "--set", "ema=true"])  # no data_root: a machine's path
    assert configs.resolve("dcgan-mnist", ["steps=123", "ema=true"]) == configs.resolve(
        args[5], [a for a in args[6:] if a != "--set"])


def test_a_folder_runs_training_command_names_its_folder():
    config = configs.resolve("dcgan-ada-folder-64", ["background=#000000"], {"data_root": "../my pictures"})
    args = shlex.split(training_command(config))
    assert args[4:10] == ["--preset", "dcgan-ada-folder-64", "--data-root", "../my pictures", "--set", "background=#000000"]


def test_best_exports_its_own_weights_ema_first(tmp_path):
    config = configs.resolve("gan-mlp-mnist", ["g_width=8", "d_width=8"])
    run = create_run(tmp_path / "runs", "export", config.to_dict())
    torch.manual_seed(0)
    trained, averaged = build_models(config).generator, build_models(config).generator
    save_checkpoint(run, {"step": 9, "generator": trained.state_dict(), "ema": None}, 9, keep=0)
    save_checkpoint(run, {"step": 4, "generator": trained.state_dict(), "ema": averaged.state_dict()}, 4, keep=0,
                    which="best")
    generator, _, state = load_generator(run, "best")
    assert state["step"] == 4 and not generator.training
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), averaged.state_dict().values()))

    out = export_run(run, tmp_path / "best.onnx", metrics={}, checkpoint="best")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["checkpoint"] == "best" and card["training"]["steps"] == 4
    assert card["training"]["weights"] == "ema"
    assert card["metadata"]["train_steps"] == 4


def test_export_onto_an_existing_model_needs_force_and_takes_its_side_files(tmp_path, capsys, restore_logging):
    from inference import Generator
    from training.cli.main import main

    run = tiny_run(tmp_path / "runs", image_folder(tmp_path / "images", 32))
    models = tmp_path / "models"
    models.mkdir()
    for suffix in (".onnx", ".json", ".eval.json", ".encoder.onnx", ".md", ".generator.safetensors"):  # never exported/
        shutil.copy(REPO_ROOT / "exported" / f"mnist-dcgan{suffix}", models / f"mnist-dcgan{suffix}")
    (models / "mnist-dcgan.fp16.onnx").write_bytes(b"a half copy of the old weights")
    target = models / "mnist-dcgan.onnx"
    argv = ["export", run.id, "--runs-dir", str(run.path.parent), "--out", str(target)]
    before = file_hashes(models)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert ("would replace mnist-dcgan.onnx, mnist-dcgan.json, mnist-dcgan.fp16.onnx, mnist-dcgan.eval.json, "
            "mnist-dcgan.encoder.onnx, mnist-dcgan.md, mnist-dcgan.generator.safetensors") in err
    assert "pass --force" in err and file_hashes(models) == before

    assert main(argv + ["--force"]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    new_files = ["mnist-dcgan.discriminator.safetensors", "mnist-dcgan.generator.safetensors", "mnist-dcgan.json",
                 "mnist-dcgan.md", "mnist-dcgan.onnx"]
    assert sorted(p.name for p in models.iterdir()) == new_files  # no stale report or encoder; new weights and card
    card = json.loads(target.with_suffix(".json").read_text())
    assert card["training"]["run"] == run.id and sorted(card["export"]["files"]) == sorted(set(new_files) - {"mnist-dcgan.json"})
    assert card["training"]["precision"].startswith(run.read_status()["precision"])  # bf16 or fp32, and why
    assert Generator.load(target).latent_dim == 8 and Generator.load(target).metadata["train_steps"] == 10


def test_an_alpha_folder_run_exports_rgba_with_its_class_names(tmp_path, one_thread):
    """Transparency end to end: RGBA files -> 4-channel tensors -> G -> ONNX (image_shape 4,H,W and
    the subfolders' names) -> Generator.generate's uint8 [N, H, W, 4], equal to the torch generator's."""
    import numpy as np
    from PIL import Image

    from inference import Generator, to_uint8
    from training.session import build_session
    from training.trainer import Trainer

    from tests.helpers import rgba_folder

    config = configs.resolve("dcgan-folder-alpha", [], dict(
        data_root=str(rgba_folder(tmp_path / "shapes")), image_size=32, conditional=True, g_width=8, d_width=8,
        batch_size=8, steps=3, checkpoint_every=3, sample_every=3, log_every=1, ema=False, health_check=False,
        eval_every=0))  # scoring in Inception features is tested in tests/training/test_evaluate.py
    run = create_run(tmp_path / "runs", "alpha", config.to_dict())
    assert Trainer(build_session(config), run).train() == "finished"
    with Image.open(run.sample_path(3)) as grid:
        assert grid.mode == "RGBA"  # the run's own sample grids keep the alpha too

    out = export_run(run, tmp_path / "shapes.onnx", metrics={})
    g = Generator.load(out)
    assert g.image_shape == (4, 32, 32) and g.class_names == ["circles", "squares"]
    # how the run read the folder, so scoring reads the reference folder the same way
    assert (g.metadata["transparency"], g.metadata["background"]) == ("alpha", "#ffffff")
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["metadata"]["image_shape"] == [4, 32, 32] and card["metadata"]["class_names"] == ["circles", "squares"]

    z, labels = g.sample_latent(6, seed=3), np.array([0, 1, 0, 1, 0, 1])
    images = g.generate(z, labels)
    assert images.shape == (6, 32, 32, 4) and images.dtype == np.uint8
    generator, _, _ = load_generator(run)
    with torch.no_grad():
        expected = to_uint8(generator(torch.from_numpy(z), torch.from_numpy(labels)).numpy(), g.output_range)
    assert np.abs(images.astype(int) - expected).max() <= 1  # float32 sums in another order: a rounding step at most


def test_a_clustered_run_exports_its_clusters_shares_and_is_scored_in_them(tmp_path, one_thread):
    """clusters end to end: unlabelled files -> k-means classes -> a conditional G -> ONNX whose
    metadata says how often each cluster is drawn -> a card that says so -> scores sampled that way."""
    import numpy as np

    from evaluation.sampling import sampled_labels
    from inference import Generator
    from training.data.clusters import find_clusters
    from training.data.dataset import load_for_config
    from training.evaluate import evaluate_target
    from training.session import build_session
    from training.trainer import Trainer

    from tests.helpers import tiny_config

    config = tiny_config(image_folder(tmp_path / "images", 24), model="dcgan", image_size=32, conditional=True,
                         clusters=3, steps=4, checkpoint_every=4, eval_every=0)
    run = create_run(tmp_path / "runs", "clustered", config.to_dict())
    assert Trainer(build_session(config), run).train() == "finished"
    out = export_run(run, tmp_path / "clustered.onnx", metrics={})
    g = Generator.load(out)
    counts = np.bincount(find_clusters(load_for_config(config).images, 3).numpy(), minlength=3)
    assert g.class_names == ["cluster 1", "cluster 2", "cluster 3"]
    assert g.class_prior == pytest.approx(list(counts / counts.sum()))
    assert np.bincount(sampled_labels(24, g.num_classes, g.class_prior), minlength=3).tolist() == counts.tolist()
    assert "conditioned on 3 clusters it found in its images" in out.with_suffix(".md").read_text()
    report, _, _ = evaluate_target(str(run.path), n=24, kid_subsets=2, runs_dir=tmp_path / "runs")
    assert "label_accuracy" not in report["metrics"]  # a cluster is not a class of the data

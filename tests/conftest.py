"""Fixtures shared by several test files."""
import os
from pathlib import Path

import pytest

# The offline MNIST copy lives beside the project, never inside it (see its README).
MNIST_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
# Training subprocesses started by tests find MNIST there too, with no set-up by the person testing.
os.environ.setdefault("GAN_STUDIO_DATA", str(MNIST_ROOT.parent))


@pytest.fixture
def mnist_root() -> Path:
    """The folder with the four MNIST IDX .gz files; skips the test where there is none."""
    if not (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST copy at {MNIST_ROOT}")
    return MNIST_ROOT


# --- the app's tests (tests/test_app*.py, tests/test_browser*.py) ---

def make_onnx_generator(path: Path, *, latent_dim: int = 16, shape=(1, 28, 28), num_classes: int = 0,
                        name: str = "toy") -> Path:
    """A small real generator that follows the ONNX contract (z -> MatMul (+ class embedding)
    -> Tanh -> image), with its metadata and a model card beside it; no torch needed."""
    import json

    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inference import contract

    size = int(np.prod(shape))
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((latent_dim, size)) * 0.5).astype(np.float32), "W"),
             numpy_helper.from_array(np.array([-1, *shape], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"])]
    pre = "h"
    if num_classes:
        inits.append(numpy_helper.from_array(rng.standard_normal((num_classes, size)).astype(np.float32), "E"))
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["N"]))
        nodes += [helper.make_node("Gather", ["E", "label"], ["e"], axis=0),
                  helper.make_node("Add", ["h", "e"], ["he"])]
        pre = "he"
    nodes += [helper.make_node("Tanh", [pre], ["t"]), helper.make_node("Reshape", ["t", "shape"], ["image"])]
    outputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", *shape])]
    meta = {"latent_dim": latent_dim, "latent_distribution": "normal", "image_shape": shape,
            "output_range": (-1.0, 1.0), "num_classes": num_classes, "dataset": "toy-mnist",
            "architecture": "matmul-tanh", "loss": "none", "train_steps": 100, "metrics": {"fid": 12.5},
            "created": "2026-11-24T00:00:00Z", "training_command": "python -m training train --preset toy"}
    model = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    helper.set_model_props(model, contract.metadata_to_props(meta))
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    path.with_suffix(".json").write_text(json.dumps(
        {"name": path.stem, "metadata": contract.metadata_to_card(meta),
         "training": {"preset": "toy", "steps": 100, "wall_time_s": 1.0, "machine": "test"}}))
    return path


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Empty runs folder, a models folder with an unconditional and a conditional 28x28 generator,
    and the offline data, all through the environment variables the app reads."""
    runs, models = tmp_path / "runs", tmp_path / "exported"
    runs.mkdir()
    make_onnx_generator(models / "toy.onnx")
    make_onnx_generator(models / "toy-cond.onnx", num_classes=10)
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(runs))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(models))
    monkeypatch.setenv("GAN_STUDIO_DATA", str(MNIST_ROOT.parent))
    return {"runs": runs, "models": models, "tmp": tmp_path}


# ---------------------------------------------------------------- training, config, CLI tests
import os  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def mnist_train():
    """The real MNIST training split as an ImageDataset (uint8, in memory), loaded once."""
    if not (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST copy at {MNIST_ROOT}")
    from training.data import load_dataset

    return load_dataset("mnist", MNIST_ROOT, "train")


@pytest.fixture
def one_thread():
    """One torch thread: on a small shared CPU, two spinning threads per process are much slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def cli_env(tmp_path):
    """Environment for `python -m training` subprocesses: the repo importable, the shared data
    found through GAN_STUDIO_DATA, one thread, and a private HOME/cache."""
    if not (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"no offline MNIST copy at {MNIST_ROOT}")
    env = dict(os.environ)
    env.update(PYTHONPATH=str(REPO_ROOT), GAN_STUDIO_DATA=str(SHARED_DATA.resolve()), OMP_NUM_THREADS="1",
               HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    env.pop("GAN_STUDIO_RUNS", None)
    return env

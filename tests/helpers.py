"""Plain helpers shared by several test modules (fixtures live in conftest.py)."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The offline MNIST copy lives beside the project, never inside it (see its README).
MNIST_ROOT = SHARED_DATA / "mnist"


def has_mnist() -> bool:
    return (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file()


def make_onnx_generator(path: Path, *, latent_dim: int = 16, shape=(1, 28, 28), num_classes: int = 0,
                        name: str = "toy") -> Path:
    """A small real generator that follows the ONNX contract (z -> MatMul (+ class embedding)
    -> Tanh -> image), with its metadata and a model card beside it; no torch needed."""
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




def wait_for_process(condition, process: subprocess.Popen, what: str, log: Path, timeout: float = 120.0):
    """Poll ``condition`` every 10 ms until it returns something truthy; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the process ended (rc {process.returncode}) before {what}; "
                        f"its output:\n{log.read_text()[-3000:]}")
        time.sleep(0.01)
    process.kill()
    pytest.fail(f"timed out waiting for {what}")


def rerun_until(at, done, timeout: float = 240, what: str = "") -> None:
    """Rerun a Streamlit AppTest (which rereads the run folders) until ``done(at)``."""
    deadline = time.monotonic() + timeout
    while not done(at):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; markdown: {[m.value for m in at.markdown][:8]}")
        time.sleep(1.0)
        at.run()

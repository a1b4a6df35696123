"""Plain helpers shared by several test modules (fixtures live in conftest.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from training import config as configs
from training.runfolder.folder import RunFolder, create_run, list_runs, process_alive

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
# The offline MNIST copy lives beside the project, never inside it (see its README).
MNIST_ROOT = SHARED_DATA / "mnist"
# Debian's Chromium, never `playwright install` (it downloads a browser, which fails offline).
CHROMIUM = Path("/usr/bin/chromium")
# A headless Chromium in a container, kept off the network and quiet.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]


def has_mnist() -> bool:
    return (MNIST_ROOT / "train-images-idx3-ubyte.gz").is_file()


def toy_metadata(*, latent_dim: int = 16, shape=(1, 28, 28), num_classes: int = 0) -> dict:
    """Metadata that follows the contract, with made-up training facts: what make_onnx_generator writes."""
    return {"latent_dim": latent_dim, "latent_distribution": "normal", "image_shape": tuple(shape),
            "output_range": (-1.0, 1.0), "num_classes": num_classes, "dataset": "toy-mnist",
            "architecture": "matmul-tanh", "loss": "none", "train_steps": 100, "metrics": {"fid": 12.5},
            "created": "2026-11-24T00:00:00Z", "training_command": "python -m training train --preset toy"}


def save_onnx_model(path: Path, nodes, inputs, outputs, initializers=(), props: dict | None = None,
                    name: str = "g") -> Path:
    """Save a graph as a checked ONNX model that onnxruntime loads, with these metadata_props."""
    import onnx
    from onnx import helper

    model = helper.make_model(helper.make_graph(nodes, name, inputs, outputs, list(initializers)),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # what onnxruntime 1.31 reads, whatever onnx.helper defaults to
    if props:
        helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, path)
    return path


def make_onnx_generator(path: Path, *, latent_dim: int = 16, shape=(1, 28, 28), num_classes: int = 0,
                        name: str = "toy", meta: dict | None = None, props: dict | None | str = "meta") -> Path:
    """A small real generator that follows the ONNX contract (z -> MatMul (+ class embedding)
    -> Tanh -> image), with its metadata and a model card beside it; no torch needed.

    ``meta`` overrides fields of toy_metadata (in the file and the card). ``props`` are the file's
    metadata_props: by default the metadata's; a dict is written as it is (literal keys, broken
    values); None writes none, so only the card describes the file."""
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
    metadata = toy_metadata(latent_dim=latent_dim, shape=shape, num_classes=num_classes) | (meta or {})
    if props == "meta":
        props = contract.metadata_to_props(metadata)
    save_onnx_model(path, nodes, inputs, outputs, inits, props, name)
    path.with_suffix(".json").write_text(json.dumps(
        {"name": path.stem, "metadata": contract.metadata_to_card(metadata),
         "training": {"preset": "toy", "steps": 100, "wall_time_s": 1.0, "machine": "test"}}))
    return path


def make_philox_generator(path: Path, **options) -> Path:
    """make_onnx_generator's model as a current export writes it: latent_scheme "philox" and SeFa
    directions of its one layer (z @ W: eigenvectors of W W^T, largest first)."""
    import onnx
    from onnx import numpy_helper

    make_onnx_generator(path, **options)
    w = numpy_helper.to_array(next(i for i in onnx.load(str(path)).graph.initializer if i.name == "W"))
    values, vectors = np.linalg.eigh(w.astype(np.float64) @ w.T.astype(np.float64))
    order = np.argsort(values)[::-1][:4]
    directions = {"method": "sefa", "layer": "W", "vectors": vectors[:, order].T.tolist(),
                  "share": (values[order] / values.sum()).tolist()}
    meta = (options.pop("meta", None) or {}) | {"latent_scheme": "philox", "directions": directions}
    return make_onnx_generator(path, meta=meta, **options)


def make_exact_encoder(model: Path) -> Path:
    """The exact inverse of make_onnx_generator's toy (image = tanh(z W)) as an encoder file beside it:
    z = atanh(x) pinv(W). Built with onnx alone, so the inference side is tested without torch."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from inference.encoder import encoder_path, file_sha256

    w = numpy_helper.to_array(next(i for i in onnx.load(str(model)).graph.initializer if i.name == "W"))
    inits = [numpy_helper.from_array(np.linalg.pinv(w).astype(np.float32), "P"),
             numpy_helper.from_array(np.array([-1, w.shape[1]], np.int64), "flat"),
             numpy_helper.from_array(np.array(-0.999, np.float32), "lo"), numpy_helper.from_array(np.array(0.999, np.float32), "hi")]
    nodes = [helper.make_node("Clip", ["image", "lo", "hi"], ["c"]), helper.make_node("Atanh", ["c"], ["a"]),
             helper.make_node("Reshape", ["a", "flat"], ["f"]), helper.make_node("MatMul", ["f", "P"], ["z"])]
    props = {"gan_studio.encoder": "1", "gan_studio.generator": model.name, "gan_studio.generator_sha256": file_sha256(model),
             "gan_studio.latent_dim": str(w.shape[0]), "gan_studio.image_shape": "1,28,28"}
    return save_onnx_model(encoder_path(model), nodes, [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])],
                           [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", w.shape[0]])], inits, props, "encoder")


def file_hashes(*folders: Path) -> dict[str, str]:
    """sha256 of every file below ``folders`` (hidden ones too), by path: compare two calls to see
    that nothing was written, replaced, added or removed."""
    import hashlib

    return {str(path): hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders if Path(folder).exists() for path in sorted(Path(folder).rglob("*")) if path.is_file()}


def image_folder(path: Path, n: int, size: int = 28) -> Path:
    """A folder of ``n`` random grayscale PNGs (``size`` square): a tiny `folder` dataset."""
    from PIL import Image

    path.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        pixels = (np.random.default_rng(i).random((size, size)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(path / f"{i:03d}.png")
    return path


def tiny_config(images: Path, **changes) -> configs.Config:
    """A tiny MLP GAN on a folder of 28x28 gray ``images`` (image_folder), a few ms a step."""
    return configs.resolve("gan-mlp-mnist", [], dict(
        dataset="folder", data_root=str(images), image_size=28, channels=1, batch_size=8, steps=10, g_width=8,
        d_width=8, checkpoint_every=5, keep_checkpoints=2, log_every=1, sample_every=1000, latent_dim=8) | changes)


def tiny_run(runs: Path, images: Path) -> RunFolder:
    """A finished run of tiny_config's 10 steps: checkpoints last.pt, step_0000005.pt, step_0000010.pt."""
    from training.session import build_session  # torch: only the tests that train need it
    from training.trainer import Trainer

    config = tiny_config(images)
    run = create_run(runs, "tiny", config.to_dict())
    assert Trainer(build_session(config), run).train() == "finished"
    return run


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


# --- the Streamlit app through AppTest (tests/app) ---

APP_TIMEOUT = 120  # seconds per script run: generous, as the CPU is shared with training jobs


def new_app(page: str | None = None):
    """A fresh AppTest session of streamlit_app.py, run once (and switched to ``page``)."""
    from streamlit.testing.v1 import AppTest  # keeps Streamlit out of the tests that never use it

    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=APP_TIMEOUT)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def app_images(at) -> list[tuple[str, str]]:
    """(caption, url) of every image; the url is a hash of the image's bytes."""
    return [(img.caption, img.url) for image in at.get("image") for img in image.proto.imgs]


def frame_url(at) -> str:
    return next(url for caption, url in app_images(at) if caption.startswith("morph"))


def grid_urls(at) -> list[str]:
    return [url for caption, url in app_images(at) if not caption]


def plotly_specs(at) -> str:
    return " ".join(str(chart.proto) for chart in at.get("plotly_chart"))


def app_text(at) -> str:
    """Everything a page shows as text (messages, captions, code, markdown, the Runs table's cells),
    one string; fails on an exception element, which would be a traceback in the page."""
    from app.markdown_escape import shown  # Markdown's escapes read as the reader sees them: `a\_b` is a_b

    assert not at.exception, [e.value for e in at.exception]
    parts = [str(e.value) if kind == "code" else shown(str(e.value))
             for kind in ("error", "warning", "info", "success", "caption", "code", "markdown", "toast") for e in at.get(kind)]
    parts += [frame.to_csv() for frame in (d.value for d in at.dataframe)]
    return "\n".join(parts)


def deferred_downloads(monkeypatch) -> dict:
    """The data callables of the download buttons a page makes with ``data=callable`` (made when
    clicked), by the deferred_file_id their button carries; see ``downloaded``."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    made, original = {}, MediaFileManager.add_deferred

    def recording(self, data_callable, *args, **kwargs):
        file_id = original(self, data_callable, *args, **kwargs)
        made[file_id] = data_callable
        return file_id

    monkeypatch.setattr(MediaFileManager, "add_deferred", recording)
    return made


def downloaded(at, label: str, made: dict) -> bytes:
    """What clicking the download button ``label`` gives (its callable run as Streamlit runs it)."""
    [button] = [b for b in at.get("download_button") if b.proto.label == label]
    data = made[button.proto.deferred_file_id]()
    return data.encode() if isinstance(data, str) else data


def assert_frame_holds(frame, rows) -> None:
    """A DataFrame, or its CSV read back, holds the JSON ``rows`` one to one: each key's value in its
    column (floats to the last digit), a missing key or a null as NA, a list or mapping as its JSON."""
    import math

    import pandas as pd

    assert len(frame) == len(rows)
    for i, row in enumerate(rows):
        for key, value in row.items():
            cell = frame.loc[i, key]
            if value is None or (isinstance(value, float) and math.isnan(value)):
                assert pd.isna(cell), (i, key, cell)
            elif isinstance(value, (list, dict)):
                assert json.loads(cell) == value, (i, key)
            else:
                assert cell == value, (i, key, cell, value)


def tree_hashes(*roots: Path) -> dict[str, str]:
    """Path -> sha256 of every file below ``roots`` (a link: its target's name, never followed; a
    FIFO or device: its kind): what a test compares before and after to see what changed."""
    import hashlib
    import stat

    found = {}
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in dirs + files:
                path = Path(folder) / name
                mode = path.lstat().st_mode
                if stat.S_ISLNK(mode):
                    found[str(path)] = "link -> " + os.readlink(path)
                elif stat.S_ISREG(mode):
                    found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
                elif not stat.S_ISDIR(mode):
                    found[str(path)] = f"special {stat.S_IFMT(mode)}"
    return found


def exported_run(runs: Path, name: str = "done", state: str = "finished") -> RunFolder:
    """A run folder as training and export leave it: a (fake) checkpoint, generator.onnx and its card."""
    from training.runfolder.folder import create_run

    run = create_run(runs, name, {"preset": "toy", "dataset": "mnist", "steps": 100})
    run.write_status(state=state, step=100, total_steps=100, message=state)
    run.last_checkpoint.write_bytes(b"not a real checkpoint: the app never opens it")
    make_onnx_generator(run.onnx_path, latent_dim=8, name="from-run")
    return run


def training_like_process(ignore_term: bool = False, lock: Path | None = None, word: str = "training") -> subprocess.Popen:
    """A sleeping process whose command line has the word ``training``, as the app's checks want
    of a trainer's; with ``ignore_term`` it shrugs off SIGTERM as a trainer mid-step would; with
    ``lock`` (a run folder) it holds that run's lock; ``word`` in place of "training" makes it
    a process that is not a trainer at all."""
    code = ("import signal, sys, time\n" + ("signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if ignore_term else "")
            + (f"from pathlib import Path\nfrom training.runfolder.lock import RunLock\nfrom training.runfolder.folder import RunFolder\n"
               f"held = RunLock.acquire(RunFolder(Path({str(lock)!r})))\n" if lock else "")
            + "print('ready', flush=True)\ntime.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, word], stdout=subprocess.PIPE, start_new_session=True,
                            cwd=REPO_ROOT)
    assert proc.stdout.readline().strip() == b"ready"  # its handler is in place before a test signals it
    return proc


def only_run(runs: Path) -> RunFolder:
    found = list(list_runs(runs))
    assert len(found) == 1, found
    return found[0]


def stop_training_processes(runs: Path) -> None:
    """SIGTERM to the process group of every live run in ``runs``: no test leaves a trainer behind."""
    for run in list_runs(runs):
        pid = run.read_status().get("pid")
        # a pid from a file a test broke on purpose (true is pid 1: init's group) is never signalled
        if isinstance(pid, int) and not isinstance(pid, bool) and pid > 1 and process_alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


# --- evaluation (tests/evaluation, tests/training/test_evaluate.py) ---

def real_image_generator(path: Path, images_uint8: np.ndarray, dataset: str = "mnist",
                         metrics: dict | None = None) -> Path:
    """An ONNX generator (the contract's z -> image) that returns one of ``images`` chosen by z[:, 0]
    (uniform in [-1, 1]): a 'generator' whose output distribution we know exactly. Card beside it;
    ``metrics``: the scores its metadata records (none by default)."""
    from onnx import TensorProto, helper, numpy_helper

    from inference import contract

    k = len(images_uint8)
    table = (images_uint8.astype(np.float32) / 127.5 - 1).reshape(k, 1, 28, 28)
    inits = [numpy_helper.from_array(table, "table"),
             numpy_helper.from_array(np.array([0], np.int64), "s0"), numpy_helper.from_array(np.array([1], np.int64), "s1"),
             numpy_helper.from_array(np.array([1], np.int64), "ax"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(k / 2, np.float32), "half_k"),
             numpy_helper.from_array(np.array(0.0, np.float32), "lo"),
             numpy_helper.from_array(np.array(k - 1, np.float32), "hi"),
             numpy_helper.from_array(np.array([-1], np.int64), "flat")]
    nodes = [helper.make_node("Slice", ["z", "s0", "s1", "ax"], ["z0"]),
             helper.make_node("Add", ["z0", "one"], ["a"]), helper.make_node("Mul", ["a", "half_k"], ["b"]),
             helper.make_node("Floor", ["b"], ["c"]), helper.make_node("Clip", ["c", "lo", "hi"], ["d"]),
             helper.make_node("Cast", ["d"], ["e"], to=TensorProto.INT64),
             helper.make_node("Reshape", ["e", "flat"], ["idx"]),
             helper.make_node("Gather", ["table", "idx"], ["image"], axis=0)]
    meta = {"latent_dim": 4, "latent_distribution": "uniform", "latent_bound": 1.0, "image_shape": (1, 28, 28),
            "output_range": (-1.0, 1.0), "num_classes": 0, "dataset": dataset, "architecture": "lookup",
            "loss": "none", "train_steps": 0, "metrics": metrics or {}, "created": "2026-11-24T00:00:00Z",
            "training_command": "tests/helpers.py real_image_generator"}
    save_onnx_model(path, nodes, [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
                    [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 28, 28])], inits,
                    props=contract.metadata_to_props(meta), name="real-images")
    path.with_suffix(".json").write_text(json.dumps({"name": path.stem, "metadata": contract.metadata_to_card(meta)}))
    return path


def clusters(n_per: int, n_clusters: int = 10, dim: int = 8, spread: float = 20.0, std: float = 1.0, seed: int = 0,
             only: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters with fixed, well separated centres (features, cluster ids); ``only`` draws
    every point from that one cluster."""
    centres = np.random.default_rng(1234).standard_normal((n_clusters, dim)) * spread
    ids = np.repeat(np.arange(n_clusters), n_per) if only is None else np.full(n_per * n_clusters, only)
    return centres[ids] + std * np.random.default_rng(seed).standard_normal((ids.size, dim)), ids


def one_hot(labels, num_classes: int = 10, confidence: float = 1.0) -> np.ndarray:
    """Class probabilities [N, C]: ``confidence`` on each label, the rest spread evenly."""
    p = np.full((len(labels), num_classes), (1 - confidence) / (num_classes - 1))
    p[np.arange(len(labels)), labels] = confidence
    return p


class FakeInception:
    """An Inception extractor with InceptionONNX's interface, fast: a fixed random projection of the
    pixels to 16 features (for the plumbing of --inception, not its numbers)."""

    name, device = "fake inception", "cpu (test)"

    def features(self, images01, batch=25, progress=None):
        flat = images01.reshape(len(images01), -1).astype(np.float64)
        return flat @ np.random.default_rng(0).standard_normal((flat.shape[1], 16))


# ---------------------------------------------------------------- training runs

def training_rows(run: RunFolder):
    return [r for r in run.read_metrics() if r.get("kind", "train") == "train"]


def small_config(preset="gan-mlp-mnist", **changes):
    base = dict(batch_size=16, steps=20, log_every=1, sample_every=1000, checkpoint_every=1000)
    return configs.resolve(preset, [], {**base, **changes})


def tensorboard_events(folder: Path):
    """TensorBoard's own Python reader over an event folder, every event kept (by default it keeps a
    random sample of each series)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    return EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0}).Reload()


def assert_same_losses(rows, reference):
    assert [r["step"] for r in rows] == [r["step"] for r in reference]
    for row, ref in zip(rows, reference):
        keys = set(ref) - {"time", "images_per_s"}
        assert keys == set(row) - {"time", "images_per_s"}
        for key in keys:
            assert row[key] == pytest.approx(ref[key], rel=1e-6, abs=1e-6), (row["step"], key)


def rgba_folder(path: Path, per_class: int = 8, size: int = 32, classes=("circles", "squares")) -> Path:
    """A labelled folder of transparent PNGs (``per_class`` in each of ``classes``, ``size`` square):
    an opaque coloured shape on a transparent background whose hidden colour is black, as most
    exported icons store it; a tiny `folder` dataset with alpha."""
    from PIL import Image

    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    for k, name in enumerate(classes):
        (path / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            radius = size * (0.2 + 0.2 * i / max(per_class - 1, 1))
            inside = (np.hypot(yy, xx) <= radius) if k % 2 == 0 else (np.maximum(abs(yy), abs(xx)) <= radius)
            pixels = np.zeros((size, size, 4), np.uint8)
            pixels[inside] = (40 + 25 * i % 215, 200 - 150 * k % 200, 120, 255)
            Image.fromarray(pixels, "RGBA").save(path / name / f"{i:02d}.png")
    return path

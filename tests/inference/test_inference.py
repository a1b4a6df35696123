"""Tests of the torch-free inference package, on small real ONNX generators built with onnx.helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

import inference
from inference import Generator, InferenceError, contract, latents

from tests.helpers import REPO_ROOT

REPO = REPO_ROOT

BASE_META = {
    "latent_dim": 8,
    "latent_distribution": "normal",
    "image_shape": (1, 4, 4),
    "output_range": (-1.0, 1.0),
    "dataset": "toy",
    "architecture": "matmul-tanh",
    "loss": "none",
    "train_steps": 12,
    "metrics": {"fid": 1.5},
    "created": "2026-11-24T00:00:00Z",
    "training_command": "python -m training --preset toy",
}


def _model(nodes, inputs, outputs, initializers, props) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # what onnxruntime 1.31 reads, whatever onnx.helper defaults to
    if props:
        helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model


def make_generator(path: Path, *, latent_dim=8, shape=(1, 4, 4), num_classes=0, meta=None,
                   props="default", batch="N") -> Path:
    """z [N, D] -> MatMul -> (+ Gather(embedding, label)) -> Tanh -> Reshape -> image [N, C, H, W]."""
    size = int(np.prod(shape))
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((latent_dim, size)) * 0.5)
                                     .astype(np.float32), "W"),
             numpy_helper.from_array(np.array([-1, *shape], np.int64), "shape")]
    inputs = [helper.make_tensor_value_info("z", TensorProto.FLOAT, [batch, latent_dim])]
    nodes = [helper.make_node("MatMul", ["z", "W"], ["h"])]
    pre = "h"
    if num_classes:
        inits.append(numpy_helper.from_array(
            rng.standard_normal((num_classes, size)).astype(np.float32), "E"))
        inputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, [batch]))
        nodes += [helper.make_node("Gather", ["E", "label"], ["e"], axis=0),
                  helper.make_node("Add", ["h", "e"], ["he"])]
        pre = "he"
    nodes += [helper.make_node("Tanh", [pre], ["t"]),
              helper.make_node("Reshape", ["t", "shape"], ["image"])]
    outputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, [batch, *shape])]
    if props == "default":
        m = dict(BASE_META, latent_dim=latent_dim, image_shape=shape, num_classes=num_classes)
        m.update(meta or {})
        props = contract.metadata_to_props(m)
    onnx.save(_model(nodes, inputs, outputs, inits, props), path)
    return path


def make_identity(path: Path, output_range=(-1.0, 1.0)) -> Path:
    """z [N, 4] reshaped to image [N, 1, 2, 2]: pixel values are the latents themselves."""
    shape = numpy_helper.from_array(np.array([-1, 1, 2, 2], np.int64), "shape")
    m = dict(BASE_META, latent_dim=4, image_shape=(1, 2, 2), output_range=output_range)
    model = _model([helper.make_node("Reshape", ["z", "shape"], ["image"])],
                   [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
                   [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 2, 2])],
                   [shape], contract.metadata_to_props(m))
    onnx.save(model, path)
    return path


@pytest.fixture
def gen_path(tmp_path) -> Path:
    return make_generator(tmp_path / "toy.onnx")


@pytest.fixture
def cond_path(tmp_path) -> Path:
    return make_generator(tmp_path / "cond.onnx", num_classes=3,
                          meta={"class_names": ["a", "b", "c"]})


# --- contract and metadata ---

def test_metadata_parsed_from_literal_props(tmp_path):
    # Literal key names, so a rename in contract.py that the exporter would follow fails here.
    props = {"gan_studio.format": "1", "gan_studio.latent_dim": "8",
             "gan_studio.latent_distribution": "uniform", "gan_studio.latent_bound": "1",
             "gan_studio.image_shape": "1,4,4", "gan_studio.output_range": "0,1",
             "gan_studio.num_classes": "0", "gan_studio.class_names": "[]",
             "gan_studio.dataset": "toy", "gan_studio.architecture": "mlp",
             "gan_studio.loss": "minimax", "gan_studio.train_steps": "500",
             "gan_studio.metrics": '{"fid": 12.5}', "gan_studio.created": "2026-11-24",
             "gan_studio.training_command": "python -m training", "gan_studio.extra": "kept",
             "other.key": "ignored"}
    g = Generator.load(make_generator(tmp_path / "m.onnx", props=props))
    m = g.metadata
    assert (m["latent_dim"], m["latent_distribution"], m["latent_bound"]) == (8, "uniform", 1.0)
    assert m["image_shape"] == (1, 4, 4) and m["output_range"] == (0.0, 1.0)
    assert m["train_steps"] == 500 and m["metrics"] == {"fid": 12.5}
    assert m["extra"] == "kept" and "other.key" not in m
    assert (g.latent_dim, g.num_classes, g.image_shape, g.class_names) == (8, 0, (1, 4, 4), [])
    assert g.metadata_source == "onnx" and g.path == tmp_path / "m.onnx"


def test_contract_round_trips():
    meta = dict(BASE_META, num_classes=2, class_names=["x", "y"], latent_bound=2.5, note=3)
    props = contract.metadata_to_props(meta)
    assert props["gan_studio.format"] == "1"
    assert props["gan_studio.output_range"] == "-1,1" and props["gan_studio.image_shape"] == "1,4,4"
    assert props["gan_studio.latent_bound"] == "2.5"
    assert all(isinstance(v, str) for v in props.values())
    parsed = contract.metadata_from_props(props)
    card = contract.metadata_to_card(meta)
    json.dumps(card)  # the card form is plain JSON
    assert contract.metadata_from_card({"metadata": card}) == parsed
    assert parsed["note"] == "3" and parsed["class_names"] == ["x", "y"]


@pytest.mark.parametrize("change, words", [
    ({"latent_dim": "eight"}, "latent_dim"),
    ({"latent_distribution": "cauchy"}, "normal, uniform"),
    ({"latent_distribution": "uniform"}, "latent_bound"),
    ({"image_shape": "28,28"}, "C,H,W"),
    ({"output_range": "1,-1"}, "lo must be < hi"),
    ({"metrics": "{not json"}, "metrics"),
    ({"num_classes": 2, "class_names": ["only one"]}, "class_names"),
    ({"format": "2"}, "not supported"),
])
def test_contract_rejects_bad_metadata(change, words):
    with pytest.raises(InferenceError, match=words):
        contract.metadata_to_props(dict(BASE_META, **change))


def test_contract_names_missing_keys():
    with pytest.raises(InferenceError, match="latent_dim, latent_distribution"):
        contract.metadata_from_props({"gan_studio.format": "1"})


def test_conditional_default_class_names(tmp_path):
    g = Generator.load(make_generator(tmp_path / "c.onnx", num_classes=3))
    assert g.class_names == ["0", "1", "2"] and g.conditional


# --- latents ---

def test_sample_latent_is_pinned(gen_path):
    g = Generator.load(gen_path)
    z = g.sample_latent(16, seed=0)
    assert z.dtype == np.float32 and z.shape == (16, 8)
    # numpy PCG64(0).standard_normal, float64 cast to float32: a changed algorithm fails here.
    np.testing.assert_array_equal(
        z[0, :4], np.array([0.12573022, -0.13210486, 0.64042264, 0.104900114], np.float32))
    np.testing.assert_array_equal(z, g.sample_latent(16, seed=0))
    np.testing.assert_array_equal(z[:5], g.sample_latent(5, seed=0))  # prefix-stable
    assert not np.array_equal(z, g.sample_latent(16, seed=1))
    np.testing.assert_allclose(g.sample_latent(16, seed=0, truncation=0.5), z * 0.5, rtol=1e-6)
    assert not g.sample_latent(4, seed=0, truncation=0.0).any()


def test_uniform_and_bounded_latents():
    u = latents.sample(2, 4, seed=0, distribution="uniform", bound=1.0)
    np.testing.assert_array_equal(
        u[0], np.array([0.27392337, -0.46042657, -0.91805297, -0.96694475], np.float32))
    big = latents.sample(2000, 8, seed=3, distribution="uniform", bound=0.25)
    assert np.abs(big).max() <= 0.25
    clipped = latents.sample(2000, 8, seed=3, distribution="normal", bound=1.0)
    assert np.abs(clipped).max() == 1.0  # N(0,1) clipped: values reach, never pass, the bound


@pytest.mark.parametrize("kwargs", [{"n": 0}, {"seed": -1}, {"truncation": 1.5},
                                    {"distribution": "cauchy"}])
def test_sample_rejects_bad_arguments(kwargs):
    args = dict(n=2, latent_dim=4, seed=0) | kwargs
    with pytest.raises(InferenceError):
        latents.sample(args.pop("n"), args.pop("latent_dim"), **args)


def test_lerp_and_slerp():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    b *= np.linalg.norm(a) / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)
    for f in (inference.lerp, inference.slerp):
        path = f(a, b, t)
        assert path.shape == (11, 64)
        np.testing.assert_array_equal(path[0], a)
        np.testing.assert_array_equal(path[-1], b)
    # Equal norms: slerp stays on the sphere, lerp cuts inside it.
    np.testing.assert_allclose(np.linalg.norm(inference.slerp(a, b, t), axis=1), np.linalg.norm(a))
    assert np.linalg.norm(inference.lerp(a, b, t)[5]) < 0.9 * np.linalg.norm(a)
    # Parallel (and zero) vectors: no division by sin(0), falls back to lerp.
    np.testing.assert_allclose(inference.slerp(a, 2 * a, t), inference.lerp(a, 2 * a, t))
    assert np.isfinite(inference.slerp(np.zeros(64), a, t)).all()


def test_interpolate_paths(gen_path):
    g = Generator.load(gen_path)
    z = g.sample_latent(3, seed=7)
    two = g.interpolate(z[0], z[1], steps=9)
    assert two.shape == (9, 8) and two.dtype == np.float32
    np.testing.assert_array_equal(two[[0, -1]], z[:2])
    three = g.interpolate(z, steps=5, method="lerp")  # keys as one [K, D] array
    assert three.shape == (9, 8)  # 2 segments of 5 frames sharing the middle key
    np.testing.assert_array_equal(three[[0, 4, 8]], z)
    np.testing.assert_array_equal(three, g.interpolate(z[0], z[1], z[2], steps=5, method="lerp"))
    with pytest.raises(InferenceError, match="at least two"):
        g.interpolate(z[0])
    with pytest.raises(InferenceError, match="steps"):
        g.interpolate(z[0], z[1], steps=1)
    with pytest.raises(InferenceError, match="slerp or lerp"):
        g.interpolate(z[0], z[1], method="cubic")
    with pytest.raises(InferenceError, match=r"\[N, 8\]"):
        g.interpolate(np.zeros(5), np.zeros(5))


def test_interpolation_stays_within_bound(tmp_path):
    g = Generator.load(make_generator(tmp_path / "u.onnx",
                                      meta={"latent_distribution": "uniform", "latent_bound": 1}))
    z = g.sample_latent(2, seed=0)
    assert np.abs(g.interpolate(z[0], z[1], steps=33)).max() <= 1.0


# --- running ---

def test_generate_shapes_and_mapping(tmp_path):
    g = Generator.load(make_identity(tmp_path / "id.onnx"))
    z = np.array([[-1, 0, 1, 0.5], [-3, 3, np.float32(-0.999), 0.002]], np.float32)
    raw = g.run(z)
    assert raw.dtype == np.float32 and raw.shape == (2, 1, 2, 2)
    images = g.generate(z)
    assert images.dtype == np.uint8 and images.shape == (2, 2, 2, 1)
    np.testing.assert_array_equal(images[0].ravel(), [0, 128, 255, 191])
    np.testing.assert_array_equal(images[1].ravel(), [0, 255, 0, 128])  # clipped, rounded
    g01 = Generator.load(make_identity(tmp_path / "id01.onnx", output_range=(0, 1)))
    np.testing.assert_array_equal(
        g01.generate(np.array([[0, 0.5, 1, 2]], np.float64)).ravel(), [0, 128, 255, 255])


def test_generate_conditional(cond_path):
    g = Generator.load(cond_path)
    z = g.sample_latent(4, seed=0)
    a = g.generate(z, labels=[0, 1, 2, 0])
    assert a.shape == (4, 4, 4, 1)
    np.testing.assert_array_equal(g.generate(z, labels=1), g.generate(z, labels=np.ones(4, int)))
    assert not np.array_equal(g.run(z, 0), g.run(z, 1))  # the label changes the image


@pytest.mark.parametrize("z, words", [
    (np.zeros((2, 7), np.float32), r"expected latents float32 \[N, 8\], got shape \[2, 7\]"),
    (np.zeros(8, np.float32), r"z\[None\]"),
    (np.zeros((1, 2, 8), np.float32), r"\[N, 8\]"),
    (np.zeros((0, 8), np.float32), r"\[N, 8\]"),
    (np.zeros((2, 8), np.int64), "dtype int64"),
    (np.full((2, 8), np.nan, np.float32), "NaN"),
])
def test_bad_latents(gen_path, z, words):
    with pytest.raises(InferenceError, match=words):
        Generator.load(gen_path).generate(z)


def test_label_errors(gen_path, cond_path):
    z = np.zeros((2, 8), np.float32)
    with pytest.raises(InferenceError, match="unconditional"):
        Generator.load(gen_path).generate(z, labels=0)
    g = Generator.load(cond_path)
    with pytest.raises(InferenceError, match="class-conditional"):
        g.generate(z)
    with pytest.raises(InferenceError, match="out of range"):
        g.generate(z, labels=[0, 3])
    with pytest.raises(InferenceError, match="out of range"):
        g.generate(z, labels=-1)
    with pytest.raises(InferenceError, match="integers"):
        g.generate(z, labels=[0.0, 1.0])
    with pytest.raises(InferenceError, match=r"labels \[N=2\]"):
        g.generate(z, labels=[0, 1, 2])


# --- bad files ---

def test_missing_file(tmp_path):
    with pytest.raises(InferenceError, match="model file not found: .*nope.onnx"):
        Generator.load(tmp_path / "nope.onnx")


def test_truncated_and_random_files(tmp_path, gen_path):
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(gen_path.read_bytes()[:150])
    noise = tmp_path / "noise.onnx"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, np.uint8).tobytes())
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    for path in (truncated, noise, empty):
        with pytest.raises(InferenceError, match="not a valid ONNX file"):
            Generator.load(path)


def _save_graph(path, inputs, outputs, nodes, inits=(), props=None):
    onnx.save(_model(nodes, inputs, outputs, list(inits), props), path)
    return path


def test_classifier_is_not_a_generator(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    path = _save_graph(tmp_path / "clf.onnx",
                       [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                       [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
                       [helper.make_node("MatMul", ["x", "W"], ["logits"])], [w])
    with pytest.raises(InferenceError, match="not a GAN Studio generator: expected input 'z'.*'x'"):
        Generator.load(path)


@pytest.mark.parametrize("z_type, z_shape, out_shape, words", [
    (TensorProto.FLOAT, ["N", 4], ["N", 4], "'image' must be float32 \\[batch, C, H, W\\]"),
    (TensorProto.DOUBLE, ["N", 4], ["N", 1, 2, 2], "'z' must be float32"),
    (TensorProto.FLOAT, ["N", 2, 2], ["N", 1, 2, 2], "'z' must be float32"),
    (TensorProto.FLOAT, [1, 4], [1, 1, 2, 2], "must be dynamic"),
])
def test_wrong_graph_shapes(tmp_path, z_type, z_shape, out_shape, words):
    shape = numpy_helper.from_array(np.array([-1, *out_shape[1:]], np.int64), "shape")
    path = _save_graph(tmp_path / "bad.onnx",
                       [helper.make_tensor_value_info("z", z_type, z_shape)],
                       [helper.make_tensor_value_info("image", z_type, out_shape)],
                       [helper.make_node("Reshape", ["z", "shape"], ["image"])], [shape],
                       contract.metadata_to_props(dict(BASE_META, latent_dim=4, image_shape=(1, 2, 2))))
    with pytest.raises(InferenceError, match=words):
        Generator.load(path)


def test_metadata_disagreeing_with_graph(tmp_path):
    with pytest.raises(InferenceError, match="latent_dim 9 but the graph has 8"):
        Generator.load(make_generator(tmp_path / "a.onnx", meta={"latent_dim": 9}))
    with pytest.raises(InferenceError, match="num_classes 0 but the graph has a 'label' input"):
        Generator.load(make_generator(tmp_path / "b.onnx", num_classes=2, meta={"num_classes": 0}))
    with pytest.raises(InferenceError, match="image_shape"):
        Generator.load(make_generator(tmp_path / "c.onnx", meta={"image_shape": (1, 2, 8)}))


def test_missing_metadata_and_card_fallback(tmp_path):
    path = make_generator(tmp_path / "bare.onnx", props=None)
    with pytest.raises(InferenceError, match="no GAN Studio metadata.*bare.json"):
        Generator.load(path)
    card = tmp_path / "bare.json"
    card.write_text("{broken")
    with pytest.raises(InferenceError, match="cannot read the model card"):
        Generator.load(path)
    card.write_text(json.dumps({"preset": "toy"}))
    with pytest.raises(InferenceError, match="\"metadata\" object"):
        Generator.load(path)
    card.write_text(json.dumps({"preset": "toy", "metadata": contract.metadata_to_card(BASE_META)}))
    g = Generator.load(path)
    assert g.metadata_source == str(card) and g.latent_dim == 8
    assert g.generate(g.sample_latent(2, seed=0)).shape == (2, 4, 4, 1)


def test_invalid_metadata_in_file(tmp_path):
    props = contract.metadata_to_props(BASE_META) | {"gan_studio.latent_dim": "-3"}
    with pytest.raises(InferenceError, match="invalid GAN Studio metadata.*latent_dim"):
        Generator.load(make_generator(tmp_path / "m.onnx", props=props))


# --- providers ---

def test_cpu_session(gen_path):
    g = Generator.load(gen_path, device="cpu")
    assert g.provider == "CPUExecutionProvider" and g.provider_note == ""
    with pytest.raises(InferenceError, match="device must be one of"):
        Generator.load(gen_path, device="tpu")


def test_cuda_listed_but_unusable_falls_back(gen_path, monkeypatch):
    # What onnxruntime-gpu does on a machine without a working GPU: CUDA is listed, and the
    # real CPU build asked for it only warns and runs on the CPU.
    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    g = Generator.load(gen_path)
    assert g.provider == "CPUExecutionProvider"
    assert "CUDA listed but unusable" in g.provider_note and "using CPU" in g.provider_note
    assert g.generate(g.sample_latent(2, seed=0)).shape == (2, 4, 4, 1)


def test_cuda_session_that_raises_is_retried_on_cpu(gen_path, monkeypatch):
    real = ort.InferenceSession
    asked = []

    def session(path, sess_options=None, providers=None):
        asked.append(list(providers))
        if "CUDAExecutionProvider" in providers:
            raise RuntimeError("CUDA failure 100: no CUDA-capable device is detected")
        return real(path, sess_options=sess_options, providers=providers)

    monkeypatch.setattr(ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", session)
    g = Generator.load(gen_path, device="cuda")
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"], ["CPUExecutionProvider"]]
    assert g.provider == "CPUExecutionProvider" and "no CUDA-capable device" in g.provider_note
    asked.clear()
    Generator.load(gen_path, device="cpu")  # cpu never asks for CUDA
    assert asked == [["CPUExecutionProvider"]]


def test_cuda_requested_without_provider(gen_path, monkeypatch):
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    g = Generator.load(gen_path, device="cuda")
    assert g.provider == "CPUExecutionProvider" and "onnxruntime-gpu" in g.provider_note


def test_run_errors_are_wrapped(gen_path):
    g = Generator.load(gen_path)

    class Broken:
        def run(self, *args):
            raise RuntimeError("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : boom")

    g._session = Broken()
    with pytest.raises(InferenceError, match="onnxruntime failed to run toy.onnx: boom"):
        g.generate(g.sample_latent(1, seed=0))


# --- images ---

def test_grid_png_and_gif(tmp_path):
    images = np.arange(5 * 4 * 3 * 3, dtype=np.uint8).reshape(5, 4, 3, 3)
    grid = inference.image_grid(images, nrow=3, padding=2)
    assert grid.shape == (2 * 6 + 2, 3 * 5 + 2, 3) and grid.dtype == np.uint8
    np.testing.assert_array_equal(grid[2:6, 2:5], images[0])
    np.testing.assert_array_equal(grid[8:12, 7:10], images[4])
    assert inference.image_grid(images[:2, ..., :1], nrow=8, padding=0).shape == (4, 6, 1)

    png = inference.save_png(grid, tmp_path / "sub" / "grid.png")
    with Image.open(png) as im:
        assert im.size == (17, 14) and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), grid)
    assert inference.to_pil(images[0, ..., :1]).mode == "L"

    frames = np.stack([np.full((6, 6, 1), v, np.uint8) for v in range(0, 250, 50)])
    gif = inference.save_gif(frames, tmp_path / "a.gif", duration_ms=50)
    with Image.open(gif) as im:
        assert im.n_frames == 5 and im.info.get("loop") == 0
    with Image.open(inference.save_gif(frames, tmp_path / "b.gif", boomerang=True)) as im:
        assert im.n_frames == 8  # 0 1 2 3 4 3 2 1: ends not doubled

    with pytest.raises(InferenceError, match="uint8"):
        inference.image_grid(images.astype(np.float32))
    with pytest.raises(InferenceError, match="nrow"):
        inference.image_grid(images, nrow=0)


# --- CLI and isolation from torch ---

def _cli(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO))  # so the package imports from any cwd
    return subprocess.run([sys.executable, "-m", "inference", *map(str, args)], cwd=cwd or REPO,
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_info_grid_and_gif(tmp_path, cond_path, gen_path):
    r = _cli(gen_path, "--info")
    assert r.returncode == 0, r.stderr
    assert "latent_dim: 8" in r.stdout and "provider: CPUExecutionProvider" in r.stdout
    assert "image_shape: 1,4,4" in r.stdout and '"fid": 1.5' in r.stdout

    r = _cli(gen_path, "--n", 6, "--seed", 3, "--nrow", 3, "--out", tmp_path / "grid.png")
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == (3 * 6 + 2, 2 * 6 + 2)

    r = _cli(cond_path, "--interpolate", 1, 2, 3, "--steps", 4, "--label", 2, "--boomerang",
             "--gif", tmp_path / "walk.gif", "--out", tmp_path / "strip.png", "--scale", 2)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "walk.gif") as im:
        assert im.n_frames == 7 + 5 and im.size == (8, 8)
    assert (tmp_path / "strip.png").is_file()

    r = _cli(cond_path, "--n", 6, "--out", tmp_path / "classes.png")  # classes cycle by column
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("args, words", [
    (["missing.onnx"], "model file not found"),
    (["{gen}", "--interpolate", "1", "--gif", "x.gif"], "at least two seeds"),
    (["{gen}", "--label", "1", "--out", "x.png"], "unconditional"),
    (["{cond}", "--interpolate", "1", "2", "--gif", "x.gif"], "--label"),
    (["{cond}", "--label", "7", "--out", "x.png"], "out of range"),
    (["{gen}", "--truncation", "2", "--out", "x.png"], "truncation"),
])
def test_cli_errors_are_one_line(tmp_path, gen_path, cond_path, args, words):
    r = _cli(*[a.format(gen=gen_path, cond=cond_path) for a in args], cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and words in r.stderr
    assert "Traceback" not in r.stderr


def test_inference_never_imports_torch(gen_path, tmp_path):
    code = (
        "import sys, inference\n"
        f"g = inference.Generator.load({str(gen_path)!r})\n"
        "img = g.generate(g.interpolate(g.sample_latent(2, seed=0), steps=3))\n"
        f"inference.save_png(inference.image_grid(img), {str(tmp_path / 'g.png')!r})\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr

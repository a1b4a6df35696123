"""inference/generator.py: loading a generator file (graph and metadata checks, the model card
fallback, the execution provider), latent paths through it, and running it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from inference import Generator, InferenceError, contract, generator, limits

from tests.helpers import REPO_ROOT, save_onnx_model, toy_metadata


def make_identity(path, output_range=(-1.0, 1.0)):
    """z [N, 4] reshaped to image [N, 1, 2, 2]: pixel values are the latents themselves."""
    shape = numpy_helper.from_array(np.array([-1, 1, 2, 2], np.int64), "shape")
    meta = toy_metadata(latent_dim=4, shape=(1, 2, 2)) | {"output_range": output_range}
    return save_onnx_model(path, [helper.make_node("Reshape", ["z", "shape"], ["image"])],
                           [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 4])],
                           [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 1, 2, 2])],
                           [shape], contract.metadata_to_props(meta))


# --- latent paths ---

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


def test_interpolation_stays_within_bound(small_generator):
    g = Generator.load(small_generator("u.onnx", meta={"latent_distribution": "uniform", "latent_bound": 1}))
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


def test_classifier_is_not_a_generator(tmp_path):
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    path = save_onnx_model(tmp_path / "clf.onnx", [helper.make_node("MatMul", ["x", "W"], ["logits"])],
                           [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                           [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])], [w])
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
    path = save_onnx_model(tmp_path / "bad.onnx", [helper.make_node("Reshape", ["z", "shape"], ["image"])],
                           [helper.make_tensor_value_info("z", z_type, z_shape)],
                           [helper.make_tensor_value_info("image", z_type, out_shape)], [shape],
                           contract.metadata_to_props(toy_metadata(latent_dim=4, shape=(1, 2, 2))))
    with pytest.raises(InferenceError, match=words):
        Generator.load(path)


def test_metadata_disagreeing_with_graph(small_generator):
    with pytest.raises(InferenceError, match="latent_dim 9 but the graph has 8"):
        Generator.load(small_generator("a.onnx", meta={"latent_dim": 9}))
    with pytest.raises(InferenceError, match="num_classes 0 but the graph has a 'label' input"):
        Generator.load(small_generator("b.onnx", num_classes=2, meta={"num_classes": 0}))
    with pytest.raises(InferenceError, match="image_shape"):
        Generator.load(small_generator("c.onnx", meta={"image_shape": (1, 2, 8)}))


def test_missing_metadata_and_card_fallback(small_generator, small_meta, tmp_path):
    path = small_generator("bare.onnx", props=None)
    path.with_suffix(".json").unlink()  # a file with neither metadata_props nor a card
    with pytest.raises(InferenceError, match="no GAN Studio metadata.*bare.json"):
        Generator.load(path)
    card = tmp_path / "bare.json"
    card.write_text("{broken")
    with pytest.raises(InferenceError, match="cannot read the model card"):
        Generator.load(path)
    card.write_text(json.dumps({"preset": "toy"}))
    with pytest.raises(InferenceError, match="\"metadata\" object"):
        Generator.load(path)
    card.write_text(json.dumps({"preset": "toy", "metadata": contract.metadata_to_card(small_meta)}))
    g = Generator.load(path)
    assert g.metadata_source == str(card) and g.latent_dim == 8
    assert g.generate(g.sample_latent(2, seed=0)).shape == (2, 4, 4, 1)


def test_a_card_that_is_a_pipe_too_deep_or_too_large_is_refused_in_one_line(small_generator, tmp_path, monkeypatch):
    path = small_generator("bare.onnx", props=None)
    card = path.with_suffix(".json")
    card.unlink()
    os.mkfifo(card)  # opening it to read would wait for a writer forever
    with pytest.raises(InferenceError, match="cannot read the model card: .*bare.json is a named pipe"):
        Generator.load(path)
    card.unlink()
    card.write_text('{"metadata": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InferenceError, match="nests more than 64 levels deep"):
        Generator.load(path)
    monkeypatch.setattr(generator, "CARD_LIMIT", 100)
    card.write_text(json.dumps({"metadata": {}, "notes": "x" * 200}))
    with pytest.raises(InferenceError, match="more than the 100 bytes it may be"):
        Generator.load(path)


def test_a_file_larger_than_any_onnx_file_is_refused_before_it_is_read(gen_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_MODEL_BYTES", 100)
    with pytest.raises(InferenceError, match="an ONNX file can be"):
        Generator.load(gen_path)


def test_invalid_metadata_in_file(small_generator, small_meta):
    props = contract.metadata_to_props(small_meta) | {"gan_studio.latent_dim": "-3"}
    with pytest.raises(InferenceError, match="invalid GAN Studio metadata.*latent_dim"):
        Generator.load(small_generator("m.onnx", props=props))


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



# --- isolation from torch ---

def test_inference_never_imports_torch(gen_path, tmp_path):
    code = (
        "import sys, inference\n"
        f"g = inference.Generator.load({str(gen_path)!r})\n"
        "img = g.generate(g.interpolate(g.sample_latent(2, seed=0), steps=3))\n"
        f"inference.save_png(inference.image_grid(img), {str(tmp_path / 'g.png')!r})\n"
        "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr


def test_classes_are_named_by_their_names(small_generator):
    g = Generator.load(small_generator("named.onnx", num_classes=3, meta={"class_names": ["cats", "dogs", "owls"]}))
    assert g.class_index("dogs") == 1 and g.class_index(2) == 2
    z = g.sample_latent(3, seed=1)
    np.testing.assert_array_equal(g.generate(z, ["owls", "cats", "owls"]), g.generate(z, [2, 0, 2]))
    np.testing.assert_array_equal(g.generate(z, "dogs"), g.generate(z, 1))
    with pytest.raises(InferenceError, match="no class 'bats' in named.onnx: its classes are 0 cats, 1 dogs, 2 owls"):
        g.generate(z, "bats")
    with pytest.raises(InferenceError, match=r"give labels \(class numbers or names: 0 cats, 1 dogs, 2 owls\)"):
        g.generate(z)

"""SeFa directions at export (training/export/sefa.py): the first layer of every registered generator, its z
columns only for a conditional one, and on a real trained and exported run: the stored vectors are
numpy's eigh of W^T W of the weight inside the .onnx, unit length, sorted by share; and that run's
sample grid is the exported model's images of the run's seed (the contract's latent scheme)."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper
from PIL import Image

from inference import Generator, InferenceError, image_grid
from training.export.generator import export_run
from training.registry import MODELS
from training.runfolder.folder import create_run
from training.export.sefa import first_layer_weight, sefa_directions

from tests.helpers import image_folder, tiny_config
from tests.training.export.common import export_ready_generator

# Every registered generator, both ways where it has both (a model added later is covered too).
GENERATORS = [(m, c) for m in MODELS.names() for c in (False, True)]


def _generator(model: str, conditional: bool):
    return export_ready_generator(model, conditional)[1]


def test_the_usual_models_are_registered():
    assert {"mlp-gan", "wgan-mlp", "dcgan", "dcgan-keras", "sngan"} <= set(MODELS.names())


def _check_directions(d: dict, w: np.ndarray) -> None:
    vectors, share = np.array(d["vectors"]), np.array(d["share"])
    values, expected = np.linalg.eigh(w.T @ w)
    values, expected = values[::-1], expected[:, ::-1].T
    k = len(vectors)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert (np.diff(share) <= 0).all(), "sorted by share, largest first"
    np.testing.assert_allclose(share, values[:k] / values.sum(), rtol=1e-5, atol=1e-7)
    # each vector is numpy's eigenvector up to its sign (and the sign rule: largest entry positive)
    dots = np.abs(np.sum(vectors * expected[:k], axis=1))
    np.testing.assert_allclose(dots, 1.0, atol=1e-5)
    assert (vectors[np.arange(k), np.abs(vectors).argmax(1)] > 0).all()


@pytest.mark.parametrize("model, conditional", GENERATORS)
def test_sefa_reads_the_first_layer_of_every_generator(model, conditional):
    g = _generator(model, conditional)
    name, w = first_layer_weight(g)
    assert w.shape[1] == 12  # the z columns only, also when the layer sees [z, class code]
    first = g.get_submodule(name)
    assert isinstance(first, torch.nn.Linear)
    np.testing.assert_array_equal(w, first.weight.detach().double().numpy()[:, :12])
    if model == "dcgan" and conditional:
        assert first.in_features == 24  # [z, class code]: half of its columns are not z's
    d = sefa_directions(g)
    assert d["method"] == "sefa" and d["layer"] == name and len(d["vectors"]) == 12
    _check_directions(d, w)


def test_a_real_trained_run_exports_its_directions(tmp_path):
    from training.session import build_session  # torch training: only this test needs it
    from training.trainer import Trainer

    config = tiny_config(image_folder(tmp_path / "images", 16), g_width=24)  # W is 24 x 8: not square
    run = create_run(tmp_path / "runs", "sefa", config.to_dict())
    assert Trainer(build_session(config), run).train() == "finished"
    out = export_run(run, tmp_path / "tiny.onnx", metrics={})

    model = onnx.load(str(out))
    first = next(n for n in model.graph.node if "z" in n.input)
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    (w,) = [weights[name] for name in first.input if name in weights and weights[name].ndim == 2]
    transposed = first.op_type == "Gemm" and any(a.name == "transB" and a.i == 1 for a in first.attribute)
    w = (w if transposed else w.T).astype(np.float64)  # [features, latent_dim]
    assert w.shape == (24, 8)

    g = Generator.load(out)
    assert g.metadata["latent_scheme"] == "philox" and g.metadata_source == "onnx"
    stored = g.metadata["directions"]
    _check_directions(stored, w)
    card = json.loads(out.with_suffix(".json").read_text())["metadata"]
    assert card["directions"] == stored and card["latent_scheme"] == "philox"
    vectors, share = g.sefa
    assert vectors.shape == (8, 8) and share.sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(g.direction(3), vectors[3])
    with pytest.raises(InferenceError, match=r"direction 8 does not exist: tiny.onnx has directions 0\.\.7"):
        g.direction(8)

    # the run's last sample grid shows the exported model's images of the run's seed, in order
    grid = np.asarray(Image.open(run.sample_grids()[-1]))
    expected = image_grid(g.generate(g.sample_latent(64, seed=config.seed)), nrow=8)
    assert grid.shape[:2] == expected.shape[:2]
    assert np.abs(grid.reshape(expected.shape).astype(int) - expected).max() <= 1

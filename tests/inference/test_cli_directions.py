"""python -m inference MODEL --direction K --amount A: moving every latent along a stored SeFa direction."""
from __future__ import annotations

import numpy as np
from PIL import Image

from inference import Generator, image_grid

from tests.helpers import make_onnx_generator, make_philox_generator
from tests.inference.common import cli


def _grid(path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im)


def test_direction_moves_the_grid_deterministically(tmp_path):
    model = make_philox_generator(tmp_path / "m.onnx", latent_dim=8, shape=(1, 4, 4))
    outs = {}
    for name, extra in (("plain", []), ("d1", ["--direction", 1, "--amount", 2.5]),
                        ("d1-again", ["--direction", 1, "--amount", 2.5]), ("d1-back", ["--direction", 1, "--amount", -2.5]),
                        ("d0", ["--direction", 0])):
        r = cli(model, "--seed", 4, "--n", 6, "--nrow", 3, "--out", tmp_path / f"{name}.png", *extra)
        assert r.returncode == 0, r.stderr
        outs[name] = _grid(tmp_path / f"{name}.png")
    assert "moved 2.5 along direction 1" in cli(model, "--n", 2, "--out", tmp_path / "x.png", "--direction", 1,
                                                 "--amount", 2.5).stdout
    np.testing.assert_array_equal(outs["d1"], outs["d1-again"])
    for other in ("plain", "d1-back", "d0"):
        assert (outs["d1"] != outs[other]).any(), other
    # exactly the images of the moved latents (float64 sum, float32 last), default amount 3
    g = Generator.load(model)
    z = g.sample_latent(6, seed=4)
    for name, k, amount in (("d1", 1, 2.5), ("d0", 0, 3.0)):
        moved = (z.astype(np.float64) + amount * g.direction(k).astype(np.float64)).astype(np.float32)
        np.testing.assert_array_equal(outs[name], image_grid(g.generate(moved), 3)[..., 0])

    info = cli(model, "--info").stdout
    assert "directions: 4 sefa directions of W (share 0:" in info


def test_a_bad_direction_gets_a_clear_message(tmp_path):
    model = make_philox_generator(tmp_path / "m.onnx", latent_dim=8, shape=(1, 4, 4))
    old = make_onnx_generator(tmp_path / "old.onnx", latent_dim=8, shape=(1, 4, 4))
    for args, message in (((model, "--direction", 4), "direction 4 does not exist: m.onnx has directions 0..3"),
                          ((model, "--direction", -1), "--direction must be at least 0"),
                          ((model, "--amount", 2), "--amount needs --direction K"),
                          ((model, "--direction", 0, "--amount", "nan"), "--amount must be a finite number"),
                          ((old, "--direction", 0), "old.onnx has no stored directions")):
        r = cli(*args, "--out", tmp_path / "x.png")
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert message in r.stderr and r.stderr.startswith("error: "), r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert not (tmp_path / "x.png").exists()

"""inference/cli.py: python -m inference, run as a user runs it (a subprocess, from any folder)."""
from __future__ import annotations

import pytest
from PIL import Image

from tests.inference.common import cli


def test_cli_info_grid_and_gif(tmp_path, cond_path, gen_path):
    r = cli(gen_path, "--info")
    assert r.returncode == 0, r.stderr
    assert "latent_dim: 8" in r.stdout and "provider: CPUExecutionProvider" in r.stdout
    assert "image_shape: 1,4,4" in r.stdout and '"fid": 12.5' in r.stdout

    r = cli(gen_path, "--n", 6, "--seed", 3, "--nrow", 3, "--out", tmp_path / "grid.png")
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "grid.png") as im:
        assert im.size == (3 * 6 + 2, 2 * 6 + 2)

    r = cli(cond_path, "--interpolate", 1, 2, 3, "--steps", 4, "--label", 2, "--boomerang",
             "--gif", tmp_path / "walk.gif", "--out", tmp_path / "strip.png", "--scale", 2)
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "walk.gif") as im:
        assert im.n_frames == 7 + 5 and im.size == (8, 8)
    assert (tmp_path / "strip.png").is_file()

    r = cli(cond_path, "--n", 6, "--out", tmp_path / "classes.png")  # classes cycle by column
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
    r = cli(*[a.format(gen=gen_path, cond=cond_path) for a in args], cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and words in r.stderr
    assert "Traceback" not in r.stderr


def test_an_alpha_model_writes_rgba_pngs_or_flattens_them_on_request(tmp_path, small_generator):
    import numpy as np

    from inference import Generator

    alpha = small_generator("alpha.onnx", shape=(4, 4, 4), num_classes=2, meta={"class_names": ["cats", "dogs"]})
    r = cli(alpha, "--info")
    assert "image_shape: 4,4,4" in r.stdout and 'class_names: ["cats", "dogs"]' in r.stdout
    r = cli(alpha, "--n", 2, "--seed", 5, "--label", 1, "--nrow", 2, "--padding", 0, "--out", tmp_path / "rgba.png")
    assert r.returncode == 0, r.stderr
    g = Generator.load(alpha)
    expected = g.generate(g.sample_latent(2, seed=5), np.array([1, 1]))
    with Image.open(tmp_path / "rgba.png") as im:
        assert im.mode == "RGBA"
        np.testing.assert_array_equal(np.asarray(im), np.concatenate(list(expected), axis=1))

    r = cli(alpha, "--n", 2, "--label", 0, "--background", "#00ff00", "--out", tmp_path / "flat.png")
    assert r.returncode == 0, r.stderr
    with Image.open(tmp_path / "flat.png") as im:
        assert im.mode == "RGB"
    r = cli(alpha, "--interpolate", 1, 2, "--steps", 3, "--label", 0, "--gif", tmp_path / "walk.gif",
            "--background", "checkerboard")
    assert r.returncode == 0, r.stderr
    r = cli(alpha, "--n", 2, "--background", "green", "--out", tmp_path / "x.png")
    assert r.returncode == 2 and "--background: a background is 'checkerboard' or a colour #rrggbb" in r.stderr


def test_a_class_is_chosen_by_its_name(tmp_path, cond_path):
    assert cli(cond_path, "--n", 2, "--label", "b", "--out", tmp_path / "b.png").returncode == 0
    r = cli(cond_path, "--n", 2, "--label", "z", "--out", tmp_path / "z.png")
    assert r.returncode == 2 and "no class 'z' in cond.onnx: its classes are 0 a, 1 b, 2 c" in r.stderr

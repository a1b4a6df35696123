"""inference/projection_cli.py: python -m inference MODEL --project IMAGE --out MATCH.png, run as a user
runs it (a subprocess) and in-process for the checks of its options, which all come before any work."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inference import Generator
from inference.cli import main
from tests.helpers import make_exact_encoder, make_onnx_generator
from tests.inference.common import cli, png


def test_cli_project_writes_the_match_and_refuses_bad_images(tmp_path):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    g = Generator.load(model, device="cpu")
    image = tmp_path / "digit.png"
    image.write_bytes(png(g.generate(g.sample_latent(1, seed=3))[0, ..., 0]))
    out = tmp_path / "match.png"

    done = cli(model, "--project", str(image), "--out", str(out), "--latent-out", str(tmp_path / "z.npy"))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and out.is_file() and np.load(tmp_path / "z.npy").shape == (g.latent_dim,)
    again = cli(model, "--project", str(image), "--out", str(out))
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    (tmp_path / "blank.png").write_bytes(png(np.zeros((28, 28), np.uint8)))
    (tmp_path / "text.png").write_text("not an image")
    for bad, message in (("blank.png", "is blank"), ("text.png", "is not an image"), ("missing.png", "no such image file")):
        p = cli(model, "--project", str(tmp_path / bad), "--out", str(tmp_path / "m.png"))
        assert p.returncode == 2 and message in p.stderr and "Traceback" not in p.stderr, p.stderr
        assert not (tmp_path / "m.png").exists()


def test_cli_project_init_encoder(tmp_path):
    model = make_onnx_generator(tmp_path / "toy.onnx")
    g = Generator.load(model, device="cpu")
    image = tmp_path / "digit.png"
    image.write_bytes(png(g.generate(g.sample_latent(1, seed=3))[0, ..., 0]))

    missing = cli(model, "--project", str(image), "--out", str(tmp_path / "m.png"), "--init", "encoder")
    assert missing.returncode == 2 and "encoder not found" in missing.stderr and not (tmp_path / "m.png").exists()
    make_exact_encoder(model)
    done = cli(model, "--project", str(image), "--out", str(tmp_path / "m.png"), "--init", "encoder")
    assert done.returncode == 0 and "started from the encoder toy.encoder.onnx" in done.stdout, done.stderr
    alone = cli(model, "--init", "search", "--out", str(tmp_path / "x.png"))
    assert alone.returncode == 2 and "--init needs --project" in alone.stderr


@pytest.fixture
def digit(tmp_path):
    """A toy conditional generator (3 classes) and, as the target, its own image of class 1."""
    model = make_onnx_generator(tmp_path / "toy.onnx", num_classes=3, meta={"class_names": ["a", "b", "c"]})
    g = Generator.load(model, device="cpu")
    image = tmp_path / "digit.png"
    image.write_bytes(png(g.generate(g.sample_latent(1, seed=3), labels=[1])[0, ..., 0]))
    return g, model, image


def test_the_match_written_is_the_generators_image_of_the_latent_written(digit, tmp_path, capsys):
    g, model, image = digit
    out, z_file = tmp_path / "match.png", tmp_path / "z.npy"
    assert main([str(model), "--project", str(image), "--out", str(out), "--latent-out", str(z_file),
                 "--label", "1", "--scale", "2", "--features", "none"]) == 0
    said = capsys.readouterr().out
    assert f"wrote {out} (the match, pixels only;" in said and "class b" in said
    assert f"wrote {z_file} (its latent, float32 [16])" in said
    z = np.load(z_file)
    assert z.dtype == np.float32 and z.shape == (16,)
    with Image.open(out) as written:
        assert written.size == (56, 56)  # --scale 2
        pixels = np.asarray(written)
    expected = g.generate(z[None], labels=[1])[0, ..., 0]
    assert np.array_equal(pixels[::2, ::2], expected)
    assert not list(tmp_path.glob(".*.tmp"))  # written through a temporary file, nothing left behind


def test_force_overwrites_and_a_class_out_of_range_is_refused(digit, tmp_path, capsys):
    g, model, image = digit
    out = tmp_path / "match.png"
    out.write_bytes(b"old")
    assert main([str(model), "--project", str(image), "--out", str(out), "--features", "none", "--force"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert main([str(model), "--project", str(image), "--out", str(out), "--force", "--label", "3"]) == 2
    assert "--label 3 out of range: this model has classes 0..2" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["--features", "f.onnx", "--out", "m.png"], "--features needs --project IMAGE"),
    (["--latent-out", "z.npy", "--out", "m.png"], "--latent-out needs --project IMAGE"),
    (["--project", "{image}"], "--project needs --out MATCH.png"),
    (["--project", "{image}", "--out", "m.png", "--interpolate", "1", "2"], "cannot be combined with --interpolate"),
    (["--project", "{image}", "--out", "m.jpg"], "--out m.jpg: the file must end in .png"),
    (["--project", "{image}", "--out", "m.png", "--latent-out", "z.txt"], "--latent-out z.txt: the file must end in .npy"),
    (["--project", "{image}", "--out", "m.png", "--features", "missing.onnx"], "--features missing.onnx: no such file"),
])
def test_options_that_do_not_go_together_are_refused_before_anything_is_written(args, words, digit, tmp_path, capsys,
                                                                                monkeypatch):
    _, model, image = digit
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert main([str(model), *[a.format(image=image) for a in args]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before

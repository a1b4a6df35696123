"""``export RUN --hub DIR`` (training/export/hub.py): one self-contained folder a hub takes as it is,
written whole or not at all, replacing only a hub folder and only with --force."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import yaml
from PIL import Image

from inference import Generator
from training.export import hub
from training.export.hub import HubError, export_hub

from tests.helpers import file_hashes

pytestmark = pytest.mark.usefixtures("one_thread")
FILES = ["README.md", "my-model.discriminator.safetensors", "my-model.generator.safetensors", "my-model.json",
         "my-model.onnx", "samples.png"]


@pytest.fixture(scope="module")
def hub_folder(dcgan_export, tmp_path_factory):
    """The small run's hub folder, written once; tests copy it before they change anything."""
    return export_hub(dcgan_export.run, tmp_path_factory.mktemp("hub") / "my-model")


def a_copy(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / folder.name)


def test_a_hub_folder_holds_the_model_its_cards_weights_and_samples(hub_folder):
    folder = hub_folder
    assert sorted(p.name for p in folder.iterdir()) == FILES
    assert [p.name for p in folder.parent.iterdir()] == ["my-model"]  # no staging folder left beside it
    card = json.loads((folder / "my-model.json").read_text())
    assert sorted(card["export"]["files"]) == sorted(set(FILES) - {"my-model.json"})
    readme = (folder / "README.md").read_text()
    front = yaml.safe_load(readme.removeprefix("---\n").partition("\n---\n")[0])
    assert front["pipeline_tag"] == "unconditional-image-generation" and "![samples of seed 0](samples.png)" in readme
    g = Generator.load(folder / "my-model.onnx", device="cpu")
    with Image.open(folder / "samples.png") as grid:  # 64 images of 28 pixels, 8 a row, 2 pixels apart
        assert grid.size == (8 * 30 + 2, 8 * 30 + 2)
        first = np.asarray(grid.convert("L"))[2:30, 2:30]
    assert np.array_equal(first, g.generate(g.sample_latent(1, seed=0))[0, :, :, 0])  # seed 0, as the app draws it


def test_a_non_empty_folder_needs_force_and_only_a_hub_folder_is_replaced(dcgan_export, hub_folder, tmp_path):
    folder = a_copy(hub_folder, tmp_path)
    before = file_hashes(folder)
    with pytest.raises(HubError, match="is not empty .*pass --force to replace it whole"):
        export_hub(dcgan_export.run, folder)
    assert file_hashes(folder) == before
    export_hub(dcgan_export.run, folder, force=True)
    assert sorted(p.name for p in folder.iterdir()) == FILES and file_hashes(folder) != before  # a new export

    mine = tmp_path / "photos"
    mine.mkdir()
    (mine / "holiday.jpg").write_bytes(b"not ours to delete")
    with pytest.raises(HubError, match="holds holiday.jpg, which is not a file of a hub folder"):
        export_hub(dcgan_export.run, mine, force=True)
    assert (mine / "holiday.jpg").read_bytes() == b"not ours to delete"
    with pytest.raises(HubError, match="lies inside a run folder"):
        export_hub(dcgan_export.run, dcgan_export.run.path / "hub")


def test_an_export_that_fails_midway_leaves_the_folder_as_it_was(dcgan_export, hub_folder, tmp_path, monkeypatch):
    folder = a_copy(hub_folder, tmp_path)
    before = file_hashes(tmp_path)

    def killed(run, out, **options):  # as Ctrl-C after the model was written, before the rest
        out.write_bytes(b"half of an export")
        raise KeyboardInterrupt

    monkeypatch.setattr(hub, "export_run", killed)
    with pytest.raises(KeyboardInterrupt):
        export_hub(dcgan_export.run, folder, force=True)
    with pytest.raises(KeyboardInterrupt):
        export_hub(dcgan_export.run, tmp_path / "new-model")
    assert file_hashes(tmp_path) == before and [p.name for p in tmp_path.iterdir()] == ["my-model"]

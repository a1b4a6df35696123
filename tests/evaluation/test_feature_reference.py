"""evaluation/feature_reference.py: a folder's reference features, all its images, computed once and
cached by the folder's content: again when a file changes, and not otherwise."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from evaluation.errors import EvaluationError
from evaluation.feature_reference import feature_reference, folder_content_key
from evaluation.features import ONNXFeatures

from tests.evaluation.common import make_feature_network
from tests.helpers import rgba_folder


class Counting:
    """A feature network that counts the images it is asked for (the computations to count)."""

    def __init__(self, network):
        self.network, self.images = network, []
        self.name, self.sha256, self.device = network.name, network.sha256, network.device

    def features(self, images01, batch=100, progress=None):
        self.images.append(len(images01))
        return self.network.features(images01, batch, progress)


@pytest.fixture
def counting(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    return Counting(ONNXFeatures(make_feature_network(tmp_path / "tiny.onnx")))


def test_recomputed_when_a_file_changes_and_not_otherwise(tmp_path, counting):
    folder = rgba_folder(tmp_path / "images", per_class=6, size=16)
    ref = feature_reference("folder", counting, data_root=folder, image_size=16)
    assert counting.images == [12] and ref.features.shape == (12, 16)
    assert sorted(set(ref.labels.tolist())) == [0, 1] and ref.logits.shape == (12, 0)
    assert "all 12 images" in ref.description
    assert feature_reference("folder", counting, data_root=folder, image_size=16) is ref
    assert counting.images == [12]

    pixels = np.asarray(Image.open(folder / "squares" / "00.png")).copy()
    pixels[0, 0] = [255, 0, 0, 255]
    Image.fromarray(pixels, "RGBA").save(folder / "squares" / "00.png")
    edited = feature_reference("folder", counting, data_root=folder, image_size=16)
    assert counting.images == [12, 12] and not np.array_equal(edited.features, ref.features)

    feature_reference("folder", counting, data_root=folder, image_size=16)
    assert counting.images == [12, 12]  # the edited folder's features are cached in turn
    feature_reference("folder", counting, data_root=folder, image_size=32)  # another read setting
    assert counting.images == [12, 12, 12]


def test_the_disk_cache_serves_a_new_process(tmp_path, counting):
    from evaluation import reference as module  # the memory of this process's references

    folder = rgba_folder(tmp_path / "images", per_class=6, size=16)
    first = feature_reference("folder", counting, data_root=folder, image_size=16)
    module._REFERENCES.clear()  # what a new process starts with
    again = feature_reference("folder", counting, data_root=folder, image_size=16)
    assert counting.images == [12] and np.array_equal(again.features, first.features)


def test_the_key_reads_names_bytes_and_size_and_ignores_hidden_files(tmp_path):
    folder = rgba_folder(tmp_path / "images", per_class=2, size=16)
    key = folder_content_key(folder, 16)
    assert folder_content_key(folder, 16) == key != folder_content_key(folder, 32)
    (folder / ".DS_Store").write_bytes(b"x")
    assert folder_content_key(folder, 16) == key
    (folder / "circles" / "00.png").rename(folder / "circles" / "new.png")
    assert folder_content_key(folder, 16) != key


def test_read_with_alpha_transparent_pixels_count_as_black(tmp_path, counting):
    folder = tmp_path / "one"
    folder.mkdir()
    pixels = np.zeros((8, 8, 4), np.uint8)
    pixels[..., :3] = 200  # colour under full transparency: not part of the picture
    Image.fromarray(pixels, "RGBA").save(folder / "a.png")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "b.png")
    ref = feature_reference("folder", counting, data_root=folder, image_size=8, read_options={"transparency": "alpha"})
    assert "transparency alpha" in ref.description
    assert np.allclose(ref.features[0], ref.features[1])
    on_white = feature_reference("folder", counting, data_root=folder, image_size=8)  # the reader's default blend
    assert not np.allclose(on_white.features[0], on_white.features[1]) and counting.images == [2, 2]


def test_a_folder_needs_its_root(counting):
    with pytest.raises(EvaluationError, match="--data-root"):
        feature_reference("folder", counting, data_root=None)

"""The dataset registry: names, descriptions and fields known without torch, unknown names
answered with the nearest one, and image_size handed only to the readers that use it."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dataio import DATASETS, DataError, ImageSet, read_split, registry
from studio.registry import Registry, RegistryError
from tests.helpers import MNIST_ROOT, REPO_ROOT

ALL_DATASETS = ["cifar10", "fashion-mnist", "folder", "mnist", "stacked-mnist", "svhn"]


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(DataError, match="Did you mean 'mnist'.*cifar10, fashion-mnist, folder, mnist, stacked-mnist, svhn"):
        read_split("mnsit")
    with pytest.raises(DataError, match="Did you mean 'svhn'"):
        DATASETS.describe("svnh")
    assert DATASETS.names() == ALL_DATASETS
    assert "mnist" in DATASETS and "mnsit" not in DATASETS


def test_every_dataset_says_what_it_is_and_which_fields_it_reads():
    for name in DATASETS.names():
        info = DATASETS.describe(name)
        assert info.name == name
        assert info.description and "\n" not in info.description
        assert "data_root" in info.fields
    assert DATASETS.describe("folder").fields == ("data_root", "image_size", "transparency", "background")
    assert DATASETS.describe("mnist").fields == ("data_root",)


def test_image_size_reaches_only_the_readers_that_read_it(tmp_path, monkeypatch):
    table = Registry("dataset", unknown=DataError)
    monkeypatch.setattr(registry, "DATASETS", table)
    calls = []

    def reader(root, split, **options):
        calls.append((root, split, options))
        return ImageSet(np.zeros((1, 1, 2, 2), np.uint8), np.zeros(1, np.int64), [], "x", "nowhere")

    table.register("native", description="stored size", fields=("data_root",))(reader)
    table.register("sized", description="sized while read", fields=("data_root", "image_size"))(reader)
    read_split("native", "~", image_size=16)
    read_split("sized", str(tmp_path), "test", image_size=16)
    assert calls == [(Path.home(), "train", {}), (tmp_path, "test", {"image_size": 16})]
    with pytest.raises(DataError, match="positive number of pixels"):
        read_split("sized", image_size=0)
    with pytest.raises(RegistryError, match="registered twice"):
        table.register("sized", description="again", fields=())(reader)
    assert (table.describe("sized").description, table.describe("sized").fields) == ("sized while read",
                                                                                ("data_root", "image_size"))


def test_image_set_refuses_what_training_could_not_use():
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(np.zeros((2, 1, 4, 4), np.float32), np.zeros(2, np.int64), [], "x", "y")
    with pytest.raises(ValueError, match="int64"):
        ImageSet(np.zeros((2, 1, 4, 4), np.uint8), np.zeros(2, np.int32), [], "x", "y")


def test_reading_and_listing_never_import_torch(mnist_root, tmp_path):
    script = (
        "import json, sys\n"
        "import dataio\n"
        "split = dataio.read_split('mnist', split='test')\n"
        "listing = {n: [dataio.DATASETS.describe(n).description, dataio.DATASETS.describe(n).fields]"
        " for n in dataio.DATASETS.names()}\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'shape': split.images.shape, 'listing': listing}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), GAN_STUDIO_DATA=str(MNIST_ROOT.parent),
               HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["torch"] is False
    assert result["shape"] == [10000, 1, 28, 28]
    assert sorted(result["listing"]) == ALL_DATASETS
    assert all(description for description, fields in result["listing"].values())

"""Where files come from: the message for missing data names every way to provide it."""
import pytest

from dataio import DataError, read_split, sources


def test_missing_data_names_every_way_to_provide_it(tmp_path, monkeypatch, offline):
    (tmp_path / "empty-root").mkdir()
    (tmp_path / "empty-env").mkdir()
    monkeypatch.setenv("GAN_STUDIO_DATA", str(tmp_path / "empty-env"))
    monkeypatch.setattr(sources, "SYSTEM_DIRS", [tmp_path / "no-system"])
    with pytest.raises(DataError) as caught:
        read_split("mnist", tmp_path / "empty-root")
    message = str(caught.value)
    for part in ["--data-root", "GAN_STUDIO_DATA", str(tmp_path / "empty-env"), "no-system/mnist",
                 "download", "network disabled in tests", "train-images-idx3-ubyte.gz"]:
        assert part in message
    assert offline == [("mnist", tmp_path / "cache" / "gan-studio" / "data" / "mnist", "train")]


def test_missing_root_folder_is_reported_as_such(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        read_split("cifar10", tmp_path / "typo")

"""A folder is decoded once: read again from the cache while its files are unchanged, decoded
again when a file's bytes change, one is added or removed, or the read settings differ."""
import os

import pytest

import dataio.folder as folder
from dataio import read_split
from dataio.folder import fingerprint
from tests.helpers import rgba_folder


@pytest.fixture
def counted(tmp_path, monkeypatch):
    """Every folder cached (even a tiny one), in a private cache; returns the list of decoded files' sizes."""
    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(folder, "CACHE_MIN_FILES", 0)
    calls = []
    real = folder.decode

    def counting(data, *args):
        calls.append(len(data))
        return real(data, *args)

    monkeypatch.setattr(folder, "decode", counting)
    return calls


def entries(tmp_path):
    return sorted(p.name for p in (tmp_path / "cache" / "folders").glob("*.npz"))


def test_an_unchanged_folder_is_read_from_the_cache_and_an_edited_one_again(tmp_path, counted):
    images = rgba_folder(tmp_path / "shapes", per_class=8, size=32)
    first = read_split("folder", images, image_size=32, transparency="alpha")
    assert len(counted) == 16 and len(entries(tmp_path)) == 1
    key = fingerprint(images, 32, "alpha")

    counted.clear()
    again = read_split("folder", images, image_size=32, transparency="alpha")
    assert counted == []  # nothing decoded
    assert (again.images == first.images).all() and again.labels.tolist() == first.labels.tolist()
    assert again.class_names == first.class_names == ["circles", "squares"]

    touched = images / "circles" / "00.png"
    os.utime(touched, (1, 1))  # a new time, the same bytes: still the same folder
    assert fingerprint(images, 32, "alpha") == key
    read_split("folder", images, image_size=32, transparency="alpha")
    assert counted == []

    data = bytearray(touched.read_bytes())
    (images / "squares" / "00.png").write_bytes(bytes(data))  # a square replaced by a circle: new bytes
    assert fingerprint(images, 32, "alpha") != key
    changed = read_split("folder", images, image_size=32, transparency="alpha")
    assert len(counted) == 16 and len(entries(tmp_path)) == 1  # read again; the old entry went
    assert (changed.images[8] == first.images[0]).all()

    counted.clear()
    (images / "squares" / "07.png").unlink()
    assert len(read_split("folder", images, image_size=32, transparency="alpha")) == 15 and len(counted) == 15


def test_the_read_settings_are_part_of_the_key(tmp_path, counted):
    images = rgba_folder(tmp_path / "shapes", per_class=2, size=32)
    keys = {fingerprint(images, size, mode, colour) for size, mode, colour in
            [(32, "alpha", None), (32, "composite", None), (32, "composite", "#000000"), (40, "composite", None)]}
    assert len(keys) == 4 and fingerprint(images) == fingerprint(images, 64, "composite", "#FFFFFF")
    read_split("folder", images, image_size=32)
    read_split("folder", images, image_size=32, background="#000000")
    assert len(counted) == 8 and len(entries(tmp_path)) == 2


def test_a_damaged_entry_is_a_miss_and_a_small_folder_is_not_cached(tmp_path, counted, monkeypatch):
    images = rgba_folder(tmp_path / "shapes", per_class=2, size=32)
    read_split("folder", images, image_size=32)
    (tmp_path / "cache" / "folders" / entries(tmp_path)[0]).write_bytes(b"half a file")
    counted.clear()
    assert len(read_split("folder", images, image_size=32)) == 4 and len(counted) == 4

    monkeypatch.setattr(folder, "CACHE_MIN_FILES", 200)
    other = rgba_folder(tmp_path / "few", per_class=2, size=32)
    read_split("folder", other, image_size=32)
    read_split("folder", other, image_size=32)
    assert len(entries(tmp_path)) == 1  # only the first folder's


def test_skipped_files_are_reported_on_a_cached_read_too(tmp_path, counted):
    images = rgba_folder(tmp_path / "shapes", per_class=2, size=32)
    (images / "circles" / "broken.png").write_bytes(b"not a png")
    for _ in range(2):
        with pytest.warns(UserWarning, match="skipped 1 of 5 .*first: circles/broken.png"):
            read_split("folder", images, image_size=32)
    assert len(counted) == 5  # once each, the broken file included: the second read decoded nothing

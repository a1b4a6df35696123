"""Zips of images unpacked safely: the good ones into their own folder, every bad one refused
with its reason and nothing written."""
from __future__ import annotations

import zipfile

import pytest

from dataio import archive
from dataio.archive import ArchiveError, unpack_images
from dataio.registry import DataError
from tests.dataio.common import BAD_ZIPS, labelled_zip, make_zip, png
from tests.helpers import tree_hashes


def test_a_zipped_folder_unpacks_with_its_classes_and_says_what_it_skipped(tmp_path):
    done = unpack_images(labelled_zip(), tmp_path, "my pets!.zip")
    assert done.folder == tmp_path / "my-pets" and done.images == 4
    files = sorted(str(p.relative_to(done.folder)) for p in done.folder.rglob("*") if p.is_file())
    assert files == ["cats/a.png", "cats/b.png", "cats/kittens/c.png", "dogs/d.png"]   # the wrapper folder dropped
    reasons = dict(done.skipped)
    assert reasons["pets/README.txt"] == "not an image file (.txt)"
    assert reasons["__MACOSX/pets/cats/._a.png"] == "hidden or macOS metadata"
    assert [p.name for p in tmp_path.iterdir()] == ["my-pets"]                           # no scratch folder left


def test_a_second_upload_of_the_same_name_gets_its_own_folder(tmp_path):
    first = unpack_images(labelled_zip(), tmp_path, "pets.zip").folder
    second = unpack_images(labelled_zip(), tmp_path, "pets.zip").folder
    assert (first.name, second.name) == ("pets", "pets-2")


def test_a_broken_image_is_skipped_not_unpacked(tmp_path):
    done = unpack_images(make_zip({"a.png": png(), "b.png": b"garbage"}), tmp_path, "x")
    assert done.images == 1 and not (done.folder / "b.png").exists()
    assert "not a readable image" in dict(done.skipped)["b.png"]


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_a_bad_zip_is_refused_with_its_reason_and_nothing_written(tmp_path, case):
    data, reason = BAD_ZIPS[case]
    (tmp_path / "earlier").mkdir()
    (tmp_path / "earlier" / "x.png").write_bytes(png())
    before = tree_hashes(tmp_path)
    with pytest.raises(ArchiveError, match=reason) as refused:
        unpack_images(data, tmp_path, "upload.zip")
    assert isinstance(refused.value, DataError)            # a user error: the app shows it as a message
    assert tree_hashes(tmp_path) == before
    assert not (tmp_path.parent / "escape.png").exists() and not (tmp_path / "upload").exists()


@pytest.mark.parametrize("limit, value, reason", [
    ("MAX_UPLOAD_BYTES", 100, "over the limit of 100 bytes"),
    ("MAX_UNPACKED_BYTES", 100, "would unpack to"),
    ("MAX_MEMBERS", 2, "over the limit of 2"),
])
def test_each_size_limit_is_named_in_its_refusal(tmp_path, monkeypatch, limit, value, reason):
    monkeypatch.setattr(archive, limit, value)
    with pytest.raises(ArchiveError, match=reason):
        unpack_images(make_zip({f"{i}.png": png((16, 16), "RGB", (i * 40, 0, 0, 0)) for i in range(3)}),
                      tmp_path, "many")
    assert list(tmp_path.iterdir()) == []


def test_a_member_whose_data_is_not_what_it_declares_is_refused_and_cleaned_up(tmp_path, monkeypatch):
    """A directory that understates a member's size: the copy stops there, the CRC fails, and the
    half-written folder goes."""
    real_open = zipfile.ZipFile.open

    def lying_open(self, info, *args, **kwargs):
        if isinstance(info, zipfile.ZipInfo) and kwargs.get("mode", "r") == "r" and not args:
            info.file_size = 10
        return real_open(self, info, *args, **kwargs)
    monkeypatch.setattr(zipfile.ZipFile, "open", lying_open)
    with pytest.raises(ArchiveError, match="not a readable .zip|declared size"):
        unpack_images(make_zip({"a.png": png((32, 32))}), tmp_path, "liar")
    assert list(tmp_path.iterdir()) == []


def test_a_large_upload_stream_is_refused_before_it_is_read(tmp_path):
    class Unreadable:
        def read(self, *_):
            raise AssertionError("read a stream that was too large")
    with pytest.raises(ArchiveError, match="200 MiB"):
        unpack_images(Unreadable(), tmp_path, "big", size=archive.MAX_UPLOAD_BYTES + 1)


def test_folder_names_are_safe():
    assert archive.safe_folder_name("../../etc.zip") == "etc"
    assert archive.safe_folder_name(".hidden.zip") == "hidden"
    assert archive.safe_folder_name("...zip") == "images"

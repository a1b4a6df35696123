"""app/image_folders.py: the images folder's folders, uploads unpacked there (or refused with
nothing written), and the survey the Train page previews: counts, sizes, modes, classes, skips."""
from __future__ import annotations

import os

import numpy as np
import pytest

from app import image_folders
from dataio.archive import ArchiveError
from tests.dataio.common import BAD_ZIPS, bomb_png, labelled_zip, png
from tests.helpers import SHARED_DATA, tree_hashes

EMOJI = SHARED_DATA / "emoji-google"


@pytest.fixture
def images(tmp_path, monkeypatch):
    root = tmp_path / "images"
    monkeypatch.setenv("GAN_STUDIO_IMAGES", str(root))
    return root


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_an_upload_unpacks_into_its_own_folder_which_is_then_listed(images):
    assert image_folders.folders() == []                                  # no images folder yet: nothing listed
    done = image_folders.accept_upload("pets.zip", labelled_zip())
    assert done.folder == images / "pets" and image_folders.folders() == [images / "pets"]
    found = image_folders.survey(done.folder)
    assert found.classes == {"cats": 3, "dogs": 1}                        # the nested kittens/ count as cats
    assert found.modes == {"RGBA": 1, "RGB": 1, "L": 1, "P": 1} and found.transparent == 1
    assert found.sizes == {"8×8": 3, "16×12": 1}


@pytest.mark.parametrize("case", sorted(BAD_ZIPS))
def test_a_bad_upload_writes_nothing_in_the_images_folder(images, case):
    write(images / "earlier" / "a.png", png())
    before = tree_hashes(images)
    data, reason = BAD_ZIPS[case]
    with pytest.raises(ArchiveError, match=reason):
        image_folders.accept_upload("bad.zip", data)
    assert tree_hashes(images) == before


def test_the_survey_says_what_it_skipped_and_why(tmp_path):
    write(tmp_path / "a" / "one.png", png((8, 8), "RGB"))
    write(tmp_path / "a" / "deeper" / "two.png", png((8, 8), "RGB"))
    write(tmp_path / "b" / "three.png", png((32, 16), "L"))
    write(tmp_path / "b" / "huge.png", bomb_png())
    write(tmp_path / "b" / "broken.png", b"not a png")
    write(tmp_path / "b" / "notes.txt", b"hello")
    write(tmp_path / "b" / ".hidden.png", png())
    write(tmp_path / ".thumbnails" / "x.png", png())
    os.symlink("/etc/passwd", tmp_path / "b" / "passwd.png")
    os.mkfifo(tmp_path / "b" / "pipe.png")  # its header read would wait for a writer forever
    found = image_folders.survey(tmp_path)
    assert found.images == ["a/deeper/two.png", "a/one.png", "b/three.png"]
    assert found.classes == {"a": 2, "b": 1} and found.sizes == {"8×8": 2, "32×16": 1}
    why = dict(found.skipped)
    assert "image bomb" in why["b/huge.png"] and "not decoded" in why["b/huge.png"]
    assert why["b/broken.png"].startswith("not a readable image")
    assert why["b/notes.txt"] == "not an image file (.txt)"
    assert why["b/.hidden.png"] == "hidden file" and why[".thumbnails"] == "hidden folder"
    assert why["b/passwd.png"] == "a link leading out of the folder"
    assert why["b/pipe.png"] == "not a regular file (a pipe or a device)"


def test_unlabelled_folders_say_why(tmp_path):
    write(tmp_path / "loose" / "a.png", png())
    write(tmp_path / "loose" / "sub" / "b.png", png())
    assert image_folders.survey(tmp_path / "loose").unlabelled_because.startswith("some images sit directly")
    write(tmp_path / "one" / "only" / "a.png", png())
    assert "one subfolder" in image_folders.survey(tmp_path / "one").unlabelled_because
    assert image_folders.survey(tmp_path / "one").classes == {}


def test_the_stamp_changes_when_a_file_does(tmp_path):
    write(tmp_path / "a.png", png())
    first = image_folders.stamp(tmp_path)
    assert image_folders.stamp(tmp_path) == first
    write(tmp_path / "b.png", png())
    assert image_folders.stamp(tmp_path) != first


def test_examples_come_from_every_class_and_show_alpha_on_a_checkerboard(tmp_path):
    for name, n in (("big", 30), ("small", 2)):
        for i in range(n):
            write(tmp_path / name / f"{i:02d}.png", png((8, 8), "RGBA", (255, 0, 0, 0)))   # fully transparent red
    found = image_folders.survey(tmp_path)
    picks = image_folders.examples(found, 6)
    assert len(picks) == 6 and {"small/00.png", "small/01.png"} <= set(picks)
    grid = image_folders.example_grid(found, 6, per_row=3)
    px = image_folders.EXAMPLE_PX
    assert grid.shape == (2 * (px + 2) + 2, 3 * (px + 2) + 2, 3)
    tile = grid[2:2 + px, 2:2 + px]
    assert set(np.unique(tile).tolist()) == {204, 255}                   # the board, not the hidden red


@pytest.mark.skipif(not EMOJI.is_dir(), reason="no emoji-google folder beside the project")
def test_the_emoji_folder_surveys_as_its_readme_says():
    found = image_folders.survey(EMOJI)
    assert len(found.images) == 3786 and found.sizes == {"64×64": 3786}
    assert found.classes["people-and-body"] == 2261 and found.classes["component"] == 5 and len(found.classes) == 10
    assert dict(found.skipped) == {"README.md": "not an image file (.md)", "index.csv": "not an image file (.csv)"}
    assert found.transparent == 3786


def test_describe_counts_the_commonest_first():
    from collections import Counter

    assert image_folders.describe(Counter({"a": 1, "b": 5, "c": 2}), most=2) == "b (5), c (2) and 1 more"


def test_a_picture_that_changed_since_the_survey_is_left_out_of_the_grid(tmp_path):
    write(tmp_path / "a.png", png())
    write(tmp_path / "b.png", png())
    found = image_folders.survey(tmp_path)
    (tmp_path / "b.png").write_bytes(b"truncated")
    assert image_folders.example_grid(found).shape[:2] == (image_folders.EXAMPLE_PX + 4,) * 2   # one tile

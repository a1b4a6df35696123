"""Your own image folders: classes from subfolders, broken and hidden files, links, gray and GIF images."""
from pathlib import Path

import pytest
from PIL import Image

from dataio import DataError, read_split


def save(path: Path, size=(40, 30), color=(200, 30, 30), mode="RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(path)


def test_folder_with_classes_and_a_broken_file(tmp_path):
    save(tmp_path / "dogs" / "a.png", color=(0, 0, 255))
    save(tmp_path / "dogs" / "puppies" / "b.jpg", size=(64, 64))
    save(tmp_path / "cats" / "c.bmp", size=(20, 50), color=(50, 60, 70), mode="L")
    (tmp_path / "cats" / "broken.png").write_bytes(b"not an image")
    save(tmp_path / "cats" / ".ipynb_checkpoints" / "c-copy.png")  # hidden: ignored
    (tmp_path / "cats" / "notes.txt").write_text("not an image either, but not pretending")
    with pytest.warns(UserWarning, match="skipped 1 of 4"):
        data = read_split("folder", tmp_path, image_size=16)
    assert data.class_names == ["cats", "dogs"]
    assert data.labels.tolist() == [0, 1, 1]  # sorted paths: cats/c, dogs/a, dogs/puppies/b
    assert data.images.shape == (3, 3, 16, 16)  # one RGB image makes all RGB
    assert data.images[0, :, 8, 8].tolist() == [50, 50, 50]  # the gray image, repeated
    assert data.images[1, :, 8, 8].tolist() == [0, 0, 255]
    assert data.source == str(tmp_path)


def test_folder_unlabelled_gray_with_gif(tmp_path):
    save(tmp_path / "x.png", size=(30, 60), color=(9,), mode="L")
    save(tmp_path / "sub" / "y.gif", size=(8, 8), color=(120,), mode="L")
    data = read_split("folder", tmp_path)  # default size 64; images directly in root: no classes
    assert data.images.shape == (2, 1, 64, 64)
    assert data.class_names == [] and data.labels.tolist() == [0, 0]
    assert read_split("folder", tmp_path, image_size=8).images.shape == (2, 1, 8, 8)


def test_folder_does_not_follow_links_outside(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "secret.png"
    save(root / "ok.png")
    save(outside)
    (root / "link.png").symlink_to(outside)
    with pytest.warns(UserWarning, match="outside"):
        assert len(read_split("folder", root, image_size=8)) == 1


def test_folder_without_images_names_folder_and_extensions(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no images in .*empty.*\.png.*\.jpg"):
        read_split("folder", tmp_path / "empty")
    with pytest.raises(DataError, match="--data-root"):
        read_split("folder")

"""Your own image folders: classes from subfolders, broken and hidden files, links, gray and GIF images,
transparency both ways, image bombs and files that vanish mid-read."""
import os
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


def test_a_pipe_named_like_an_image_is_passed_over_not_waited_for(tmp_path):
    save(tmp_path / "ok.png")
    os.mkfifo(tmp_path / "pipe.png")
    assert len(read_split("folder", tmp_path, image_size=8)) == 1


def test_folder_without_images_names_folder_and_extensions(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no images in .*empty.*\.png.*\.jpg"):
        read_split("folder", tmp_path / "empty")
    with pytest.raises(DataError, match="--data-root"):
        read_split("folder")


def test_a_transparent_labelled_folder_read_both_ways(tmp_path):
    from tests.helpers import rgba_folder

    rgba_folder(tmp_path, per_class=8, size=32)
    composite = read_split("folder", tmp_path, image_size=32)
    assert composite.images.shape == (16, 3, 32, 32) and composite.class_names == ["circles", "squares"]
    assert composite.labels.tolist() == [0] * 8 + [1] * 8
    assert composite.images[0, :, 0, 0].tolist() == [255, 255, 255]  # the default background: white
    black = read_split("folder", tmp_path, image_size=32, background="#000000")
    assert black.images[0, :, 0, 0].tolist() == [0, 0, 0]
    alpha = read_split("folder", tmp_path, image_size=32, transparency="alpha")
    assert alpha.images.shape == (16, 4, 32, 32)
    assert alpha.images[0, :, 0, 0].tolist()[3] == 0 and alpha.images[0, :, 16, 16].tolist() == [40, 200, 120, 255]
    with pytest.raises(DataError, match="transparency must be one of composite, alpha"):
        read_split("folder", tmp_path, transparency="keep")
    with pytest.raises(DataError, match="#rrggbb"):
        read_split("folder", tmp_path, background="white")


def test_mixed_modes_and_sizes_nested_classes_a_bomb_and_a_vanished_file(tmp_path, monkeypatch):
    import dataio.folder as folder
    from tests.dataio.common import bomb_png

    save(tmp_path / "a" / "rgb.png", size=(64, 48))
    save(tmp_path / "a" / "deeper" / "still-a.png", size=(20, 20), color=(7,), mode="L")
    (tmp_path / "b").mkdir()
    Image.new("RGBA", (40, 40), (0, 0, 255, 128)).save(tmp_path / "b" / "half.png")
    Image.new("P", (33, 33), 3).save(tmp_path / "b" / "palette.gif")
    (tmp_path / "b" / "bomb.png").write_bytes(bomb_png())
    listed = folder._image_files

    def listing_with_a_file_that_vanishes(root):  # listed, then deleted before it is read
        paths, outside = listed(root)
        return sorted(paths + [root / "b" / "gone.png"]), outside

    monkeypatch.setattr(folder, "_image_files", listing_with_a_file_that_vanishes)
    with pytest.warns(UserWarning, match=r"skipped 2 of 6 .*first: b/bomb.png: declares 900000000 pixels"):
        data = read_split("folder", tmp_path, image_size=32, transparency="alpha")
    assert data.images.shape == (4, 4, 32, 32) and data.class_names == ["a", "b"]
    assert data.labels.tolist() == [0, 0, 1, 1]  # a/deeper/ belongs to a: a class is the first-level folder
    assert data.images[2, :, 16, 16].tolist() == [0, 0, 255, 128]
    assert (data.images[[0, 1, 3], 3] == 255).all()  # files without alpha are opaque


def test_a_folder_with_only_unreadable_images_says_so(tmp_path):
    from tests.dataio.common import bomb_png

    (tmp_path / "bomb.png").write_bytes(bomb_png())
    with pytest.raises(DataError, match="none of the 1 image files .* could be read .*image bomb"):
        read_split("folder", tmp_path)

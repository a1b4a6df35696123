"""The torch side of the data: what dataio reads, as uint8 tensors converted once to the run's
size and channels, normalisation, and the same DataError and registry as dataio's
(the readers themselves are tested in tests/dataio/)."""
import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

import dataio
from training import config as configs
from training.data.dataset import DATASETS, DataError, ImageDataset, convert_images, load_dataset, normalize


def test_mnist_test_split_resized_to_rgb(mnist_root):
    native = load_dataset("mnist", mnist_root, split="test")
    data = load_dataset("mnist", str(mnist_root), split="test", image_size=32, channels=3)
    assert native.images.shape == (10000, 1, 28, 28)
    assert native.images.dtype == torch.uint8 and native.images.is_contiguous()
    assert native.labels.dtype == torch.int64 and native.class_names == [str(d) for d in range(10)]
    assert (native.name, native.source) == ("mnist", str(mnist_root))
    assert data.images.shape == (10000, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.images.is_contiguous()
    assert torch.equal(data.images[:, 0], data.images[:, 2])  # gray repeated into R, G and B
    assert torch.equal(data.labels, native.labels)
    assert abs(data.images.float().mean() - native.images.float().mean()) < 2  # resizing keeps the ink


def test_every_reader_is_converted_the_same_way(tmp_path):
    rng = np.random.default_rng(1)
    svhn = tmp_path / "svhn"
    svhn.mkdir()
    scipy.io.savemat(svhn / "train_32x32.mat", {"X": rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8),
                                                 "y": np.arange(1, 6, dtype=np.uint8)[:, None]})
    assert load_dataset("svhn", svhn, channels=1, image_size=16).images.shape == (5, 1, 16, 16)
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    Image.new("L", (30, 60), 9).save(folder / "x.png")
    Image.new("L", (8, 8), 120).save(folder / "sub" / "y.gif")
    # The folder reader scales while reading; the channels still come from the conversion.
    assert load_dataset("folder", folder, image_size=8, channels=3).images.shape == (2, 3, 8, 8)


# --- conversion and normalisation -----------------------------------------------------------

def test_rgb_to_gray_matches_pillow():
    rgb = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    gray = convert_images(rgb, channels=1)
    pil = np.asarray(Image.fromarray(rgb[1].permute(1, 2, 0).numpy()).convert("L"))
    assert gray.shape == (2, 1, 8, 8)
    assert np.abs(gray[1, 0].numpy().astype(int) - pil).max() <= 1


def test_resize_keeps_aspect_and_crops_the_centre():
    wide = torch.zeros((1, 1, 20, 40), dtype=torch.uint8)
    wide[..., 10:30] = 255  # a white band in the middle half, black on both sides
    out = convert_images(wide, image_size=10)
    assert out.shape == (1, 1, 10, 10)
    assert (out[..., 1:-1] == 255).all()  # the crop shows only the band (edges may blend)
    square = torch.full((3, 1, 28, 28), 77, dtype=torch.uint8)
    assert torch.equal(convert_images(square, 32), torch.full((3, 1, 32, 32), 77, dtype=torch.uint8))
    assert convert_images(square) is square  # nothing to do: no copy


@pytest.mark.parametrize("output_range", [(-1.0, 1.0), (0.0, 1.0)])
def test_normalize_maps_the_byte_range_exactly(output_range):
    batch = torch.arange(256, dtype=torch.uint8).reshape(4, 1, 8, 8)
    x = normalize(batch, output_range)
    assert x.dtype == torch.float32 and x.shape == batch.shape
    assert x.min().item() == output_range[0] and x.max().item() == output_range[1]
    assert (x.flatten().diff() > 0).all()
    with pytest.raises(TypeError):
        normalize(x, output_range)


# --- errors and the registry ----------------------------------------------------------------

def test_errors_and_registry_are_dataios_own():
    # The same objects, so `except DataError` catches a reader's error whichever name it imports.
    assert DataError is dataio.DataError and DATASETS is dataio.DATASETS
    with pytest.raises(dataio.DataError, match="Did you mean 'mnist'"):
        load_dataset("mnsit")
    with pytest.raises(DataError, match="channels"):
        load_dataset("mnist", channels=2)
    with pytest.raises(DataError, match="positive number of pixels"):
        load_dataset("mnist", image_size=0)


def test_image_dataset_checks_its_tensors_as_dataio_checks_arrays():
    images, labels = torch.zeros((2, 1, 4, 4), dtype=torch.uint8), torch.zeros(2, dtype=torch.int64)
    data = ImageDataset(images, labels, ["a", "b"], "x", "y")
    assert isinstance(data, dataio.ImageSet) and len(data) == 2 and data.num_classes == 2
    with pytest.raises(ValueError, match="uint8"):
        ImageDataset(images.float(), labels, [], "x", "y")
    with pytest.raises(ValueError, match="int64"):
        ImageDataset(images, labels.int(), [], "x", "y")
    with pytest.raises(ValueError, match="int64"):
        ImageDataset(images, labels[:1], [], "x", "y")


def test_every_field_a_dataset_reads_is_a_config_field():
    for name in DATASETS.names():
        assert set(DATASETS.describe(name).fields) <= set(configs.FIELDS), name


def test_a_config_reads_its_folder_with_its_transparency(tmp_path):
    from tests.helpers import rgba_folder

    from training.data.dataset import data_key, load_for_config

    images = rgba_folder(tmp_path / "shapes", per_class=2, size=32)
    alpha = configs.resolve("dcgan-folder-alpha", [], {"data_root": str(images), "image_size": 32})
    data = load_for_config(alpha)
    assert data.images.shape == (4, 4, 32, 32) and data.images[0, 3, 0, 0] == 0
    black = alpha.replace(transparency="composite", channels=3, background="#000000")
    assert load_for_config(black).images[0, :, 0, 0].tolist() == [0, 0, 0]
    assert data_key(alpha) != data_key(black) != data_key(black.replace(background="#ffffff"))
    with pytest.raises(DataError, match="4 channels .* transparency=alpha"):
        load_dataset("folder", images, image_size=32, channels=4)  # composited images have no alpha to keep

"""The dataset layer: real MNIST / Fashion-MNIST, small files in the real SVHN, CIFAR-10 and
image-folder formats, conversion, normalisation, and the messages for missing or unknown data."""
import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from PIL import Image

from training.data import DATASETS, DataError, convert_images, load_dataset, normalize
from training.data import _sources

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """Keep the user's environment and cache out, and make every download fail at once (as it
    does offline); returns the list of attempted downloads."""
    monkeypatch.delenv(_sources.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    attempts = []

    def no_network(name, folder, split):
        attempts.append((name, folder, split))
        raise OSError("network disabled in tests")

    monkeypatch.setattr(_sources, "download", no_network)
    return attempts


def write_idx(path: Path, array: np.ndarray) -> None:
    data = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data += array.astype(np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def write_tiny_mnist(folder: Path, suffix: str = ".gz", n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (n, 28, 28)), np.arange(n) % 10
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


# --- MNIST and Fashion-MNIST ---------------------------------------------------------------

def test_mnist_train_is_the_real_set(mnist_root):
    data = load_dataset("mnist", mnist_root)
    assert data.images.shape == (60000, 1, 28, 28)
    assert data.images.dtype == torch.uint8 and data.images.is_contiguous()
    assert data.labels.dtype == torch.int64
    assert data.labels.bincount().tolist() == MNIST_TRAIN_COUNTS
    assert data.class_names == [str(d) for d in range(10)]
    assert (data.name, data.source) == ("mnist", str(mnist_root))
    assert 0.125 < data.images.float().mean().item() / 255 < 0.135  # MNIST's well-known mean 0.1307


def test_mnist_test_split_resized_to_rgb(mnist_root):
    native = load_dataset("mnist", mnist_root, split="test")
    data = load_dataset("mnist", str(mnist_root), split="test", image_size=32, channels=3)
    assert native.images.shape == (10000, 1, 28, 28)
    assert data.images.shape == (10000, 3, 32, 32) and data.images.dtype == torch.uint8
    assert data.images.is_contiguous()
    assert torch.equal(data.images[:, 0], data.images[:, 2])  # gray repeated into R, G and B
    assert torch.equal(data.labels, native.labels)
    assert abs(data.images.float().mean() - native.images.float().mean()) < 2  # resizing keeps the ink


def test_stacked_mnist_stacks_every_digit_once_per_channel(mnist_root):
    mnist = load_dataset("mnist", mnist_root, split="test")
    data = load_dataset("stacked-mnist", mnist_root, split="test")
    assert data.images.shape == (10000, 3, 28, 28) and data.images.is_contiguous()
    assert len(data.class_names) == 1000 and data.class_names[407] == "407"
    assert torch.equal(data.images[:, 0:1], mnist.images)  # channel 0 in order
    digits = torch.stack([data.labels // 100, data.labels // 10 % 10, data.labels % 10])
    for c in range(3):  # each channel is a permutation of the split: every digit image once
        assert torch.equal(digits[c].bincount(minlength=10), mnist.labels.bincount(minlength=10))
        # and each channel's image is an MNIST image carrying the digit its label names
        i = int(torch.nonzero(digits[c] == 7)[0])
        matches = (mnist.images[:, 0] == data.images[i, c]).flatten(1).all(1)
        assert mnist.labels[matches].eq(7).all() and matches.any()
    assert len(data.labels.unique()) > 990  # 10,000 random triples cover nearly all 1,000 modes
    again = load_dataset("stacked-mnist", mnist_root, split="test")
    assert torch.equal(again.images, data.images)  # the same triples every time


@pytest.mark.skipif(not (FASHION_SYSTEM_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="Debian package dataset-fashion-mnist is not installed")
def test_fashion_mnist_from_the_system_package():
    data = load_dataset("fashion-mnist", split="test")
    assert data.source == str(FASHION_SYSTEM_DIR)
    assert data.images.shape == (10000, 1, 28, 28)
    assert data.labels.bincount().tolist() == [1000] * 10
    assert data.class_names[0] == "T-shirt/top" and data.class_names[9] == "Ankle boot"


def test_idx_in_torchvision_layout_uncompressed(tmp_path):
    images, labels = write_tiny_mnist(tmp_path / "FashionMNIST" / "raw", suffix="")
    data = load_dataset("fashion-mnist", tmp_path)
    assert data.source == str(tmp_path / "FashionMNIST" / "raw")
    assert np.array_equal(data.images[:, 0].numpy(), images)
    assert np.array_equal(data.labels.numpy(), labels)


def test_env_variable_and_its_shared_folder(tmp_path, monkeypatch):
    env = tmp_path / "datasets"
    monkeypatch.setenv("GAN_STUDIO_DATA", str(env))
    write_tiny_mnist(env / "mnist")
    assert load_dataset("mnist").source == str(env / "mnist")
    # IDX files lying directly in $GAN_STUDIO_DATA could be MNIST or Fashion-MNIST (same
    # names), so they are not taken from there; torchvision's sub-folder names which it is.
    write_tiny_mnist(env)
    monkeypatch.setattr(_sources, "SYSTEM_DIRS", [tmp_path / "no-system"])
    with pytest.raises(DataError):
        load_dataset("fashion-mnist")
    write_tiny_mnist(env / "FashionMNIST" / "raw")
    assert load_dataset("fashion-mnist").source == str(env / "FashionMNIST" / "raw")


def test_truncated_idx_file_is_named(tmp_path):
    write_tiny_mnist(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(gzip.decompress(path.read_bytes())[:-5]))
    with pytest.raises(DataError, match="truncated"):
        load_dataset("mnist", tmp_path)


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


# --- SVHN and CIFAR-10 in their real formats ------------------------------------------------

def test_svhn_mat_file(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], dtype=np.uint8)  # SVHN writes the digit 0 as 10
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    data = load_dataset("svhn", tmp_path)
    assert data.images.shape == (5, 3, 32, 32) and data.images.is_contiguous()
    assert np.array_equal(data.images[3].numpy(), x[..., 3].transpose(2, 0, 1))
    assert data.labels.tolist() == [0, 1, 2, 0, 9]
    assert load_dataset("svhn", tmp_path, channels=1, image_size=16).images.shape == (5, 1, 16, 16)
    with pytest.raises(DataError, match="test"):
        load_dataset("svhn", tmp_path, split="test")


def write_cifar(folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(2)
    written = {}
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = rng.integers(0, 256, (4, 3072), dtype=np.uint8)
        batch = {b"batch_label": name.encode(), b"labels": [i, 1, 2, 3], b"data": data}
        raw = pickle.dumps(batch, protocol=2)
        if i == 0:  # the original files were pickled by Python 2 with numpy's old module name
            raw = raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")
        (folder / name).write_bytes(raw)
        written[name] = data
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names, b"num_vis": 3072}, protocol=2))
    return written


def test_cifar10_python_batches(tmp_path):
    written = write_cifar(tmp_path / "cifar-10-batches-py")
    train = load_dataset("cifar10", tmp_path)
    assert train.images.shape == (20, 3, 32, 32)
    assert train.labels[::4].tolist() == [0, 1, 2, 3, 4]
    pixels = written["data_batch_1"][1]
    assert np.array_equal(train.images[1].numpy(), pixels.reshape(3, 32, 32))
    assert train.images[1, 0, 0, 1].item() == pixels[1]  # red plane first, row-major
    assert train.images[1, 2, 31, 31].item() == pixels[3071]  # blue plane last
    assert train.class_names[3] == "cat"
    test = load_dataset("cifar10", tmp_path / "cifar-10-batches-py", split="test")  # the folder itself
    assert len(test) == 4 and test.labels.tolist() == [5, 1, 2, 3]


def test_cifar10_refuses_a_pickle_that_runs_code(tmp_path):
    write_cifar(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("this must never run",))

    (tmp_path / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(DataError, match="refusing"):
        load_dataset("cifar10", tmp_path, split="test")


# --- image folders --------------------------------------------------------------------------

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
        data = load_dataset("folder", tmp_path, image_size=16)
    assert data.class_names == ["cats", "dogs"]
    assert data.labels.tolist() == [0, 1, 1]  # sorted paths: cats/c, dogs/a, dogs/puppies/b
    assert data.images.shape == (3, 3, 16, 16)  # one RGB image makes all RGB
    assert data.images[0, :, 8, 8].tolist() == [50, 50, 50]  # the gray image, repeated
    assert data.images[1, :, 8, 8].tolist() == [0, 0, 255]
    assert data.source == str(tmp_path)


def test_folder_unlabelled_gray_with_gif(tmp_path):
    save(tmp_path / "x.png", size=(30, 60), color=(9,), mode="L")
    save(tmp_path / "sub" / "y.gif", size=(8, 8), color=(120,), mode="L")
    data = load_dataset("folder", tmp_path)  # default size 64; images directly in root: no classes
    assert data.images.shape == (2, 1, 64, 64)
    assert data.class_names == [] and data.labels.tolist() == [0, 0]
    assert load_dataset("folder", tmp_path, image_size=8, channels=3).images.shape == (2, 3, 8, 8)


def test_folder_does_not_follow_links_outside(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "secret.png"
    save(root / "ok.png")
    save(outside)
    (root / "link.png").symlink_to(outside)
    with pytest.warns(UserWarning, match="outside"):
        assert len(load_dataset("folder", root, image_size=8)) == 1


def test_folder_without_images_names_folder_and_extensions(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(DataError, match=r"no images in .*empty.*\.png.*\.jpg"):
        load_dataset("folder", tmp_path / "empty")
    with pytest.raises(DataError, match="--data-root"):
        load_dataset("folder")


# --- missing and unknown data ---------------------------------------------------------------

def test_missing_data_names_every_way_to_provide_it(tmp_path, monkeypatch, isolated):
    (tmp_path / "empty-root").mkdir()
    (tmp_path / "empty-env").mkdir()
    monkeypatch.setenv("GAN_STUDIO_DATA", str(tmp_path / "empty-env"))
    monkeypatch.setattr(_sources, "SYSTEM_DIRS", [tmp_path / "no-system"])
    with pytest.raises(DataError) as caught:
        load_dataset("mnist", tmp_path / "empty-root")
    message = str(caught.value)
    for part in ["--data-root", "GAN_STUDIO_DATA", str(tmp_path / "empty-env"), "no-system/mnist",
                 "download", "network disabled in tests", "train-images-idx3-ubyte.gz"]:
        assert part in message
    assert isolated == [("mnist", tmp_path / "cache" / "gan-studio" / "data" / "mnist", "train")]


def test_missing_root_folder_is_reported_as_such(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_dataset("cifar10", tmp_path / "typo")


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(DataError, match="Did you mean 'mnist'.*cifar10, fashion-mnist, folder, mnist, stacked-mnist, svhn"):
        load_dataset("mnsit")
    assert DATASETS.names() == ["cifar10", "fashion-mnist", "folder", "mnist", "stacked-mnist", "svhn"]
    with pytest.raises(DataError, match="'train' and 'test'"):
        load_dataset("mnist", split="validation")
    with pytest.raises(DataError, match="channels"):
        load_dataset("mnist", channels=2)

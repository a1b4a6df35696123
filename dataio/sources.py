"""Where a dataset's files come from, first match wins:

1. the explicit root (``--data-root``), then ``$GAN_STUDIO_DATA/<name>/`` and ``$GAN_STUDIO_DATA``;
2. the folder a system package installs into (``/usr/share/datasets/<name>/``; Debian's
   ``dataset-fashion-mnist`` puts Fashion-MNIST there);
3. the download cache (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``gan-studio/data/<name>``): what an
   earlier download left, else a download now from the official mirrors through torchvision,
   which checks the files' checksums.

Offline, the download fails; then one DataError names all three ways, so the user learns every
fix at once instead of one per attempt.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Callable

from dataio.registry import DataError

ENV_VAR = "GAN_STUDIO_DATA"
SYSTEM_DIRS = [Path("/usr/share/datasets")]
DEBIAN_PACKAGES = {"fashion-mnist": "dataset-fashion-mnist"}
# A network that drops packets instead of refusing them would otherwise hang the download forever.
DOWNLOAD_TIMEOUT_S = 30

# find(folder, shared) -> the path the reader needs, or None when the files are not there.
# ``shared`` marks $GAN_STUDIO_DATA itself, which holds several datasets: a finder must not take
# files whose names two datasets share (MNIST's and Fashion-MNIST's are the same) from it.
Finder = Callable[[Path, bool], "Path | None"]


def locate(name: str, root: Path | None, split: str, find: Finder, expected: str) -> tuple[Path, str]:
    """Return (what ``find`` found, a description of where) or raise the DataError naming every way.

    ``expected`` describes the files, for the message.
    """
    if root is not None and not root.is_dir():
        raise DataError(f"--data-root {root} is not a folder; point it at a folder holding {expected}")
    for folder, shared in _search_folders(name, root):
        found = find(folder, shared)
        if found is not None:
            return found, str(found)
    cache = cache_dir(name)
    found = find(cache, False)
    if found is not None:
        return found, str(found)
    try:
        download(name, cache, split)
        failure = "finished, but the expected files are not there"
    except Exception as error:  # any failure to fetch (DNS, HTTP, checksum, disk) is reported the same way
        failure = f"failed ({_short(error)})"
    found = find(cache, False)
    if found is not None:
        return found, f"downloaded to {found}"
    raise DataError(_missing_message(name, split, root, expected, cache, failure))


def cache_dir(name: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gan-studio" / "data" / name


def download(name: str, folder: Path, split: str) -> None:
    """Fetch ``name`` into ``folder`` in torchvision's layout. Tests replace this function."""
    # Imported here: torchvision (and torch under it) is an optional heavy dependency that only
    # a download needs; reading files that are already there must work without it.
    import torchvision.datasets as tvd

    make = {
        "mnist": lambda: tvd.MNIST(folder, train=split == "train", download=True),
        "fashion-mnist": lambda: tvd.FashionMNIST(folder, train=split == "train", download=True),
        "svhn": lambda: tvd.SVHN(folder, split=split, download=True),
        "cifar10": lambda: tvd.CIFAR10(folder, train=split == "train", download=True),
    }[name]
    folder.mkdir(parents=True, exist_ok=True)
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # torchvision's urlopen has no timeout of its own
    try:
        make()
    finally:
        socket.setdefaulttimeout(previous)


def env_root() -> Path | None:
    value = os.environ.get(ENV_VAR)
    return Path(value).expanduser() if value else None


def _search_folders(name: str, root: Path | None):
    if root is not None:
        yield root, False
    env = env_root()
    if env is not None:
        yield env / name, False
        yield env, True
    for system_dir in SYSTEM_DIRS:
        yield system_dir / name, False


def _short(error: Exception) -> str:
    # torchvision's MNIST error lists every mirror tried; its last line holds the actual reason.
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1] if lines else 'no details'}"[:300]


def _missing_message(name: str, split: str, root: Path | None, expected: str, cache: Path, failure: str) -> str:
    env = env_root()
    system = [str(d / name) for d in SYSTEM_DIRS]
    package = DEBIAN_PACKAGES.get(name)
    looked = [f"--data-root {root}" if root is not None else "no --data-root given"]
    looked.append(f"${ENV_VAR}={env} (and {env / name})" if env is not None else f"${ENV_VAR} is not set")
    looked.append(f"system folder {', '.join(system)}" + (f" (Debian package {package})" if package else ""))
    looked.append(f"download cache {cache}; the download from the official mirror {failure}")
    system_fix = f"install the Debian package ({package})" if package else "copy the files"
    return (
        f"no {name} data for split {split!r} found. Looked at:\n"
        + "".join(f"  - {line}\n" for line in looked)
        + "Fix it one of these ways:\n"
        f"  1. pass --data-root DIR, or set {ENV_VAR}=DIR (files in DIR or DIR/{name}/), "
        f"where DIR holds {expected};\n"
        f"  2. {system_fix} into {system[0]};\n"
        f"  3. run once with network access, so that the download into {cache} succeeds."
    )

"""A .zip of images unpacked into a folder the folder dataset reads, safely or not at all.

Everything is checked from the zip's directory and the images' headers before a byte is written:
no path may lead out of its folder (``../x.png``, ``/etc/x.png``, a drive letter), no member may
be a link or encrypted, the whole may not unpack to more than ``MAX_UNPACKED_BYTES`` or hold more
than ``MAX_MEMBERS`` entries, no large member may be compressed more than ``MAX_RATIO`` times (a
zip bomb), and no image may declare more than ``MAX_IMAGE_PIXELS`` (an image bomb: its header is
read, its pixels never). Only image files are unpacked (the folder reader's extensions); the rest,
and macOS's ``__MACOSX/`` and hidden files, are skipped and listed. The images go to a hidden
temporary folder beside the destination, renamed into place only when every one was written, so
a refused or failed upload leaves nothing behind.

A zip whose members all sit in one top folder (``emoji/flags/a.png``: a zipped folder) is
unpacked without that folder, so its first-level subfolders are the classes.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO


from dataio.folder import EXTENSIONS
from dataio.image_file import MAX_PIXELS, ImageRefused, open_header
from dataio.registry import DataError

MiB = 1024 * 1024
# Streamlit's server.maxUploadSize (.streamlit/config.toml) is the same 200 MB: a zip of
# 3,786 64x64 PNGs is 10 MiB, of ten thousand phone photos about 30 GiB (no upload for those:
# put the folder itself in the app's images folder).
MAX_UPLOAD_BYTES = 200 * MiB
# What a zip may unpack to: compressed images barely shrink in a zip, so an honest 200 MiB
# upload unpacks to a little more; five times that leaves room for BMPs.
MAX_UNPACKED_BYTES = 1024 * MiB
MAX_MEMBERS = 50_000
# A zip bomb deflates a few KiB into GiBs (ratios of 1,000 and more); PNG, JPEG and WebP hardly
# compress again (ratio about 1), a photo stored as BMP about 3, a flat-coloured BMP up to ~50.
MAX_RATIO = 100
RATIO_FLOOR_BYTES = 1 * MiB   # small members may compress as they like: they cannot add up to much
# The folder reader's own limit (8192x8192: a 48-megapixel phone photo reads; a 30000x30000 PNG,
# 3.6 GB decoded, does not): an upload holds no image a run would refuse.
MAX_IMAGE_PIXELS = MAX_PIXELS


class ArchiveError(DataError):
    """The zip is refused; the message says which member and why, and nothing was written."""


@dataclass
class Unpacked:
    folder: Path                       # where the images now are
    images: int                        # how many were unpacked
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (name in the zip, why it was left out)


def unpack_images(source: bytes | BinaryIO | Path, parent: Path, name: str, size: int | None = None) -> Unpacked:
    """Check the zip ``source`` and unpack its images into a new folder of ``parent`` named after
    ``name`` (made safe, and made unique with -2, -3...). ``size``: the upload's size in bytes
    when ``source`` is a stream, checked against MAX_UPLOAD_BYTES before it is read."""
    if isinstance(source, bytes):
        size = len(source)
        source = io.BytesIO(source)
    elif isinstance(source, Path):
        size = source.stat().st_size
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ArchiveError(f"the upload is {_amount(size)}, over the limit of {_amount(MAX_UPLOAD_BYTES)}; "
                           "put a folder this large into the app's images folder instead")
    try:
        with zipfile.ZipFile(source) as archive:
            members, skipped = check(archive)
            return _write(archive, members, skipped, Path(parent), name)
    except zipfile.BadZipFile as error:
        raise ArchiveError(f"this is not a readable .zip file ({error})") from None
    except (zlib.error, EOFError, NotImplementedError) as error:   # damaged data, an exotic compression
        raise ArchiveError(f"the zip is damaged or uses a compression this app cannot read ({error})") from None


def check(archive: zipfile.ZipFile) -> tuple[list[tuple[zipfile.ZipInfo, PurePosixPath]], list[tuple[str, str]]]:
    """(the image members with the path each is written to, what is skipped and why), reading only
    the zip's directory and each image's header; raises ArchiveError for a zip that is refused."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ArchiveError(f"the zip holds {len(infos):,} entries, over the limit of {MAX_MEMBERS:,}")
    total = sum(info.file_size for info in infos)
    if total > MAX_UNPACKED_BYTES:
        raise ArchiveError(f"the zip would unpack to {_amount(total)}, over the limit of "
                           f"{_amount(MAX_UNPACKED_BYTES)} (a zip bomb?)")
    wanted, skipped, seen = [], [], set()
    for info in infos:
        path = _safe_path(info)
        if info.is_dir():
            continue
        if path in seen:
            raise ArchiveError(f"{info.filename!r} is in the zip twice: which one is meant?")
        seen.add(path)
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ArchiveError(f"{info.filename} is compressed {info.file_size / max(info.compress_size, 1):,.0f} "
                               f"times (limit {MAX_RATIO}): a zip bomb?")
        if path.parts[0] == "__MACOSX" or any(part.startswith(".") for part in path.parts):
            skipped.append((info.filename, "hidden or macOS metadata"))
        elif path.suffix.lower() not in EXTENSIONS:
            skipped.append((info.filename, f"not an image file ({path.suffix or 'no extension'})"))
        else:
            wanted.append((info, path))
    if not wanted:
        raise ArchiveError(f"no images in the zip (looked for {', '.join(EXTENSIONS)}"
                           + (f"; it holds {', '.join(name for name, _ in skipped[:3])}" if skipped else "") + ")")
    readable = []
    for info, path in wanted:
        problem = _header_problem(archive, info)
        if problem:
            skipped.append((info.filename, problem))
        else:
            readable.append((info, path))
    if not readable:
        raise ArchiveError(f"none of the {len(wanted)} image files in the zip could be read (first: {skipped[-1][0]}: "
                           f"{skipped[-1][1]})")
    # A zipped folder: its one top folder is a wrapper, not a class.
    tops = {path.parts[0] for _, path in readable}
    if len(tops) == 1 and all(len(path.parts) > 1 for _, path in readable):
        readable = [(info, PurePosixPath(*path.parts[1:])) for info, path in readable]
    return readable, skipped


def safe_folder_name(name: str) -> str:
    """A folder name from an upload's file name: letters, digits, '.', '_', '-', no leading dot."""
    stem = name[:-4] if name.lower().endswith(".zip") else name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:64] or "images"


def _amount(n: int) -> str:
    return f"{n / MiB:,.0f} MiB" if n >= MiB else f"{n:,} bytes"


def _safe_path(info: zipfile.ZipInfo) -> PurePosixPath:
    """The member's path inside its folder, or ArchiveError for one that would land elsewhere."""
    name = info.filename.replace("\\", "/")   # zips made on Windows may use backslashes
    if "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise ArchiveError(f"{info.filename!r} is an absolute path: the zip would write outside its folder")
    path = PurePosixPath(name)
    if ".." in path.parts:
        raise ArchiveError(f"{info.filename!r} leads out of its folder ('..'): the zip is refused")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError(f"{info.filename!r} is a symbolic link: links could point anywhere, so the zip is refused")
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{info.filename!r} is encrypted: unpack the zip yourself and pick the folder instead")
    if not path.parts or path.parts == (".",):
        raise ArchiveError(f"{info.filename!r} is not a file name")
    return path


def _header_problem(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str | None:
    """Why this member is no usable image (None when it is one); an image bomb raises ArchiveError.
    Only the header is read: Pillow decodes no pixels until asked to."""
    try:
        with archive.open(info) as stream, open_header(stream):
            pass
    except ImageRefused as refused:
        raise ArchiveError(f"{info.filename} {refused}") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError):
        raise   # the zip itself is damaged: refused as a whole
    except Exception as error:  # noqa: BLE001 - Pillow's many ways of saying "not an image": this file is skipped
        return f"not a readable image ({type(error).__name__}: {error})"
    return None


def _write(archive: zipfile.ZipFile, members, skipped, parent: Path, name: str) -> Unpacked:
    parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".unpacking-", dir=parent))
    try:
        for info, path in members:
            target = scratch.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with archive.open(info) as stream, open(target, "xb") as out:
                while chunk := stream.read(MiB):
                    written += len(chunk)
                    if written > info.file_size:   # zipfile stops at the declared size; never trust it alone
                        raise ArchiveError(f"{info.filename} unpacks to more than its declared size: the zip is refused")
                    out.write(chunk)
        folder = _rename_into_place(scratch, parent, safe_folder_name(name))
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Unpacked(folder, len(members), skipped)


def _rename_into_place(scratch: Path, parent: Path, base: str) -> Path:
    for suffix in ["", *(f"-{i}" for i in range(2, 1000))]:
        target = parent / (base + suffix)
        if target.exists() or target.is_symlink():
            continue
        try:
            os.rename(scratch, target)   # fails, rather than merging, if the name was just taken
            return target
        except OSError:
            if not target.exists():
                raise
    raise ArchiveError(f"{parent} already holds {base} and 998 more like it: delete some")

"""Images and zips as people bring them, good and bad (not a test module): the dataio tests and the
app's upload tests build their files here."""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib

from PIL import Image


def png(size=(8, 8), mode="RGBA", color=(200, 30, 30, 128)) -> bytes:
    """A small real PNG: ``mode`` RGBA (half transparent), RGB, L, P..."""
    fill = color[: len(mode)] if mode in ("RGB", "RGBA") else color[0]
    buffer = io.BytesIO()
    Image.new(mode, size, fill).save(buffer, format="PNG")
    return buffer.getvalue()


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` (3.6 GB of RGBA at 30000x30000) and
    whose data is a few bytes: what an image bomb looks like to anything that reads the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def make_zip(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    """A zip of ``members`` (name -> bytes, names written as given, '../x' and '/x' included) and
    ``links`` (name -> target) stored as Unix symbolic links, as `zip --symlinks` writes them."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, target)
    return buffer.getvalue()


def labelled_zip() -> bytes:
    """Two classes in a zipped folder (``pets/cats``, ``pets/dogs``), mixed modes and sizes, a
    nested folder, a note and macOS's metadata: all fine, the extras skipped."""
    return make_zip({
        "pets/cats/a.png": png((8, 8), "RGBA"),
        "pets/cats/b.png": png((16, 12), "RGB"),
        "pets/cats/kittens/c.png": png((8, 8), "L"),
        "pets/dogs/d.png": png((8, 8), "P"),
        "pets/README.txt": b"my pets",
        "__MACOSX/pets/cats/._a.png": b"\0\5\26\7 resource fork",
    })


# name -> (zip bytes, a phrase its refusal must say)
BAD_ZIPS = {
    "parent path": (make_zip({"ok.png": png(), "../escape.png": png()}), "leads out of its folder"),
    "deep parent path": (make_zip({"a/../../escape.png": png()}), "leads out of its folder"),
    "absolute path": (make_zip({"/tmp/escape.png": png()}), "absolute path"),
    "windows path": (make_zip({"C:\\escape.png": png()}), "absolute path"),
    "symlink": (make_zip({"ok.png": png()}, links={"link.png": "/etc/passwd"}), "symbolic link"),
    "ratio bomb": (make_zip({"zeros.png": b"\0" * (4 << 20)}), "a zip bomb"),
    "image bomb": (make_zip({"ok.png": png(), "huge.png": bomb_png()}), "an image bomb"),
    "no images": (make_zip({"notes.txt": b"hello", "data.csv": b"1,2"}), "no images in the zip"),
    "only broken images": (make_zip({"broken.png": b"not a png"}), "could be read"),
    "not a zip": (b"PK\3\4 this is not a zip at all", "not a readable .zip"),
    "duplicate names": (make_zip({"a.png": png(), "./a.png": png()}), "twice"),
}

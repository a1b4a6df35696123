"""inference/files.py: a file's SHA-256, the identity an encoder is bound to and cached features are named by."""
from __future__ import annotations

import hashlib

from inference.files import file_sha256


def test_the_digest_is_sha256_of_the_whole_file_across_block_boundaries(tmp_path):
    # 1 MiB blocks: a file of two full blocks and a tail is read to its end, nothing dropped or repeated.
    data = bytes(range(256)) * (2 * 4096 + 3)
    path = tmp_path / "model.onnx"
    path.write_bytes(data)
    assert len(data) > 2 * 2**20
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
    assert file_sha256(str(path)) == file_sha256(path)


def test_an_empty_file_has_the_empty_digest(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert file_sha256(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_one_changed_byte_changes_the_digest(tmp_path):
    # A re-exported model differs in a byte or two: the encoder trained for the old one must not match it.
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    data = bytearray(b"\x08\x09" * 5000)
    a.write_bytes(data)
    data[7777] ^= 1
    b.write_bytes(data)
    assert file_sha256(a) != file_sha256(b)

"""studio.files: bounded readers refuse what would hang, exhaust or crash them, and read the rest."""
import os

import pytest

from studio.errors import UserError
from studio.files import (FileRefused, inside, json_depth, open_regular, parse_json, read_bytes, read_json, read_tail,
                          read_text)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "status.json"
    os.mkfifo(path)
    return path


def test_a_named_pipe_is_refused_at_once(fifo):
    with pytest.raises(FileRefused, match="named pipe"):
        read_json(fifo, what="the run's status")


def test_a_device_that_never_ends_is_refused():
    with pytest.raises(FileRefused, match="character device"):
        read_bytes("/dev/zero", limit=10)


def test_a_folder_is_refused(tmp_path):
    with pytest.raises(FileRefused, match="a folder"):
        read_text(tmp_path, limit=10)


def test_a_file_over_its_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "card.json"
    path.write_bytes(b" " * 2048)
    with pytest.raises(FileRefused, match="more than the 1,024 bytes"):
        read_bytes(path, limit=1024)
    assert read_bytes(path, limit=2048) == b" " * 2048


def test_a_missing_file_stays_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "nothing.json")


def test_text_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(FileRefused, match="not UTF-8"):
        read_text(path, limit=100)


def test_deep_json_is_refused_before_the_parser_recurses(tmp_path):
    path = tmp_path / "card.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileRefused, match="nests more than 64"):
        read_json(path)
    assert issubclass(FileRefused, UserError)


def test_brackets_inside_strings_do_not_count():
    assert json_depth('{"a": "[[[[{{", "b": [1, [2, "\\"]"]]}') == 3
    assert parse_json('{"name": "[[[[[[["}', max_depth=1) == {"name": "[[[[[[["}


def test_invalid_json_raises_value_error_like_json_loads():
    with pytest.raises(ValueError):
        parse_json("{not json")


def test_inside_refuses_dot_dot_and_links_leading_out(tmp_path):
    runs = tmp_path / "runs"
    (runs / "a").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (runs / "link").symlink_to(outside)
    assert inside(runs / "a", runs) == (runs / "a").resolve()
    with pytest.raises(FileRefused, match="leads outside"):
        inside(runs / ".." / "elsewhere", runs)
    with pytest.raises(FileRefused, match="leads outside"):
        inside(runs / "link", runs, what="run folder")


def test_open_regular_streams_a_file_and_refuses_a_pipe(tmp_path, fifo):
    path = tmp_path / "last.pt"
    path.write_bytes(b"weights")
    with open_regular(path) as file:
        assert file.read() == b"weights"
    with pytest.raises(FileRefused, match="named pipe"):
        open_regular(fifo, what="checkpoint")


def test_read_tail_reads_only_the_end_and_says_how_much_it_left(tmp_path, fifo):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b"0123456789")
    assert read_tail(path, limit=4) == (b"6789", 6)
    assert read_tail(path, limit=100) == (b"0123456789", 0)
    with pytest.raises(FileRefused, match="named pipe"):
        read_tail(fifo, limit=4)

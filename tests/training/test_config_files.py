"""training.config_files: the one strict reader of presets, config files, sweep spaces and --set values."""
import os
import time

import pytest

from studio.files import FileRefused
from training import config as configs
from training.config_files import SettingsFileError, SettingsSyntaxError, parse_json, parse_yaml, read_settings

LAUGHS = 'a: &a ["lol", "lol"]\n' + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
                                           for i in range(9))  # 9**9 * 2 strings, were it expanded


@pytest.mark.parametrize("text, words", [
    ("steps: 010", "010 has a leading zero, which YAML 1.1 reads as an octal number (010 would be 8); write 10"),
    ("steps: 08", "08 has a leading zero"),
    ("seed: -007", "write -7"),
    ("steps: 1:30", "1:30 is a base-60 number to YAML 1.1 (1:30 would be read as 90)"),
    ("~: 3", "the key ~ is read as null"),
    ("1: 3", "the key 1 is read as a number, not a name"),
    ("on: 3", "the key on is read as true (YAML 1.1 reads yes, no, on and off"),
    ("? [1, 2]\n: 3", "line 1: a key must be a name, not a list or a mapping"),
    ("steps: 10\nseed: 1\nsteps: 20", "line 3: the key 'steps' is given twice, on line 1 and line 3; keep one"),
    ("search:\n  lr_g: {low: 1, low: 2}", "the key 'low' is given twice"),
    (LAUGHS, "line 2: *a is an alias"),
    ("[" * 100_000 + "]" * 100_000, "nested more than 64 levels deep"),
    ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 70)), "nested more than 64 levels deep"),
    ("seed: " + "9" * 5000, "a number of 5,000 digits is not a setting"),
    ("steps: [1, 2", "is not valid YAML"),
    ("when: 2026-13-01", "is not valid YAML (month must be in 1..12)"),
    ("x: !!python/object/apply:os.system ['true']", "is not valid YAML (could not determine a constructor"),
    ("--- 1\n--- 2", "expected a single document"),
])
def test_yaml_that_crashes_or_misleads_is_refused_with_the_place_and_the_fix(text, words):
    started = time.perf_counter()
    with pytest.raises(SettingsFileError) as caught:
        parse_yaml(text, "--config c.yaml")
    assert words in str(caught.value) and str(caught.value).startswith("--config c.yaml")
    assert "\n" not in str(caught.value) and time.perf_counter() - started < 5


def test_plain_yaml_reads_as_before_and_an_exponent_is_a_number():
    assert parse_yaml("lr_g: 1e-4\nsteps: 1_000\nseed: 0\nd: '010'\ne: -0\nf: 0.5\ng: 010.5\nb: 0x10", "x") == \
        dict(lr_g=1e-4, steps=1000, seed=0, d="010", e=0, f=0.5, g=10.5, b=16)
    assert parse_yaml("a: &anchor 1", "x") == {"a": 1}  # an anchor nobody repeats expands nothing
    with pytest.raises(SettingsSyntaxError):  # syntax alone: --set falls back to the text for the type check
        parse_yaml("[1", "x")


@pytest.mark.parametrize("text, words", [
    ('{\n  "steps": 1,\n  "steps": 2\n}', "the key 'steps' is given twice, on lines 2 and 3; keep one"),
    ("[" * 100_000, "nested more than 64 levels deep"),
    ('{"seed": ' + "9" * 5000 + "}", "a number of 5,000 digits is not a setting"),
    ('{"steps": 1,}', "is not valid JSON"),
])
def test_json_gets_the_same_rules(text, words):
    with pytest.raises(SettingsFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_json(text, "--config c.json")


def test_a_pipe_a_device_or_a_big_file_is_refused_without_reading_it(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    with pytest.raises(FileRefused, match="is a named pipe"):  # opened without blocking: no writer needed
        read_settings(fifo, "--config")
    (tmp_path / "ok.yaml").write_text("steps: 010\n")
    with pytest.raises(SettingsFileError, match=r"^--config .*ok.yaml: 010 has a leading zero"):
        read_settings(tmp_path / "ok.yaml", "--config")
    with pytest.raises(FileRefused, match="is a character device"):
        read_settings("/dev/zero", "--config")
    big = tmp_path / "big.yaml"
    big.write_text("steps: 1\n" + "#" * 70_000)
    with pytest.raises(FileRefused, match="more than the 65,536 bytes"):
        read_settings(big, "--config")


def test_the_config_and_its_overrides_use_the_strict_reader(tmp_path):
    with pytest.raises(configs.ConfigError, match="write 10 for the decimal number"):
        configs.parse_override("steps=010")
    assert configs.parse_override("description=010") == ("description", "010")  # text stays text
    assert configs.parse_override("steps=[1") == ("steps", "[1")  # not YAML: the type check speaks
    with pytest.raises(configs.ConfigError, match=r"seed must be at most 9007199254740991; got 18446744073709551616 "
                                                  r"\(seeds run from 0 to 2\*\*53 - 1"):
        configs.resolve("gan-mlp-mnist", ["seed=18446744073709551616"])
    assert configs.resolve("gan-mlp-mnist", [f"seed={2**53 - 1}"]).seed == 2**53 - 1
    with pytest.raises(configs.ConfigError, match="unknown config key 'None'"):
        configs.build_config({None: 3})
    (tmp_path / "twice.yaml").write_text("steps: 10\nsteps: 20\n")
    with pytest.raises(configs.ConfigError, match="twice.yaml, line 2: the key 'steps' is given twice"):
        configs.load_config_file(tmp_path / "twice.yaml")
    with pytest.raises(configs.ConfigError, match="is a character device"):
        configs.load_config_file("/dev/zero")

"""Every file of settings (presets, ``--config`` files, sweep spaces, ``--set`` values), read strictly.

PyYAML's ``safe_load`` runs no code, but a hostile or mistyped file still crashes or misleads it:

- nesting 100,000 deep ends in RecursionError (or worse, in the C composer): nesting deeper than
  MAX_DEPTH is refused on the parser's events, before any node is built;
- aliases ("billion laughs": ten lines that expand to gigabytes) are refused; settings never need one;
- a key given twice silently keeps the last: refused, naming the key and both lines;
- a key that is not text (``~: 3`` is null, ``1: 3`` a number, ``on: 3`` true) is refused with its line;
- YAML 1.1's numbers: ``010`` is octal 8 and ``1:30`` is 90 (base 60). A leading zero is meant as
  decimal far more often than as octal, so both are refused with the number to write; ``1e-4``
  (no dot), which YAML 1.1 reads as text, is read as the number it is, as YAML 1.2 does;
- a number of thousands of digits (Python refuses to convert it) is refused.

JSON gets the same depth, duplicate-key and digit rules. Files are read through ``studio.files``
(regular files only, bounded, never blocking on a pipe). Torch-free: the app reads presets too.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from studio.errors import UserError
from studio.files import MAX_DEPTH, json_depth, read_text

MAX_BYTES = 64 << 10  # every field of a config fits in 4 KB; 64 KB of short values already takes a second to read
MAX_DIGITS = 30      # the largest useful number (a seed below 2**53) has 16 digits
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_BASE_60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_EXPONENT = re.compile(r"[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+")
_REFUSED = "tag:gan-studio,2026:refused-number"


class SettingsFileError(UserError, ValueError):
    """A settings file or value that cannot be read as written; the message names the place and the fix."""


class SettingsSyntaxError(SettingsFileError):
    """Text that is not YAML (or JSON) at all, as opposed to YAML these rules refuse."""


class _Problem(SettingsFileError):
    """What is wrong at one place of the text; ``parse_yaml`` adds which file or option it was."""

    def __init__(self, line: int, text: str):
        super().__init__(text)
        self.line = line


def _describe(value: Any) -> str:
    if value is None:
        return "null (~, null or nothing)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (YAML 1.1 reads yes, no, on and off as true or false)"
    return "a number" if isinstance(value, (int, float)) else f"a {type(value).__name__}"


class _StrictLoader(_Loader):
    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:  # plain (unquoted) text: quoting keeps any of these as text
            if _LEADING_ZERO.fullmatch(value) or _BASE_60.fullmatch(value):
                return _REFUSED
            if _EXPONENT.fullmatch(value):
                return "tag:yaml.org,2002:float"
        return super().resolve(kind, value, implicit)

    def construct_refused_number(self, node):
        line, text = node.start_mark.line + 1, node.value
        if ":" in text:
            raise _Problem(line, f"{text} is a base-60 number to YAML 1.1 ({text} would be read as "
                                 f"{yaml.safe_load(text)}); write the number itself, or quote it ('{text}') for text")
        sign, digits = ("-" if text.startswith("-") else ""), text.lstrip("+-").replace("_", "")
        decimal = sign + (digits.lstrip("0") or "0")
        octal = f" ({text} would be {int(sign + digits, 8)})" if set(digits) <= set("01234567") else ""
        raise _Problem(line, f"{text} has a leading zero, which YAML 1.1 reads as an octal number{octal}; "
                             f"write {decimal} for the decimal number, or quote it ('{text}') for text")

    def construct_yaml_int(self, node):
        if len(node.value.lstrip("+-").replace("_", "")) > MAX_DIGITS:
            raise _Problem(node.start_mark.line + 1, f"a number of {len(node.value):,} digits is not a setting")
        return super().construct_yaml_int(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise _Problem(line, "a key must be a name, not a list or a mapping")
            key = self.construct_object(key_node)
            if not isinstance(key, str):
                raise _Problem(line, f"the key {key_node.value or '(empty)'} is read as {_describe(key)}, not a name; "
                                     "keys are names such as steps (quote a key to keep it as text)")
            if key in seen:
                raise _Problem(line, f"the key {key!r} is given twice, on line {seen[key]} and line {line}; keep one")
            seen[key] = line
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor(_REFUSED, _StrictLoader.construct_refused_number)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def _where(what: str, text: str, line: int) -> str:
    return what if "\n" not in text.strip() else f"{what}, line {line}"


def _check_events(text: str, what: str) -> None:
    """Depth and aliases, from the parser's event stream (which keeps no recursion of its own)."""
    depth = 0
    for event in yaml.parse(text, Loader=_Loader):
        line = event.start_mark.line + 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise SettingsFileError(f"{_where(what, text, line)}: nested more than {MAX_DEPTH} levels deep; "
                                        "settings nest 3 levels at most (is it the right file?).")
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise SettingsFileError(f"{_where(what, text, line)}: *{event.anchor} is an alias (of a value marked "
                                    f"&{event.anchor}); settings never take aliases, since a few can expand to "
                                    "gigabytes: write the values out.")


def parse_yaml(text: str, what: str) -> Any:
    """The value of the YAML ``text`` (``what``: the file or option it came from, for the messages)."""
    try:
        _check_events(text, what)
        loader = _StrictLoader(text)
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except _Problem as problem:
        raise SettingsFileError(f"{_where(what, text, problem.line)}: {problem}.") from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as error:
        if isinstance(error, SettingsFileError):
            raise
        raise SettingsSyntaxError(f"{what} is not valid YAML ({' '.join(str(error).split())}).") from None


def parse_json(text: str, what: str) -> Any:
    """The value of the JSON ``text``, with the depth, duplicate-key and digit rules of ``parse_yaml``."""
    if json_depth(text) > MAX_DEPTH:
        raise SettingsFileError(f"{what}: nested more than {MAX_DEPTH} levels deep; settings nest 3 levels at most "
                                "(is it the right file?).")
    twice: list[str] = []

    def pairs(items):
        keys = [key for key, _ in items]
        twice.extend(key for i, key in enumerate(keys) if key in keys[:i])
        return dict(items)

    def whole(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_DIGITS:
            raise ValueError(f"a number of {len(digits):,} digits is not a setting")
        return int(digits)

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_int=whole)
    except (ValueError, RecursionError) as error:
        raise SettingsSyntaxError(f"{what} is not valid JSON ({' '.join(str(error).split())}).") from None
    if twice:
        pattern = re.compile(r'"' + re.escape(json.dumps(twice[0])[1:-1]) + r'"\s*:')
        lines = [n for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
        where = f", on lines {lines[0]} and {lines[1]}" if len(lines) >= 2 else ""
        raise SettingsFileError(f"{what}: the key {twice[0]!r} is given twice{where}; keep one.")
    return value


def read_settings(path: str | Path, what: str, limit: int = MAX_BYTES) -> Any:
    """The value in the settings file ``path`` (``what``: the option or kind that named it, e.g.
    --config): JSON for a .json file, else YAML. FileNotFoundError when it is missing; FileRefused
    when it is no regular file or larger than ``limit``."""
    text = read_text(path, limit=limit, what=what)
    label = f"{what} {path}"
    return parse_json(text, label) if Path(path).suffix.lower() == ".json" else parse_yaml(text, label)

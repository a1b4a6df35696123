"""Every command the README and docs/ show still works as written: its flags parse, and its
``--help`` runs in a fresh process (what a reader who copies the line first sees)."""
from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.helpers import REPO_ROOT

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")), REPO_ROOT / "examples" / "README.md"]
CLIS = ("training", "inference", "evaluation")
# `python -m training train ...` in a code block or inline code, up to the end of the line or the closing backtick
COMMAND = re.compile(r"(?:^|`)\s*(?:python3?|torchrun(?: --\S+)*) -m ((?:training|inference|evaluation)\b[^`\n]*)", re.M)


def documented_commands() -> list[tuple[str, list[str]]]:
    found = {}
    for doc in DOCS:
        for match in COMMAND.finditer(doc.read_text()):
            line = match.group(1).split(" # ")[0].split("  #")[0].strip().rstrip("\\").strip()
            line = re.sub(r"\s*(&&|\||;|&$).*$", "", line)  # the first command of a shell line
            line = re.sub(r"\[(--[^]]*)\]", r"\1", line)  # optional flags, shown [--like this]: all given
            if "..." in line or "…" in line or re.search(r"\s[A-Z]\b", line):
                continue  # elided or with one-letter placeholders (`--direction K`): prose; its --help still runs below
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            found.setdefault(" ".join(words), (f"{doc.relative_to(REPO_ROOT)}: {line}", words))
    return sorted(found.values())


def full_commands() -> list[tuple[str, list[str]]]:
    """Those with arguments: `python -m training train` alone names a command in a sentence."""
    return [(where, words) for where, words in documented_commands()
            if len(words) > (2 if words[0] == "training" else 1)]


def parser_of(cli: str):
    if cli == "training":
        from training.cli.main import build_parser
        return build_parser()
    module = __import__(f"{cli}.cli", fromlist=["_parser"])
    return module._parser()


def test_the_docs_show_commands_of_every_cli():
    assert {words[0] for _, words in documented_commands()} == set(CLIS)


@pytest.mark.parametrize("where,words", full_commands(), ids=lambda v: v if isinstance(v, str) else None)
def test_a_documented_command_parses(where, words):
    parser = parser_of(words[0])
    try:
        parser.parse_args(words[1:])
    except SystemExit as exit_:
        if exit_.code == 0 and "--help" in words:
            return
        pytest.fail(f"{where}: the CLI refuses it (exit {exit_.code})")


def _help_commands() -> list[list[str]]:
    subcommands = {"training": set(), "inference": set(), "evaluation": set()}
    for _, words in documented_commands():
        if words[0] == "training" and len(words) > 1 and not words[1].startswith("-"):
            subcommands["training"].add(words[1])
    return [[cli] for cli in CLIS] + [["training", sub] for sub in sorted(subcommands["training"])]


@pytest.mark.parametrize("words", _help_commands(), ids=" ".join)
def test_a_documented_command_s_help_runs(words):
    out = subprocess.run([sys.executable, "-m", *words, "--help"], cwd=REPO_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "usage:" in out.stdout, out.stderr[-2000:]

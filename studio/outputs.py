"""Where a command may write: the one rule every output option of every CLI follows.

An output option (``--out``, ``--json``, ``--gif``, ``--best-config``, ...) names a file the user
chose. It replaces an existing file only with ``--force``, and it NEVER replaces, even with
``--force``:

- a model's card or evaluation report (``X.json``, ``X.eval.json`` beside ``X.onnx``), unless the
  command writes that model itself (an export replaces a model together with its card);
- a file the command reads (the model it scores, the image it matches);
- anything inside a run folder (a folder holding ``config.json`` with ``status.json``, samples or
  checkpoints): a run's files are written by its own commands, which pick their names themselves;
- a file GAN Studio ships (``exported/SHIPPED.txt`` lists them; presets and sweep spaces): scores
  recorded elsewhere name their hashes. Maintainers delete one before making it again
  (``scripts/train_shipped.sh`` does).

Paths are resolved before they are compared (links followed, ``..`` collapsed), so a link or a
detour is judged by where it leads. Writes go to a temporary file in the same folder, renamed over
the target, so a reader sees the old file or the new one, never half of one. Standard library only.
"""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Iterable

from studio.errors import UserError
from studio.files import DISK_FULL_ERRNOS, DiskFull, disk_full_message

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_LIST = REPO_ROOT / "exported" / "SHIPPED.txt"
SHIPPED_FOLDERS = (REPO_ROOT / "training" / "presets", REPO_ROOT / "sweeps")  # every file in them ships
RUN_MARKS = ("status.json", "samples", "checkpoints", "metrics.jsonl")  # beside config.json: a run folder


class OutputRefused(UserError):
    """An output option naming a file that must not be replaced (or not without --force)."""


@functools.lru_cache(maxsize=1)
def _shipped_list() -> frozenset[Path]:
    try:
        lines = SHIPPED_LIST.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset()
    names = (line.split("#", 1)[0].strip() for line in lines)
    return frozenset((SHIPPED_LIST.parent / name).resolve() for name in names if name)


def is_shipped(path: str | os.PathLike) -> bool:
    """Whether ``path`` (resolved) is a file GAN Studio ships: listed in exported/SHIPPED.txt, or any
    existing file in training/presets/ or sweeps/."""
    resolved = Path(path).resolve()
    if resolved in _shipped_list():
        return True
    return resolved.is_file() and any(folder.resolve() in resolved.parents for folder in SHIPPED_FOLDERS)


def is_run_folder(folder: Path) -> bool:
    try:
        return (folder / "config.json").is_file() and any((folder / mark).exists() for mark in RUN_MARKS)
    except OSError:  # a folder we may not look into is not one we would write in either
        return False


def run_folder_of(path: Path) -> Path | None:
    """The run folder ``path`` (resolved) lies in, at any depth; None when it lies in none."""
    return next((folder for folder in Path(path).resolve().parents if is_run_folder(folder)), None)


def model_of(path: Path) -> Path | None:
    """The model ``path`` is the card (``X.json``) or evaluation report (``X.eval.json``) of, when that model exists."""
    name = path.name.lower()
    if not name.endswith(".json"):
        return None
    stem = path.name[: -len(".eval.json")] if name.endswith(".eval.json") else path.name[: -len(".json")]
    candidates = [path.with_name(stem + ".onnx")]
    if name.endswith(".eval.json"):  # X.eval.json could also be the card of a model named X.eval.onnx
        candidates.append(path.with_name(path.name[: -len(".json")] + ".onnx"))
    return next((model for model in candidates if model.is_file()), None)


def why_never(path: str | os.PathLike, *, own_model: Path | None = None,
              inputs: Iterable[str | os.PathLike] = ()) -> tuple[str, str] | None:
    """Why ``path`` may never be written by an output option, and what to do instead (None when it
    may be). ``own_model``: the model the command writes with its card (an export), which may
    replace a model and its card and report; ``inputs``: the files the command reads."""
    resolved = Path(path).resolve()
    for source in inputs:
        if source is not None and Path(source).resolve() == resolved:
            return f"is {source}, which the command reads", "name another file"
    if is_shipped(resolved):
        return "is a file shipped with GAN Studio", "write your own file elsewhere"
    run = run_folder_of(resolved)
    if run is not None:
        return f"lies inside the run folder {run}, whose files only its own commands write", "name a file outside it"
    model = model_of(resolved)
    if model is not None and (own_model is None or model != Path(own_model).resolve()):
        kind = "evaluation report" if resolved.name.lower().endswith(".eval.json") else "model card"
        return f"is the {kind} of {model.name} beside it", f"name another file (e.g. {resolved.stem}.report.json)"
    if own_model is None and resolved.suffix.lower() == ".onnx" and resolved.with_suffix(".json").is_file():
        return f"is a model (its card {resolved.with_suffix('.json').name} is beside it)", "name another file"
    return None


def check_output(path: str | os.PathLike, what: str, *, force: bool, replaces: Iterable[Path] = (),
                 inputs: Iterable[str | os.PathLike] = (), model: bool = False) -> Path:
    """Refuse ``path`` (the option ``what``) and the files written with it (``replaces``, e.g. its
    card) when one may never be replaced, or when one exists and ``force`` is false. ``model``: the
    output is a model written with its card (export, upgrade), which may replace a model and its card."""
    path = Path(path)
    own_model = path if model else None
    written = [path, *replaces]
    for target in written:
        refusal = why_never(target, own_model=own_model, inputs=inputs)
        if refusal:
            fact, fix = refusal
            named = f"{what} {path}" + ("" if target == path else f" would also write {target.name}, which")
            raise OutputRefused(f"{named} {fact}: an output never replaces it, even with --force; {fix}.")
    existing = [target for target in written if target.exists()]
    if existing and not force:
        if existing == [path]:
            raise OutputRefused(f"{what} {path} exists; pass --force to replace it, or choose another file.")
        raise OutputRefused(f"{what} {path}: writing there would replace {', '.join(p.name for p in existing)} in "
                            f"{path.parent}; pass --force to replace them, or choose another {what}.")
    return path


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` into a temporary file beside ``path``, renamed over it (the folder is made if missing)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        _say_if_full(error, path)
        raise
    try:
        os.fchmod(descriptor, 0o644)  # mkstemp's 0600 would hide the file from the other users a file is usually for
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        _say_if_full(error, path)
        raise
    return path


def _say_if_full(error: BaseException, path: Path) -> None:
    """A full disk as the one line studio.files words it (DiskFull); any other error goes on as it was."""
    if isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS:
        raise DiskFull(disk_full_message(path)) from None

"""The models the app can open: shipped and uploaded generators, and those exported by runs.

An upload is validated before anything is saved; publishing copies a run's generator (and its
card) into the models folder, and replaces a model of the same name only when asked to.
Every file is checked to lie inside the models folder or its run folder, links followed.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import inside, models_dir, mtime, refusal, runs_dir
from inference import Generator, InferenceError
from studio.errors import UserError
from training.runfolder.files import RunError, UnreadableFile, read_json_object
from training.runfolder.folder import RunFolder, list_runs, sanitize_name

# What stands beside NAME.onnx and belongs to it: its card, its evaluation report, its web copy, its
# encoder (inference/encoder.py: projection starts from it), its Markdown card and weights for model hubs
# (training/export/side_files.py).
SIDE_SUFFIXES = (".json", ".eval.json", ".fp16.onnx", ".encoder.onnx", ".md", ".generator.safetensors",
                 ".discriminator.safetensors")
PUBLISHED_SUFFIXES = (".json", ".md", ".generator.safetensors", ".discriminator.safetensors")  # what a run's export holds


class ModelExists(UserError):
    """Publishing onto a model name that is taken, without the user's say-so."""


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    label: str     # what the picker shows
    source: str    # "exported" or "run"
    problem: str | None = None   # why the app will not open this file (it lies outside its folders)

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".json")

    def card_and_problem(self) -> tuple[dict[str, Any], str | None]:
        """The card as a dict ({} when there is none) and, for a card that cannot be used, why."""
        if self.problem:
            return {}, self.problem
        try:
            return read_json_object(self.card_path), None
        except FileNotFoundError:
            return {}, None
        except UnreadableFile as error:
            return {}, f"model card {error}"

    def card(self) -> dict[str, Any]:
        return self.card_and_problem()[0]

    def dataset(self) -> str:
        meta = self.card().get("metadata")
        value = meta.get("dataset") if isinstance(meta, dict) else None
        return value if isinstance(value, str) else ""


def _entry(path: Path, label: str, source: str, root: Path, where: str) -> ModelEntry:
    for file in (path, path.with_suffix(".json")):
        if (file.exists() or file.is_symlink()) and not inside(file, root):
            return ModelEntry(path, label, source, refusal(file, where))
    return ModelEntry(path, label, source)


def find_models() -> list[ModelEntry]:
    """Shipped/uploaded models in the models folder, then generators exported by runs (newest first).
    A file that leads outside its folder is listed with the reason, and never opened."""
    entries = []
    folder = models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            if not path.name.endswith((".fp16.onnx", ".encoder.onnx")):  # side files of a model already listed
                entries.append(_entry(path, path.stem, "exported", folder, "the models folder"))
    runs = [r for r in list_runs(runs_dir()) if r.onnx_path.is_file()]
    for run in sorted(runs, key=lambda r: mtime(r.onnx_path), reverse=True):
        entries.append(_entry(run.onnx_path, f"run: {run.id}", "run", run.path, "its run folder"))
    return entries


def file_key(path: Path) -> tuple[str, int, int]:
    """What identifies a file's content for caches: a rewritten file gets a new key."""
    st = Path(path).stat()
    return str(Path(path).resolve()), st.st_mtime_ns, st.st_size


def check_upload(data: bytes, filename: str) -> tuple[Path, Generator]:
    """Validate uploaded bytes as a GAN Studio generator (in a temporary file) and, only if they
    are one, save them into the models folder under a safe, unused name. Raises InferenceError."""
    if not filename.lower().endswith(".onnx"):
        raise InferenceError(f"{filename}: only .onnx files can be uploaded")
    with tempfile.TemporaryDirectory(prefix="gan-studio-upload-") as tmp:
        candidate = Path(tmp) / "upload.onnx"
        candidate.write_bytes(data)
        Generator.load(candidate, device="cpu")  # raises InferenceError for anything but a generator
        folder = models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stem = safe_stem(Path(filename).stem)
        target = folder / f"{stem}.onnx"
        i = 2
        while model_files(target):  # a fresh name: an upload never replaces a model or its side files
            target = folder / f"{stem}-{i}.onnx"
            i += 1
        shutil.move(str(candidate), target)
    return target, Generator.load(target, device="cpu")


def model_files(target: Path) -> list[Path]:
    """NAME.onnx and the side files of NAME that exist (or are dangling links)."""
    stem = target.name[:-len(".onnx")]
    files = [target, *(target.with_name(stem + suffix) for suffix in SIDE_SUFFIXES)]
    return [f for f in files if f.exists() or f.is_symlink()]


def safe_stem(name: str) -> str:
    stem = sanitize_name(name)
    for side in (".fp16", ".encoder"):  # NAME.fp16.onnx, NAME.encoder.onnx belong to NAME: the picker hides them
        if stem.endswith(side):
            stem = stem[:-len(side)] + "-" + side[1:]
    return stem


def publish_target(name: str) -> Path:
    return models_dir() / f"{safe_stem(name)}.onnx"


def publish(run: RunFolder, name: str, replace: bool = False) -> Path:
    """Copy a run's exported generator and card into the models folder as ``name``.

    A name that is taken is refused unless ``replace``; a replace stages the new files beside the
    old ones first, renames each over its old one (so no reader ever sees half a file), and
    removes the old model's side files the run has no new version of (a stale evaluation report
    would describe the old model)."""
    if not run.onnx_path.is_file():
        raise RunError(f"run {run.id} has no exported generator yet: export it first.")
    for file in (run.onnx_path, run.card_path):
        if (file.exists() or file.is_symlink()) and not inside(file, run.path):
            raise RunError(refusal(file, "its run folder"))
    target = publish_target(name)
    old = model_files(target)
    if old and not replace:
        raise ModelExists(f"a model named {target.stem!r} already exists ({', '.join(f.name for f in old)}); "
                          "tick 'Replace' to overwrite it and its side files, or choose another name.")
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    new = {target: run.onnx_path}
    for suffix in PUBLISHED_SUFFIXES:
        source = run.onnx_path.with_name(run.onnx_path.stem + suffix)
        if source.is_file() and inside(source, run.path):
            new[target.with_name(target.stem + suffix)] = source
    staged: dict[Path, Path] = {}
    try:
        for dest, source in new.items():
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{dest.name}.", suffix=".tmp")
            os.close(fd)
            staged[dest] = Path(tmp)
            shutil.copyfile(source, tmp)
            os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the model from other users
    except BaseException:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
        raise
    for stale in old:
        if stale not in staged:
            stale.unlink(missing_ok=True)
    for dest in sorted(staged, key=lambda d: d != target):  # the .onnx first: the picker lists by it
        os.replace(staged[dest], dest)
    return target

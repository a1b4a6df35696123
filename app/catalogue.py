"""The models the app can open: shipped and uploaded generators, and those exported by runs.

An upload is validated before anything is saved; publishing copies a run's generator (and its
card) into the models folder.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.paths import models_dir, runs_dir
from inference import Generator, InferenceError
from training.runs import RunError, RunFolder, list_runs, sanitize_name


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    label: str     # what the picker shows
    source: str    # "exported" or "run"

    @property
    def card_path(self) -> Path:
        return self.path.with_suffix(".json")

    def card(self) -> dict[str, Any]:
        try:
            return json.loads(self.card_path.read_text())
        except (OSError, ValueError):
            return {}


def find_models() -> list[ModelEntry]:
    """Shipped/uploaded models in the models folder, then generators exported by runs (newest first)."""
    entries = []
    folder = models_dir()
    if folder.is_dir():
        for path in sorted(folder.glob("*.onnx")):
            if not path.name.endswith(".fp16.onnx"):  # the web copy of a model already listed
                entries.append(ModelEntry(path, path.stem, "exported"))
    runs = [r for r in list_runs(runs_dir()) if r.onnx_path.is_file()]
    for run in sorted(runs, key=lambda r: r.onnx_path.stat().st_mtime, reverse=True):
        entries.append(ModelEntry(run.onnx_path, f"run: {run.id}", "run"))
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
        stem = sanitize_name(Path(filename).stem)
        target = folder / f"{stem}.onnx"
        i = 2
        while target.exists() or target.with_suffix(".json").exists():
            target = folder / f"{stem}-{i}.onnx"
            i += 1
        shutil.move(str(candidate), target)
    return target, Generator.load(target, device="cpu")


def publish(run: RunFolder, name: str) -> Path:
    """Copy a run's exported generator and card into the models folder as ``name``."""
    if not run.onnx_path.is_file():
        raise RunError(f"run {run.id} has no exported generator yet: export it first.")
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{sanitize_name(name)}.onnx"
    shutil.copyfile(run.onnx_path, target)
    if run.card_path.is_file():
        shutil.copyfile(run.card_path, target.with_suffix(".json"))
    return target

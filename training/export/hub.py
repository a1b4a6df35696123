"""``python -m training export RUN --hub DIR``: one self-contained folder, ready to upload to a model
hub as it is (nothing is uploaded from here).

``DIR/`` holds ``NAME.onnx`` and its JSON card ``NAME.json`` (NAME is DIR's name: the app and
``inference`` read a model's card beside it), ``README.md`` (the Markdown card, which hubs show),
``NAME.generator.safetensors`` and ``NAME.discriminator.safetensors``, and ``samples.png`` (seed 0,
as the app draws it; a conditional model one column per class), plus ``NAME.fp16.onnx`` with --fp16.

Written whole or not at all: everything goes into a hidden folder beside DIR, which is renamed onto
DIR once complete, so a killed export leaves DIR as it was (and at most a hidden ``.NAME.hub-*``
folder beside it). An existing non-empty DIR is replaced only with ``--force``, and only when it
holds nothing but a hub folder's files: a folder of other things is never deleted.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from inference import Generator
from inference.images import encode_png, image_grid
from studio.cli import check_writable_folder
from studio.errors import UserError
from studio.outputs import is_shipped, run_folder_of
from training.export.generator import export_run, model_files
from training.export.model_card import markdown_card
from training.export.side_files import markdown_path
from training.runfolder.files import atomic_write_json
from training.runfolder.folder import RunFolder, sanitize_name

README = "README.md"
SAMPLE_IMAGE = "samples.png"
GRID_IMAGES = 64  # an unconditional model's grid; a conditional one shows 8 per class
MAX_CLASS_COLUMNS = 16


class HubError(UserError):
    """A --hub folder that cannot be written as asked (the message says why and what to do)."""


def model_name(folder: Path) -> str:
    return sanitize_name(Path(folder).absolute().name)


def hub_file_names(name: str) -> set[str]:
    """Every name a hub folder of model ``name`` may hold."""
    out = Path(name + ".onnx")
    return {p.name for p in model_files(out)} - {markdown_path(out).name} | {README, SAMPLE_IMAGE}


def check_hub_folder(folder: Path, force: bool) -> Path:
    """``folder`` as a --hub target: not a file, in no run folder, empty or new, or (with ``force``) a
    hub folder written before; its parent writable."""
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise HubError(f"--hub {folder} is a file; name a folder (it is made if missing).")
    if run_folder_of(folder / "README.md") is not None:
        raise HubError(f"--hub {folder} lies inside a run folder, whose files only its own commands write; choose a "
                       "folder outside it.")
    if folder.is_dir():
        present = sorted(p.name for p in folder.iterdir())
        if present and not force:
            raise HubError(f"--hub {folder} is not empty ({', '.join(present[:4])}{', ...' if len(present) > 4 else ''}"
                           "); pass --force to replace it whole, or name a new folder.")
        allowed = hub_file_names(model_name(folder))
        foreign = [n for n in present if n not in allowed or not (folder / n).is_file() or (folder / n).is_symlink()
                   or is_shipped(folder / n)]
        if foreign:
            raise HubError(f"--hub {folder} holds {foreign[0]}, which is not a file of a hub folder this command "
                           "wrote: --force replaces only such a folder. Choose a new or empty folder.")
    check_writable_folder(folder.absolute().parent, "--hub")
    return folder


def export_hub(run: RunFolder, folder: Path, force: bool = False, half: bool = False, checkpoint: str = "last") -> Path:
    """Export ``run`` into the hub folder ``folder`` (see the module docstring); returns ``folder``."""
    folder = check_hub_folder(folder, force)
    name = model_name(folder)
    parent = folder.absolute().parent
    parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=parent, prefix=f".{name}.hub-"))
    try:
        out = export_run(run, staging / f"{name}.onnx", half=half, checkpoint=checkpoint)
        (staging / SAMPLE_IMAGE).write_bytes(sample_grid_png(out))
        card_path = out.with_suffix(".json")
        card = json.loads(card_path.read_text())
        markdown_path(out).unlink()  # a hub shows README.md: the same card, with the samples
        card["export"]["files"] = [f for f in card["export"]["files"] if f != markdown_path(out).name] + [README,
                                                                                                          SAMPLE_IMAGE]
        atomic_write_json(card_path, card)
        (staging / README).write_text(markdown_card(card, sample_image=SAMPLE_IMAGE))
        os.chmod(staging, 0o755)  # mkdtemp's 0700 would hide the folder from other users
        _move_into_place(staging, folder.absolute())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def sample_grid_png(model_path: Path) -> bytes:
    """Seed 0's images as a grid PNG, drawn by onnxruntime from the exported file itself."""
    g = Generator.load(model_path, device="cpu")
    if g.num_classes:
        columns = min(g.num_classes, MAX_CLASS_COLUMNS)
        n, labels = 8 * columns, np.arange(8 * columns) % columns
    else:
        columns, n, labels = int(np.sqrt(GRID_IMAGES)), GRID_IMAGES, None
    return encode_png(image_grid(g.generate(g.sample_latent(n, seed=0), labels), nrow=columns))


def _move_into_place(staging: Path, folder: Path) -> None:
    """Rename the complete ``staging`` onto ``folder``; a non-empty one is first moved aside, then deleted."""
    if folder.is_dir() and any(folder.iterdir()):
        aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
        os.replace(folder, aside)  # onto an empty folder: one rename
        os.replace(staging, folder)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(staging, folder)  # a missing folder is made, an empty one replaced, by one rename

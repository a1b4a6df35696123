"""The export tests' shared, read-only fixture: one trained small DCGAN run and its export."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import image_folder
from tests.training.export.common import trained_dcgan_run


@dataclass(frozen=True)
class DCGANExport:
    run: object  # training.runfolder.folder.RunFolder
    model: Path  # small.onnx, with its card, Markdown card and weights beside it


@pytest.fixture(scope="session")
def dcgan_export(tmp_path_factory) -> DCGANExport:
    """A finished 3-step width-8 DCGAN run (EMA on) and its export; tests copy what they change."""
    import torch

    from training.export.generator import export_run

    root = tmp_path_factory.mktemp("dcgan-export")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = trained_dcgan_run(root / "runs", image_folder(root / "images", 16))
        model = export_run(run, root / "models" / "small.onnx", metrics={})
    finally:
        torch.set_num_threads(threads)
    return DCGANExport(run, model)

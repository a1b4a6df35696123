"""The world every hostile-input catalogue works in: tmp copies of models (two toy generators and a
shipped one with its card), a finished tiny run, image folders and odd files. Built once per module,
copied per test, so a case may wreck its copy."""
import shutil
from types import SimpleNamespace

import pytest

from tests.helpers import REPO_ROOT, image_folder, make_onnx_generator, tiny_run
from tests.hostile.common import SHIPPED


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """Built once: models (two toy generators, a copy of a shipped one), a finished run, odd files."""
    root = tmp_path_factory.mktemp("template")
    models, work = root / "models", root / "work"
    make_onnx_generator(models / "toy.onnx")
    make_onnx_generator(models / "cond.onnx", num_classes=3)
    for suffix in (".onnx", ".json", ".eval.json"):
        shutil.copy(REPO_ROOT / "exported" / f"{SHIPPED}{suffix}", models / f"{SHIPPED}{suffix}")
    image_folder(root / "images", 32)
    image_folder(root / "five", 5, size=16)
    tiny_run(root / "runs", root / "images")
    work.mkdir()
    (work / "afile").write_text("a file, not a folder\n")
    (work / "list.yaml").write_text("- 1\n- 2\n")
    (work / "bad.yaml").write_text("steps: [1, 2\n")
    (work / "garbage.onnx").write_bytes(b"not an onnx file")
    (work / "adir.png").mkdir()
    return root


@pytest.fixture
def world(template, tmp_path):
    root = tmp_path / "w"
    shutil.copytree(template, root)
    (run_path,) = (root / "runs").iterdir()
    names = dict(models=root / "models", work=root / "work", runs=root / "runs", run=run_path.name, run_path=run_path,
                 toy=root / "models" / "toy.onnx", cond=root / "models" / "cond.onnx",
                 shipped=root / "models" / f"{SHIPPED}.onnx", five=root / "five", images=root / "images")
    return SimpleNamespace(root=root, names={k: str(v) for k, v in names.items()}, **names)

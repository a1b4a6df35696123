"""training/registry.py: models and losses listed from their source without torch, imported when built
(the mechanism itself: tests/studio/test_registry.py)."""
from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import subprocess
import sys
import textwrap

import pytest

from training.cli.main import main
from training.config import FIELDS, ConfigError, resolve
from training.losses import build_loss
from training.models import build_models
from training.registry import LOSSES, MODELS, REGISTRIES

from tests.helpers import REPO_ROOT

MODEL_NAMES = ["dcgan", "dcgan-keras", "fastgan", "mlp-gan", "resnet", "sngan", "wgan-mlp"]
LOSS_NAMES = ["hinge", "minimax", "non-saturating", "wasserstein", "wgan-gp"]

LIST_WITHOUT_TORCH = """
import json, sys
from training.registry import LOSSES, MODELS
listed = {r.kind: {n: [r.describe(n).description, list(r.describe(n).fields)] for n in r.names()} for r in (MODELS, LOSSES)}
before = sorted(m for m in sys.modules if m.split(".")[0] == "torch")
MODELS.get("mlp-gan")
print(json.dumps({"listed": listed, "torch_before": before, "torch_after": "torch" in sys.modules,
                  "models": sorted(m for m in sys.modules if m.startswith("training.models."))}))
"""


def test_names_descriptions_and_fields_without_torch_and_one_module_imported_when_built():
    done = subprocess.run([sys.executable, "-c", LIST_WITHOUT_TORCH], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["torch_before"] == []
    assert list(out["listed"]["model"]) == MODEL_NAMES and list(out["listed"]["loss"]) == LOSS_NAMES
    assert out["listed"]["model"]["dcgan"][1][:3] == ["latent_dim", "g_width", "d_width"]
    assert out["torch_after"] and out["models"] == ["training.models.mlp_gan"]   # only the one asked for


@pytest.mark.parametrize("registry", [MODELS, LOSSES], ids=["models", "losses"])
def test_every_entry_has_one_line_and_real_config_fields(registry):
    for name in registry.names():
        entry = registry.describe(name)
        assert entry.name == name and entry.module.startswith(f"{registry.package}.")
        assert entry.description and "\n" not in entry.description and len(entry.description) <= 140, name
        assert entry.fields and set(entry.fields) <= set(FIELDS), (name, set(entry.fields) - set(FIELDS))


def config_fields_read(source: str) -> set[str]:
    """``config.X`` and ``self.config.X`` in a piece of code."""
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(source))):
        if isinstance(node, ast.Attribute):
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "config") or \
                    (isinstance(owner, ast.Attribute) and owner.attr == "config"):
                found.add(node.attr)
    return found


@pytest.mark.parametrize("registry", [MODELS, LOSSES], ids=["models", "losses"])
def test_the_declared_fields_are_the_ones_the_code_reads(registry):
    for name in registry.names():
        factory = registry.get(name)
        # a loss class reads its config in its own methods and its bases' (GANLoss reads r1_gamma)
        pieces = [c for c in getattr(factory, "__mro__", [factory]) if c.__module__.startswith("training.")]
        read = set().union(*(config_fields_read(inspect.getsource(piece)) for piece in pieces))
        assert set(registry.describe(name).fields) == read, name


def test_unknown_names_suggest_the_nearest_one():
    with pytest.raises(KeyError, match="unknown model 'dcgn'. Did you mean 'dcgan'"):
        MODELS.describe("dcgn")
    with pytest.raises(KeyError, match="unknown loss 'hinje'. Did you mean 'hinge'"):
        LOSSES.get("hinje")
    config = resolve("dcgan-mnist", [])
    with pytest.raises(ConfigError, match="Valid: " + ", ".join(MODEL_NAMES)):
        build_models(dataclasses.replace(config, model="nope"))
    with pytest.raises(ConfigError, match="unknown loss 'nope'"):
        build_loss(dataclasses.replace(config, loss="nope"))


def test_presets_shows_every_entry_with_its_description(capsys):
    assert main(["presets"]) == 0
    lines = [line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()]
    for registry in REGISTRIES.values():
        for name in registry.names():
            assert [name, registry.describe(name).description] in lines, name
    assert main(["presets", "--json"]) == 0
    catalogue = json.loads(capsys.readouterr().out)["catalogue"]
    assert catalogue["model"]["dcgan"] == {"description": MODELS.describe("dcgan").description,
                                           "fields": list(MODELS.describe("dcgan").fields)}
    assert list(catalogue["loss"]) == LOSS_NAMES

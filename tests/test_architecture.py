"""The layout the README promises: no import cycles, the torch-free packages stay torch-free,
imports inside functions say why they are there, and no source file outgrows one job."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT

PACKAGES = ("dataio", "inference", "evaluation", "training", "app")
TORCH_FREE_PACKAGES = ("dataio", "inference", "evaluation", "app")
# training's modules that the app imports (config validation, run folders, the registries' catalogue,
# who holds a run's lock)
TORCH_FREE_TRAINING = ("training", "training.config", "training.runfolder.folder", "training.registry", "training.runfolder.lock",
                       "training.playground", "training.playground.targets", "training.playground.settings",
                       "training.playground.files", "training.sweep", "training.sweep.study", "training.sweep.space",
                       "training.sweep.report", "training.sweep.cli", "training.runfolder.health", "training.runfolder.remedies",
                       "training.runfolder.timelapse")
# Streamlit page scripts run top to bottom inside the app; AppTest covers them (tests/app/).
PAGE_SCRIPTS = {"app.pages.explore", "app.pages.train", "app.pages.runs", "app.pages.model_files", "app.pages.playground", "app.pages.studies"}
MAX_LINES = 400


def module_files(root: Path = REPO_ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the project's packages and the app's entry."""
    found = {"streamlit_app": root / "streamlit_app.py"} if (root / "streamlit_app.py").exists() else {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that ``name`` imports, wherever in the file the import stands
    (an import inside a function is still an edge: hiding it there does not remove the cycle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    edges = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import mod` imports the module pkg.mod when there is one, else a name of pkg
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of a module not in the list: its nearest parent
                target = target.rpartition(".")[0]
            if target and target != name:
                edges.add(target)
    return edges


def import_graph(root: Path = REPO_ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "training").mkdir()
    (tmp_path / "training" / "__init__.py").write_text("")
    (tmp_path / "training" / "a.py").write_text("from training import b\n")
    (tmp_path / "training" / "b.py").write_text("def f():\n    from training.a import x\n")
    (tmp_path / "training" / "c.py").write_text("import training.a\n")
    assert cycles(import_graph(tmp_path)) == [["training.a", "training.b"]]


def test_no_import_cycles_among_the_projects_modules():
    found = cycles(import_graph())
    assert not found, "import cycles (each line one cycle):\n" + "\n".join(" <-> ".join(c) for c in found)


def test_data_flows_one_way_between_packages():
    """dataio and inference import no other package of the project; evaluation only those two;
    the app never the torch side of training."""
    allowed = {"dataio": {"dataio"}, "inference": {"inference"}, "evaluation": {"evaluation", "inference", "dataio"}}
    wrong = []
    for name, edges in import_graph().items():
        top = name.split(".")[0]
        for target in edges:
            if top in allowed and target.split(".")[0] not in allowed[top]:
                wrong.append(f"{name} imports {target}")
            if top == "app" and target.split(".")[0] == "training" and target not in TORCH_FREE_TRAINING:
                wrong.append(f"{name} imports {target} (the app talks to training through processes and run folders)")
    assert not wrong, "\n".join(sorted(wrong))


def test_an_import_inside_a_function_says_why_it_is_there():
    """Allowed only to keep a heavy optional dependency out of a light path, with a comment saying so
    on the import's line or in the two lines above it."""
    unexplained = []
    for name, path in module_files().items():
        lines = path.read_text().splitlines()
        for func in ast.walk(ast.parse("\n".join(lines), str(path))):
            if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(func):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    nearby = lines[max(0, node.lineno - 3): node.lineno]
                    if not any("#" in line for line in nearby):
                        unexplained.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unexplained, "imports inside functions with no comment saying why:\n" + "\n".join(unexplained)


def test_no_source_file_over_400_lines():
    long = {str(path.relative_to(REPO_ROOT)): n for path in module_files().values()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines: {long}"


BLOCK_TORCH = """
import importlib, json, pkgutil, sys

class NoTorch:
    attempts = []
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            NoTorch.attempts.append(name)
            raise ImportError("torch is blocked in this test")
        return None

sys.meta_path.insert(0, NoTorch())
failed = {}
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except Exception as error:
        failed[name] = f"{type(error).__name__}: {error}"
print(json.dumps({"attempts": NoTorch.attempts, "failed": failed, "torch": "torch" in sys.modules}))
"""


def test_the_torch_free_packages_import_with_torch_missing():
    names = [n for n in module_files() if n.split(".")[0] in TORCH_FREE_PACKAGES
             and n not in PAGE_SCRIPTS and not n.endswith(".__main__")]  # a __main__ runs its CLI on import
    names += list(TORCH_FREE_TRAINING)
    assert "evaluation" in names and "dataio" in names and "app.ui" in names
    out = subprocess.run([sys.executable, "-c", BLOCK_TORCH, json.dumps(names)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"attempts": [], "failed": {}, "torch": False}, result

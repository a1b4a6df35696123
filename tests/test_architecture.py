"""The layout the README promises: no import cycles, the torch-free packages stay torch-free,
imports inside functions say why they are there, and no source file outgrows one job."""
from __future__ import annotations

import ast
import builtins
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO_ROOT

PACKAGES = ("studio", "dataio", "inference", "evaluation", "training", "app")
TORCH_FREE_PACKAGES = ("studio", "dataio", "inference", "evaluation", "app")
# training's torch-free layer, whole: what a run folder holds and what can be read from it
TORCH_FREE_LAYER = "training.runfolder"
MAX_TRAINING_TOP_LEVEL = 22
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
    """studio imports nothing of the project; dataio and inference only studio; evaluation those
    three; the app talks to training only through its torch-free modules (checked by importing them
    with torch blocked, below)."""
    allowed = {"studio": {"studio"}, "dataio": {"dataio", "studio"}, "inference": {"inference", "studio"},
               "evaluation": {"evaluation", "inference", "dataio", "studio"}}
    wrong = [f"{name} imports {target}" for name, edges in import_graph().items() for target in edges
             if name.split(".")[0] in allowed and target.split(".")[0] not in allowed[name.split(".")[0]]]
    assert not wrong, "\n".join(sorted(wrong))


def training_modules_the_app_imports(graph: dict[str, set[str]]) -> set[str]:
    """Every training module the app (or the entry script) reaches, directly or through training's own imports."""
    todo = [t for name, edges in graph.items() if name.split(".")[0] in ("app", "streamlit_app")
            for t in edges if t.split(".")[0] == "training"]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += [t for t in graph.get(name, ()) if t.split(".")[0] == "training"]
    return seen


def is_page_script(path: Path) -> bool:
    """A Streamlit page runs top to bottom: some statement outside any function calls ``st.``."""
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
                root = inner.func
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id == "st":
                    return True
    return False


def test_app_pages_hold_exactly_the_page_scripts():
    misplaced = [str(path.relative_to(REPO_ROOT)) for name, path in module_files().items()
                 if name.startswith("app.") and path.name != "__init__.py"
                 and is_page_script(path) != name.startswith("app.pages.")]
    assert not misplaced, ("page scripts belong in app/pages/, and only they: " + ", ".join(misplaced))


def test_the_page_finder_tells_a_page_from_a_helper(tmp_path):
    (tmp_path / "page.py").write_text("import streamlit as st\nif True:\n    st.title('x')\n")
    (tmp_path / "helper.py").write_text("import streamlit as st\n@st.cache_data\ndef f():\n    st.write(1)\n")
    assert is_page_script(tmp_path / "page.py") and not is_page_script(tmp_path / "helper.py")


def test_training_top_level_stays_small():
    """Subpackages by job (cli, export, runfolder, ...) keep training/'s own folder readable."""
    top = sorted(p.name for p in (REPO_ROOT / "training").glob("*.py"))
    assert len(top) <= MAX_TRAINING_TOP_LEVEL, f"{len(top)} modules at training/'s top level: {top}"


def test_no_app_module_shares_a_name_with_a_different_training_module():
    """``app/runs.py`` (a page) beside ``training/runs.py`` (run folders) read as one thing; the
    playground is the one room both sides name alike, because it is the same thing."""
    same_thing = {"playground", "__init__", "cli"}
    training = {p.stem for p in (REPO_ROOT / "training").rglob("*.py")} | \
               {p.name for p in (REPO_ROOT / "training").iterdir() if p.is_dir()}
    shared = sorted({p.stem for p in (REPO_ROOT / "app").rglob("*.py")} & training - same_thing)
    assert not shared, f"app modules named like training modules: {shared}"


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
    graph = import_graph()
    names = [n for n, path in module_files().items() if n.split(".")[0] in TORCH_FREE_PACKAGES
             and not n.startswith("app.pages.") and not n.endswith(".__main__")]  # a __main__ runs its CLI on import
    names += sorted(training_modules_the_app_imports(graph) | {n for n in graph if n.startswith(TORCH_FREE_LAYER)})
    assert "evaluation" in names and "dataio" in names and "training.runfolder.folder" in names
    out = subprocess.run([sys.executable, "-c", BLOCK_TORCH, json.dumps(names)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"attempts": [], "failed": {}, "torch": False}, result


# Exceptions defined in the project that are not the user's to fix, each with why. Every other one
# derives from studio.errors.UserError, so every CLI and the app tell it from a bug by its type.
NOT_USER_ERRORS = {
    "RegistryError": "a registration the catalogue cannot read, or a name registered twice: a bug in the source",
    "Diverged": "control flow: the trainer ends the run as diverged and writes why into its status",
    "TrialFailed": "control flow: Optuna records the trial as failed and the sweep goes on",
    "WorkerStopping": "control flow: a sweep worker asked to stop queues its trial again and ends",
    "NoDirections": "control flow: export and upgrade catch it and go on without SeFa directions",
}


def defined_classes(root: Path = REPO_ROOT) -> dict[str, list[tuple[str, list[str]]]]:
    """Class name -> (module, names of its bases) of each class of that name in the project's packages;
    a base written ``module.Name`` counts as ``Name``."""
    found: dict[str, list[tuple[str, list[str]]]] = {}
    for name, path in module_files(root).items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef):
                bases = [base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                         for base in node.bases]
                found.setdefault(node.name, []).append((name, bases))
    return found


def derives(name: str, classes: dict, wanted) -> bool:
    """Whether class ``name`` is, or has among its ancestors, a name for which ``wanted(name)`` holds."""
    if wanted(name):
        return True
    return any(derives(base, classes, wanted) for _, bases in classes.get(name, []) for base in bases if base != name)


def _builtin_exception(name: str) -> bool:
    value = getattr(builtins, name, None)
    return isinstance(value, type) and issubclass(value, BaseException)


def test_every_error_a_user_can_fix_is_a_user_error():
    classes = defined_classes()
    exceptions = {name for name in classes if derives(name, classes, _builtin_exception)}
    assert {"UserError", "DataError", "ConfigError", "RunBusy", "UsageError"} <= exceptions
    user = {name for name in exceptions if derives(name, classes, lambda n: n == "UserError")}
    neither = sorted(f"{module}.{name}" for name in exceptions - user - set(NOT_USER_ERRORS)
                     for module, _ in classes[name])
    assert not neither, ("exception classes that derive from neither studio.errors.UserError nor are listed in "
                         f"NOT_USER_ERRORS with why they are no user's to fix: {neither}")
    assert set(NOT_USER_ERRORS) <= exceptions - user, "NOT_USER_ERRORS lists a class that is gone or a user error: " \
        f"{sorted(set(NOT_USER_ERRORS) - (exceptions - user))}"


def test_the_user_error_finder_follows_bases_across_modules(tmp_path):
    for package, code in {"studio": "class UserError(Exception):\n    pass\n",
                          "dataio": "from studio import errors\nclass DataError(errors.UserError):\n    pass\n",
                          "training": "class Slip(KeyError):\n    pass\nclass Deeper(Slip):\n    pass\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(code)
    classes = defined_classes(tmp_path)
    assert derives("DataError", classes, lambda n: n == "UserError")
    assert derives("Deeper", classes, _builtin_exception) and not derives("Deeper", classes, lambda n: n == "UserError")


def mirrored_test(path: Path) -> Path:
    """``pkg/sub/mod.py`` is tested in ``tests/pkg/sub/test_mod.py``; a package's ``__init__`` with
    behaviour in ``tests/pkg/test_sub.py``."""
    rel = path.relative_to(REPO_ROOT)
    if path.name == "__init__.py":
        return REPO_ROOT / "tests" / Path(*rel.parts[:-2]) / f"test_{rel.parts[-2]}.py"
    return REPO_ROOT / "tests" / rel.parent / f"test_{path.stem}.py"


def has_behaviour(path: Path) -> bool:
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for node in ast.parse(path.read_text(), str(path)).body)


def test_tests_mirror_the_source_tree():
    modules = [path for name, path in module_files().items() if name != "streamlit_app"
               and not name.endswith(".__main__") and has_behaviour(path)]
    missing = sorted(str(p.relative_to(REPO_ROOT)) for p in modules if not mirrored_test(p).is_file())
    assert len(missing) <= 0.1 * len(modules), (f"{len(missing)} of {len(modules)} modules have no test module at "
                                                f"the mirrored path: {missing}")

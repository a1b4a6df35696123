"""Name -> factory tables (models, losses) that can be listed without importing torch.

Adding a GAN variant is still one new file that decorates its factory::

    @MODELS.register("dcgan", description="one line", fields=("g_width", "d_width"))

The catalogue (names, descriptions, the config fields each entry reads, the module that holds
it) is read from those decorator calls in the package's source with ``ast``, so the text lives
once, beside the code, and listing costs no import. A module, and torch with it, is imported
only when its factory is asked for (``get``); its decorator then hands the factory over.
``REGISTRIES`` adds the datasets (``dataio.DATASETS``, numpy only) under the config's field names.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, TypeVar

from dataio import DATASETS
from dataio.registry import unknown_name_message

T = TypeVar("T", bound=Callable)


class RegistryError(Exception):
    """A registration the catalogue cannot read, or a name registered twice: a bug in the source."""


@dataclass(frozen=True)
class Entry:
    name: str
    description: str           # one line
    fields: tuple[str, ...]    # the config fields the factory reads
    module: str                # the module whose import registers the factory


class Registry(Generic[T]):
    """Entries declared in ``package``'s source by ``SYMBOL.register(...)`` calls (the catalogue),
    plus any registered at run time from elsewhere (a plugin, a test)."""

    def __init__(self, kind: str, package: str, symbol: str):
        self.kind, self.package, self.symbol = kind, package, symbol
        self._factories: dict[str, T] = {}
        self._declared: dict[str, Entry] | None = None  # read on first use
        self._added: dict[str, Entry] = {}

    def register(self, name: str, *, description: str = "", fields: tuple[str, ...] = ()) -> Callable[[T], T]:
        def add(factory: T) -> T:
            declared = self._catalogue().get(name)
            if name in self._factories or (declared and declared.module != factory.__module__):
                where = declared.module if declared else "another module"
                raise RegistryError(f"{self.kind} {name!r} is registered twice ({where} and {factory.__module__})")
            if not declared:
                self._added[name] = Entry(name, description, tuple(fields), factory.__module__)
            self._factories[name] = factory
            return factory

        return add

    def names(self) -> list[str]:
        return sorted({**self._catalogue(), **self._added})

    def describe(self, name: str) -> Entry:
        entry = self._catalogue().get(name) or self._added.get(name)
        if entry is None:
            raise KeyError(unknown_name_message(self.kind, name, self.names()))
        return entry

    def get(self, name: str) -> T:
        entry = self.describe(name)
        if name not in self._factories:
            importlib.import_module(entry.module)
        try:
            return self._factories[name]
        except KeyError:
            raise RegistryError(f"importing {entry.module} did not register {self.kind} {name!r}: "
                                f"its {self.symbol}.register call must run at import time") from None

    def __contains__(self, name: str) -> bool:
        return name in self._catalogue() or name in self._added

    def _catalogue(self) -> dict[str, Entry]:
        if self._declared is None:
            self._declared = read_catalogue(self.package, self.symbol)
        return self._declared


def read_catalogue(package: str, symbol: str) -> dict[str, Entry]:
    """Every ``SYMBOL.register(...)`` call in the package's modules, read from source (literal
    arguments only, so nothing is imported or run)."""
    spec = importlib.util.find_spec(package)  # imports the parents, never the package itself
    if spec is None or not spec.submodule_search_locations:
        raise RegistryError(f"{package} is not a package")
    entries: dict[str, Entry] = {}
    for folder in spec.submodule_search_locations:
        for path in sorted(Path(folder).glob("*.py")):
            module = package if path.stem == "__init__" else f"{package}.{path.stem}"
            for entry in _registrations(path, module, symbol):
                if entry.name in entries:
                    raise RegistryError(f"{entry.name!r} is registered twice ({entries[entry.name].module} "
                                        f"and {module})")
                entries[entry.name] = entry
    return entries


def _registrations(path: Path, module: str, symbol: str) -> list[Entry]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "register"
                and isinstance(node.func.value, ast.Name) and node.func.value.id == symbol):
            continue
        try:
            if len(node.args) != 1:
                raise ValueError("one positional argument, the name")
            name = ast.literal_eval(node.args[0])
            keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        except (ValueError, TypeError, SyntaxError):
            raise RegistryError(
                f"{path}:{node.lineno}: {symbol}.register takes a literal name, description= and fields=, "
                "so the catalogue can be read without importing the module") from None
        fields = keywords.get("fields", ())
        found.append(Entry(name, keywords.get("description", ""), tuple(fields), module))
    return found


MODELS: Registry = Registry("model", "training.models", "MODELS")
LOSSES: Registry = Registry("loss", "training.losses", "LOSSES")
# Every table a config names by a field of the same name; all list themselves without torch.
REGISTRIES = {"dataset": DATASETS, "model": MODELS, "loss": LOSSES}

"""The one registry mechanism: name -> thing tables (models, losses, datasets, metrics) that list
their entries without importing them.

Adding an entry is one new file in the registry's package whose decorator names it::

    @MODELS.register("dcgan", description="one line", fields=("g_width", "d_width"))

The catalogue (names, descriptions, the config fields each entry reads, the module that holds it)
is read from those calls in the package's source with ``ast``, so the text lives once, beside the
code, and listing costs no import: no torch to list the models. Only the name, ``description=``
and ``fields=`` must be literals; other arguments (a metric's scores) are the decorator's own. A
module is imported when its entry is asked for (``get``); its decorator then hands the entry over.
A registry without a package lists what has been registered at run time only (a plugin, a test).
"""
from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class RegistryError(Exception):
    """A registration the catalogue cannot read, or a name registered twice: a bug in the source."""


@dataclass(frozen=True)
class Entry:
    name: str
    description: str           # one line
    fields: tuple[str, ...]    # the config fields the entry reads
    module: str                # the module whose import registers the entry


class Registry(Generic[T]):
    """Entries declared in ``package``'s source by ``SYMBOL.register(...)`` calls (the catalogue),
    plus any registered at run time from elsewhere. ``unknown``: the error an unknown name raises
    (its message names the nearest valid one)."""

    def __init__(self, kind: str, package: str | None = None, symbol: str | None = None, *,
                 unknown: type[Exception] = KeyError):
        self.kind, self.package, self.symbol, self.unknown = kind, package, symbol, unknown
        self._entries: dict[str, T] = {}
        self._declared: dict[str, Entry] | None = None  # read on first use
        self._added: dict[str, Entry] = {}

    def register(self, name: str, *, description: str = "", fields: tuple[str, ...] = ()) -> Callable[[T], T]:
        def add(entry: T) -> T:
            self._add(name, entry, entry.__module__, description, fields)
            return entry

        return add

    def _add(self, name: str, entry: T, module: str, description: str = "", fields: tuple[str, ...] = ()) -> None:
        """What a decorator hands over: ``entry`` under ``name``, from ``module``."""
        declared = self._catalogue().get(name)
        if name in self._entries or (declared and declared.module != module):
            where = (declared or self._added[name]).module
            raise RegistryError(f"{self.kind} {name!r} is registered twice ({where} and {module})")
        if not declared:
            self._added[name] = Entry(name, description, tuple(fields), module)
        self._entries[name] = entry

    def names(self) -> list[str]:
        return sorted({**self._catalogue(), **self._added})

    def describe(self, name: str) -> Entry:
        entry = self._catalogue().get(name) or self._added.get(name)
        if entry is None:
            raise self.unknown(unknown_name_message(self.kind, name, self.names()))
        return entry

    def get(self, name: str) -> T:
        entry = self.describe(name)
        if name not in self._entries:
            importlib.import_module(entry.module)
        try:
            return self._entries[name]
        except KeyError:
            raise RegistryError(f"importing {entry.module} did not register {self.kind} {name!r}: "
                                f"its {self.symbol}.register call must run at import time") from None

    def __contains__(self, name: str) -> bool:
        return name in self._catalogue() or name in self._added

    def _catalogue(self) -> dict[str, Entry]:
        if self._declared is None:
            self._declared = read_catalogue(self.package, self.symbol) if self.package else {}
        return self._declared


def unknown_name_message(kind: str, name: str, valid: list[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return f"unknown {kind} {name!r}.{hint} Valid: {', '.join(valid)}."


def read_catalogue(package: str, symbol: str) -> dict[str, Entry]:
    """Every ``SYMBOL.register(...)`` call in the package's modules, read from source (nothing is
    imported or run)."""
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
            if not node.args:
                raise ValueError("the name comes first")
            name = ast.literal_eval(node.args[0])
            if not isinstance(name, str):
                raise ValueError("the name is text")
            keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg in ("description", "fields")}
        except (ValueError, TypeError, SyntaxError):
            raise RegistryError(
                f"{path}:{node.lineno}: {symbol}.register takes a literal name (and literal description= and fields=), "
                "so the catalogue can be read without importing the module") from None
        found.append(Entry(name, keywords.get("description", ""), tuple(keywords.get("fields", ())), module))
    return found

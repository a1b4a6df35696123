"""studio/registry.py: entries listed from their package's source without importing it, each module
imported when its entry is asked for, names registered twice refused, unknown names answered with
the nearest one."""
from __future__ import annotations

import itertools
import sys
import textwrap

import pytest

from studio.errors import UserError
from studio.registry import Registry, RegistryError, read_catalogue, unknown_name_message

_packages = itertools.count()


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """A fresh importable package holding a registry ``THINGS`` and no entries yet: write its modules."""
    name = f"registry_fixture_{next(_packages)}"
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text(
        f"from studio.registry import Registry\nTHINGS = Registry('thing', {name!r}, 'THINGS')\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(module: str, code: str) -> None:
        (folder / f"{module}.py").write_text(f"from {name} import THINGS\n" + textwrap.dedent(code))

    return name, write


def test_a_new_variant_is_one_new_file_listed_without_import_and_imported_only_when_asked_for(plugin_package):
    name, write = plugin_package
    write("alpha", '''
        @THINGS.register("alpha", description="the first", fields=("steps",))
        def build():
            return "built alpha"
    ''')
    write("beta", '''
        @THINGS.register(
            "beta",
            description="the second, "
                        "on two lines",
        )
        class Beta:
            pass
    ''')
    things = __import__(name).THINGS
    assert things.names() == ["alpha", "beta"] and "beta" in things and "gamma" not in things
    assert things.describe("beta").description == "the second, on two lines"
    assert things.describe("alpha").fields == ("steps",) and things.describe("alpha").module == f"{name}.alpha"
    assert f"{name}.alpha" not in sys.modules and f"{name}.beta" not in sys.modules
    assert things.get("alpha")() == "built alpha" and f"{name}.beta" not in sys.modules


def test_arguments_of_a_registrys_own_are_left_to_it(plugin_package):
    """A metric's scores are calls, not literals: the catalogue needs only the name (and description=,
    fields= when given) to be literal."""
    name, write = plugin_package
    write("scored", '''
        @THINGS.register("kid", Score("kid_mean", "KID", LOWER), Score("kid_std", "KID spread", NEITHER),
                         needs=("features",), description="kernel distance")
        def kid(samples):
            pass
    ''')  # read, never imported: a plain Registry's register would refuse the scores
    entries = read_catalogue(name, "THINGS")
    assert list(entries) == ["kid"] and entries["kid"].description == "kernel distance"
    assert entries["kid"].fields == () and entries["kid"].module == f"{name}.scored"


def test_registrations_the_catalogue_cannot_read_are_refused_clearly(plugin_package):
    name, write = plugin_package
    write("computed", '''
        NAME = "gamma"

        @THINGS.register(NAME, description="computed")
        def build():
            pass
    ''')
    with pytest.raises(RegistryError, match=r"computed.py:5: THINGS.register takes a literal name"):
        __import__(name).THINGS.names()


def test_a_name_declared_twice_is_refused(plugin_package):
    name, write = plugin_package
    for module in ("one", "two"):
        write(module, '@THINGS.register("same", description="x")\ndef build():\n    pass\n')
    with pytest.raises(RegistryError, match="'same' is registered twice"):
        __import__(name).THINGS.names()


def test_an_entry_registered_at_run_time_from_elsewhere_is_listed_too(plugin_package):
    name, write = plugin_package
    write("alpha", '@THINGS.register("alpha", description="the first")\ndef build():\n    pass\n')
    things: Registry = __import__(name).THINGS

    @things.register("mine", description="a plugin's", fields=("seed",))
    def mine():
        return "mine"

    assert things.names() == ["alpha", "mine"] and "mine" in things
    assert things.describe("mine").fields == ("seed",) and things.get("mine")() == "mine"
    with pytest.raises(RegistryError, match="'alpha' is registered twice"):
        things.register("alpha")(mine)                                   # a catalogued name, from elsewhere
    with pytest.raises(RegistryError, match="thing 'mine' is registered twice"):
        things.register("mine")(mine)


def test_a_module_that_forgets_to_register_is_a_bug_named_as_one(plugin_package):
    name, write = plugin_package
    write("lazy", '''
        def build():
            pass

        def later():
            THINGS.register("lazy")(build)
    ''')
    with pytest.raises(RegistryError, match="did not register thing 'lazy'.*must run at import time"):
        __import__(name).THINGS.get("lazy")


def test_an_unknown_name_suggests_the_nearest_with_the_registrys_own_error():
    class NoSuchData(UserError):
        pass

    def dcgan():
        pass

    plain, data = Registry("model"), Registry("dataset", unknown=NoSuchData)
    for registry in (plain, data):
        registry.register("dcgan", description="x")(dcgan)
    with pytest.raises(KeyError, match=r"unknown model 'dcgn'. Did you mean 'dcgan'\? Valid: dcgan."):
        plain.get("dcgn")
    with pytest.raises(NoSuchData, match="unknown dataset 'dcgn'"):
        data.describe("dcgn")
    assert unknown_name_message("loss", "zzz", ["hinge"]) == "unknown loss 'zzz'. Valid: hinge."

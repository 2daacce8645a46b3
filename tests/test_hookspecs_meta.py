"""Meta-tests of the plugin contract: every hookspec is documented and tested, and installed plugins fit it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from assay import hookspecs, plugins

TESTS_DIR = Path(__file__).parent


def hook_callers():
    """(name, caller) for every hook of a freshly built manager with every installed plugin."""
    pm = plugins.build_plugin_manager()
    return sorted((name, caller) for name, caller in vars(pm.hook).items() if not name.startswith("_"))


HOOK_NAMES = [name for name, _ in hook_callers()]


def test_every_function_in_hookspecs_is_a_registered_hook():
    specs = {name for name, value in vars(hookspecs).items() if inspect.isfunction(value) and name.startswith("assay_")}
    assert specs == set(HOOK_NAMES)
    assert len(specs) >= 16


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_hookspec_has_a_docstring_naming_each_argument_and_the_return(name):
    caller = getattr(plugins.build_plugin_manager().hook, name)
    assert caller.spec is not None, f"{name} is implemented by a plugin but has no hookspec"
    doc = inspect.getdoc(caller.spec.function)
    assert doc, f"hookspec {name} has no docstring"
    assert "Returns:" in doc, f"hookspec {name} does not document its return value"
    for argument in caller.spec.argnames:
        assert f"{argument} (" in doc or f"{argument}:" in doc, f"hookspec {name} does not document {argument!r}"


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_backend_hooks_are_firstresult_and_keyed_by_library(name):
    spec = getattr(plugins.build_plugin_manager().hook, name).spec
    keyed = "library" in spec.argnames
    assert bool(spec.opts.get("firstresult")) == keyed, (
        f"{name}: hooks keyed by library answer once (firstresult); collected hooks take no library"
    )


@pytest.mark.parametrize("name", HOOK_NAMES)
def test_every_hookspec_has_at_least_one_test(name):
    test_files = [path for path in TESTS_DIR.rglob("test_*.py") if path.name != Path(__file__).name]
    assert any(name in path.read_text() for path in test_files), f"no test under tests/ mentions {name}"


def test_every_installed_plugin_implements_only_hooks_that_have_a_spec():
    pm = plugins.build_plugin_manager()
    pm.check_pending()  # raises PluginValidationError for an implementation whose name matches no spec
    assert pm.get_plugin("assay.defaults") is not None
    assert pm.get_plugin("assay.evaluation.builtin_plots") is not None


def test_every_installed_plugin_loads_without_error():
    blocked = f"blocked by {plugins.BLOCK_ENV}"
    failed = {info.name: info.error for info in plugins.plugin_infos() if not info.loaded and info.error != blocked}
    assert failed == {}

"""The backend contract is written once: the hook specs. The typed layer in front of the hooks
(:class:`assay.plugins.Backend`), the base class plugins implement (:class:`assay.backend.LibraryBackend`) and the
first-party Keras and torch plugins are all checked against :mod:`assay.hookspecs` here."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from assay import hookspecs, plugins
from assay.backend import LibraryBackend

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = {"keras": ("assay_keras.hooks", "plugins/keras_backend/src/assay_keras/hooks.py"),
               "torch": ("assay_torch.hooks", "plugins/torch_backend/src/assay_torch/hooks.py")}


def backend_specs() -> dict[str, list[str]]:
    """Every hook keyed by ``library`` in the specs, with its argument names in order."""
    found = {}
    for name, function in vars(hookspecs).items():
        if name.startswith("assay_") and inspect.isfunction(function):
            arguments = list(inspect.signature(function).parameters)
            if "library" in arguments:
                found[name] = arguments
    return found


SPECS = backend_specs()


def parameters(function) -> list[str]:
    return [name for name in inspect.signature(function).parameters if name != "self"]


def test_the_specs_hold_every_backend_hook_including_channels_last():
    assert {"assay_train", "assay_model_from_bytes", "assay_channels_last", "assay_library_versions",
            "assay_model_export", "assay_model_from_export"} <= set(SPECS)
    assert len(SPECS) == 14


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_the_typed_layer_has_one_method_per_backend_hook_taking_the_hooks_arguments_less_library(hook):
    method = getattr(plugins.Backend, hook.removeprefix("assay_"), None)
    assert method is not None, f"plugins.Backend has no method for {hook}"
    assert parameters(method) == [name for name in SPECS[hook] if name != "library"]


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_library_backend_implements_each_hook_with_the_specs_arguments_and_a_method_to_override(hook):
    implementation = getattr(LibraryBackend, hook)
    assert hasattr(implementation, "assay_impl"), f"LibraryBackend.{hook} is not marked @hookimpl"
    assert parameters(implementation) == SPECS[hook]
    method = getattr(LibraryBackend, hook.removeprefix("assay_"))
    assert parameters(method) == [name for name in SPECS[hook] if name != "library"]


def test_neither_layer_has_a_hook_method_the_specs_do_not_define():
    specified = {name.removeprefix("assay_") for name in SPECS}
    typed = {name for name, value in vars(plugins.Backend).items()
             if inspect.isfunction(value) and not name.startswith("_")}
    assert typed - specified == {"versions"}  # an alias
    assert plugins.Backend.versions is plugins.Backend.library_versions
    implemented = {name for name in dir(LibraryBackend) if name.startswith("assay_")}
    assert implemented - set(SPECS) == {"assay_libraries"}  # discovery, collected rather than keyed by library


@pytest.mark.parametrize("library", sorted(FIRST_PARTY))
def test_first_party_backends_are_library_backend_subclasses_without_a_library_guard(library):
    module_name, path = FIRST_PARTY[library]
    module = importlib.import_module(module_name)
    assert isinstance(module.plugin, LibraryBackend)
    assert module.plugin.library == library
    # every hook the entry point's module offers pluggy is the backend's own bound method
    hooks = {name: value for name, value in vars(module).items() if name.startswith("assay_")}
    assert set(hooks) == {"assay_libraries", *SPECS}
    assert all(getattr(value, "__self__", None) is module.plugin for value in hooks.values())
    tree = ast.parse((REPO / path).read_text())
    guards = [node for node in ast.walk(tree) if isinstance(node, ast.Compare)
              and any(isinstance(side, ast.Name) and side.id == "library" for side in [node.left, *node.comparators])]
    assert not guards, f"{path} compares `library` itself; LibraryBackend answers for its library"


@pytest.mark.parametrize("library", sorted(FIRST_PARTY))
def test_a_first_party_backend_answers_only_for_its_own_library(library):
    pm = plugins.build_plugin_manager()
    other = "torch" if library == "keras" else "keras"
    module = importlib.import_module(FIRST_PARTY[library][0])
    assert module.assay_channels_last(library=other) is None
    assert module.assay_clear_session(library=other) is None
    assert pm.hook.assay_channels_last(library=library) is (library == "keras")

"""What a user reaches after a bare ``import assay``, checked in fresh processes (nothing else imported first):
every name README and docs/ document resolves, and the import itself stays light."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import assay

REPO = Path(__file__).resolve().parents[1]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: what ``import assay`` must not load (each costs 0.1 s to seconds)
HEAVY = ("sqlalchemy", "pandas", "sklearn", "torch", "tensorflow", "keras", "alembic", "optuna", "matplotlib")


def documented_names() -> list[str]:
    """Every dotted ``assay.<name>...`` the documents write, longest spelling only (``assay.Pipeline.make`` covers
    ``assay.Pipeline``)."""
    found = set()
    for document in DOCUMENTS:
        found.update(re.findall(r"(?<![\w./-])assay(?:\.[A-Za-z_]\w*)+", document.read_text()))
    return sorted(name.rstrip(".") for name in found)


def run_fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)


def test_the_documents_name_the_public_surface():
    names = documented_names()
    assert {"assay.space.Int", "assay.setup", "assay.Pipeline.Tabular.make", "assay.load_bundle"} <= set(names)


def test_every_name_the_documents_write_resolves_after_a_bare_import_assay():
    code = f"""
import json, assay
missing = []
for dotted in {documented_names()!r}:
    value = assay
    for part in dotted.split(".")[1:]:
        try:
            value = getattr(value, part)
        except AttributeError:
            missing.append(dotted)
            break
print(json.dumps(missing))
"""
    result = run_fresh(code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_a_range_from_the_readme_works_in_a_fresh_process():
    result = run_fresh("import assay; print(assay.space.Int(2, 8, step=2))")
    assert result.returncode == 0, result.stderr
    assert "2" in result.stdout
    assert "8" in result.stdout


def test_import_assay_loads_no_database_dataframe_or_ml_library():
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import assay"], capture_output=True,
                            text=True, timeout=120, check=True)
    loaded = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "assay" in loaded  # the parse found the import of assay itself
    heavy = sorted(name for name in loaded if name.split(".")[0] in HEAVY)
    assert heavy == [], f"import assay loads {heavy[:10]}"


def test_the_first_use_of_a_name_still_loads_what_it_needs():
    result = run_fresh("import sys, assay; assay.setup; print('sqlalchemy' in sys.modules)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_the_type_stub_declares_exactly_the_public_names():
    stub = ast.parse((REPO / "core/src/assay/__init__.pyi").read_text())
    declared = {alias.asname or alias.name for node in stub.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    declared |= {node.target.id for node in stub.body if isinstance(node, ast.AnnAssign)} - {"__all__"}
    assert declared == set(assay.__all__)


def test_an_unknown_name_still_raises_attribute_error():
    result = run_fresh("import assay\ntry:\n    assay.no_such_thing\nexcept AttributeError as e:\n    print(e)")
    assert "no attribute 'no_such_thing'" in result.stdout

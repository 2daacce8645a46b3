"""README.md as a newcomer follows it: its first commands and every Python snippet, in a fresh virtual environment.

The environment is new and empty of assay: README's ``pip install ./core ./plugins/...`` lines install the
checkout into it (offline: ``--no-index``, the dependencies come from the environment running the tests, added
to the new one's path by a ``.pth`` file). Every script runs there with no ``PYTHONPATH``, no assay or TensorFlow
settings, and its own empty ``ASSAY_HOME``, so the snippets see what a user's do: the installed packages and the
default database. Each snippet must print something (a README snippet run as a script should show its result).

Marked ``readme``: it trains the main example's 16 models and the galaxy model (a few minutes on two cores).
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.readme

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    """README's fenced blocks of ``language``, dedented (some sit inside list items)."""
    pattern = re.compile(rf"^( *)```{language}\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
    return [textwrap.dedent(match.group(2)) for match in pattern.finditer(README)]


def commands(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def install_lines() -> list[list[str]]:
    """Every ``pip install ./<folder> ...`` README shows, as argument lists of local folders."""
    found = []
    for line in re.findall(r"pip install ((?:\./[\w/-]+ ?)+)", README):
        found.append(shlex.split(line))
    return found


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new virtual environment with README's local packages installed as a user installs them; its python."""
    folder = tmp_path_factory.mktemp("readme") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site_packages = Path(subprocess.run([str(python), "-c", purelib], capture_output=True, text=True,
                                        check=True).stdout.strip())
    # the dependencies (numpy, keras, torch, ...) come from this environment, after the new one's own packages
    parents = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (site_packages / "_readme_test_dependencies.pth").write_text(
        "".join(f"import site; site.addsitedir({path!r})\n" for path in parents))
    folders = sorted({folder_ for line in install_lines() for folder_ in line})
    assert "./core" in folders, folders
    assert "./plugins/torch_backend" in folders, folders
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index", "--no-build-isolation",
         "--quiet", *folders], cwd=ROOT, capture_output=True, text=True, timeout=600, env=user_env(None))
    assert completed.returncode == 0, completed.stderr[-3000:]
    return python


def user_env(home: Path | None) -> dict[str, str]:
    """The environment of a new user's shell: no PYTHONPATH, no assay or TensorFlow settings."""
    env = {key: value for key, value in os.environ.items()
           if key != "PYTHONPATH" and not key.startswith(("ASSAY_", "TF_", "PIP_"))}
    if home is not None:
        env["ASSAY_HOME"] = str(home)
    return env


def run(python: Path, script: list[str], folder: Path) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([str(python), *script], cwd=folder, env=user_env(folder / "home"),
                               capture_output=True, text=True, timeout=1200)
    assert completed.returncode == 0, completed.stderr[-3000:]
    # TensorFlow's C++ log lines (I0000 ..., E0000 ...) read as failures to a newcomer
    assert not re.search(r"^[IWE]\d{4} ", completed.stderr, re.MULTILINE), completed.stderr[-3000:]
    return completed


def test_readme_opens_with_the_install_and_example_command_then_the_test_command():
    first = code_blocks("bash")[0]
    assert README.index("```bash") < README.index("```python")
    assert commands(first) == [
        "pip install ./core ./plugins/sklearn_encoders ./plugins/keras_backend && python examples/keras_iris.py",
        "pip install nox && nox -s tests",
    ]
    noxfile = (ROOT / "noxfile.py").read_text()
    assert re.search(r"@nox\.session\s+def tests\(", noxfile)
    for line in install_lines():
        for folder in line:
            assert (ROOT / folder / "pyproject.toml").is_file(), folder


def test_the_packages_install_into_a_fresh_environment_and_import_from_it(fresh_venv):
    completed = subprocess.run(
        [str(fresh_venv), "-c", "import assay, assay_keras, assay_torch, assay_sklearn; "
                                "print(assay.__file__, assay_keras.__file__, assay_torch.__file__)"],
        capture_output=True, text=True, env=user_env(None), timeout=120, check=True)
    venv = str(fresh_venv.parents[1])
    assert all(path.startswith(venv) for path in completed.stdout.split()), completed.stdout


def test_the_main_example_then_the_using_assay_snippet_on_the_same_default_database(fresh_venv, tmp_path):
    [snippet] = [block for block in code_blocks("python") if "assay.Queue.get(1)" in block]
    (tmp_path / "using_assay.py").write_text(snippet)

    example = run(fresh_venv, [str(ROOT / "examples" / "keras_iris.py")], tmp_path)
    using = run(fresh_venv, ["using_assay.py"], tmp_path)

    assert "Queue 1: 16 succeeded, 0 failed" in example.stdout
    assert re.search(r"test accuracy 0\.\d+", example.stdout)
    assert "'succeeded': 16" in using.stdout
    assert using.stdout.count("probability_virginica") == 2  # best.infer and the bundle's predict
    for written in ("report.html", "iris.assay", "new_rows.csv", "confusion.png", "learning_curve.png",
                    "importance.png"):
        assert (tmp_path / written).stat().st_size > 0, written
    assert (tmp_path / "home" / "assay.sqlite3").exists()  # the one default database both scripts used


@pytest.mark.parametrize("index", range(len([b for b in code_blocks("python") if "assay.Queue.get(1)" not in b])))
def test_every_other_python_snippet_runs_as_a_script_and_prints_its_result(fresh_venv, tmp_path, index):
    snippet = [block for block in code_blocks("python") if "assay.Queue.get(1)" not in block][index]
    (tmp_path / "snippet.py").write_text(snippet)

    completed = run(fresh_venv, ["snippet.py"], tmp_path)

    assert completed.stdout.strip(), f"the snippet printed nothing:\n{snippet}"
    if "galaxy_morphology" in snippet:  # the multi-input model learns: its accuracies, then 3 predictions
        [printed] = [line for line in completed.stdout.splitlines() if line.startswith("{'")]
        accuracies = ast.literal_eval(printed)  # {'train': ..., 'validation': ..., 'test': ...}
        assert accuracies["train"] >= 0.8, accuracies
        assert accuracies["validation"] >= 0.6, accuracies
        assert "probability_spiral" in completed.stdout

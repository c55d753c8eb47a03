"""A wheel built from the project, installed in a fresh virtualenv away from the repository,
runs ``tracenet init``, ``tracenet demo`` and ``tracenet verify``.

The wheel must hold every file the code reads at run time (the reference CSVs, the Alembic
migrations, the console's templates and stylesheet), and the installed command must not reach
back into the repository for anything.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.processes import REPO

pytestmark = pytest.mark.slow

PACKAGES = ("ledger", "web", "schemas", "scanners")
# Not source: copying them would be slow (the virtualenv, databases) or would defeat the copy.
_NOT_SOURCE = {".git", ".venv", ".hypothesis", "build", "dist", "instance", "bench",
               "node_modules"}


def _run(args: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a command; on a non-zero exit, fail the test showing its output."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **options)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}\n"
                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
    return result


def _ignore_non_source(directory: str, names: list[str]) -> set[str]:
    skipped = {name for name in names
               if name == "__pycache__" or name.endswith((".egg-info", "_cache"))}
    if Path(directory) == REPO:
        skipped |= _NOT_SOURCE.intersection(names)
    return skipped


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the working tree to build from.

    setuptools builds inside the source tree and never empties its ``build/lib``, so a module
    since deleted or moved in the repository would still ship from there; it would also race
    with another build of the same checkout.
    """
    copy = tmp_path_factory.mktemp("source") / "tracenet"
    shutil.copytree(REPO, copy, ignore=_ignore_non_source)
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # Without build isolation pip uses this interpreter's setuptools rather than downloading one.
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "--wheel-dir", str(dist), str(source)], cwd=dist)
    assert "Package would be ignored" not in build.stdout + build.stderr
    (built,) = dist.glob("tracenet-*.whl")
    return built


def test_the_wheel_holds_every_file_of_the_packages(source: Path, wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    in_source = {path.relative_to(source).as_posix()
                 for package in PACKAGES for path in (source / package).rglob("*")
                 if path.is_file() and "__pycache__" not in path.parts}
    assert in_source - shipped == set()
    # The files a missing package-data glob or package would lose, named in case the walk
    # above ever found nothing.
    for pattern in ("ledger/supervision/data/*.csv", "ledger/migrations/env.py",
                    "ledger/migrations/versions/*.py", "ledger/migrations/script.py.mako",
                    "web/templates/console/*.html", "web/static/*.css"):
        assert fnmatch.filter(shipped, pattern), f"no {pattern} in {wheel.name}"
    top_level = {name.split("/", 1)[0] for name in shipped}
    assert {name for name in top_level if not name.endswith(".dist-info")} == set(PACKAGES)


def _site_packages(python: Path) -> Path:
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    return Path(_run([str(python), "-c", query]).stdout.strip())


def _borrow_dependencies(python: Path) -> None:
    """Let the new virtualenv import this interpreter's installed dependencies.

    Installing them again would need the network and minutes. A folder named in a .pth file is
    only put on ``sys.path``; the .pth files inside it are not run, among them the editable
    install's finder that maps ``ledger`` and ``web`` to the repository. The new virtualenv's
    own site-packages stays first on ``sys.path``, so the installed wheel wins.
    """
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    pth = _site_packages(python) / "tracenet-test-dependencies.pth"
    pth.write_text("".join(f"{folder}\n" for folder in ours))


def test_the_installed_wheel_initialises_loads_the_demo_and_verifies(
        wheel: Path, tmp_path: Path) -> None:
    assert not tmp_path.is_relative_to(REPO)
    venv, work = tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    # Nothing of the repository's or the caller's configuration: no PYTHONPATH, no TRACENET_*.
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("TRACENET_", "FLASK_", "PYTHON"))}
    env.update(TRACENET_DATABASE_URL=f"sqlite:///{work / 'tracenet.db'}",
               TRACENET_LEDGER_KEY=str(work / "ledger_key.pem"),
               TRACENET_SECRET_KEY="packaging-test-secret")

    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    # This interpreter's pip installs into the new virtualenv, which then needs no pip of its
    # own. Before the dependencies are borrowed: pip would otherwise find the editable tracenet
    # among them and, seeing the same version, install nothing.
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "--quiet", str(wheel)], cwd=work, env=env)
    _borrow_dependencies(python)

    where = _run([str(python), "-c", "import ledger, web; print(ledger.__file__, web.__file__)"],
                 cwd=work, env=env)
    for module_file in where.stdout.split():
        assert Path(module_file).is_relative_to(venv), where.stdout

    tracenet = str(venv / "bin" / "tracenet")
    _run([tracenet, "init"], cwd=work, env=env)
    _run([tracenet, "demo"], cwd=work, env=env)
    verified = _run([tracenet, "verify"], cwd=work, env=env)
    assert "OK:" in verified.stdout
    assert (work / "tracenet.db").is_file()

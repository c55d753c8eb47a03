"""The layering rules of STYLE.md, checked on the source itself."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ("flask", "werkzeug", "web")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("package", ["ledger", "scanners"])
def test_core_packages_never_import_the_web_layer(package: str) -> None:
    offenders = [f"{path.relative_to(REPO)}: {name}"
                 for path in sorted((REPO / package).rglob("*.py"))
                 for name in _imports(path) if name.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_no_code_path_updates_or_deletes_ledger_rows() -> None:
    pattern = re.compile(r"(update|delete)\((EntryRow|MerkleNode|CheckpointRow)\b|"
                         r"(UPDATE|DELETE FROM)\s+(entries|merkle_nodes|checkpoints)\b")
    offenders = [str(path.relative_to(REPO)) for package in ("ledger", "web", "schemas")
                 for path in (REPO / package).rglob("*.py")
                 if "migrations" not in path.parts and pattern.search(path.read_text())]
    assert offenders == []

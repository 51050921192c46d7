"""Every module of the package says its job in its first sentence and stays small (issue 9, points 4 and 10)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "manifestkit"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 300


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_opens_with_its_job_and_stays_small(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source)) or ""
    first = docstring.split("\n\n")[0]
    assert first.rstrip().endswith((".", ":")), (
        f"{path.name}: the docstring must open with one sentence saying the module's job"
    )
    assert source.count("\n") <= MAX_LINES, f"{path.name} has {source.count(chr(10))} lines; split it by job"

"""docs/architecture.md lists every module of the package (issue 9, point 10)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_module_has_its_line() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    modules = sorted(p.relative_to(ROOT / "manifestkit").as_posix() for p in (ROOT / "manifestkit").rglob("*.py"))
    assert [m for m in modules if f"| `{m}` |" not in text] == []

"""examples/shop and examples/platform in all three formats: golden trees (--update-golden to rewrite, review the
diff), the same bytes twice, and `render --check` catching stale output."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.writer import LEDGER

from .conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "golden"
FORMATS = ("plain", "kustomize", "helm")
GOLDEN_EXAMPLES = ("shop", "platform")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != LEDGER}


def render(fmt: str, out: Path, *more: str, example: str = "shop") -> int:
    return main(["render", str(EXAMPLES / example), "--format", fmt, "-o", str(out), *more])


@pytest.mark.parametrize("example", GOLDEN_EXAMPLES)
@pytest.mark.parametrize("fmt", FORMATS)
def test_example_renders_to_golden(fmt: str, example: str, tmp_path: Path, update_golden: bool) -> None:
    assert render(fmt, tmp_path / "one", example=example) == 0
    assert render(fmt, tmp_path / "two", example=example) == 0
    got = tree(tmp_path / "one")
    assert got == tree(tmp_path / "two"), "same input must give the same bytes"
    golden = GOLDEN / example / fmt
    if update_golden:
        shutil.rmtree(golden, ignore_errors=True)
        for rel, data in got.items():
            (golden / rel).parent.mkdir(parents=True, exist_ok=True)
            (golden / rel).write_bytes(data)
    assert got == tree(golden)


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_passes_on_fresh_output_and_fails_on_stale(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(fmt, out) == 0
    assert render(fmt, out, "--check") == 0
    victim = sorted(p for p in out.rglob("*.yaml") if p.is_file())[0]
    original = victim.read_bytes()
    victim.write_bytes(original + b"# edited by hand\n")
    capsys.readouterr()
    assert render(fmt, out, "--check") == 1
    assert capsys.readouterr().out == f"changed: {victim}\n"
    victim.unlink()
    assert render(fmt, out, "--check") == 1
    assert capsys.readouterr().out == f"missing: {victim}\n"
    victim.write_bytes(original)
    assert render(fmt, out, "--check") == 0

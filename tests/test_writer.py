"""The writer: atomic swaps, a ledger of written files, foreign files kept, --check."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.writer import LEDGER, OutFile, check_tree, write_tree

from .conftest import EXAMPLES


def test_write_keeps_foreign_files_and_removes_only_its_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"dev/a.yaml": OutFile(b"a\n"), "dev/b.yaml": OutFile(b"b\n")}, ["dev"])
    (out / "dev" / "mine.txt").write_text("user file")
    (out / "README.md").write_text("user readme")
    write_tree(out, {"dev/a.yaml": OutFile(b"a2\n")}, ["dev"])
    assert (out / "dev" / "a.yaml").read_bytes() == b"a2\n"
    assert not (out / "dev" / "b.yaml").exists(), "a file manifestkit wrote and no longer makes is removed"
    assert (out / "dev" / "mine.txt").read_text() == "user file"
    assert (out / "README.md").read_text() == "user readme"
    assert sorted(p.name for p in out.iterdir()) == [LEDGER, "README.md", "dev"]


def test_files_outside_scope_survive(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"prod/x.yaml": OutFile(b"x\n")}, ["prod"])
    write_tree(out, {"dev/y.yaml": OutFile(b"y\n")}, ["dev"])
    assert (out / "prod" / "x.yaml").read_bytes() == b"x\n"


def test_secret_mode_is_kept(tmp_path: Path) -> None:
    write_tree(tmp_path / "o", {"s.yaml": OutFile(b"s\n", 0o600)})
    assert stat.S_IMODE((tmp_path / "o" / "s.yaml").stat().st_mode) == 0o600


def test_failed_write_leaves_old_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.yaml": OutFile(b"old\n")})

    def boom(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("manifestkit.writer._swap", boom)
    with pytest.raises(OSError):
        write_tree(out, {"a.yaml": OutFile(b"new\n")})
    assert (out / "a.yaml").read_bytes() == b"old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out"], "no staging folder is left behind"


def test_check_lists_missing_changed_and_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.yaml": OutFile(b"a\n"), "b.yaml": OutFile(b"b\n")})
    lines = check_tree(out, {"a.yaml": OutFile(b"A\n"), "c.yaml": OutFile(b"c\n")})
    assert lines == [f"changed: {out / 'a.yaml'}", f"missing: {out / 'c.yaml'}", f"stale: {out / 'b.yaml'}"]


def test_render_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "build"
    shop = str(EXAMPLES / "shop")
    assert main(["render", shop, "-o", str(out), "--check"]) == 1
    assert not out.exists(), "--check writes nothing"
    assert main(["render", shop, "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [LEDGER, "dev", "prod"]
    assert (out / "prod" / "shop-prod" / "deployment-web.yaml").is_file()
    capsys.readouterr()
    assert main(["render", shop, "-o", str(out), "--check"]) == 0
    (out / "dev" / "shop-dev" / "service-web.yaml").write_text("edited\n")
    assert main(["render", shop, "-o", str(out), "--check"]) == 1
    assert capsys.readouterr().out == f"changed: {out / 'dev' / 'shop-dev' / 'service-web.yaml'}\n"

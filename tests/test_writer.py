"""The writer: per-file atomic writes, a ledger of written files, foreign files kept, --check."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.writer import LEDGER, OutFile, WriteResult, check_tree, report_lines, stale_files, write_tree
from manifestkit.writer.disk import put
from manifestkit.writer.ledger import digest, ledger_bytes, ledger_parts

from .conftest import EXAMPLES

SHOP = str(EXAMPLES / "shop")


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_write_keeps_foreign_files_and_removes_only_its_own(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"dev/a.yaml": OutFile(b"a\n"), "dev/b.yaml": OutFile(b"b\n")}, ["dev"])
    (out / "dev" / "mine.txt").write_text("user file")
    (out / "README.md").write_text("user readme")
    result = write_tree(out, {"dev/a.yaml": OutFile(b"a2\n")}, ["dev"])
    assert result == WriteResult(written=("dev/a.yaml",), unchanged=(), removed=("dev/b.yaml",))
    assert (out / "dev" / "a.yaml").read_bytes() == b"a2\n"
    assert not (out / "dev" / "b.yaml").exists(), "a file manifestkit wrote and no longer makes is removed"
    assert (out / "dev" / "mine.txt").read_text() == "user file"
    assert (out / "README.md").read_text() == "user readme"
    assert sorted(p.name for p in out.iterdir()) == [LEDGER, "README.md", "dev"]


def test_ledger_records_a_digest_per_file(tmp_path: Path) -> None:
    write_tree(tmp_path / "o", {"b.yaml": OutFile(b"b\n"), "a/x.yaml": OutFile(b"x\n")})
    assert json.loads((tmp_path / "o" / LEDGER).read_text()) == {"a/x.yaml": digest(b"x\n"), "b.yaml": digest(b"b\n")}


def test_ledger_never_holds_a_hash_of_a_secret(tmp_path: Path) -> None:
    """A private file is fingerprinted by its identity on disk: a bare sha256 of a Secret would let
    anyone reading the (often committed) ledger test guesses of its value."""
    out = tmp_path / "o"
    write_tree(out, {"secret-s.yaml": OutFile(b"password: hunter2\n", 0o600)})
    info = (out / "secret-s.yaml").stat()
    assert json.loads((out / LEDGER).read_text()) == {
        "secret-s.yaml": f"stat:{info.st_ino}:{info.st_mtime_ns}:{info.st_size}"
    }
    assert digest(b"password: hunter2\n") not in (out / LEDGER).read_text()


def test_stale_secret_removed_unless_edited(tmp_path: Path) -> None:
    out = tmp_path / "o"
    secret = {"secret-s.yaml": OutFile(b"token: a\n", 0o600)}
    write_tree(out, secret)
    assert write_tree(out, {}).removed == ("secret-s.yaml",)
    write_tree(out, secret)
    (out / "secret-s.yaml").write_bytes(b"token: edited by hand\n")
    assert write_tree(out, {}).kept == ("secret-s.yaml",)
    assert (out / "secret-s.yaml").read_bytes() == b"token: edited by hand\n"


def test_old_name_only_ledger_is_still_read(tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "a.yaml").write_bytes(b"a\n")
    (out / "gone.yaml").write_bytes(b"g\n")
    (out / LEDGER).write_text(json.dumps(["a.yaml", "gone.yaml"]))
    result = write_tree(out, {"a.yaml": OutFile(b"a\n")})
    assert result == WriteResult(written=(), unchanged=("a.yaml",), removed=("gone.yaml",))
    assert json.loads((out / LEDGER).read_text()) == {"a.yaml": digest(b"a\n")}


def test_files_outside_scope_survive(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"prod/x.yaml": OutFile(b"x\n")}, ["prod"])
    write_tree(out, {"dev/y.yaml": OutFile(b"y\n")}, ["dev"])
    assert (out / "prod" / "x.yaml").read_bytes() == b"x\n"


def test_secret_mode_is_kept(tmp_path: Path) -> None:
    write_tree(tmp_path / "o", {"s.yaml": OutFile(b"s\n", 0o600)})
    assert stat.S_IMODE((tmp_path / "o" / "s.yaml").stat().st_mode) == 0o600


def test_stale_edited_file_is_kept_and_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.yaml": OutFile(b"a\n"), "b.yaml": OutFile(b"b\n"), "c/d.yaml": OutFile(b"d\n")})
    (out / "b.yaml").write_bytes(b"edited by hand\n")
    assert stale_files(out, {"a.yaml": OutFile(b"a\n")}) == ["c/d.yaml"], "an edited stale file is kept, so not listed"
    result = write_tree(out, {"a.yaml": OutFile(b"a\n")})
    assert result == WriteResult(written=(), unchanged=("a.yaml",), removed=("c/d.yaml",), kept=("b.yaml",))
    assert report_lines(out, result) == [
        f"removed {out / 'c/d.yaml'}",
        f"kept {out / 'b.yaml'}: not the bytes manifestkit wrote there; no longer managed",
        f"0 written, 1 unchanged, 1 removed in {out}",
    ]
    assert (out / "b.yaml").read_bytes() == b"edited by hand\n"
    assert not (out / "c").exists(), "a folder left empty by a removal goes too"
    assert json.loads((out / LEDGER).read_text()) == {"a.yaml": digest(b"a\n")}


def test_monkeypatched_rename_enospc_leaves_each_file_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.yaml": OutFile(b"old a\n"), "b.yaml": OutFile(b"old b\n"), "c.yaml": OutFile(b"c\n")})
    real_rename = os.rename
    calls: list[str] = []

    def full_disk_on_b(src: str, dst: str, **kwargs: int) -> None:
        calls.append(dst)
        if dst == "b.yaml":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_rename(src, dst, **kwargs)

    monkeypatch.setattr("manifestkit.writer.disk.os.rename", full_disk_on_b)
    with pytest.raises(ManifestkitError) as exc:
        write_tree(out, {"a.yaml": OutFile(b"new a\n"), "b.yaml": OutFile(b"new b\n")})
    assert exc.value.exit_code == 2
    assert str(exc.value) == (
        f"{out / 'b.yaml'}: error: cannot write: No space left on device (ENOSPC); "
        "files already written are whole, the rest untouched\n  hint: free some disk space, then render again"
    )
    assert calls == [LEDGER, "a.yaml", "b.yaml"], "the ledger goes first"
    assert tree(out) == {
        LEDGER: (out / LEDGER).read_bytes(),
        "a.yaml": b"new a\n",
        "b.yaml": b"old b\n",
        "c.yaml": b"c\n",
    }
    ledger = json.loads((out / LEDGER).read_text())
    assert ledger["a.yaml"] == sorted([digest(b"old a\n"), digest(b"new a\n")])
    assert ledger["b.yaml"] == sorted([digest(b"old b\n"), digest(b"new b\n")])
    assert ledger["c.yaml"] == digest(b"c\n"), "the stale file is still listed: it was not removed yet"
    monkeypatch.undo()
    assert write_tree(out, {"a.yaml": OutFile(b"new a\n"), "b.yaml": OutFile(b"new b\n")}) == WriteResult(
        written=("b.yaml",), unchanged=("a.yaml",), removed=("c.yaml",))
    assert sorted(tree(out)) == [LEDGER, "a.yaml", "b.yaml"]


def test_check_lists_missing_changed_and_stale(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_tree(out, {"a.yaml": OutFile(b"a\n"), "b.yaml": OutFile(b"b\n")})
    lines = check_tree(out, {"a.yaml": OutFile(b"A\n"), "c.yaml": OutFile(b"c\n")})
    assert lines == [f"changed: {out / 'a.yaml'}", f"missing: {out / 'c.yaml'}", f"stale: {out / 'b.yaml'}"]


def test_render_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "build"
    assert main(["render", SHOP, "-o", str(out), "--check", "--no-lint"]) == 1
    assert not out.exists(), "--check writes nothing"
    assert main(["render", SHOP, "-o", str(out), "--no-lint"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [LEDGER, "dev", "prod"]
    assert (out / "prod" / "shop-prod" / "deployment-web.yaml").is_file()
    capsys.readouterr()
    assert main(["render", SHOP, "-o", str(out), "--check", "--no-lint"]) == 0
    (out / "dev" / "shop-dev" / "service-web.yaml").write_text("edited\n")
    assert main(["render", SHOP, "-o", str(out), "--check", "--no-lint"]) == 1
    assert capsys.readouterr().out == f"changed: {out / 'dev' / 'shop-dev' / 'service-web.yaml'}\n"


def test_render_reports_written_unchanged_removed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "build"
    assert main(["render", SHOP, "-o", str(out), "--no-lint"]) == 0
    assert capsys.readouterr().err == f"manifestkit: 18 written, 0 unchanged, 0 removed in {out}\n"
    assert main(["render", SHOP, "-o", str(out), "--no-lint"]) == 0
    assert capsys.readouterr().err == f"manifestkit: 0 written, 18 unchanged, 0 removed in {out}\n"
    (out / "dev" / "shop-dev" / "service-web.yaml").write_text("edited\n")
    assert main(["render", SHOP, "-o", str(out), "--env", "dev", "--no-lint"]) == 0
    assert capsys.readouterr().err == f"manifestkit: 1 written, 7 unchanged, 0 removed in {out}\n"


_names = st.text(alphabet='ab/é"\\\n\x01-.☃𝄞', max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_names, st.frozensets(_names, max_size=3), max_size=4))
def test_the_ledger_is_written_as_json_dumps_writes_it(ledger: dict[str, frozenset[str]]) -> None:
    body = {rel: next(iter(ledger[rel])) if len(ledger[rel]) == 1 else sorted(ledger[rel]) for rel in sorted(ledger)}
    assert ledger_bytes(ledger) == (json.dumps(body, indent=1) + "\n").encode("utf-8")
    for chunk in (1, 2, 3):   # a big ledger is made bytes some entries at a time: the same bytes at every boundary
        assert ledger_bytes(ledger, chunk) == b"".join(ledger_parts(ledger, chunk)) == ledger_bytes(ledger)
    assert {rel: _parsed(value) for rel, value in json.loads(ledger_bytes(ledger)).items()} == ledger


def test_a_file_put_in_parts_holds_them_one_after_another(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        put(fd, "ledger.json", [b"{\n", b"", b' "a": "b"', b"\n}\n"], private=False)
        put(fd, "whole.json", b"{}\n", private=False)
    finally:
        os.close(fd)
    assert (tmp_path / "ledger.json").read_bytes() == b'{\n "a": "b"\n}\n'
    assert (tmp_path / "whole.json").read_bytes() == b"{}\n"


def _parsed(value: str | list[str]) -> frozenset[str]:
    return frozenset([value] if isinstance(value, str) else value)

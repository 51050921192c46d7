"""The shortcuts of a warm render (issue 16): each one still notices every change that would alter the output."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.render_cache import Cache
from manifestkit.render_inputs import _installed, _library_versions
from manifestkit.render_stamps import open_stamps
from manifestkit.writer import LEDGER, PRIVATE_MODE, OutFile, Stamps, _fs_clock, write_tree

from .conftest import EXAMPLES


def test_a_library_is_stamped_by_its_installed_metadata_without_being_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mk_fake_lib").mkdir()
    (tmp_path / "mk_fake_lib" / "__init__.py").write_text("raise ImportError('a stamp may not import me')\n")
    record = tmp_path / "Mk.Fake_Lib-1.2.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("mk_fake_lib/__init__.py,,\n")
    (tmp_path / "other_lib-9.9.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    first = _installed("mk_fake_lib", "mk_fake_lib", {})
    assert first is not None and first.startswith("Mk.Fake_Lib-1.2.dist-info:") and "other_lib" not in first
    assert "mk_fake_lib" not in sys.modules
    record.write_text("mk_fake_lib/__init__.py,,\nmk_fake_lib/more.py,,\n")     # reinstalled
    assert _installed("mk_fake_lib", "mk_fake_lib", {}) != first
    record.parent.rename(tmp_path / "Mk.Fake_Lib-1.3.dist-info")                # upgraded
    upgraded = _installed("mk_fake_lib", "mk_fake_lib", {})
    assert upgraded is not None and upgraded.startswith("Mk.Fake_Lib-1.3.dist-info:")


def test_a_library_without_metadata_is_stamped_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mk_bare_lib.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _installed("mk_bare_lib", "mk_bare_lib", {}) is None
    assert _installed("mk_not_installed_at_all", "mk_not_installed_at_all", {}) is None


def test_the_stamp_names_each_library_by_its_version() -> None:
    import jinja2
    import yaml

    stamps = dict(s.split("=", 1) for s in _library_versions())
    assert sorted(stamps) == ["jinja2", "jsonpatch", "jsonschema_rs", "kubernetes_validate", "yaml"]
    assert f"-{yaml.__version__}.dist-info:" in stamps["yaml"]
    assert f"-{jinja2.__version__}.dist-info:" in stamps["jinja2"]


# ---------------------------------------------------------------- the writer's stamps


def settle(path: Path) -> None:
    """Wait until the file system's clock is past the file's last change (a tick at most): only then may it be
    stamped."""
    while _fs_clock() <= path.stat().st_ctime_ns:
        pass


def test_a_file_with_its_stamped_stat_and_hash_is_not_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = {"a.yaml": OutFile(b"one\n"), "s.yaml": OutFile(b"secret\n", mode=PRIVATE_MODE)}
    write_tree(out, files)
    settle(out / "a.yaml")
    stamps = write_tree(out, files).stamps
    assert list(stamps.files) == ["a.yaml"], "a private file is never stamped"
    assert stamps.files["a.yaml"][5] == hashlib.sha256(b"one\n").hexdigest()
    (out / "a.yaml").write_bytes(b"two\n")      # behind the writer's back, then a record that says otherwise:
    info = (out / "a.yaml").stat()
    settle(out / "a.yaml")
    lying = Stamps(taken=_fs_clock(), files={"a.yaml": (info.st_size, info.st_mtime_ns, info.st_ctime_ns,
                                                        info.st_ino, info.st_dev, stamps.files["a.yaml"][5])})
    assert write_tree(out, files, trusted=lying).unchanged == ("a.yaml", "s.yaml"), "trusted, not read"
    assert write_tree(out, files, trusted=stamps).written == ("a.yaml",), "another stat: read, and written"
    assert (out / "a.yaml").read_bytes() == b"one\n"


def test_a_file_changed_in_the_tick_of_its_stamp_is_read(tmp_path: Path) -> None:
    out = tmp_path / "out"
    files = {"a.yaml": OutFile(b"one\n")}
    write_tree(out, files)
    info = (out / "a.yaml").stat()
    stamp = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev,
             hashlib.sha256(b"one\n").hexdigest())
    (out / "a.yaml").write_bytes(b"two\n")
    os.utime(out / "a.yaml", ns=(info.st_atime_ns, info.st_mtime_ns))
    racy = Stamps(taken=info.st_ctime_ns, files={"a.yaml": stamp})   # taken in the tick the file last changed
    assert write_tree(out, files, trusted=racy).written == ("a.yaml",)
    assert write_tree(out, files).stamps.files == {}, "not settled: not stamped"


def test_an_output_file_edited_behind_the_cache_is_restored(tmp_path: Path) -> None:
    project, out, cache = EXAMPLES / "shop", tmp_path / "out", tmp_path / "cache"
    flags = ["render", str(project), "-o", str(out), "--quiet", "--no-lint", "--allow-plaintext-secrets",
             "--cache-dir", str(cache)]
    assert main(flags) == 0
    victim = next(p for p in sorted(out.rglob("*.yaml")) if b"kind: Deployment" in p.read_bytes())
    settle(victim)
    assert main(flags) == 0                     # reads every file, and stamps them
    rel = victim.relative_to(out).as_posix()
    assert rel in open_stamps(Cache(root=cache), out, LEDGER)[1].files
    good, info = victim.read_bytes(), victim.stat()
    victim.write_bytes(good.replace(b"kind: Deployment", b"kind: Deploymenx"))    # the same size, other bytes
    os.utime(victim, ns=(info.st_atime_ns, info.st_mtime_ns))                       # and the stamped mtime
    assert victim.stat().st_size == info.st_size and victim.stat().st_mtime_ns == info.st_mtime_ns
    assert main(flags) == 0
    assert victim.read_bytes() == good

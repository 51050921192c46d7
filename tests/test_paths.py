"""The load restrictor's path resolution: many files of a few folders resolved as ``Path.resolve()`` resolves them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from manifestkit.diagnostics import display_names, display_path
from manifestkit.paths import Resolver, inside


def test_resolver_resolves_as_path_resolve_does(tmp_path: Path) -> None:
    root = tmp_path / "project"
    (root / "apps" / "deep").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for name in ("apps/a.yaml", "apps/deep/b.yaml", "../elsewhere/c.yaml"):
        (root / name).write_text("x: 1\n")
    os.symlink(root / "apps", root / "linked")                           # a folder link inside
    os.symlink(tmp_path / "elsewhere", root / "out")                     # a folder link leaving the project
    os.symlink(tmp_path / "elsewhere" / "c.yaml", root / "apps" / "c.yaml")   # a file link leaving it
    os.symlink(root / "apps" / "a.yaml", root / "apps" / "deep" / "a.yaml")   # a file link staying
    paths = Resolver()
    files = [root / rel for rel in ("apps/a.yaml", "apps/deep/b.yaml", "linked/a.yaml", "linked/deep/a.yaml",
                                    "out/c.yaml", "apps/c.yaml", "apps/deep/a.yaml", "apps/../apps/a.yaml",
                                    "apps/missing.yaml")]
    for path in files * 2:   # the second round from what the first remembered
        assert paths.file(path) == path.resolve()
        assert paths.folder(path) == path.parent.resolve()
        assert paths.inside(root, path) == inside(root, path)
    assert [paths.inside(root, p) for p in files] == [True, True, True, True, False, False, True, True, True]


def test_names_from_a_glob_are_resolved_and_confined_as_paths_are(tmp_path: Path) -> None:
    test_resolver_resolves_as_path_resolve_does(tmp_path)     # the same tree
    root = tmp_path / "project"
    names = [f"{root}/{rel}" for rel in ("apps/a.yaml", "apps/deep/b.yaml", "linked/a.yaml", "linked/deep/a.yaml",
                                          "out/c.yaml", "apps/c.yaml", "apps/deep/a.yaml", "apps/../apps/a.yaml",
                                          "apps/missing.yaml", "apps/.", "apps/..")]
    paths = Resolver()
    for name in names * 2:
        assert paths.folder_named(name) == Path(name).parent.resolve(), name
        assert paths.inside_named(root, name) == inside(root, Path(name)), name
    assert paths.inside_named(root / "apps", f"{root}/apps-other/x.yaml") is False, "a folder whose name goes on"


def test_names_are_shown_as_display_path_shows_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "here" / "apps").mkdir(parents=True)
    for cwd in (tmp_path / "here", Path("/")):
        monkeypatch.chdir(cwd)
        names = [f"{tmp_path}/here/apps/a.yaml", f"{tmp_path}/here", f"{tmp_path}/here/", f"{tmp_path}/elsewhere/b",
                 f"{tmp_path}/here/./apps//a.yaml", f"{tmp_path}/here/../here/apps/a.yaml", "relative/c.yaml", "/"]
        assert display_names(names) == {name: display_path(name) for name in names}

"""The load restrictor's path resolution: many files of a few folders resolved as ``Path.resolve()`` resolves them."""

from __future__ import annotations

import os
from pathlib import Path

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

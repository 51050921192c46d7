"""The load restrictor: every path a project names must resolve, symlinks followed, inside the project folder.

Like Kustomize's ``LoadRestrictionsRootOnly``; ``restricted=False`` (the CLI's ``--load-restrictor none``)
is the explicit opt-out, as Kustomize's ``LoadRestrictionsNone``.
"""

from __future__ import annotations

import os
from pathlib import Path

from manifestkit.diagnostics import display_path

RESTRICTORS = {"rootOnly": True, "none": False}   # --load-restrictor choices → restricted?


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symlinks followed) lies in ``root`` (symlinks followed)."""
    return path.resolve().is_relative_to(root.resolve())


class Resolver:
    """``Path.resolve()`` for many files of a few folders: each folder is resolved once, and a file
    that is not itself a link resolves to its resolved folder and its name (a glob of a thousand
    App files pays a thousand ``lstat`` calls, not a realpath walk each)."""

    def __init__(self) -> None:
        self._folders: dict[Path, Path] = {}
        self._names: dict[str, Path] = {}     # a folder as a glob names it → resolved

    def _resolved(self, folder: Path) -> Path:
        known = self._folders.get(folder)
        if known is None:
            known = self._folders[folder] = folder.resolve()
        return known

    def folder(self, path: Path) -> Path:
        """``path.parent.resolve()``."""
        return self._resolved(path.parent)

    def file(self, path: Path) -> Path:
        """``path.resolve()``."""
        if path.name in ("", ".", "..") or path.is_symlink():
            return path.resolve()
        return self._resolved(path.parent) / path.name

    def inside(self, root: Path, path: Path) -> bool:
        """:func:`inside`."""
        return self.file(path).is_relative_to(self._resolved(root))

    def folder_named(self, name: str) -> Path:
        """:meth:`folder` of the file named ``name`` (a str, as a glob gives it: no Path made per file)."""
        parent, _, base = name.rpartition("/")
        if not parent or base in ("", ".", ".."):    # Path drops a last "." or "/": its parent is another
            return self.folder(Path(name))
        known = self._names.get(parent)
        if known is None:
            known = self._names[parent] = self.folder(Path(name))
        return known

    def inside_named(self, root: Path, name: str) -> bool:
        """:meth:`inside` of the file named ``name``."""
        base = name.rpartition("/")[2]
        if base in ("", ".", "..") or "/" not in name or os.path.islink(name):
            return self.inside(root, Path(name))
        top = os.fspath(self._resolved(root))
        where = os.path.join(self.folder_named(name), base)
        return where == top or where.startswith(top.rstrip("/") + "/")


def outside_message(value: str, root: Path) -> tuple[str, str]:
    """Message and hint for a path that leaves the project folder."""
    return (f"{value!r} resolves outside the project folder {display_path(root)}/",
            "keep the files inside the project (symlinks are followed before the check), "
            "or pass --load-restrictor none to allow it")


def project_root(start: Path) -> Path:
    """The folder of the nearest manifestkit.yaml at or above ``start`` (an App file alone belongs
    to the project around it), else ``start`` itself."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / "manifestkit.yaml").is_file():
            return folder
    return here

"""The load restrictor: every path a project names must resolve, symlinks followed, inside the project folder.

Like Kustomize's ``LoadRestrictionsRootOnly``; ``restricted=False`` (the CLI's ``--load-restrictor none``)
is the explicit opt-out, as Kustomize's ``LoadRestrictionsNone``.
"""

from __future__ import annotations

from pathlib import Path

from manifestkit.diagnostics import display_path

RESTRICTORS = {"rootOnly": True, "none": False}   # --load-restrictor choices → restricted?


def inside(root: Path, path: Path) -> bool:
    """Whether ``path`` (symlinks followed) lies in ``root`` (symlinks followed)."""
    return path.resolve().is_relative_to(root.resolve())


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

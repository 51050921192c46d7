"""Plaintext hygiene: a warning before Secrets with resolved values are written inside a git work tree (called by
`render`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from manifestkit.model import Options, Resource


def git_work_tree(path: Path) -> Path | None:
    """The git work tree holding ``path`` (which may not exist yet), found by its ``.git``."""
    for folder in [path.resolve(), *path.resolve().parents]:
        if (folder / ".git").exists():
            return folder
    return None


def warn_plaintext(target: Path, resources: Sequence[Resource], options: Options) -> bool:
    """Warn on stderr when Secrets with resolved values are about to be written inside a git
    work tree (a `git add .` away from a leak); ``--allow-plaintext-secrets`` silences it."""
    resolved = sorted({r.ref() for r in resources if r.resolved})
    if not resolved or options.allow_plaintext_secrets:
        return False
    tree = git_work_tree(target)
    if tree is None:
        return False
    shown = ", ".join(resolved[:3]) + (f" and {len(resolved) - 3} more" if len(resolved) > 3 else "")
    print(f"manifestkit: warning: writing {len(resolved)} Secret(s) with resolved values in plain text to {target}, "
          f"inside the git work tree {tree}: {shown}\n  hint: keep the output folder out of git, use "
          f"--secret-output sops, or pass --allow-plaintext-secrets", file=sys.stderr)
    return True

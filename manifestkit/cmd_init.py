"""`manifestkit init [DIR]`: write a project skeleton that renders and validates as it is."""

from __future__ import annotations

import argparse
import re
import string
import sys
from collections.abc import Mapping
from pathlib import Path

from manifestkit import __version__
from manifestkit.command import Command
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.package_data import data_dir

# Where each file of templates/init/ goes in the new project (the templates carry no dot-names, so every packager
# ships them).
FILES: dict[str, str] = {
    "manifestkit.yaml": "manifestkit.yaml",
    "app.yaml": "apps/web.yaml",
    "dev.yaml": "overlays/dev.yaml",
    "prod.yaml": "overlays/prod.yaml",
    "pre-commit-config.yaml": ".pre-commit-config.yaml",
    "ci.yaml": ".github/workflows/manifestkit.yaml",
    "gitignore": ".gitignore",
}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", default=".", metavar="DIR", help="the project folder, made if absent (default: .)"
    )
    parser.add_argument("--name", help="the project's name and namespace (default: the folder's name)")


def project_name(folder: Path) -> str:
    """The folder's name as a Kubernetes namespace name (RFC 1123 label): lower case, dashes, at most 50 characters."""
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-")[:50].strip("-")
    return name or "my-project"


def files(name: str) -> dict[str, str]:
    """Each new file's path and text."""
    values = {"project": name, "version": __version__}
    root = data_dir("templates") / "init"
    return {target: string.Template((root / source).read_text(encoding="utf-8")).substitute(values)
            for source, target in FILES.items()}


def run(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    folder = Path(args.dir)
    name = args.name or project_name(folder)
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?", name):
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"--name {name!r} is not a Kubernetes namespace name; expected lower-case "
                    "letters, digits and dashes, at most 50 characters",
                    hint="pass --name my-project",
                )
            ]
        )
    planned = files(name)
    taken = sorted(rel for rel in planned if (folder / rel).exists())
    if taken:
        raise ManifestkitError(
            [
                Diagnostic(
                    message="found an existing file; init writes only new files",
                    file=str(folder / rel),
                    hint="init into an empty folder: manifestkit init NEW-DIR",
                )
                for rel in taken
            ]
        )
    for rel, text in planned.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as handle:
            handle.write(text)
    where = "" if args.dir == "." else f"cd {args.dir} && "
    print(f"manifestkit: made project {name!r} in {folder} ({len(planned)} files); next: "
          f"{where}manifestkit render && manifestkit validate build", file=sys.stderr)
    return 0


COMMAND = Command(
    "make a new project: manifestkit.yaml, one app, dev/prod overlays, pre-commit and CI files", configure, run
)

"""Reading user files: a Project (manifestkit.yaml), its Apps and Overlays, or one App file.

Every file is checked against its schema before anything else looks at it; all problems
of all files are reported together.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from manifestkit.diagnostics import Diagnostic, ManifestkitError, display_names, display_path, gather
from manifestkit.filekinds import check_document, check_kind
from manifestkit.model import App, Environment, Overlay, Project
from manifestkit.object_files import object_documents
from manifestkit.package_data import data_dir
from manifestkit.paths import Resolver, inside, outside_message, project_root
from manifestkit.yamlio import Document, load_file

T = TypeVar("T")

PROJECT_FILE = "manifestkit.yaml"
DocReader = Callable[[str, str], list[Document]]   # (path, displayed name) → the checked documents of a file
BUILTIN_PREFIX = "builtin:"


def load_project(path: str | os.PathLike[str], *, restricted: bool = True,
                 read_app: DocReader | None = None) -> Project:
    """A Project from a folder or a manifestkit.yaml, or a one-app Project from an App file.

    With ``restricted`` (the default) every path the project names must stay inside its folder. ``read_app`` reads
    the App files a Project names (default :func:`read_checked`; the render cache passes one that remembers them)."""
    target = Path(path)
    if target.is_dir():
        target = target / PROJECT_FILE
    docs = load_file(str(target), display_path(target))
    problems = [d for doc in docs for d in check_kind(doc, ("Project", "App"))]
    if problems or not docs:
        raise ManifestkitError(problems or [Diagnostic(message="the file holds no document", file=display_path(target),
                                                       hint="expected a manifestkit Project or App")])
    if docs[0].data["kind"] == "App":
        return _project_of_apps(target, docs, restricted)
    return _project(target, docs[0], restricted, read_app or read_checked)


def read_checked(path: str, display: str) -> list[Document]:
    """The documents of a user file, each checked against the schema of its kind."""
    return _checked(load_file(path, display))


def checked_documents(docs: list[Document]) -> list[Document]:
    """``docs``, each checked against the schema of its kind; every problem reported together."""
    return _checked(docs)


def _checked(docs: list[Document]) -> list[Document]:
    problems = [d for doc in docs for d in check_document(doc)]
    if problems:
        raise ManifestkitError(problems)
    return docs


def _app(doc: Document, root: Path, project: Path | None) -> App:
    meta = doc.data["metadata"]
    spec = doc.data["spec"]
    base: tuple[Document, ...] = ()
    if "base" in spec:
        path = (root / spec["base"]).resolve()
        if project is not None and not inside(project, path):
            raise ManifestkitError([doc.diagnostic(("spec", "base"), *outside_message(spec["base"], project))])
        if not path.is_file():
            raise ManifestkitError(
                [
                    doc.diagnostic(
                        ("spec", "base"),
                        f"base manifest {spec['base']!r} not found",
                        hint=f"the path is relative to the App file's folder {display_path(root)}/",
                    )
                ]
            )
        base = tuple(load_file(str(path), display_path(path)))
    objects = object_documents(doc, ("spec", "objects"), spec.get("objects", []), root, project)
    return App(name=meta["name"], namespace=meta.get("namespace"), spec=spec, doc=doc, root=root, base=base,
               objects=objects)


def _project_of_apps(target: Path, docs: list[Document], restricted: bool) -> Project:
    root = project_root(target.parent)
    apps = _apps([(doc, target.parent.resolve()) for doc in _checked(docs)], root if restricted else None)
    return Project(name=apps[0].name, root=root, spec={"apps": [target.name]}, apps=apps, environments={},
                   file=display_path(target), restricted=restricted)


def _attempt(run: Callable[[], list[T]]) -> tuple[list[T], list[Diagnostic]]:
    try:
        return run(), []
    except ManifestkitError as exc:
        return [], exc.diagnostics


def _app_docs(doc: Document, index: int, pattern: str, root: Path, confine: Path | None,
              read: DocReader = read_checked) -> list[tuple[Document, Path]]:
    """The App documents of one `spec.apps` entry (a glob), each with its folder."""
    matches = sorted(glob.glob(str(root / pattern), recursive=True))
    if not matches:
        raise ManifestkitError([doc.diagnostic(("spec", "apps", index), f"no App file matches {pattern!r}",
                                               hint=f"paths are relative to {display_path(root)}/")])
    paths = Resolver()
    if confine is not None and any(not paths.inside_named(confine, match) for match in matches):
        raise ManifestkitError([doc.diagnostic(("spec", "apps", index), *outside_message(pattern, root))])
    shown = display_names(matches)
    return gather(matches, lambda match: [(d, paths.folder_named(match)) for d in read(match, shown[match])])


def _environment(doc: Document, name: str, spec: Mapping[str, Any], root: Path, confine: Path | None) -> Environment:
    """One `spec.environments` entry, its overlay chains read in order; every bad overlay reported together."""
    overlays = gather(enumerate(spec.get("overlays", [])),
                      lambda entry: load_overlay_chain(entry[1], root, doc, ("spec", "environments", name, "overlays",
                                                                             entry[0]), confine=confine))
    return Environment(name=name, overlays=tuple(overlays), namespaces=tuple(spec.get("namespaces", [])))


def _project(target: Path, doc: Document, restricted: bool, read: DocReader) -> Project:
    _checked([doc])
    root = target.parent.resolve()
    confine = root if restricted else None
    spec = doc.data["spec"]
    # the App files and the environments are both read before any problem is raised, so
    # one run reports every missing App file and every bad overlay together
    app_docs, problems = _attempt(lambda: gather(enumerate(spec["apps"]),
                                                 lambda entry: _app_docs(doc, *entry, root, confine, read)))
    named, env_problems = _attempt(lambda: gather(spec.get("environments", {}).items(),
                                                  lambda item: [_environment(doc, item[0], item[1], root, confine)]))
    if problems or env_problems:
        raise ManifestkitError([*problems, *env_problems])
    environments = {environment.name: environment for environment in named}
    apps = _apps(app_docs, confine)
    resources = object_documents(doc, ("spec", "resources"), spec.get("resources", []), root, confine)
    return Project(name=doc.data["metadata"]["name"], root=root, spec=spec, apps=apps, environments=environments,
                   file=display_path(target), restricted=restricted, resources=resources, doc=doc,
                   schemas=_schema_paths(doc, spec.get("schemas", []), root, confine))


def _schema_paths(doc: Document, entries: list[str], root: Path, confine: Path | None) -> tuple[Path, ...]:
    """`spec.schemas`: files or folders relative to manifestkit.yaml, each one there and inside the project."""
    problems = []
    for i, entry in enumerate(entries):
        path = (root / entry).resolve()
        if confine is not None and not inside(confine, path):
            problems.append(doc.diagnostic(("spec", "schemas", i), *outside_message(entry, confine)))
        elif not path.exists():
            problems.append(
                doc.diagnostic(
                    ("spec", "schemas", i),
                    f"schema file or folder {entry!r} not found",
                    hint=f"paths are relative to the file that names them, here {display_path(root)}/",
                )
            )
    if problems:
        raise ManifestkitError(problems)
    return tuple((root / entry).resolve() for entry in entries)


def _apps(docs: list[tuple[Document, Path]], confine: Path | None) -> tuple[App, ...]:
    apps = tuple(gather(docs, lambda pair: [_app(*pair, confine)]))
    _unique_apps(apps)
    return apps


def _unique_apps(apps: tuple[App, ...]) -> None:
    seen: dict[str, App] = {}
    problems = []
    for app in apps:
        if app.name in seen:
            first = seen[app.name].doc
            problems.append(
                app.doc.diagnostic(
                    ("metadata", "name"),
                    f"app name {app.name!r} is used twice; first in "
                    f"{first.file}:{first.position(('metadata', 'name'))[0]}",
                    hint="give each App a unique metadata.name",
                )
            )
        seen.setdefault(app.name, app)
    if problems:
        raise ManifestkitError(problems)


def load_overlay_chain(ref: str, base: Path, named_in: Document, where: tuple[str | int, ...],
                       stack: tuple[str, ...] = (), confine: Path | None = None) -> list[Overlay]:
    """The overlay ``ref`` preceded by everything it extends, parents first; with ``confine``,
    every overlay file must resolve inside that folder."""
    path = _overlay_path(ref, base)
    if path is None:
        raise ManifestkitError([named_in.diagnostic(where, f"overlay {ref!r} not found",
                                                    hint=f"built-in overlays: {', '.join(builtin_overlays())}")])
    if confine is not None and not ref.startswith(BUILTIN_PREFIX) and not inside(confine, path):
        raise ManifestkitError([named_in.diagnostic(where, *outside_message(ref, confine))])
    key = str(path)
    if key in stack:
        cycle = " -> ".join([*(display_path(Path(s)) for s in stack[stack.index(key):]), display_path(path)])
        raise ManifestkitError([named_in.diagnostic(where, f"overlays extend each other in a cycle: {cycle}",
                                                    hint="remove one `extends` entry to break the cycle")])
    if not path.is_file():
        hint = (
            f"built-in overlays: {', '.join(builtin_overlays())}"
            if ref.startswith(BUILTIN_PREFIX)
            else "paths are relative to the file that names them"
        )
        raise ManifestkitError([named_in.diagnostic(where, f"overlay {ref!r} not found", hint=hint)])
    docs = _checked(load_file(key, display_path(path)))
    if not docs:
        raise ManifestkitError(
            [
                Diagnostic(
                    message="the overlay file holds no document",
                    file=display_path(path),
                    line=1,
                    column=1,
                    hint="write an `apiVersion: manifestkit.dev/v1alpha1`, `kind: Overlay` document, "
                    "or remove the file from the environment's overlays",
                )
            ]
        )
    problems = [d for doc in docs for d in check_kind(doc, ("Overlay",))]
    if problems:
        raise ManifestkitError(problems)
    doc = docs[0]
    chain: list[Overlay] = []
    for index, parent in enumerate(doc.data["spec"].get("extends", [])):
        chain.extend(load_overlay_chain(parent, path.parent, doc, ("spec", "extends", index), (*stack, key), confine))
    chain.append(Overlay(name=doc.data["metadata"]["name"], spec=doc.data["spec"], doc=doc, root=path.parent))
    return chain


def _overlay_path(ref: str, base: Path) -> Path | None:
    if ref.startswith(BUILTIN_PREFIX):
        name = ref[len(BUILTIN_PREFIX):]
        # A built-in is a name, never a path: `builtin:../x` must not reach outside the package.
        return data_dir("overlays") / f"{name}.yaml" if re.fullmatch(r"[a-z0-9][a-z0-9-]*", name) else None
    return (base / ref).resolve()


def builtin_overlays() -> list[str]:
    return sorted(f"{BUILTIN_PREFIX}{p.stem}" for p in data_dir("overlays").glob("*.yaml"))

"""What an app's rendered objects depend on, as the digests that key the render cache.

A cache unit is one app in one environment. Its key covers manifestkit itself (its version, the bytes of its modules
and data folders, the versions of the libraries whose output it writes or checks against: PyYAML, Jinja2, the
Kubernetes schemas, jsonschema-rs, jsonpatch); the Project file; the environment's name and its overlay files
(built-in ones too); the custom kinds the project's CRDs declare cluster-scoped; the options that change objects
(secret output, validation, schema folders, skipped kinds) and the bytes of every schema file they name; and the
app's own files: the App file, its base manifests and object files, the files and templates its ConfigMaps read
(with every template those include), and the project's ``patterns/`` folder when it uses a pattern that is not
built in.

Some apps cannot be keyed and are rendered every time: one that uses a pattern from a Python entry point (its code
is not content that can be hashed), or a template whose includes are computed at render time. The process
environment is not in the key: only the secret backends read it, an app whose secrets are resolved is never cached,
and config checksums (which may use an HMAC key from the environment) are computed again on every render.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from manifestkit import __version__
from manifestkit.build_extra import cluster_kinds
from manifestkit.model import App, RenderContext
from manifestkit.render_cache import key_of

MISSING = "missing"
_PACKAGE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True, kw_only=True)
class FileDigests:
    """The sha256 of each file's bytes, read once per run (a memo shared by the loader and the keys)."""

    seen: dict[str, str] = field(default_factory=dict)

    def of(self, path: str | os.PathLike[str]) -> str:
        name = os.fspath(path)
        if name not in self.seen:
            try:
                with open(name, "rb") as handle:
                    self.seen[name] = hashlib.sha256(handle.read()).hexdigest()
            except OSError:
                self.seen[name] = MISSING
        return self.seen[name]

    def tree(self, folder: Path) -> str:
        """One digest of every file under ``folder`` (names and bytes)."""
        if not folder.is_dir():
            return MISSING
        top = os.fspath(folder)
        found = []    # (relative name as parts, its path): str paths, walked once, in the order Path sorts them
        for here, folders, names in os.walk(top, followlinks=True):
            folders[:] = [name for name in folders if name != "__pycache__"]
            rel = os.path.relpath(here, top).replace(os.sep, "/")
            for name in names:
                path = os.path.join(here, name)
                if os.path.isfile(path):
                    found.append(((*rel.split("/"), name) if rel != "." else (name,), path))
        return key_of(*(f"{'/'.join(parts)}={self.of(path)}" for parts, path in sorted(found)))


@functools.cache
def package_stamp() -> str:
    """manifestkit's version, the bytes of its modules and data folders, and its libraries' versions."""
    from manifestkit.package_data import data_dir

    digests = FileDigests()
    folders = [_PACKAGE, *(data_dir(name) for name in ("templates", "overlays", "schemas"))]
    return key_of(__version__, *(digests.tree(folder) for folder in folders), *_library_versions())


# the libraries whose output manifestkit writes or checks against: module → distribution (normalized name)
_LIBRARIES = {"yaml": "pyyaml", "jinja2": "jinja2", "kubernetes_validate": "kubernetes_validate",
              "jsonschema_rs": "jsonschema_rs", "jsonpatch": "jsonpatch"}


def _library_versions() -> Iterator[str]:
    """Each library as installed: its distribution's metadata folder, found without importing the library (importing
    kubernetes-validate alone costs a tenth of a warm render); one installed some other way stands in by its version
    attribute or the sizes and times of its files."""
    listed: dict[str, list[str]] = {}
    for module, dist in _LIBRARIES.items():
        yield f"{module}={_installed(module, dist, listed) or _imported_version(module)}"


def _installed(module: str, dist: str, listed: dict[str, list[str]]) -> str | None:
    """The ``NAME-VERSION.dist-info`` folders of ``dist`` beside ``module``, each with the size and time of its
    RECORD (an install or reinstall rewrites it); None when there is none (``listed``: the folders read, a memo)."""
    from importlib import util

    spec = util.find_spec(module)
    if spec is None or spec.origin is None:
        return None
    where = os.path.dirname(spec.origin)
    site = os.path.dirname(where) if spec.submodule_search_locations else where
    if site not in listed:
        try:
            listed[site] = sorted(os.listdir(site))
        except OSError:
            listed[site] = []
    stamps = []
    for name in listed[site]:
        if name.endswith(".dist-info") and _normalized(name.partition("-")[0]) == dist:
            try:
                info = os.stat(os.path.join(site, name, "RECORD"))
            except OSError:
                return None
            stamps.append(f"{name}:{info.st_size}:{info.st_mtime_ns}")
    return ",".join(stamps) or None


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _imported_version(name: str) -> str:
    """The version attribute of the library ``name``, else the sizes and times of the files of its folder."""
    import jinja2
    import jsonpatch
    import jsonschema_rs
    import kubernetes_validate
    import yaml

    module = {m.__name__: m for m in (yaml, jinja2, kubernetes_validate, jsonschema_rs, jsonpatch)}[name]
    version = getattr(module, "__version__", None)
    if version is None:
        where = Path(str(module.__file__)).parent
        version = key_of(*(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(where.iterdir())))
    return str(version)


def shared_key(ctx: RenderContext, files: FileDigests) -> str:
    """What every app of the environment depends on."""
    project, options = ctx.project, ctx.options
    environment = project.environments.get(ctx.env) if project.environments else None
    overlays = [f"{o.doc.file}={files.of(o.doc.file)}" for o in environment.overlays] if environment else []
    schemas = [*(str(p) for p in project.schemas), *(str(Path(p).resolve()) for p in options.schemas)]
    return key_of(
        package_stamp(), project.name, str(project.root), project.file, files.of(project.file), str(project.restricted),
        ctx.env if environment is not None else "", *overlays, ",".join(sorted(cluster_kinds(ctx))),
        str(options.secret_output), str(options.validate), ",".join(options.skip_kinds),
        *(f"{s}={files.tree(Path(s)) if Path(s).is_dir() else files.of(s)}" for s in schemas),
    )


def app_key(app: App, ctx: RenderContext, shared: str, files: FileDigests,
            plugin_patterns: Callable[[], frozenset[str]] = frozenset) -> str | None:
    """The key of ``app`` (merged with the environment's overlays) in ``ctx``; None when it cannot be keyed.
    ``plugin_patterns``: the names of the patterns entry points register (an app using one is not keyed); asked
    only when the app uses a pattern that is not built in."""
    from manifestkit.patterns import PATTERNS

    own = [app.file, *(d.file for d in (*app.base, *app.objects))]
    parts = [shared, app.name, *(f"{name}={files.of(name)}" for name in dict.fromkeys(own))]
    uses = {str(entry.get("use")) for entry in app.spec.get("patterns") or [] if isinstance(entry, Mapping)}
    if uses - set(PATTERNS):
        if uses & plugin_patterns():
            return None
        parts.append(f"patterns/={files.tree(ctx.project.root / 'patterns')}")
    for kind, value in _config_files(app.spec):
        path = app.root / value
        parts.append(f"{kind}:{path}={files.of(path)}")
        if kind == "template":
            included = _includes(ctx.project.root, path, files)
            if included is None:
                return None
            parts.extend(f"include:{name}={files.of(ctx.project.root / name)}" for name in included)
    return key_of(*parts)


def _config_files(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(file | template, path)`` of every ConfigMap file the (merged) App spec reads from disk."""
    for cm in (spec.get("configMaps") or {}).values():
        for source in ((cm or {}).get("files") or {}).values() if isinstance(cm, Mapping) else ():
            if isinstance(source, str):
                yield "file", source
            elif isinstance(source, Mapping) and source:
                kind, value = next(iter(source.items()))
                if kind in ("file", "template"):
                    yield str(kind), str(value)


def _includes(root: Path, template: Path, files: FileDigests) -> list[str] | None:
    """Every template ``template`` includes, imports or extends, at any depth (root-relative names); None when one
    is named by an expression (known only at render time) or cannot be read."""
    try:
        first = template.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return []   # outside the project: the render refuses it
    seen: dict[str, None] = {}
    todo = [first]
    while todo:
        name = todo.pop()
        named = _referenced(str(root), name, files.of(root / name))
        if named is None:
            return None
        for child in named:
            if child not in seen and child != first:
                seen[child] = None
                todo.append(child)
    return sorted(seen)


@functools.lru_cache(maxsize=4096)
def _referenced(root: str, name: str, digest: str) -> tuple[str, ...] | None:
    """The templates one template names (``digest``: its bytes, so an edit is parsed again)."""
    if digest == MISSING:
        return ()
    import jinja2
    from jinja2 import meta

    from manifestkit.templating import environment

    env = environment(root)
    try:
        source = Path(root, name).read_text(encoding="utf-8")
        names = list(meta.find_referenced_templates(env.parse(source)))
    except (OSError, UnicodeDecodeError, jinja2.TemplateError):
        return ()   # the render reports it (and then nothing is cached)
    if any(n is None for n in names):
        return None
    return tuple(str(n) for n in names)

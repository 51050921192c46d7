"""The renders of one `manifestkit render`: every asked environment of every project, from the render cache and in
a process pool as the settings say, and the cache entries written once the whole render succeeded."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from manifestkit.emit import DumpKey, Memo
from manifestkit.emit.plain import object_path
from manifestkit.load_cache import cached_reader
from manifestkit.loader import DocReader
from manifestkit.model import Options, Project, Resource
from manifestkit.pipeline import environments, render_env
from manifestkit.progress import NO_PROGRESS, Progress, progress
from manifestkit.render_cache import ENV_VAR, Cache, Pack, cache_dir, keep_later, key_of, open_pack, save_pack, take
from manifestkit.render_incremental import EnvRender, Settings, render_incremental, store
from manifestkit.render_inputs import FileDigests, package_stamp
from manifestkit.render_lint_cache import Kept
from manifestkit.shard import parse_shard
from manifestkit.writer import OutFile

BASE = ""     # the name of the base render (no overlays) among an output's versions


def configure_runs(parser: argparse.ArgumentParser) -> None:
    """The flags of how a render runs: its cache and its workers."""
    parser.add_argument("--no-cache", action="store_true", help="render every app, reading and writing no cache")
    parser.add_argument("--cache-dir", metavar="DIR",
                        help=f"the render cache (default: ${ENV_VAR}, else $XDG_CACHE_HOME/manifestkit, "
                             "else ~/.cache/manifestkit); never inside the output folder")
    parser.add_argument("--jobs", "-j", type=jobs_option, default=None, metavar="N",
                        help="worker processes rendering apps (default auto: one per core when there are many apps "
                             "on 4 or more cores; 1: render in this process)")


def jobs_option(text: str) -> int | None:
    """``--jobs``: a number of worker processes, or ``auto`` (None)."""
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"found {text!r}; expected a number of processes (1 or more) or auto")
    return int(text)


def cache_of(args: argparse.Namespace, environ: Mapping[str, str]) -> Cache | None:
    """The cache the flags and the environment name (None with ``--no-cache``); not yet checked against the
    output folder (:func:`~manifestkit.render_cache.open_cache`)."""
    if getattr(args, "no_cache", False):
        return None
    return Cache(root=cache_dir(getattr(args, "cache_dir", None), environ))


@dataclass(frozen=True, slots=True, kw_only=True)
class Renders:
    """Objects by environment, the plain files kept from the cache, and each environment's render."""

    renders: dict[str, list[Resource]] = field(default_factory=dict)
    texts: dict[DumpKey, bytes] = field(default_factory=dict)
    done: dict[str, list[EnvRender]] = field(default_factory=dict)


def render_all(projects: Sequence[Project], env: str | None, options: Options, settings: Settings,
               files: FileDigests, shown: Progress = NO_PROGRESS) -> Renders:
    """Every asked environment (all when ``env`` is None) of every project."""
    out = Renders()
    jobs = [(project, name) for project in projects for name in environments(project, env)]
    with progress("rendering", len(jobs), shown) as step:
        for project, name in jobs:
            _add(out, name, render_incremental(project, name if project.environments else None, options, settings,
                                               files))
            step(name)
    return out


def render_each(projects: Sequence[Project], env: str | None, options: Options,
                shown: Progress = NO_PROGRESS) -> dict[str, list[Resource]]:
    """Every asked environment of every project rendered whole, in this process (`render -o -` as a library call)."""
    renders: dict[str, list[Resource]] = {}
    jobs = [(project, name) for project in projects for name in environments(project, env)]
    with progress("rendering", len(jobs), shown) as step:
        for project, name in jobs:
            renders.setdefault(name, []).extend(render_env(project, name if project.environments else None, options))
            step(name)
    return renders


def render_base(project: Project, options: Options, settings: Settings, files: FileDigests) -> Renders:
    """The render with no overlays, which the Kustomize and Helm formats build on."""
    out = Renders()
    _add(out, BASE, render_incremental(project, None, options, settings, files))
    return out


def rendered(project: Project) -> Project:
    """``project`` once every render of it is done: without its Apps, which nothing after the render reads (their
    specs and documents are most of a loaded project: at N = 10,000 about 100 MB held through the emit and the
    write)."""
    return replace(project, apps=())


def bytes_only(files: Mapping[str, OutFile]) -> dict[str, OutFile]:
    """``files`` without the objects they hold: once the lint has them, the write needs only the bytes (the objects
    are most of what a render holds while it writes)."""
    return {rel: OutFile(out.data, out.mode) if out.objects else out for rel, out in files.items()}


def _add(out: Renders, name: str, done: EnvRender) -> None:
    out.renders.setdefault(name, []).extend(done.resources)
    out.texts.update(((name, *key), text) for key, text in done.texts.items())
    out.done.setdefault(name, []).append(done)


def app_reader(cache: Cache | None, files: FileDigests, paths: Sequence[str]) -> tuple[Pack | None, DocReader | None]:
    """The pack of App files a render of ``paths`` reads through the cache, and the reader that uses it."""
    if cache is None:
        return None, None
    docs = open_pack(cache, "docs", os.getcwd(), *paths)
    return docs, cached_reader(docs, files)


def stream_settings(args: argparse.Namespace) -> Settings:
    """`render -o -`: no cache (nothing is written to remember it by), the asked shard and workers."""
    return Settings(jobs=args.jobs, shard=parse_shard(args.shard) if args.shard is not None else None)


def remember(cache: Cache, renders: Sequence[Renders], files: Mapping[str, OutFile], docs: Pack | None,
             emitted: Pack | None = None) -> None:
    """Store what the render made in ``cache``: the App files read (``docs``) and every app it rendered, with the
    plain files it wrote (``files``, by output path), and the apps' files the emitter kept (``emitted``); a cache
    that cannot be written is said on stderr (the render went well: the next one is only slower)."""
    try:
        if emitted is not None:
            save_pack(cache, emitted)
        if docs is not None:
            save_pack(cache, docs)     # each pack written (and let go) before the next one's entries are made
        for render in renders:
            for name, done in render.done.items():
                def text_of(resource: Resource, name: str = name) -> bytes | None:
                    found = files.get(f"{name}/{object_path(resource)}") if files else None
                    return found.data if found is not None else None

                for one in done:
                    if one.pack is not None:
                        store(one.pack, one.pending, text_of)
                        save_pack(cache, one.pack)
    except OSError as exc:
        print(f"manifestkit: warning: cannot write the render cache in {cache.root}: {exc.strerror or exc}; "
              "the next render will not be faster", file=sys.stderr)


MEMO_FORMATS = ("kustomize",)     # the emitters that keep each app's files (emit.Memo)


def emit_memo(cache: Cache | None, project: Project, fmt: str, renders: Sequence[Renders]) -> tuple[Memo | None,
                                                                                                    Pack | None]:
    """The emitter's memo of each app's files for a render of ``project`` in ``fmt``, kept in the pack returned
    (written by :func:`remember`); only for the apps every render of ``renders`` stored in the cache, which proved
    they hold no resolved secret value (:mod:`manifestkit.render_incremental`)."""
    if cache is None or fmt not in MEMO_FORMATS:
        return None, None
    pack = open_pack(cache, "emitted", str(project.root), project.file, fmt)
    stored = [one.stored for render in renders for done in render.done.values() for one in done]
    apps = frozenset.intersection(*stored) if stored else frozenset()
    stamp = package_stamp()

    def find(digest: str) -> dict[str, OutFile] | None:
        body = take(pack, key_of("emitted", stamp, digest))
        if not isinstance(body, dict) or not all(
                isinstance(v, list) and len(v) == 3 and isinstance(v[0], str) and type(v[1]) is int
                and isinstance(v[2], list) for v in body.values()):
            return None
        return {rel: OutFile(text.encode("utf-8"), mode, tuple(objects)) for rel, (text, mode, objects) in body.items()}

    def kept(digest: str, files: Mapping[str, OutFile]) -> None:    # with the objects the render's lint reads
        def body() -> Iterator[dict[str, list[Any]]]:   # made as the pack is written: the files are held until then
            yield {rel: [out.data.decode("utf-8"), out.mode, list(out.objects)] for rel, out in files.items()}

        keep_later(pack, [key_of("emitted", stamp, digest)], body)

    return Memo(apps=apps, find=find, keep=kept), pack


def kept_for_lint(cache: Cache, renders: Renders, target: Path, shard: object) -> Kept:
    """What the lint cache needs of a plain render into ``target``: each file's object, and which of them the cache
    stores."""
    objects: dict[str, Resource] = {}
    stored: dict[str, Resource] = {}
    for name, done in renders.done.items():
        for one in done:
            for resource in one.resources:
                rel = f"{name}/{object_path(resource)}"
                objects[rel] = resource
                if resource.app in one.stored:
                    stored[rel] = resource
    return Kept(cache=cache, pack=open_pack(cache, "lint", str(target.resolve()), str(shard or "")), objects=objects,
                stored=stored)

"""Incremental renders: each app of an environment from the render cache when its inputs are unchanged, the rest
rendered (in a process pool when there are many), together checked to be exactly the render of all apps at once.

The cache holds one entry per app and environment, keyed by everything its objects depend on
(:mod:`manifestkit.render_inputs`): its objects after every step, the patch entries they matched, the CRD digest
they were checked under and, once a plain render wrote them, their files. An app is stored only when none of its
objects went through a secret backend (a Secret with references or ``mirror:``, env references: those apps are
rendered every time, so no resolved value, decrypted sops value or Vault version ever reaches the cache) and
every object is plain JSON data. Entries are written only after the whole render succeeded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from manifestkit.cache_json import exact_json
from manifestkit.checksums import referenced
from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import Options, Project, RenderContext, Resource, Source
from manifestkit.pipeline import context, render_env
from manifestkit.render_cache import Cache, Pack, keep_later, open_pack, take
from manifestkit.render_inputs import FileDigests, app_key, shared_key
from manifestkit.render_pool import render_runs
from manifestkit.render_units import Key, Unit, combine, key_of_object, units_of
from manifestkit.shard import Shard

KIND = "apps"


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """How a render runs: its cache (None: ``--no-cache``), its worker count (None: auto), its shard."""

    cache: Cache | None = None
    jobs: int | None = 1
    shard: Shard | None = None
    texts: bool = False          # the plain format: cached files are used and workers write them


@dataclass(frozen=True, slots=True, kw_only=True)
class Pending:
    """A rendered app to store once the render succeeded."""

    key: str
    app: str
    resources: tuple[Resource, ...]
    matched: frozenset[int]
    validated: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class EnvRender:
    """One environment's objects, the plain files of those that kept their cached ones, and what to store."""

    resources: list[Resource]
    texts: Mapping[Key, bytes] = field(default_factory=dict)
    pending: tuple[Pending, ...] = ()
    stored: frozenset[str] = frozenset()    # the apps read from the cache or to be stored in it
    pack: Pack | None = None                # where they are kept


def render_incremental(project: Project, env: str | None, options: Options, settings: Settings,
                       files: FileDigests) -> EnvRender:
    """The objects of ``env`` (None: no overlays) in a stable order, as :func:`~manifestkit.pipeline.render_env`
    makes them (only the shard's, with ``settings.shard``)."""
    ctx = context(project, env, options)
    shard = settings.shard
    names = [name for name in ctx.apps if shard is None or shard.has(name)]
    with_project = shard is None or shard.has(None)
    pack = open_pack(settings.cache, KIND, str(project.root), project.file, env or "", str(shard or "")) \
        if settings.cache is not None else None
    done = _attempt(ctx, names, with_project, settings, files, pack)
    if done is not None and shard is not None:
        helpers = providers(ctx, done.resources, set(names))
        if helpers:     # apps of other shards whose ConfigMaps or Secrets this shard's pods use: their data counts
            done = _attempt(ctx, [n for n in ctx.apps if n in helpers or n in names], with_project, settings, files,
                            pack)
    if done is None:    # the whole render: it raises every error as it always does
        logging.getLogger(__name__).info("%s: the apps are not separable here; rendering them together", ctx.env)
        whole = render_env(project, env, options)
        return EnvRender(resources=[r for r in whole if shard is None or shard.has(r.app)])
    if shard is not None:
        mine = [r for r in done.resources if shard.has(r.app)]
        kept = {(r.kind, r.namespace, r.name) for r in mine}
        done = replace(done, resources=mine, texts={k: t for k, t in done.texts.items() if k in kept})
    return done if settings.texts else replace(done, texts={})


def _attempt(ctx: RenderContext, names: Sequence[str], with_project: bool, settings: Settings,
             files: FileDigests, pack: Pack | None) -> EnvRender | None:
    """The apps ``names`` from the cache or rendered; None when they are not separable (see render_units)."""
    keys = _keys(ctx, names, files) if pack is not None else {}
    hits = {name: unit for name in names if (unit := _cached(pack, keys.get(name), name)) is not None}
    misses = [name for name in names if name not in hits]
    logging.getLogger(__name__).info("%s: %d app(s) from the render cache, %d to render", ctx.env, len(hits),
                                     len(misses))
    runs = render_runs(ctx, misses, with_project, settings.jobs, settings.texts)
    if runs is None:
        return None
    fresh = [u for number, (run, (apps, mine)) in enumerate(runs)
             for u in units_of(run, number, [*apps, *([None] if mine else [])])]
    try:
        combined = combine([*hits.values(), *fresh], ctx, every_patch=settings.shard is None)
    except ManifestkitError:
        return None
    if combined is None:
        return None
    resolving = {app for run, _ in runs for app in run.resolving}
    final = {key_of_object(r): r for r in combined.resources}
    pending = []
    for unit in [*fresh, *hits.values()]:
        key = keys.get(unit.app) if unit.app is not None else None
        if unit.run == -1 and not any(key_of_object(r) in combined.changed for r in unit.resources):
            continue     # as it was: the pack keeps it (take)
        if key and unit.app is not None and unit.app not in resolving and _storable(unit.resources):
            pending.append(Pending(key=key, app=unit.app, resources=tuple(final[key_of_object(r)]
                                                                          for r in unit.resources),
                                   matched=unit.matched, validated=combined.crds if ctx.options.validate else None))
    return EnvRender(resources=combined.resources, texts=combined.texts, pending=tuple(pending),
                     stored=frozenset([*hits, *(p.app for p in pending)]), pack=pack)


def providers(ctx: RenderContext, resources: Sequence[Resource], rendered: set[str]) -> set[str]:
    """The apps not ``rendered`` that declare (``configMaps:``, ``secrets:``) a ConfigMap or Secret the pods of
    ``resources`` use and do not make themselves (a config made by another app's pattern or ``objects:`` is not
    seen: a shard's join check is the safety net, docs/ci.md)."""
    have = {(r.kind, r.namespace, r.name) for r in resources}
    wants = {(kind, r.namespace, name) for r in resources for kind, name in referenced(r.obj)} - have
    if not wants:
        return set()
    others = [app for app in ctx.apps.values() if app.name not in rendered]
    declared = {(kind, app.namespace or "", str(name)): app.name for app in others
                for kind, field in (("ConfigMap", "configMaps"), ("Secret", "secrets"))
                for name in (app.spec.get(field) or {})}
    return {declared[want] for want in wants if want in declared}


def _keys(ctx: RenderContext, names: Sequence[str], files: FileDigests) -> dict[str, str | None]:
    shared = shared_key(ctx, files)
    plugins: list[frozenset[str]] = []

    def plugin_patterns() -> frozenset[str]:
        if not plugins:
            from importlib.metadata import entry_points

            from manifestkit.patterns.user import ENTRY_POINT_GROUP

            plugins.append(frozenset(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)))
        return plugins[0]

    return {name: app_key(ctx.apps[name], ctx, shared, files, plugin_patterns) for name in names}


def _storable(resources: Sequence[Resource]) -> bool:
    return all(not r.resolved and r.mirror is None and exact_json(r.obj) for r in resources)


# ---------------------------------------------------------------- entries


def _cached(pack: Pack | None, key: str | None, app: str) -> Unit | None:
    """The app's unit from its entry, or None when there is none or it is not well-formed."""
    if pack is None or key is None:
        return None
    body = take(pack, key)
    try:
        return _unit(body, app)
    except (TypeError, ValueError, KeyError):
        return None


def _unit(body: Any, app: str) -> Unit | None:
    if not isinstance(body, dict) or body.get("app") != app or not isinstance(body.get("objects"), list):
        return None
    resources: list[Resource] = []
    texts: list[bytes | None] = []
    for obj, file, line, version, text in body["objects"]:
        if not (isinstance(obj, dict) and isinstance(file, str) and type(line) is int
                and isinstance(version, str | None) and isinstance(text, str | None)):
            return None
        resources.append(Resource(obj=obj, app=app, source=Source(file=file, line=line), secret_version=version))
        texts.append(text.encode("utf-8") if text is not None else None)
    matched = body.get("matched")
    validated = body.get("validated")
    if not (isinstance(matched, list) and all(type(e) is int for e in matched) and isinstance(validated, str | None)):
        return None
    return Unit(app=app, resources=tuple(resources), matched=frozenset(matched), texts=tuple(texts),
                validated=validated)


def store(pack: Pack, pending: Sequence[Pending], text_of: Callable[[Resource], bytes | None]) -> None:
    """Keep the entries of ``pending`` in ``pack`` (with each object's plain file, when ``text_of`` knows it), each
    made only as the pack is written."""

    def bodies() -> Iterator[dict[str, Any]]:
        for item in pending:
            objects = []
            for r in item.resources:
                text = text_of(r)
                objects.append([r.obj, r.source.file, r.source.line, r.secret_version,
                                text.decode("utf-8") if text is not None else None])
            yield {"app": item.app, "objects": objects, "matched": sorted(item.matched), "validated": item.validated}

    keep_later(pack, [item.key for item in pending], bodies)

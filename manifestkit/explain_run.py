"""The render `manifestkit explain` reads: the real pipeline on traced data, each step's output kept, and the steps that
apply several writers in turn (overlays, patterns, patches) run again writer by writer, so a value's every change can be
pinned to the writer that made it.

Nothing here re-implements a step: every version is the output of a step of :data:`manifestkit.pipeline.STEPS` (or of
the same step given fewer overlays, pattern entries or patches). A step :data:`SPLITS` does not know gives one version,
attributed to the step itself.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from manifestkit.build_step import build_objects
from manifestkit.checksums import DEFAULT_MODE, add_checksums, referenced
from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import Environment, Options, Overlay, Project, RenderContext, Resource
from manifestkit.object_patches import patch_objects
from manifestkit.package_data import data_dir
from manifestkit.pattern_defaults import default_pattern_containers
from manifestkit.pattern_step import compose_patterns
from manifestkit.pipeline import STEPS, Step, context, render_env
from manifestkit.provenance import Origin, origin_of, plain, traced_project
from manifestkit.secrets.step import mode_of, resolve_secrets
from manifestkit.yamlio import Document

DocKey = tuple[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class Writer:
    """Who wrote a value: a file (an App, an overlay, ...) or a step acting on the user's behalf (a pattern, ...)."""

    kind: str                           # app, base, objects, project, overlay, builtin-overlay, pattern, patch,
    name: str                           # secrets, checksum, default or step
    origin: Origin | None = None        # where the writer itself is asked for: a pattern entry, a patch, a mode setting
    documents: tuple[Document, ...] = field(default=(), compare=False)   # the files its values are read from
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Version:
    """The objects of the render after one writer, in pipeline order."""

    step: str
    resources: tuple[Resource, ...]
    writer: Callable[[Resource], Writer]


@dataclass(frozen=True, slots=True, kw_only=True)
class Recorded:
    """One step as the pipeline ran it: its input, context and output."""

    step: Step
    before: list[Resource]
    ctx: RenderContext
    after: list[Resource]


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    final: list[Resource]
    versions: tuple[Version, ...]
    writers: Mapping[DocKey, Writer]    # the writer of each document users wrote


def doc_key(doc: Document) -> DocKey:
    return doc.file, doc.number


def explain_run(project: Project, env: str | None, options: Options) -> Run:
    """Render ``env`` of ``project`` through the pipeline, keeping every version of every object.

    The Kubernetes schema check is left out: explain also answers for a render that check would refuse."""
    traced = traced_project(project)
    records: list[Recorded] = []
    steps = [_recording(step, records) for step in STEPS]
    final = render_env(traced, env, dataclasses.replace(options, validate=False), steps)
    writers = document_writers(traced)
    versions = tuple(v for rec in records for v in SPLITS.get(rec.step, _whole)(rec, writers))
    return Run(final=final, versions=versions, writers=writers)


def _recording(step: Step, records: list[Recorded]) -> Step:
    @functools.wraps(step)
    def run(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
        out = step(resources, ctx)
        records.append(Recorded(step=step, before=resources, ctx=ctx, after=out))
        return out
    return run


def step_name(step: Step) -> str:
    return str(getattr(step, "__name__", repr(step)))


# ---------------------------------------------------------------- the writers of documents


def overlay_writer(overlay: Overlay) -> Writer:
    """An overlay; one of the package's own is named as `extends` names it, ``builtin:NAME``."""
    path = Path(overlay.doc.file).resolve()
    builtin = path.parent == data_dir("overlays").resolve()
    return Writer(kind="builtin-overlay" if builtin else "overlay", name=f"builtin:{path.stem}" if builtin
                  else plain(overlay.name), documents=(overlay.doc,))


def document_writers(project: Project) -> dict[DocKey, Writer]:
    out: dict[DocKey, Writer] = {}
    if project.doc is not None:
        docs = (project.doc, *project.resources)
        out[doc_key(project.doc)] = Writer(kind="project", name=plain(project.name), documents=docs)
        out.update((doc_key(d), Writer(kind="objects", name=plain(project.name), documents=docs))
                   for d in project.resources)
    for app in project.apps:
        docs = (app.doc, *app.base, *app.objects)
        name = plain(app.name)
        out[doc_key(app.doc)] = Writer(kind="app", name=name, documents=docs)
        out.update((doc_key(d), Writer(kind="base", name=name, documents=docs)) for d in app.base)
        out.update((doc_key(d), Writer(kind="objects", name=name, documents=docs)) for d in app.objects)
    for environment in project.environments.values():
        out.update((doc_key(o.doc), overlay_writer(o)) for o in environment.overlays)
    return out


def _user_writer(ctx: RenderContext, writers: Mapping[DocKey, Writer], resource: Resource) -> Writer:
    """The files behind a built object: its App's, or the Project's for `resources:`."""
    app = ctx.apps.get(resource.app) if resource.app is not None else None
    if app is not None:
        return writers[doc_key(app.doc)]
    if ctx.project.doc is not None:
        return writers[doc_key(ctx.project.doc)]
    return Writer(kind="default", name="manifestkit")


def _fixed(writer: Writer, resource: Resource) -> Writer:
    return writer


# ---------------------------------------------------------------- steps split by writer

Splitter = Callable[[Recorded, Mapping[DocKey, Writer]], list[Version]]


def _whole(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    name = step_name(rec.step)
    return [Version(step=name, resources=tuple(rec.after),
                    writer=functools.partial(_fixed, Writer(kind="step", name=name)))]


def _with_overlays(project: Project, env: str, overlays: Sequence[Overlay]) -> Project:
    environment: Environment = project.environments[env]
    return dataclasses.replace(project, environments={
        **project.environments, env: dataclasses.replace(environment, overlays=tuple(overlays))})


def _overlay_versions(rec: Recorded, writers: Mapping[DocKey, Writer], first: int,
                      context_with: Callable[[RenderContext, Sequence[Overlay]], RenderContext]) -> list[Version]:
    """The step run with the environment's first k overlays, k = ``first`` .. all (the recorded run)."""
    environment = rec.ctx.project.environments.get(rec.ctx.env)
    overlays = environment.overlays if environment is not None else ()
    name = step_name(rec.step)
    out = []
    for k in range(first, len(overlays) + 1):
        if k == len(overlays):
            resources = rec.after
        else:
            try:
                resources = rec.step(rec.before, context_with(rec.ctx, overlays[:k]))
            except ManifestkitError:
                continue   # a partial environment may not render; the full one did
        writer = (functools.partial(_user_writer, rec.ctx, writers) if k == 0
                  else functools.partial(_fixed, writers[doc_key(overlays[k - 1].doc)]))
        out.append(Version(step=name, resources=tuple(resources), writer=writer))
    return out


def _by_overlay(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    """The build step: the apps with no overlay (their files, and manifestkit's defaults), then with one more each."""
    def with_overlays(ctx: RenderContext, overlays: Sequence[Overlay]) -> RenderContext:
        return context(_with_overlays(ctx.project, ctx.env, overlays), ctx.env, ctx.options)
    return _overlay_versions(rec, writers, 0, with_overlays)


def _by_overlay_defaults(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    """The overlays' container defaults for pattern containers, one overlay more each time."""
    def with_overlays(ctx: RenderContext, overlays: Sequence[Overlay]) -> RenderContext:
        return dataclasses.replace(ctx, project=_with_overlays(ctx.project, ctx.env, overlays))
    return _overlay_versions(rec, writers, 1, with_overlays)


def _by_pattern_use(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    """The pattern step with each app's first j entries of `patterns:`, j = 1 .. the longest list."""
    apps = rec.ctx.apps
    most = max((len(app.spec.get("patterns") or []) for app in apps.values()), default=0)
    out = []
    for j in range(1, most + 1):
        if j == most:
            resources = rec.after
        else:
            partial = {name: dataclasses.replace(app, spec={**app.spec, "patterns": app.spec["patterns"][:j]})
                       if app.spec.get("patterns") else app for name, app in apps.items()}
            try:
                resources = rec.step(rec.before, dataclasses.replace(rec.ctx, apps=partial))
            except ManifestkitError:
                continue
        out.append(Version(step=step_name(rec.step), resources=tuple(resources),
                           writer=functools.partial(_pattern_writer, rec.ctx, writers, j - 1)))
    return out


def _pattern_writer(ctx: RenderContext, writers: Mapping[DocKey, Writer], index: int, resource: Resource) -> Writer:
    app = ctx.apps.get(resource.app) if resource.app is not None else None
    entries = (app.spec.get("patterns") or []) if app is not None else []
    if app is None or index >= len(entries):
        return Writer(kind="step", name=step_name(compose_patterns))
    use = entries[index]["use"]
    origin = origin_of(use)
    entry = dataclasses.replace(origin, path=origin.path[:-1]) if origin is not None else None   # the whole entry
    return Writer(kind="pattern", name=plain(use), origin=entry, documents=writers[doc_key(app.doc)].documents)


def _by_patch(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    """The object-patch step with the environment's first j `patches:` entries."""
    patches = rec.ctx.settings.patches
    out = []
    for j in range(1, len(patches) + 1):
        if j == len(patches):
            resources = rec.after
        else:
            settings = dataclasses.replace(rec.ctx.settings, patches=patches[:j])
            try:
                resources = rec.step(rec.before, dataclasses.replace(rec.ctx, settings=settings))
            except ManifestkitError:
                continue
        overlay, index = patches[j - 1]
        writer = dataclasses.replace(writers[doc_key(overlay.doc)], kind="patch",
                                     origin=Origin(document=overlay.doc, file=overlay.doc.file,
                                                   number=overlay.doc.number, path=("spec", "patches", index)))
        out.append(Version(step=step_name(rec.step), resources=tuple(resources),
                           writer=functools.partial(_fixed, writer)))
    return out


def _secrets(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    built = {(r.kind, r.namespace, r.name): r for r in rec.before}

    def writer(resource: Resource) -> Writer:
        mode = mode_of(built.get((resource.kind, resource.namespace, resource.name), resource), rec.ctx)
        origin = origin_of(mode)
        how = "" if origin is not None else "--secret-output" if rec.ctx.options.secret_output else "the default"
        app = rec.ctx.apps.get(resource.app) if resource.app is not None else None
        documents = writers[doc_key(app.doc)].documents if app is not None else ()
        return Writer(kind="secrets", name=plain(mode), origin=origin, detail=how, documents=documents)
    return [Version(step=step_name(rec.step), resources=tuple(rec.after), writer=writer)]


def _checksums(rec: Recorded, writers: Mapping[DocKey, Writer]) -> list[Version]:
    mode = (rec.ctx.project.spec.get("checksums") or {}).get("mode")

    def writer(resource: Resource) -> Writer:
        used = ", ".join(f"{kind}/{name}" for kind, name in referenced(resource.obj, skip_watched=True))
        return Writer(kind="checksum", name=plain(mode or DEFAULT_MODE), origin=origin_of(mode),
                      detail=f"over {used}" if used else "")
    return [Version(step=step_name(rec.step), resources=tuple(rec.after), writer=writer)]


# How each step of the pipeline is split into writers; a step not listed is one writer, the step itself.
SPLITS: dict[Step, Splitter] = {
    build_objects: _by_overlay,
    compose_patterns: _by_pattern_use,
    patch_objects: _by_patch,
    resolve_secrets: _secrets,
    default_pattern_containers: _by_overlay_defaults,
    add_checksums: _checksums,
}

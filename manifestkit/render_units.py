"""Rendering an environment in units: the steps run over some of its apps at a time, and the checks that the
units together are the render of all of them.

A *run* renders some apps (and, once, the Project's own ``resources:`` and ``mirrors:``) with the context of the
whole environment, through the steps of :data:`manifestkit.pipeline.STEPS`: build, patterns, overlay patches,
secrets, container defaults, checksums, schema. Every one of those works per app, except where one app's objects
meet another's; the runs record those meeting points, and :func:`combine` checks them over all units (from runs
and from the cache):

- no two units make an object of the same kind, namespace and name (a pattern would clash, a checksum would read
  the other's data);
- every overlay patch matched an object of some unit (else the full render reports it);
- no pod uses a Secret that another run delivers inside pods (``vault-agent``), since that rewrites the pod.

The cross-app steps then run over everything: the config checksums for every workload (so a ConfigMap another
app changed restarts the pods that use it), the schema check for every object not yet checked against the
current custom resource definitions. When a check fails (or a run raised), the caller renders the environment
whole instead, which reports errors exactly as it always does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from manifestkit.build_step import build_app, build_project
from manifestkit.checksums import add_checksums, referenced
from manifestkit.diagnostics import ManifestkitError, gather
from manifestkit.kinds import containers, pod_template
from manifestkit.model import RenderContext, Resource
from manifestkit.object_patches import apply_patches
from manifestkit.pattern_defaults import default_pattern_containers
from manifestkit.pattern_step import compose_apps
from manifestkit.pipeline import sort_resources
from manifestkit.schema_step import check_objects
from manifestkit.secrets.jobs import job_of
from manifestkit.secrets.modes import MODES, RESOLVING
from manifestkit.secrets.refs import has_refs
from manifestkit.secrets.step import mode_of, resolve_secrets

CRD = "CustomResourceDefinition"
LITERAL_MODE = "secret"   # the secret output that writes a Secret without references as given (base64), reading nothing
Key = tuple[str, str, str]          # (kind, namespace, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """What a run made, and what :func:`combine` checks about it."""

    resources: tuple[Resource, ...]
    matched: frozenset[tuple[int, str | None]]   # (patch entry, app) for every entry that matched an app's object
    resolving: frozenset[str | None]             # apps with secret references or mirrored Secrets: never cached
    in_pod: frozenset[tuple[str, str]]           # (namespace, name) of the Secrets it delivers inside pods
    validated: str | None = None                 # the CRD digest its objects were checked under, if checked
    texts: tuple[bytes, ...] = ()                # each object's plain-format file, when the run wrote them


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """One app's objects in an environment (``app`` None: the Project's own), from a run or from the cache."""

    app: str | None
    resources: tuple[Resource, ...]
    run: int = -1                                # the run that made it; -1: the cache
    matched: frozenset[int] = frozenset()        # the patch entries its objects matched
    texts: tuple[bytes | None, ...] = ()         # each object's plain-format file, when known
    validated: str | None = None                 # the CRD digest its objects were checked under, if checked
    in_pod: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Combined:
    """The environment's objects in order, and the plain-format file of each object that kept its cached one."""

    resources: list[Resource]
    texts: Mapping[Key, bytes] = field(default_factory=dict)
    crds: str = ""                               # the digest of the render's CRDs: every object is checked under it
    changed: frozenset[Key] = frozenset()        # objects the checksums over everything changed


def render_run(ctx: RenderContext, names: Sequence[str], with_project: bool) -> Run:
    """The apps ``names`` (and with ``with_project`` the Project's ``resources:``) through the per-app steps,
    each logged as :func:`~manifestkit.pipeline.render_env` logs it."""
    apps = [ctx.apps[name] for name in names]
    step = _logger(ctx)
    resources = step("build_objects", lambda: [*gather(apps, lambda app: build_app(app, ctx)),
                                               *(build_project(ctx) if with_project else [])])
    resources = step("compose_patterns", compose_apps, resources, ctx, apps)
    patched, problems, matched = apply_patches(resources, ctx, unmatched_ok=True)
    if problems:
        raise ManifestkitError(problems)
    resources = step("patch_objects", lambda: patched)
    resolving = frozenset(r.app for r in resources if _uses_backends(r, ctx))
    in_pod = frozenset((r.namespace, r.name) for r in resources if r.kind == "Secret" and job_of(r).templates
                       and mode_of(r, ctx) in MODES and MODES[mode_of(r, ctx)].in_pod)
    for run in (resolve_secrets, default_pattern_containers, add_checksums):
        resources = step(run.__name__, run, resources, ctx)
    validated = None
    if ctx.options.validate:    # against the CRDs of this run; combine() checks again under those of all runs
        step("check_objects", check_objects, resources, ctx)
        validated = crd_digest(resources)
    return Run(resources=tuple(resources), matched=frozenset(matched), resolving=resolving, in_pod=in_pod,
               validated=validated)


def _logger(ctx: RenderContext) -> Callable[..., list[Resource]]:
    log = logging.getLogger("manifestkit.pipeline")

    def step(name: str, run: Callable[..., list[Resource]], *args: Any) -> list[Resource]:
        started = time.perf_counter()
        out = run(*args)
        # Names and counts only: an object's content may hold a resolved secret.
        log.info("%s: step %s: %d object(s) in %.1f ms", ctx.env, name, len(out),
                 (time.perf_counter() - started) * 1000)
        return out

    return step


def _uses_backends(resource: Resource, ctx: RenderContext) -> bool:
    """Whether the secrets step reads a backend or key for it, or copies it: a Secret with references, with
    ``mirror:``, or in a mode that encrypts (``sops``); a pod with env references."""
    if resource.mirror is not None:
        return True
    if resource.kind == "Secret":
        mode = mode_of(resource, ctx)
        return bool(job_of(resource).templates) or (mode in RESOLVING and mode != LITERAL_MODE)
    template = pod_template(resource.obj)
    env = [v for _, _, c in containers((template or {}).get("spec") or {}) for v in c.get("env") or []]
    return any(isinstance(v, dict) and isinstance(v.get("value"), str) and has_refs(v["value"]) for v in env)


def units_of(run: Run, number: int, names: Iterable[str | None]) -> list[Unit]:
    """A run's objects, split by app (``names``: the apps it rendered, None for the Project's objects)."""
    by_app: dict[str | None, list[Resource]] = {name: [] for name in names}
    for resource in run.resources:
        by_app.setdefault(resource.app, []).append(resource)
    texts: dict[int, bytes] = {id(r): t for r, t in zip(run.resources, run.texts, strict=False)}
    return [Unit(app=app, resources=tuple(rs), run=number, matched=frozenset(e for e, a in run.matched if a == app),
                 in_pod=run.in_pod, validated=run.validated, texts=tuple(texts.get(id(r)) for r in rs) if texts else ())
            for app, rs in by_app.items()]


def combine(units: Sequence[Unit], ctx: RenderContext, *, every_patch: bool = True) -> Combined | None:
    """The environment's objects from ``units``, or None when they are not the render of all apps together
    (see the module docstring); raises the checks' ManifestkitError when an object fails its schema."""
    owner: dict[Key, int] = {}
    for number, unit in enumerate(units):
        for resource in unit.resources:
            if owner.setdefault(_key(resource), number) != number:
                return None
    if every_patch and set(range(len(ctx.settings.patches))) - {e for u in units for e in u.matched}:
        return None
    if any(u.in_pod for u in units) and _meets_agent(units):
        return None
    resources = [r for u in units for r in u.resources]
    texts = [t for u in units for t in (u.texts or (None,) * len(u.resources))]
    checked = add_checksums(resources, ctx)
    fresh = [i for i, (old, new) in enumerate(zip(resources, checked, strict=True))
             if new is not old and new.obj != old.obj]
    digest = crd_digest(checked)
    if ctx.options.validate:
        stale = {i for i, unit in enumerate(u for u in units for _ in u.resources) if unit.validated != digest}
        _validate([checked[i] for i in sorted(stale | set(fresh))], checked, ctx)
    for i in fresh:
        texts[i] = None
    kept = {_key(r): t for r, t in zip(checked, texts, strict=True) if t is not None}
    return Combined(resources=sort_resources(checked), texts=kept, crds=digest,
                    changed=frozenset(_key(checked[i]) for i in fresh))


def _meets_agent(units: Sequence[Unit]) -> bool:
    """Whether a pod of one run uses a Secret another run delivers inside pods."""
    delivered = {(secret, u.run) for u in units for secret in u.in_pod}
    for unit in units:
        for resource in unit.resources:
            for kind, name in referenced(resource.obj):
                key = (resource.namespace, name)
                if kind == "Secret" and any(s == key and run != unit.run for s, run in delivered):
                    return True
    return False


def _validate(objects: list[Resource], everything: Sequence[Resource], ctx: RenderContext) -> None:
    """The schema step over ``objects``, with every CRD of the render known."""
    if not objects:
        return
    crds = [r for r in everything if r.kind == CRD and not any(r is o for o in objects)]
    check_objects([*objects, *crds], ctx)


def crd_digest(resources: Iterable[Resource]) -> str:
    """One digest of the render's CustomResourceDefinitions: an object checked under another set is checked again."""
    crds = sorted(json.dumps(r.obj, sort_keys=True, default=repr) for r in resources if r.kind == CRD)
    return hashlib.sha256("\n".join(crds).encode("utf-8")).hexdigest()


def key_of_object(resource: Resource) -> Key:
    """The kind, namespace and name of an object: no two units make the same."""
    return _key(resource)


def _key(resource: Resource) -> Key:
    return resource.kind, resource.namespace, resource.name

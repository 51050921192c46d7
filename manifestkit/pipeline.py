"""The one place that sequences the steps of a render.

    load → overlay → build objects → compose patterns → resolve secret refs
         → config checksums → validate → emit

Each step is a function ``(resources, ctx) -> resources`` that does not change its input.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from manifestkit.build_step import build_objects
from manifestkit.checksums import add_checksums
from manifestkit.diagnostics import Diagnostic, ManifestkitError, did_you_mean
from manifestkit.kinds import KIND_ORDER
from manifestkit.loader import load_project
from manifestkit.model import DEFAULT_ENV, Options, Project, RenderContext, Resource
from manifestkit.object_patches import patch_objects
from manifestkit.overlay import apply_overlays, settings_of
from manifestkit.pattern_defaults import default_pattern_containers
from manifestkit.pattern_step import compose_patterns
from manifestkit.schema_step import check_objects
from manifestkit.secrets.step import resolve_secrets

Step = Callable[[list[Resource], RenderContext], list[Resource]]

STEPS: tuple[Step, ...] = (
    build_objects,
    compose_patterns,
    patch_objects,
    resolve_secrets,
    default_pattern_containers,
    add_checksums,
    check_objects,
)

_RANK = {kind: i for i, kind in enumerate(KIND_ORDER)}


def context(project: Project, env: str | None, options: Options) -> RenderContext:
    """The context for one environment; ``env=None`` renders with no overlays (the base)."""
    environment = project.environments.get(env) if env else None
    return RenderContext(project=project, env=env or DEFAULT_ENV, apps=apply_overlays(project.apps, environment),
                         options=options, settings=settings_of(environment))


def render_env(project: Project, env: str | None, options: Options | None = None,
               steps: Sequence[Step] = STEPS) -> list[Resource]:
    """Every object of one environment, in a stable order."""
    ctx = context(project, env, options or Options())
    log = logging.getLogger(__name__)
    resources: list[Resource] = []
    for step in steps:
        started = time.perf_counter()
        resources = step(resources, ctx)
        # Names and counts only: an object's content may hold a resolved secret.
        log.info("%s: step %s: %d object(s) in %.1f ms", ctx.env, getattr(step, "__name__", repr(step)),
                 len(resources), (time.perf_counter() - started) * 1000)
    return sort_resources(resources)


def sort_resources(resources: Sequence[Resource]) -> list[Resource]:
    return sorted(resources, key=lambda r: (_RANK.get(r.kind, len(_RANK)), r.kind, r.namespace, r.name))


def environments(project: Project, env: str | None) -> list[str]:
    """The environments to render: the one asked for (checked) or all of them."""
    names = project.env_names()
    if env is None:
        return names
    if env not in names:
        raise ManifestkitError([Diagnostic(message=f"unknown environment {env!r}; expected one of: {', '.join(names)}",
                                           file=project.file, hint=did_you_mean(env, names))])
    return [env]


def render(project_or_path: Project | str | os.PathLike[str], env: str | None = None, *,
           secret_output: str | None = None, environ: Mapping[str, str] | None = None,
           validate: bool = True) -> list[dict[str, Any]]:
    """Library entry point: the rendered objects of one environment as plain dicts.

    ``env`` may be omitted when the project has at most one environment.
    """
    project = project_or_path if isinstance(project_or_path, Project) else load_project(project_or_path)
    names = environments(project, env)
    if env is None and len(names) > 1:
        raise ManifestkitError(
            [
                Diagnostic(
                    message=f"the project has several environments ({', '.join(names)}); pass env=...",
                    file=project.file,
                )
            ]
        )
    options = Options(secret_output=secret_output, environ=dict(environ if environ is not None else os.environ),
                      validate=validate)
    chosen = names[0] if project.environments else None
    return [dict(r.obj) for r in render_env(project, chosen, options)]

"""The pattern step: apply each App's `patterns:` (in the order written) to its workload's
pod template, its Service and the objects around it. The patterns themselves live in
:mod:`manifestkit.patterns`; the merge and its conflict rules in
:mod:`manifestkit.patterns.apply`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from manifestkit.diagnostics import Diagnostic, ManifestkitError, fold
from manifestkit.kinds import is_workload, pod_template, with_pod_template
from manifestkit.model import App, RenderContext, Resource
from manifestkit.patterns.engine import PatternProblems, Problem, Use, apply_patterns, target_of
from manifestkit.patterns.model import Pattern
from manifestkit.patterns.user import registry


def compose_patterns(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: every App with `patterns:` gets them applied; all problems reported together."""
    return compose_apps(resources, ctx, list(ctx.apps.values()))


def compose_apps(resources: list[Resource], ctx: RenderContext, chosen: Sequence[App]) -> list[Resource]:
    """The patterns of the ``chosen`` apps (a render of some of the apps: :mod:`manifestkit.render_units`)."""
    apps = [app for app in chosen if app.spec.get("patterns")]
    if not apps:
        return resources
    known = registry(ctx.project.root / "patterns")
    return fold(apps, list(resources), lambda out, app: _compose_app(out, app, ctx, known))


def uses_of(app: App) -> list[Use]:
    return [Use(entry["use"], entry.get("with") or {}, bool(entry.get("native", False)), entry.get("name"))
            for entry in app.spec.get("patterns") or []]


def _compose_app(
    resources: list[Resource], app: App, ctx: RenderContext, known: Mapping[str, Pattern]
) -> list[Resource]:
    index = _workload_index(resources, app)
    workload = resources[index]
    pod = pod_template(workload.obj) or {}
    service_index = _service_index(resources, app, pod)
    service = resources[service_index].obj if service_index is not None else None
    target = target_of(workload.obj, pod, ctx.kube_version)._replace(
        name=workload.name, namespace=workload.namespace or None
    )
    uses = uses_of(app)
    try:
        applied = apply_patterns(pod, service, uses, target, known)
    except PatternProblems as exc:
        raise ManifestkitError([_located(app, uses, p) for p in exc.problems]) from None
    out = list(resources)
    out[index] = workload.replace_obj(with_pod_template(workload.obj, applied.pod))
    if service_index is not None and applied.service is not None:
        out[service_index] = out[service_index].replace_obj(applied.service)
    taken = {(r.kind, r.namespace, r.name): r for r in out}
    clashes = []
    for obj in applied.objects:
        new = Resource(obj=obj, app=app.name, source=workload.source.derived())
        if (new.kind, new.namespace, new.name) in taken:
            clashes.append(app.doc.diagnostic(("spec", "patterns"), f"a pattern generates {new.ref()}, but the app "
                                              f"already has {taken[(new.kind, new.namespace, new.name)].ref()}"))
        out.append(new)
    if clashes:
        raise ManifestkitError(clashes)
    return out


def _workload_index(resources: Sequence[Resource], app: App) -> int:
    mine = [
        i
        for i, r in enumerate(resources)
        if r.app == app.name and is_workload(r.obj) and pod_template(r.obj) is not None
    ]
    named = [i for i in mine if resources[i].name == app.name]
    if named or len(mine) == 1:
        return (named or mine)[0]
    raise ManifestkitError(
        [
            app.doc.diagnostic(
                ("spec", "patterns"),
                f"found {len(mine)} workloads of app {app.name!r}; "
                f"expected one named {app.name!r} to apply the patterns to",
            )
        ]
    )


def _service_index(resources: Sequence[Resource], app: App, pod: Mapping[str, Any]) -> int | None:
    labels = pod.get("metadata", {}).get("labels") or {}
    services = [i for i, r in enumerate(resources) if r.app == app.name and r.kind == "Service"
                and _selects(r.obj, labels)]
    named = [i for i in services if resources[i].name == app.name]
    chosen = named or services
    return chosen[0] if chosen else None


def _selects(service: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    selector = service.get("spec", {}).get("selector") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _located(app: App, uses: Sequence[Use], problem: Problem) -> Diagnostic:
    """At the entry as written in the App file (overlays may have changed the list):
    the n-th written entry with the same `use` as the n-th use of that pattern."""
    written = app.doc.data.get("spec", {}).get("patterns") or []
    name = uses[problem.entry].use
    nth = sum(1 for use in uses[:problem.entry] if use.use == name)
    matches = [i for i, entry in enumerate(written) if isinstance(entry, Mapping) and entry.get("use") == name]
    position = matches[nth] if nth < len(matches) else problem.entry
    return app.doc.diagnostic(("spec", "patterns", position, *problem.path), problem.message, hint=problem.hint)

"""Apps that start from an existing manifest (`spec.base`).

The base workload's containers become the App's containers before overlays run, so
overlays, wildcards and patterns treat them like any other; with no changes they come
out exactly as they went in. Every other object of the base file is kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.base_shape import base_shape_problems
from manifestkit.diagnostics import ManifestkitError
from manifestkit.kinds import CONTAINER_LISTS, is_workload, pod_template
from manifestkit.merge import merge
from manifestkit.model import App
from manifestkit.yamlio import Document


def base_workload(app: App) -> tuple[int, Document]:
    """Index and document of the workload the App builds on: same name (and kind, if given)."""
    kind = app.spec.get("workload")
    candidates = [(i, d) for i, d in enumerate(app.base)
                  if isinstance(d.data, Mapping) and is_workload(d.data) and (kind is None or d.data["kind"] == kind)]
    named = [(i, d) for i, d in candidates if d.data.get("metadata", {}).get("name") == app.name]
    if named:
        return named[0]
    if len(candidates) == 1:
        return candidates[0]
    found = (
        ", ".join(f"{d.data['kind']}/{d.data.get('metadata', {}).get('name')}" for _, d in candidates) or "no workload"
    )
    wanted = f"a {kind}" if kind else "a workload"
    raise ManifestkitError(
        [
            app.doc.diagnostic(
                ("spec", "base"),
                f"base manifest {app.spec['base']!r} holds {found}; expected {wanted} named {app.name!r}",
                hint="name the App like the workload in the base file, or set spec.workload to its kind",
            )
        ]
    )


def seed_from_base(app: App) -> dict[str, Any]:
    """The App spec with the base workload's containers, init containers and replicas under it."""
    _, doc = base_workload(app)
    problems = base_shape_problems(doc)
    if problems:
        raise ManifestkitError(problems)
    template = pod_template(doc.data) or {}
    pod = template.get("spec", {})
    seeded: dict[str, Any] = {"workload": doc.data["kind"]}
    for key in CONTAINER_LISTS:
        if key in pod:
            seeded[key] = pod[key]
    if "replicas" in doc.data["spec"]:
        seeded["replicas"] = doc.data["spec"]["replicas"]
    result: dict[str, Any] = merge(seeded, dict(app.spec))
    return result

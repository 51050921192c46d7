"""The build step: merged App specs → Kubernetes objects, one family per module.

The workload and its pod spec are :mod:`~manifestkit.build_workload`, Service,
ServiceAccount and PodDisruptionBudget :mod:`~manifestkit.build_service`, ConfigMaps and
Secrets :mod:`~manifestkit.build_config`, the objects of a `base:` manifest
:mod:`~manifestkit.build_base`, SecretMirrors :mod:`~manifestkit.build_mirrors`; their shared labels and
metadata :mod:`~manifestkit.build_meta`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from manifestkit.build_base import base_objects
from manifestkit.build_config import config_maps, secrets
from manifestkit.build_extra import app_objects, project_objects
from manifestkit.build_meta import common_labels
from manifestkit.build_mirrors import app_mirrors, project_mirrors
from manifestkit.build_network import autoscaler, ingress, network_policy, services
from manifestkit.build_rbac import rbac
from manifestkit.build_service import pdb, service, service_account
from manifestkit.build_workload import check_images, workload
from manifestkit.diagnostics import gather
from manifestkit.model import App, RenderContext, Resource, Source


def build_objects(resources: list[Resource], ctx: RenderContext) -> list[Resource]:
    """Pipeline step: add every app's objects to ``resources``."""
    return [*resources, *gather(ctx.apps.values(), lambda app: build_app(app, ctx)), *build_project(ctx)]


def build_project(ctx: RenderContext) -> list[Resource]:
    """The objects of no app: the Project's `resources:` and its `mirrors:`."""
    return [*project_objects(ctx), *project_mirrors(ctx)]


def build_app(app: App, ctx: RenderContext) -> list[Resource]:
    """One App's objects: its base objects or its workload (none without containers), then Service, ServiceAccount,
    ConfigMaps, Secrets, PDB, its `objects:` and its `mirrors:`."""
    source = Source(file=app.file, line=app.doc.position(('metadata', 'name'))[0])
    labels = common_labels(app, ctx)
    objects: list[tuple[dict[str, Any], Mapping[str, Any]]] = []
    if app.base:
        base = base_objects(app, ctx)
    else:
        base = []
        check_images(app)
        if app.spec.get("containers"):
            objects.append((workload(app, ctx, labels), {}))
    if app.spec.get("service") is not None and "service" in app.spec:
        objects.append((service(app, ctx, labels), {}))
    objects.extend((svc, {}) for svc in services(app, ctx, labels))
    sa = service_account(app, ctx, labels)
    if sa:
        objects.append((sa, {}))
    objects.extend((obj, {}) for obj in rbac(app, ctx, labels))
    objects.extend((obj, {}) for obj in (ingress(app, ctx, labels), autoscaler(app, ctx, labels),
                                         network_policy(app, ctx, labels)) if obj)
    objects.extend((cm, {}) for cm in config_maps(app, ctx, labels))
    objects.extend(secrets(app, ctx, labels))
    budget = pdb(app, ctx, labels) if app.base or app.spec.get("containers") else None
    if budget:
        objects.append((budget, {}))
    return [
        *base,
        *(Resource(obj=obj, app=app.name, source=_source(app, obj, source), **side) for obj, side in objects),
        *app_objects(app, ctx),
        *app_mirrors(app, ctx, labels),
    ]


def _source(app: App, obj: Mapping[str, Any], default: Source) -> Source:
    """A Secret from ``spec.secrets`` points at its own entry, so its reference errors land there."""
    name = obj.get("metadata", {}).get("name")
    if obj.get("kind") == "Secret" and name in (app.spec.get("secrets") or {}):
        return dataclasses.replace(default, line=app.doc.position(("spec", "secrets", name))[0])
    return default

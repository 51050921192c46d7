"""An App's RBAC: `serviceAccount.rules` become a Role and RoleBinding (a ClusterRole and ClusterRoleBinding with
`clusterWide`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from manifestkit.build_meta import metadata
from manifestkit.build_service import service_account_name
from manifestkit.model import App, RenderContext

RBAC = "rbac.authorization.k8s.io/v1"


def rbac(app: App, ctx: RenderContext, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The role with the rules and its binding to the app's ServiceAccount.
    https://kubernetes.io/docs/reference/access-authn-authz/rbac/"""
    sa = app.spec.get("serviceAccount")
    if not isinstance(sa, Mapping) or not sa.get("rules"):
        return []
    cluster = bool(sa.get("clusterWide"))
    role_kind, binding_kind = ("ClusterRole", "ClusterRoleBinding") if cluster else ("Role", "RoleBinding")
    meta = metadata(app.name, app, ctx, labels)
    if cluster:
        meta = {k: v for k, v in meta.items() if k != "namespace"}
    subject: dict[str, Any] = {"kind": "ServiceAccount", "name": service_account_name(app)}
    if app.namespace:
        subject["namespace"] = app.namespace
    role = {"apiVersion": RBAC, "kind": role_kind, "metadata": meta, "rules": [dict(r) for r in sa["rules"]]}
    binding = {"apiVersion": RBAC, "kind": binding_kind, "metadata": dict(meta),
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": app.name},
               "subjects": [subject]}
    return [role, binding]

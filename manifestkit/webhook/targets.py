"""The Kubernetes kinds the webhook can mutate and where they keep their pods, read from manifestkit's one table of kinds."""

from __future__ import annotations

from manifestkit.workloads import API_VERSIONS, POD_TEMPLATE_PATHS, pod_template, with_pod_template

# Every kind with a pod template (Pod itself included): what a rule's `kinds:` may name.
MUTABLE_KINDS: tuple[str, ...] = tuple(sorted(POD_TEMPLATE_PATHS))


def api_version(kind: str) -> str:
    """``apps/v1`` for a Deployment, ``v1`` for a Pod."""
    return API_VERSIONS[kind]


__all__ = ["MUTABLE_KINDS", "api_version", "pod_template", "with_pod_template"]

"""The Kubernetes kinds the webhook can mutate and where they keep their pods, read from manifestkit's one table of
kinds."""

from __future__ import annotations

from manifestkit.kinds import KINDS, pod_template, with_pod_template

# Every kind that runs pods (Pod itself included): what a rule's `kinds:` may name.
MUTABLE_KINDS: tuple[str, ...] = tuple(sorted(name for name, kind in KINDS.items() if kind.workload))


def api_version(kind: str) -> str:
    """``apps/v1`` for a Deployment, ``v1`` for a Pod."""
    return KINDS[kind].api_version


__all__ = ["MUTABLE_KINDS", "api_version", "pod_template", "with_pod_template"]

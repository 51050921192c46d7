"""Kubernetes label selectors (matchLabels and matchExpressions) evaluated against a label map."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#resources-that-support-set-based-requirements
OPERATORS: dict[str, Callable[[bool, str | None, list[str]], bool]] = {
    "In": lambda present, value, values: present and value in values,
    "NotIn": lambda present, value, values: not present or value not in values,
    "Exists": lambda present, value, values: present,
    "DoesNotExist": lambda present, value, values: not present,
}


def matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """Does ``labels`` satisfy ``selector``? An empty or missing selector matches everything."""
    if not selector:
        return True
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or []:
        key = expression["key"]
        if not OPERATORS[expression["operator"]](key in labels, labels.get(key), expression.get("values") or []):
            return False
    return True


def excluding(selector: Mapping[str, Any] | None, key: str, names: list[str]) -> dict[str, Any]:
    """``selector`` plus ``key NotIn names`` (how the webhook keeps its own namespace out)."""
    out = dict(selector or {})
    out["matchExpressions"] = [
        *(out.get("matchExpressions") or []),
        {"key": key, "operator": "NotIn", "values": sorted(names)},
    ]
    return out

"""The merge rule of DESIGN.md, as a table: base, patch → result."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from manifestkit.merge import merge, merge_under

CASES = {
    "maps merge deeply": ("a: {b: 1, c: 2}", "a: {c: 3, d: 4}", "a: {b: 1, c: 3, d: 4}"),
    "null deletes": ("a: 1\nb: 2", "b: null", "a: 1"),
    "other lists are replaced": ("args: [a, b]", "args: [c]", "args: [c]"),
    "named lists merge by name": (
        "containers: [{name: a, image: x}, {name: b, image: y}]",
        "containers: [{name: b, image: z}, {name: c, image: w}]",
        "containers: [{name: a, image: x}, {name: b, image: z}, {name: c, image: w}]",
    ),
    "env merges by name": (
        "env: [{name: A, value: '1'}]",
        "env: [{name: A, value: '2'}, {name: B, value: '3'}]",
        "env: [{name: A, value: '2'}, {name: B, value: '3'}]",
    ),
    "patterns merge by use": (
        "patterns: [{use: sidecar/envoy, with: {port: 1}}]",
        "patterns: [{use: sidecar/envoy, with: {port: 2}}]",
        "patterns: [{use: sidecar/envoy, with: {port: 2}}]",
    ),
    "volumeMounts merge by mountPath": (
        "volumeMounts: [{name: a, mountPath: /x}]",
        "volumeMounts: [{name: b, mountPath: /x}]",
        "volumeMounts: [{name: b, mountPath: /x}]",
    ),
    "$patch: delete removes a named item": (
        "volumes: [{name: a}, {name: b}]",
        "volumes: [{name: a, $patch: delete}]",
        "volumes: [{name: b}]",
    ),
    "wildcard container reaches every container": (
        "containers: [{name: a}, {name: b}]",
        "containers: [{name: '*', securityContext: {runAsNonRoot: true}}]",
        "containers: [{name: a, securityContext: {runAsNonRoot: true}}, "
        "{name: b, securityContext: {runAsNonRoot: true}}]",
    ),
    "null inside a named item deletes a field": (
        "containers: [{name: a, image: x, args: [y]}]",
        "containers: [{name: a, args: null}]",
        "containers: [{name: a, image: x}]",
    ),
    "scalars are replaced": ("replicas: 2", "replicas: 4", "replicas: 4"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_merge(name: str) -> None:
    base, patch, expected = (yaml.safe_load(t) for t in CASES[name])
    before = yaml.safe_dump(base)
    assert merge(base, patch) == expected
    assert yaml.safe_dump(base) == before, "merge must not change its input"


def test_merge_under_lets_the_spec_win_and_keeps_its_order() -> None:
    defaults: Any = yaml.safe_load("replicas: 2\ncontainers: [{name: '*', resources: {requests: {cpu: 1}}, image: d}]")
    spec: Any = yaml.safe_load("containers: [{name: web, image: nginx}]")
    result = merge_under(defaults, spec)
    assert result == {
        "containers": [{"name": "web", "image": "nginx", "resources": {"requests": {"cpu": 1}}}],
        "replicas": 2,
    }
    assert list(result["containers"][0]) == ["name", "image", "resources"]

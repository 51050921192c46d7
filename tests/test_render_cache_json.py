"""The render cache's JSON (issue 16): what an entry gives back is exactly what was kept, every type and value,
whichever encoder wrote it; exact_json says which values those are; the lint cache's digest of the workloads
changes with what a Service's rules read of them."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.cache_json import exact_json
from manifestkit.model import Resource
from manifestkit.render_cache import Cache, keep, open_pack, save_pack, take
from manifestkit.render_lint_cache import _pods_digest

EDGES = st.integers(min_value=2**63 - 2, max_value=2**64 + 2) \
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
BIG = st.integers(min_value=2**64, max_value=2**200) | st.integers(min_value=-(2**200), max_value=-(2**64))
SCALARS = st.none() | st.booleans() | st.text() | st.floats(allow_nan=False, allow_infinity=False) | st.integers() \
    | EDGES | BIG
EXACT = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                     max_leaves=20)


class Named(str):
    """A str of another type (as a SecretStr is)."""


NOT_EXACT = st.tuples(SCALARS) | st.sampled_from([math.nan, math.inf, -math.inf]) | st.builds(Named, st.text()) \
    | st.dictionaries(st.integers(), SCALARS, min_size=1) | st.sets(st.integers(), min_size=1) | st.just(b"bytes")
ANY = st.recursive(SCALARS | NOT_EXACT,
                   lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                   max_leaves=12)


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0 == True``, ``0.0 == -0.0``: not the same here)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is float:
        return math.copysign(1, a) == math.copysign(1, b) and a == b
    return bool(a == b)


def reference(value: Any) -> bool:
    """exact_json's definition, plainly."""
    if type(value) is dict:
        return all(type(k) is str and reference(v) for k, v in value.items())
    if type(value) is list:
        return all(reference(v) for v in value)
    if type(value) is float:
        return math.isfinite(value)
    return type(value) in (str, int, bool, type(None))


@settings(max_examples=300, deadline=None)
@given(EXACT)
def test_an_entry_gives_back_what_was_kept(tmp_path_factory: Any, value: Any) -> None:
    cache = Cache(root=tmp_path_factory.mktemp("cache"))
    pack = open_pack(cache, "apps", "project")
    keep(pack, "ab" * 32, {"value": value})
    save_pack(cache, pack)
    again = take(open_pack(cache, "apps", "project"), "ab" * 32)
    assert again is not None and same(again, {"value": value})


@settings(max_examples=300, deadline=None)
@given(ANY)
def test_exact_json_is_its_definition(value: Any) -> None:
    assert exact_json(value) == reference(value)


def test_an_int_beyond_64_bits_is_read_back_as_that_int(tmp_path: Path) -> None:
    """orjson refuses to write it and would read it back as a float: the standard library's JSON does both."""
    cache = Cache(root=tmp_path / "cache")
    pack = open_pack(cache, "apps", "project")
    big = {"replicas": 2**64, "low": -(2**63) - 1, "edge": 2**64 - 1}
    keep(pack, "ab" * 32, big)
    save_pack(cache, pack)
    raw = next((tmp_path / "cache").rglob("*.json")).read_bytes()
    assert b'  {"replicas":18446744073709551616,' in raw, "the standard library's, after a space"
    again = take(open_pack(cache, "apps", "project"), "ab" * 32)
    assert again is not None and same(again, big)


def test_a_flipped_encoder_mark_is_a_miss(tmp_path: Path) -> None:
    """The space that sends a body to the standard library's decoder is inside the entry's digest."""
    cache = Cache(root=tmp_path / "cache")
    pack = open_pack(cache, "apps", "project")
    keep(pack, "ab" * 32, {"replicas": 2**64})
    save_pack(cache, pack)
    path = next((tmp_path / "cache").rglob("*.json"))
    path.write_bytes(path.read_bytes().replace(b'  {"replicas"', b' {"replicas"'))
    assert take(open_pack(cache, "apps", "project"), "ab" * 32) is None


WORKLOAD = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "web", "image": "web:1",
                                                           "ports": [{"name": "http", "containerPort": 80}]}]}}}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}


def _edited(path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(WORKLOAD)
    where: Any = obj
    for part in path[:-1]:
        where = where[part]
    where[path[-1]] = value
    return obj


def digest(workload: dict[str, Any]) -> str:
    return _pods_digest({"a/deployment-web.yaml": Resource(obj=workload), "a/service-web.yaml": Resource(obj=SERVICE)})


POD = ("spec", "template")
CONTAINER = (*POD, "spec", "containers", 0)


@pytest.mark.parametrize(("path", "value"), [
    ((*POD, "metadata", "labels"), {"app": "web", "tier": "front"}),
    ((*POD, "metadata", "labels"), {"app": 1}),
    ((*POD, "metadata", "labels"), {"app": 2**70}),
    ((*CONTAINER, "ports"), [{"name": "www", "containerPort": 80}]),
    ((*CONTAINER, "ports"), [{"name": "http"}, {"name": "metrics"}]),
    ((*POD, "spec", "initContainers"), [{"name": "init", "ports": [{"name": "probe"}]}]),
    (("metadata", "name"), "api"),
    (("metadata", "namespace"), "other"),
    (("kind",), "StatefulSet"),
])
def test_what_a_services_lint_reads_of_the_workloads_is_in_its_key(path: tuple[str | int, ...], value: Any) -> None:
    assert digest(_edited(path, value)) != digest(WORKLOAD)


@pytest.mark.parametrize(("path", "value"), [
    ((*CONTAINER, "image"), "web:2"),
    ((*POD, "metadata", "annotations"), {"checksum/config": "abc"}),
    ((*CONTAINER, "ports"), [{"name": "http", "containerPort": 8080}]),
])
def test_what_it_does_not_read_is_not(path: tuple[str | int, ...], value: Any) -> None:
    assert digest(_edited(path, value)) == digest(WORKLOAD)

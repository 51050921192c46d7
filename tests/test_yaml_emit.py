"""The specialised emitter writes what PyYAML writes, byte for byte, or declines; every dump reads back equal."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.yaml_dump import _SCALARS, dump, dump_pyyaml
from manifestkit.yaml_emit import emit

from .test_yaml_fast import TRICKY

TEXT = st.one_of(st.sampled_from(TRICKY), st.sampled_from(["web", "app-7", "busybox:1.36", "/var/log", "a b", "a: b",
                                                           "x #y", "- a", "line\nline\n", "  lead\nx", "tail \nx",
                                                           "é", "a\tb", "\x07", "'q'", '"q"', "", " "]),
                 st.text(max_size=8), st.text(alphabet="ab \n:-#'\"|>", max_size=10))
SCALAR = st.one_of(TEXT, st.integers(-10**6, 10**6), st.booleans(), st.none(), st.floats(allow_nan=False))
DATA: st.SearchStrategy[Any] = st.recursive(
    SCALAR, lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(TEXT, kids, max_size=4)), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(TEXT, DATA, min_size=1, max_size=6))
def test_emitter_matches_pyyaml_or_declines(obj: dict[str, Any]) -> None:
    text = emit(obj, _SCALARS)
    assert text is None or text == dump_pyyaml(obj)
    assert yaml.safe_load(dump(obj)) == obj


def test_kubernetes_shaped_data_is_not_declined() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"replicas": 2, "template": {"spec": {"containers": [
               {"name": "web", "image": "nginx:1.25", "args": ["-c", "echo hi"], "env": [{"name": "A", "value": "on"}],
                "ports": [{"containerPort": 8080}], "resources": {}}], "volumes": []}}},
           "data": {"nginx.conf": "server {\n  listen 80;\n}\n", "mode": "0755", "flag": "y"}}
    text = emit(obj, _SCALARS)
    assert text is not None and text == dump_pyyaml(obj)


def test_shared_containers_are_left_to_pyyaml() -> None:
    shared = {"a": 1}
    assert emit({"x": shared, "y": shared}, _SCALARS) is None
    assert dump({"x": shared, "y": shared}) == dump_pyyaml({"x": shared, "y": shared})

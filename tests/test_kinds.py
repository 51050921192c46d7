"""The per-kind facts in manifestkit.kinds: consistent with each other, with the Kubernetes
schemas kubernetes-validate ships, with the App schema, and the only place they are spelled."""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import manifestkit
from manifestkit import kinds
from manifestkit.emit.helm_values import named_paths
from manifestkit.emit.kustomize_features import Features, apply_features
from manifestkit.kinds import KINDS, PROBES, Kind
from manifestkit.kube_schemas import _schema_root, default_kube_version, kube_versions, schema_file
from manifestkit.lint import podspec
from manifestkit.model import Overlay
from manifestkit.overlay import apply_overlay

PACKAGE = Path(manifestkit.__file__).parent
SCHEMAS = PACKAGE.parent / "schemas"
POD_SPEC = "io.k8s.api.core.v1.PodSpec"
POD_TEMPLATE_SPEC = "io.k8s.api.core.v1.PodTemplateSpec"
LABEL_SELECTOR = "io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector"
VERSIONS = sorted({default_kube_version(), kube_versions()[0], kube_versions()[-1]})


# ---------------------------------------------------------------- the facts agree with each other

@pytest.mark.parametrize("name", list(KINDS))
def test_facts_are_consistent(name: str) -> None:
    kind = KINDS[name]
    if (
        kind.replicated
        or kind.long_running
        or kind.runs_to_completion
        or kind.label_selector
        or kind.app_fields is not None
    ):
        assert kind.workload, (
            f"{name} is replicated, long-running, run-to-completion, selects pods or is buildable, so it runs pods"
        )
    if kind.workload:
        assert kind.pod_template is not None, f"{name} runs pods but has no pod template path"
        assert not kind.cluster_scoped, f"{name} runs pods, which live in a namespace"
    assert not (kind.long_running and kind.runs_to_completion), (
        f"{name} cannot both run until deleted and run to completion"
    )
    assert (kind.long_running or kind.runs_to_completion) == kind.workload, (
        f"{name}: a workload's pods either complete or run on"
    )


def test_derived_sets_follow_the_table() -> None:
    assert kinds.CLUSTER_SCOPED == {name for name, kind in KINDS.items() if kind.cluster_scoped}
    assert {name for name in KINDS if kinds.is_replicated(name)} == {
        name for name, kind in KINDS.items() if kind.replicated
    }
    assert not kinds.is_replicated("Service") and not kinds.is_replicated(None)


# ---------------------------------------------------------------- the facts agree with Kubernetes

@functools.cache
def _definitions(version: str) -> Mapping[str, Any]:
    with open(_schema_root() / f"v{version}.0-local" / "_definitions.json", encoding="utf-8") as handle:
        found: Mapping[str, Any] = json.load(handle)["$defs"]
    return found


def _kind_schema(version: str, name: str, kind: Kind) -> Mapping[str, Any]:
    path = _schema_root() / f"v{version}.0-local" / schema_file(kind.api_version, name)
    with open(path, encoding="utf-8") as handle:
        schema: Mapping[str, Any] = json.load(handle)
    return schema


def _ref(node: Mapping[str, Any]) -> str:
    return str(node.get("$ref", "")).rsplit("/", 1)[-1]


def _resolve(version: str, node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        node = _definitions(version)[_ref(node)]
    return node


def _at(version: str, schema: Mapping[str, Any], path: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The (unresolved) schema node of the property at ``path``, or None."""
    node: Mapping[str, Any] = schema
    for key in path:
        child = _resolve(version, node).get("properties", {}).get(key)
        if child is None:
            return None
        node = child
    return node


def _pod_spec_paths(
    version: str, node: Mapping[str, Any], path: tuple[str, ...], depth: int
) -> Iterator[tuple[str, ...]]:
    if _ref(node) == POD_SPEC:
        yield path
        return
    if depth:
        for key, child in _resolve(version, node).get("properties", {}).items():
            if key != "status":
                yield from _pod_spec_paths(version, child, (*path, key), depth - 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_pod_bearing_kinds_are_the_kinds_whose_schema_holds_a_pod_spec(version: str) -> None:
    folder = _schema_root() / f"v{version}.0-local"
    found: dict[str, tuple[str, ...]] = {}
    for file in sorted(folder.glob("*.json")):
        schema = json.loads(file.read_text(encoding="utf-8"))
        kind_enum = schema.get("properties", {}).get("kind", {}).get("enum") or []
        for path in _pod_spec_paths(version, schema, (), 6) if kind_enum else ():
            found[kind_enum[0]] = path
    assert found == {name: kinds.pod_spec_path(name) for name, kind in KINDS.items() if kind.pod_template is not None}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", list(KINDS))
def test_kind_matches_its_kubernetes_schema(version: str, name: str) -> None:
    kind = KINDS[name]
    schema = _kind_schema(version, name, kind)
    assert schema["properties"]["apiVersion"]["enum"] == [kind.api_version]
    assert schema["properties"]["kind"]["enum"] == [name]
    assert (_at(version, schema, ("spec", "replicas")) is not None) == kind.replicated
    if kind.pod_template:
        template = _at(version, schema, kind.pod_template)
        assert template is not None and _ref(template) == POD_TEMPLATE_SPEC
    if kind.label_selector:
        selector = _at(version, schema, ("spec", "selector"))
        assert selector is not None and _ref(selector) == LABEL_SELECTOR
        assert "selector" in _resolve(version, _at(version, schema, ("spec",)) or {}).get("required", [])
    for field in kind.app_fields or ():
        assert _at(version, schema, ("spec", field)) is not None, f"{name} has no spec.{field}"


def test_a_cronjob_wraps_a_job() -> None:
    assert KINDS["CronJob"].pod_template == ("spec", "jobTemplate", *(KINDS["Job"].pod_template or ()))
    job_spec = _at(
        default_kube_version(),
        _kind_schema(default_kube_version(), "CronJob", KINDS["CronJob"]),
        ("spec", "jobTemplate", "spec"),
    )
    assert job_spec is not None and _ref(job_spec) == "io.k8s.api.batch.v1.JobSpec"


def test_probe_names_are_the_probes_of_a_container() -> None:
    container = _definitions(default_kube_version())["io.k8s.api.core.v1.Container"]["properties"]
    assert {key for key, node in container.items() if _ref(node) == "io.k8s.api.core.v1.Probe"} == set(PROBES)


def test_container_lists_are_the_container_lists_of_a_pod_spec() -> None:
    pod = _definitions(default_kube_version())[POD_SPEC]["properties"]
    lists = {
        key
        for key, node in pod.items()
        if _ref(node.get("items", {})) in ("io.k8s.api.core.v1.Container", "io.k8s.api.core.v1.EphemeralContainer")
    }
    assert lists == {*kinds.CONTAINER_LISTS, kinds.EPHEMERAL_CONTAINERS}


# ---------------------------------------------------------------- the facts agree with the App schema

def _workload_enums(node: Any) -> Iterator[list[str]]:
    if isinstance(node, Mapping):
        for key, child in node.items():
            if key == "workload" and isinstance(child, Mapping) and "enum" in child:
                yield child["enum"]
            yield from _workload_enums(child)
    elif isinstance(node, list):
        for child in node:
            yield from _workload_enums(child)


def test_schemas_offer_the_kinds_an_app_can_build() -> None:
    buildable = [name for name, kind in KINDS.items() if kind.app_fields is not None]
    enums = [
        enum
        for file in sorted(SCHEMAS.glob("*.json"))
        for enum in _workload_enums(json.loads(file.read_text(encoding="utf-8")))
    ]
    assert enums, "no `workload` enum found in the schemas"
    assert all(sorted(enum) == sorted(buildable) for enum in enums)


# ---------------------------------------------------------------- pod templates

@pytest.mark.parametrize(
    ("obj", "template"),
    [
        (
            {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}},
            {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}},
        ),
        ({"kind": "Deployment", "spec": {"template": {"spec": {"containers": []}}}}, {"spec": {"containers": []}}),
        ({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}, {"spec": {}}),
        (
            {"kind": "PodTemplate", "template": {"metadata": {"labels": {"a": "b"}}}},
            {"metadata": {"labels": {"a": "b"}}},
        ),
        ({"kind": "Deployment", "spec": "oops"}, None),
        ({"kind": "Deployment"}, None),
        ({"kind": "Pod"}, None),
        ({"kind": "Service", "spec": {"template": {}}}, None),
    ],
)
def test_pod_template(obj: Mapping[str, Any], template: Mapping[str, Any] | None) -> None:
    assert kinds.pod_template(obj) == template


def test_with_pod_template_copies_only_along_the_path() -> None:
    obj: dict[str, Any] = {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"schedule": "@daily", "jobTemplate": {"spec": {"backoffLimit": 1, "template": {}}}},
    }
    new = kinds.with_pod_template(obj, {"spec": {"containers": []}})
    assert new == {
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {
            "schedule": "@daily",
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {"spec": {"containers": []}}}},
        },
    }
    assert obj["spec"]["jobTemplate"]["spec"]["template"] == {}
    assert new["metadata"] is obj["metadata"]


def test_containers_init_first_skipping_malformed_entries() -> None:
    spec = {
        "containers": [{"name": "app"}, "oops"],
        "initContainers": [{"name": "init"}],
        "ephemeralContainers": [{"name": "debug"}],
    }
    assert list(kinds.containers(spec)) == [("initContainers", 0, {"name": "init"}), ("containers", 0, {"name": "app"})]
    assert list(kinds.containers({"containers": "oops"})) == []


def test_workloads_are_the_kinds_that_run_pods() -> None:
    assert kinds.is_workload({"kind": "ReplicationController", "spec": {}})
    assert not kinds.is_workload({"kind": "PodTemplate", "template": {}})
    assert not kinds.is_workload({"kind": "Deployment", "spec": None})


# ---------------------------------------------------------------- every step reads the same facts

POD_KINDS = [name for name, kind in KINDS.items() if kind.pod_template is not None]


@pytest.mark.parametrize("name", POD_KINDS)
def test_lint_and_the_pattern_step_find_the_same_pod(name: str) -> None:
    template: dict[str, Any] = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web"}], "initContainers": [{"name": "init"}]},
    }
    obj = kinds.with_pod_template({"kind": name, "metadata": {"name": "web"}}, template)
    assert {
        k: v for k, v in (kinds.pod_template(obj) or {}).items() if k != "kind"
    } == template  # a Pod is its own template
    assert podspec.pod_spec(obj) == (kinds.pod_spec_path(name), template["spec"])
    assert podspec.pod_metadata(obj)[1] == template["metadata"]
    found = podspec.pod_spec(obj)
    assert found is not None
    assert [(c.path, c.init) for c in podspec.containers(*found)] == [
        ((*found[0], key, index), key == "initContainers") for key, index, _ in kinds.containers(template["spec"])]


@pytest.mark.parametrize("name", POD_KINDS)
def test_overlay_kustomize_and_helm_agree_on_replicas(name: str) -> None:
    replicated = KINDS[name].replicated
    overlay = Overlay(name="o", spec={"replicas": 3}, doc=None, root=Path())  # type: ignore[arg-type]
    assert ("replicas" in apply_overlay({"workload": name}, "web", overlay)) == replicated
    obj = kinds.with_pod_template({"kind": name, "metadata": {"name": "web"}, "spec": {"replicas": 1}}, {"spec": {}})
    assert (apply_features(obj, Features(replicas={"web": 3})).get("spec", {}).get("replicas") == 3) == replicated
    assert (("spec", "replicas") in named_paths(obj)) == replicated


# ---------------------------------------------------------------- one home

WORKLOAD_NAMES = frozenset(name for name, kind in KINDS.items() if kind.pod_template is not None)
PROBE_NAMES = frozenset(PROBES)


def _spelled_sets(tree: ast.AST) -> Iterator[tuple[int, list[str]]]:
    """Literal sets, tuples, lists and dict keys naming two or more workload kinds or probes."""
    for node in ast.walk(tree):
        items: list[ast.expr | None] = []
        if isinstance(node, (ast.Set, ast.Tuple, ast.List)):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        names = [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]
        for family in (WORKLOAD_NAMES, PROBE_NAMES):
            spelled = [name for name in names if name in family]
            if len(spelled) >= 2 and isinstance(node, ast.expr):
                yield node.lineno, spelled


def test_no_module_but_kinds_spells_kind_or_probe_sets() -> None:
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {', '.join(names)}"
             for path in sorted(PACKAGE.rglob("*.py")) if path != PACKAGE / "kinds.py"
             for line, names in _spelled_sets(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == []


def test_the_scan_finds_a_spelled_set() -> None:
    source = ('if kind in ("Job", "CronJob"):\n    pass\nPROBES = {"livenessProbe": 1, "startupProbe": 2}\n'
              'ok = ("Job", "Service")\n')
    assert sorted(_spelled_sets(ast.parse(source))) == [(1, ["Job", "CronJob"]), (3, ["livenessProbe", "startupProbe"])]

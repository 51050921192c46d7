"""Kubernetes schema checks: versions, every error reported, strict mode, custom resources,
compile-once caching, and the microservices-demo corpus."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate.utils import ValidationError as KVError

from manifestkit import kube_schemas
from manifestkit.cli import main
from manifestkit.custom_schemas import load_extra_schemas
from manifestkit.diagnostics import ManifestkitError
from manifestkit.schema_errors import SchemaError, check_object
from manifestkit.validation import validate, validate_paths
from manifestkit.validation_checks import Options

from ._fixtures import crd

DEMO = Path(__file__).resolve().parent / "corpora/microservices-demo/kubernetes-manifests"

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.25.4",
                                                   "ports": [{"containerPort": 8080}]}]}}},
}


def broken() -> dict[str, Any]:
    obj = copy.deepcopy(DEPLOYMENT)
    obj["spec"]["replicas"] = "2"
    obj["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8080"
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    del obj["spec"]["selector"]
    return obj


def test_versions_are_the_shipped_ones() -> None:
    shipped = sorted({kubernetes_validate.utils.major_minor(v) for v in kubernetes_validate.utils.all_versions()},
                     key=lambda v: tuple(map(int, v.split("."))))
    assert kube_schemas.kube_versions() == shipped
    assert kube_schemas.kube_versions()[0] == "1.25"
    assert kube_schemas.default_kube_version() in shipped


@pytest.mark.parametrize("version", kube_schemas.kube_versions())
def test_every_shipped_version_checks_a_deployment(version: str) -> None:
    assert check_object(DEPLOYMENT, version) == []
    assert check_object(broken(), version)


def test_unknown_version_lists_the_shipped_ones() -> None:
    with pytest.raises(ManifestkitError) as exc:
        check_object(DEPLOYMENT, "1.99")
    assert str(exc.value) == ("<input>: error: unknown Kubernetes version '1.99'; expected one of: "
                              + ", ".join(kube_schemas.kube_versions()))


@pytest.mark.parametrize("spelling", ["1.30", "v1.30", "1.30.4", "v1.30.0"])
def test_version_spellings(spelling: str) -> None:
    assert kube_schemas.normalize_version(spelling) == "1.30"


def test_every_error_is_reported_with_its_path() -> None:
    assert check_object(broken(), "1.30", strict=True) == [
        SchemaError(("spec",), "missing required field 'selector'"),
        SchemaError(("spec", "replicas"), 'found a string "2"; expected integer'),
        SchemaError(
            ("spec", "template", "spec", "containers", 0, "imagePullPolice"), "unknown field 'imagePullPolice'"
        ),
        SchemaError(
            ("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort"),
            'found a string "8080"; expected integer',
        ),
    ]
    # kubernetes-validate alone stops at the first error
    with pytest.raises(KVError):
        kubernetes_validate.validate(broken(), "1.30", strict=True)


def test_unknown_fields_only_in_strict_mode() -> None:
    obj = copy.deepcopy(DEPLOYMENT)
    obj["metadata"]["labelz"] = {"a": "b"}
    assert check_object(obj, "1.30", strict=False) == []
    assert check_object(obj, "1.30", strict=True) == [SchemaError(("metadata", "labelz"), "unknown field 'labelz'")]


def test_no_schema_is_none() -> None:
    assert check_object({"apiVersion": "example.com/v1", "kind": "Widget"}, "1.30") is None
    # a custom group that shares its first label with a built-in one is not the built-in kind
    assert check_object({**DEPLOYMENT, "apiVersion": "apps.example.com/v1"}, "1.30") is None
    assert check_object({"kind": "Deployment"}, "1.30") is None


def test_schemas_are_compiled_once() -> None:
    kube_schemas._builtin_validator.cache_clear()
    for _ in range(50):
        check_object(DEPLOYMENT, "1.31", strict=True)
        check_object(broken(), "1.31", strict=True)
    info = kube_schemas._builtin_validator.cache_info()
    assert (info.misses, info.hits) == (1, 99)


CRD = crd(group="example.com", kind="Widget", plural="widgets", spec={
    "type": "object", "required": ["size"],
    "properties": {"size": {"type": "integer", "minimum": 1},
                   "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
})


def test_crd_schemas(tmp_path: Path) -> None:
    (tmp_path / "widget-crd.yaml").write_text(CRD)
    extra = load_extra_schemas([tmp_path])
    good = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 2, "extra": {"anything": 1}}}
    assert check_object(good, "1.30", extra=extra) == []
    bad = {**good, "spec": {"size": 0, "colour": "red"}}
    assert check_object(bad, "1.30", strict=True, extra=extra) == [
        SchemaError(("spec", "colour"), "unknown field 'colour'"),
        SchemaError(("spec", "size"), "0 is less than the minimum of 1"),
    ]
    assert check_object(bad, "1.30", strict=False, extra=extra) == [
        SchemaError(("spec", "size"), "0 is less than the minimum of 1")
    ]


def test_json_schemas_by_enum_and_by_kubeconform_file_name(tmp_path: Path) -> None:
    schema = {"type": "object", "properties": {"apiVersion": {"enum": ["example.com/v1"]}, "kind": {"enum": ["Gadget"]},
                                               "spec": {"type": "object", "properties": {"on": {"type": "boolean"}}}}}
    (tmp_path / "gadget.json").write_text(json.dumps(schema))
    (tmp_path / "example.com").mkdir()
    (tmp_path / "example.com" / "gizmo_v1.json").write_text(json.dumps({"type": "object", "required": ["spec"]}))
    extra = load_extra_schemas([tmp_path])
    assert check_object(
        {"apiVersion": "example.com/v1", "kind": "Gadget", "spec": {"on": "yes"}}, "1.30", extra=extra
    ) == [SchemaError(("spec", "on"), 'found a string "yes"; expected boolean')]
    assert check_object({"apiVersion": "example.com/v1", "kind": "Gizmo"}, "1.30", extra=extra) == [
        SchemaError((), "missing required field 'spec'")]


def test_missing_schema_folder_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as exc:
        load_extra_schemas([tmp_path / "nope"])
    assert exc.value.exit_code == 2


def test_microservices_demo_has_no_schema_errors() -> None:
    outcome = validate_paths([str(DEMO)], Options(kube_version="1.30", strict=True))
    assert [d.format() for d in outcome.findings if d.rule in ("schema", "yaml", "duplicate-key")] == []
    manifests = sorted(p for p in DEMO.glob("*.yaml") if p.name != "kustomization.yaml")
    assert len(manifests) == 11
    assert sum(1 for c in outcome.checked if c.status == "checked") == 35


@pytest.mark.parametrize("version", kube_schemas.kube_versions())
def test_microservices_demo_every_version_agrees_with_kubernetes_validate(version: str) -> None:
    from manifestkit.yamlio import load_file

    for path in [*sorted(DEMO.glob("*service.yaml")), DEMO / "loadgenerator.yaml"]:
        for doc in load_file(str(path)):
            kubernetes_validate.validate(doc.data, version, strict=True)
            assert check_object(doc.data, version, strict=True) == []


def test_library_validate_reports_schema_findings() -> None:
    [finding] = [
        d for d in validate([{**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replicas": "2"}}]) if d.rule == "schema"
    ]
    assert (
        finding.format()
        == '<input>: error [schema]: spec.replicas: Deployment/web: found a string "2"; expected integer'
    )


def test_int_or_string_errors_say_what_would_do() -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "x"},
        "spec": {"ports": [{"port": 80, "targetPort": [8080]}]},
    }
    assert check_object(svc, "1.30") == [
        SchemaError(("spec", "ports", 0, "targetPort"), "found a list [8080]; expected string or integer")
    ]


def test_top_level_validate_is_the_library_function() -> None:
    import types

    import manifestkit
    import manifestkit.validation  # the module has its own name, so it never shadows the function

    assert isinstance(manifestkit.validation, types.ModuleType)
    assert callable(manifestkit.validate) and not isinstance(manifestkit.validate, types.ModuleType)
    findings = manifestkit.validate(
        [
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            }
        ],
        kube_version="1.30",
        strict=True,
    )
    assert {d.rule for d in findings} == {"MK007", "MK011", "MK012", "MK013"}


DUPLICATE_KEY_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget}
  names: {kind: Gadget}
"""
ALIAS_BOMB = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 8))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            DUPLICATE_KEY_CRD,
            "schemas/bad.yaml:7:3: error: spec.names: duplicate key 'names' (first defined on line 6)\n"
            "  hint: remove one of the two; YAML keeps only the last and the other is silently lost\n",
        ),
        (
            ALIAS_BOMB,
            "schemas/bad.yaml:1:1: error: YAML aliases expand to more than 1,000,000 nodes\n"
            "  hint: this looks like an alias bomb ('billion laughs'); write the values out or use fewer nested "
            "aliases\n",
        ),
    ],
    ids=["duplicate-key", "alias-bomb"],
)
def test_yaml_schema_files_go_through_the_guarded_loader(text: str, expected: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "bad.yaml").write_text(text)
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    code = main(["validate", "--schemas", "schemas", "cm.yaml"])
    assert (code, capsys.readouterr().err) == (2, expected)
    with pytest.raises(ManifestkitError) as exc:
        load_extra_schemas([Path("schemas")])
    assert exc.value.exit_code == 2

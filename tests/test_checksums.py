"""The checksum step: which pods restart when config changes, and what a Secret gives away."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.checksums import (
    ANNOTATION,
    add_checksums,
    checksum,
    go_json,
    hash_input,
    referenced,
    secret_token,
)
from manifestkit.diagnostics import ManifestkitError
from manifestkit.kinds import pod_template
from manifestkit.loader import load_project
from manifestkit.model import Options, Project, RenderContext, Resource
from manifestkit.pipeline import render_env

from ._fixtures import write_files

PROJECT = """
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: multi}
spec:
  apps: [apps/*.yaml]
"""

APPS = {
    # `a` reads its own ConfigMap through envFrom
    "a": """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: a, namespace: ns}
spec:
  containers:
    - name: a
      image: example/a:1
      envFrom: [{configMapRef: {name: a-config}}]
  configMaps:
    a-config: {data: {COLOR: blue}}
""",
    # `b` owns `shared` and mounts it through a projected volume
    "b": """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: b, namespace: ns}
spec:
  containers:
    - name: b
      image: example/b:1
      volumeMounts: [{name: cfg, mountPath: /cfg}]
  volumes:
    - name: cfg
      projected: {sources: [{configMap: {name: shared}}]}
  configMaps:
    shared: {data: {LEVEL: info, SIZE: "3"}}
""",
    # `c` reads one key of `shared` in an init container only
    "c": """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: c, namespace: ns}
spec:
  workload: CronJob
  schedule: "0 * * * *"
  initContainers:
    - name: prepare
      image: example/c:1
      env:
        - name: LEVEL
          valueFrom: {configMapKeyRef: {name: shared, key: LEVEL}}
  containers:
    - name: c
      image: example/c:1
""",
    # `d` uses no config at all
    "d": """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: d, namespace: ns}
spec:
  containers: [{name: d, image: example/d:1}]
""",
}


def write_project(root: Path, apps: dict[str, str]) -> Path:
    app_files = {f"apps/{name}.yaml": text for name, text in apps.items()}
    return write_files(root, {"manifestkit.yaml": PROJECT, **app_files})


def pod_checksums(root: Path) -> dict[str, str | None]:
    """Workload name → its checksum annotation (None when it has none)."""
    out = {}
    for r in render_env(load_project(root), None, Options()):
        template = pod_template(r.obj)
        if template is not None:
            out[r.name] = (template.get("metadata", {}).get("annotations") or {}).get(ANNOTATION)
    return out


def test_changing_one_key_restarts_exactly_the_pods_using_that_configmap(tmp_path: Path) -> None:
    before = pod_checksums(write_project(tmp_path / "one", APPS))
    changed = {**APPS, "b": APPS["b"].replace("LEVEL: info", "LEVEL: debug")}
    after = pod_checksums(write_project(tmp_path / "two", changed))
    assert before["d"] is None and after["d"] is None
    assert all(value and value.startswith("sha256:") for name, value in before.items() if name != "d")
    assert {name for name in before if before[name] != after[name]} == {"b", "c"}


def test_labels_and_annotations_of_a_configmap_do_not_count(tmp_path: Path) -> None:
    before = pod_checksums(write_project(tmp_path / "one", APPS))
    relabelled = APPS["a"].replace("a-config: {data: {COLOR: blue}}",
                                   "a-config: {data: {COLOR: blue}, labels: {team: x}, annotations: {note: y}}")
    after = pod_checksums(write_project(tmp_path / "two", {**APPS, "a": relabelled}))
    assert before == after


def test_render_twice_gives_the_same_annotations(tmp_path: Path) -> None:
    root = write_project(tmp_path, APPS)
    assert pod_checksums(root) == pod_checksums(root)


POD_SPECS = [
    ("volume configMap", {"volumes": [{"name": "v", "configMap": {"name": "x"}}]}, [("ConfigMap", "x")]),
    ("volume secret", {"volumes": [{"name": "v", "secret": {"secretName": "s"}}]}, [("Secret", "s")]),
    (
        "projected",
        {
            "volumes": [
                {
                    "name": "v",
                    "projected": {
                        "sources": [
                            {"configMap": {"name": "x"}},
                            {"secret": {"name": "s"}},
                            {"serviceAccountToken": {"path": "t"}},
                        ]
                    },
                }
            ]
        },
        [("ConfigMap", "x"), ("Secret", "s")],
    ),
    (
        "envFrom",
        {"containers": [{"name": "c", "envFrom": [{"configMapRef": {"name": "x"}}, {"secretRef": {"name": "s"}}]}]},
        [("ConfigMap", "x"), ("Secret", "s")],
    ),
    (
        "env valueFrom",
        {
            "containers": [
                {
                    "name": "c",
                    "env": [
                        {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "k"}}},
                        {"name": "B", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
                        {"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    ],
                }
            ]
        },
        [("ConfigMap", "x"), ("Secret", "s")],
    ),
    (
        "init container",
        {"initContainers": [{"name": "i", "envFrom": [{"secretRef": {"name": "s"}}]}], "containers": [{"name": "c"}]},
        [("Secret", "s")],
    ),
    (
        "repeats once",
        {
            "containers": [
                {"name": "c", "envFrom": [{"configMapRef": {"name": "x"}}]},
                {"name": "d", "envFrom": [{"configMapRef": {"name": "x"}}]},
            ]
        },
        [("ConfigMap", "x")],
    ),
    ("nothing", {"containers": [{"name": "c", "image": "i"}]}, []),
]


@pytest.mark.parametrize(("pod", "expected"), [(p, e) for _, p, e in POD_SPECS], ids=[i for i, _, _ in POD_SPECS])
def test_references_are_found_everywhere_kubernetes_reads_config(
    pod: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    for kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        assert referenced({"kind": kind, "spec": {"template": {"spec": pod}}}) == expected
    assert referenced({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": pod}}}}}) == expected


# ------------------------------------------------------------------ Secrets

def _ctx(checksums: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> RenderContext:
    spec = {"checksums": checksums} if checksums else {}
    project = Project(name="p", root=Path("."), spec=spec, apps=(), environments={}, file="manifestkit.yaml")
    return RenderContext(project=project, env="default", apps={}, options=Options(environ=environ or {}))


def _secret(value: str, **side: Any) -> Resource:
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pin", "namespace": "ns"}, "type": "Opaque",
           "stringData": {"pin": value}}
    return Resource(obj=obj, app="app", **side)


DEPLOYMENT = Resource(
    obj={
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "ns"},
        "spec": {
            "template": {
                "metadata": {},
                "spec": {"containers": [{"name": "c", "image": "i", "envFrom": [{"secretRef": {"name": "pin"}}]}]},
            }
        },
    },
    app="app",
)


def _annotation(resources: list[Resource]) -> str:
    template = pod_template(next(r for r in resources if r.kind == "Deployment").obj)
    assert template is not None
    return str(template["metadata"]["annotations"][ANNOTATION])


def _guesses(value: str, digest: str) -> list[str]:
    """Every way a careless implementation could have hashed the plaintext."""
    import base64

    encoded = base64.b64encode(value.encode()).decode()
    forms = [
        value,
        encoded,
        go_json({"pin": value}),
        go_json({"stringData": {"pin": value}, "type": "Opaque"}),
        go_json({"data": {"pin": encoded}, "type": "Opaque"}),
        go_json({"Secret/pin": {"stringData": {"pin": value}}}),
        go_json({"Secret/pin": {"data": {"pin": encoded}, "type": "Opaque"}}),
    ]
    return [form for form in forms if f"sha256:{hashlib.sha256(form.encode()).hexdigest()}" == digest
            or hashlib.sha256(form.encode()).hexdigest() in digest]


@pytest.mark.parametrize("checksums", [None, {"hmacKeyEnv": "MK_KEY"}], ids=["no key", "hmac"])
def test_a_low_entropy_secret_cannot_be_found_by_hashing_guesses(checksums: dict[str, Any] | None) -> None:
    ctx = _ctx(checksums, {"MK_KEY": "kept-outside-the-repo"})
    secret_pin = "4711"
    digest = _annotation(add_checksums([_secret(secret_pin), DEPLOYMENT], ctx))
    hits = [pin for pin in ("".join(d) for d in itertools.product("0123456789", repeat=4))
            if _guesses(pin, digest)
            or checksum({"Secret/pin": {"stringData": {"pin": pin}, "type": "Opaque"}}) == digest
            or (checksum(hash_input([_secret(pin)], None)) == digest and checksums is not None)]
    assert hits == []
    # and no form of the plaintext appears in what is hashed
    assert secret_pin not in json.dumps(hash_input([_secret(secret_pin)], b"k" if checksums else None))


def test_hmac_key_makes_a_changed_secret_restart_and_another_key_cannot_confirm_a_guess() -> None:
    ctx = _ctx({"hmacKeyEnv": "MK_KEY"}, {"MK_KEY": "right"})
    one = _annotation(add_checksums([_secret("4711"), DEPLOYMENT], ctx))
    two = _annotation(add_checksums([_secret("4712"), DEPLOYMENT], ctx))
    again = _annotation(add_checksums([_secret("4711"), DEPLOYMENT], ctx))
    assert one != two and one == again
    wrong = _annotation(
        add_checksums([_secret("4711"), DEPLOYMENT], _ctx({"hmacKeyEnv": "MK_KEY"}, {"MK_KEY": "guess"}))
    )
    assert wrong != one
    expected = hmac.new(b"right", go_json({"stringData": {"pin": "4711"}, "type": "Opaque"}).encode(), hashlib.sha256)
    assert secret_token(_secret("4711"), b"right") == f"hmac-sha256:{expected.hexdigest()}"


def test_version_metadata_counts_instead_of_values() -> None:
    ctx = _ctx()
    v3 = _annotation(add_checksums([_secret("a", secret_version="vault:3"), DEPLOYMENT], ctx))
    v3_other_value = _annotation(add_checksums([_secret("b", secret_version="vault:3"), DEPLOYMENT], ctx))
    v4 = _annotation(add_checksums([_secret("a", secret_version="vault:4"), DEPLOYMENT], ctx))
    assert v3 == v3_other_value != v4
    assert secret_token(_secret("a", secret_version="vault:3"), None) == "version:Opaque:vault:3"


def test_without_version_or_key_a_secret_counts_by_type_only_and_output_is_deterministic() -> None:
    ctx = _ctx()
    assert _annotation(add_checksums([_secret("a"), DEPLOYMENT], ctx)) == \
        _annotation(add_checksums([_secret("b"), DEPLOYMENT], ctx))
    assert secret_token(_secret("a"), None) == "unversioned:Opaque"


def test_a_missing_hmac_key_is_an_error_naming_the_variable() -> None:
    with pytest.raises(ManifestkitError) as caught:
        add_checksums([_secret("a"), DEPLOYMENT], _ctx({"hmacKeyEnv": "MK_KEY"}, {}))
    diagnostic = caught.value.diagnostics[0]
    assert (
        diagnostic.message == "spec.checksums.hmacKeyEnv names 'MK_KEY', which is not set; the Secret checksums need it"
    )
    assert diagnostic.hint == "export MK_KEY=<a key kept outside the repository> (the same in CI and locally)"


def test_reloader_mode_annotates_the_workload_instead() -> None:
    out = add_checksums([_secret("a"), DEPLOYMENT], _ctx({"mode": "reloader"}))
    deployment = next(r for r in out if r.kind == "Deployment").obj
    assert deployment["metadata"]["annotations"] == {"secret.reloader.stakater.com/reload": "pin"}
    assert "annotations" not in deployment["spec"]["template"]["metadata"]


def test_mode_none_changes_nothing() -> None:
    resources = [_secret("a"), DEPLOYMENT]
    assert add_checksums(resources, _ctx({"mode": "none"})) == resources


def test_the_step_does_not_change_its_input() -> None:
    resources = [_secret("a"), DEPLOYMENT]
    snapshot = yaml.safe_dump([dict(r.obj) for r in resources])
    add_checksums(resources, _ctx())
    assert yaml.safe_dump([dict(r.obj) for r in resources]) == snapshot


@pytest.mark.parametrize(
    "value", ["plain", "x<y>&z", "é ü", "line\nbreak\ttab", "\u2028\u2029", "\x01\x7f", 'quote"back\\']
)
def test_go_json_escapes_as_go_does(value: str) -> None:
    escapes = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
    expected = json.dumps({"b": value, "a": 1}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char, escape in escapes.items():
        expected = expected.replace(char, escape)
    assert go_json({"b": value, "a": 1}) == expected


def test_reloader_mode_annotates_the_workload_with_each_configmap_and_secret_it_reads() -> None:
    pod = {"containers": [{"name": "c", "image": "i", "env": [
               {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db-secret", "key": "pw"}}}]}],
           "volumes": [{"name": "conf", "configMap": {"name": "web-config"}}]}
    workload = Resource(
        obj={
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"template": {"metadata": {}, "spec": pod}},
        },
        app="app",
    )
    out = add_checksums([workload], _ctx({"mode": "reloader"}))
    assert out[0].obj["metadata"]["annotations"] == {"configmap.reloader.stakater.com/reload": "web-config",
                                                     "secret.reloader.stakater.com/reload": "db-secret"}
    template = pod_template(out[0].obj)
    assert template is not None and ANNOTATION not in (template["metadata"].get("annotations") or {})
    assert workload.obj["metadata"] == {"name": "web", "namespace": "ns"}   # the input is not changed


@pytest.mark.parametrize("checksums", [None, {"mode": "reloader"}], ids=["annotation", "reloader"])
def test_an_object_that_already_has_its_annotations_is_given_back_and_one_with_others_is_annotated_anew(
        checksums: dict[str, Any] | None) -> None:
    ctx = _ctx(checksums)
    once = add_checksums([_secret("a"), DEPLOYMENT], ctx)
    again = add_checksums(once, ctx)       # a render cache entry's objects carry their annotations
    assert again[1] is once[1], "nothing to add: the object as it is"
    stale = json.loads(json.dumps(once[1].obj))
    for meta in (stale["metadata"], stale["spec"]["template"]["metadata"]):
        if "annotations" in meta:
            meta["annotations"] = {key: "stale" for key in meta["annotations"]}
    fixed = add_checksums([once[0], once[1].replace_obj(stale)], ctx)
    assert json.dumps(fixed[1].obj) == json.dumps(again[1].obj), "another value: annotated again, in place"

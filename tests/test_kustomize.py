"""`--format kustomize`: real `kubectl kustomize DIR/overlays/<env>` gives the plain render, and
`DIR/overlays/<env>/<app>` that app's part of it."""

from __future__ import annotations

import base64
import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import jsonpatch
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit import kinds
from manifestkit.emit.kustomize import KUSTOMIZATION, overlay_files
from manifestkit.emit.kustomize_features import Features, apply_features, choose_features
from manifestkit.json_copy import json_copy, same_json
from manifestkit.kinds import KINDS
from manifestkit.loader import load_project
from manifestkit.model import Options, Resource
from manifestkit.pipeline import render_env

from ._fixtures import write_files
from ._formats import PATTERNED_FILES, case_id, differences, env_cases, keyed, plain_objects, render_dir

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed (see README: test tools)")
SHOP = Path(__file__).parents[1] / "examples" / "shop"
DEPRECATED = {"commonLabels", "patchesStrategicMerge", "patchesJson6902", "vars", "bases", "commonAnnotations"}


def kustomize(folder: Path) -> dict[tuple[str, str, str], Any]:
    assert KUBECTL is not None
    done = subprocess.run([KUBECTL, "kustomize", str(folder)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return keyed(yaml.safe_load_all(done.stdout))


@needs_kubectl
@pytest.mark.parametrize("case", env_cases(), ids=case_id)
def test_every_env_of_every_example_builds_like_the_plain_render(case: tuple[Path, str], tmp_path: Path) -> None:
    root, env = case
    project = load_project(root)
    out = render_dir(project, "kustomize", tmp_path / "out")
    assert differences(kustomize(out / "overlays" / env), plain_objects(project, env)) == []


@needs_kubectl
def test_base_manifests_and_patterns_survive_every_environment(tmp_path: Path) -> None:
    project = load_project(write_files(tmp_path / "project", PATTERNED_FILES))
    out = render_dir(project, "kustomize", tmp_path / "out")
    for env in ("dev", "prod"):
        built = kustomize(out / "overlays" / env)
        assert differences(built, plain_objects(project, env)) == []
        pod = built[("Deployment", f"echo-{env}", "echo")]["spec"]["template"]
        assert [c["name"] for c in pod["spec"]["containers"]] == ["echo", "envoy"]
        assert pod["metadata"]["annotations"]["manifestkit.dev/patterns"] == "sidecar/envoy"


def test_shop_prod_is_one_kustomization_per_app_using_kustomize_features_never_deprecated_ones(
        tmp_path: Path) -> None:
    out = render_dir(load_project(SHOP), "kustomize", tmp_path / "out")
    for kustomization in out.glob("**/kustomization.yaml"):
        assert not DEPRECATED & set(yaml.safe_load(kustomization.read_text())), kustomization
    apps = ["api", "cleanup", "web"]
    assert _kustomization(out / "base") == {**KUSTOMIZATION, "resources": apps}
    assert _kustomization(out / "overlays" / "prod") == {**KUSTOMIZATION, "resources": apps}
    web = _kustomization(out / "overlays" / "prod" / "web")
    assert web["resources"] == ["../../../base/web", "resources/shop-prod/poddisruptionbudget-web.yaml"]
    assert web["namespace"] == "shop-prod"
    assert web["labels"] == [{"pairs": {"env": "prod"}, "includeSelectors": False, "includeTemplates": True}]
    assert "images" not in web, "the overlay's one image rule names no image of web"
    assert web["replicas"] == [{"name": "web", "count": 4}]
    assert "/metadata/labels" not in json.dumps(web["patches"]), "includeTemplates labels the pod template"
    api = _kustomization(out / "overlays" / "prod" / "api")
    assert api["images"] == [{"name": "ghcr.io/example/shop-api", "newTag": "2.3.2"}]
    assert api["replicas"] == [{"name": "api", "count": 2}]
    # includeTemplates would also label a CronJob's spec.jobTemplate.metadata, which the render does not.
    cleanup = _kustomization(out / "overlays" / "prod" / "cleanup")
    assert cleanup["labels"][0]["includeTemplates"] is False


def _kustomization(folder: Path) -> Any:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


@needs_kubectl
@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_app_of_an_environment_builds_alone_like_its_objects_of_the_plain_render(env: str, tmp_path: Path) -> None:
    project = load_project(SHOP)
    out = render_dir(project, "kustomize", tmp_path / "out")
    want = plain_objects(project, env)
    apps: dict[str, set[tuple[str, str, str]]] = {}
    for r in render_env(project, env, Options()):
        apps.setdefault(str(r.app), set()).add((r.kind, r.namespace, r.name))
    assert sorted(apps) == ["api", "cleanup", "web"]
    for app, keys in apps.items():
        assert differences(kustomize(out / "overlays" / env / app), {k: want[k] for k in keys}) == [], app


def _templated_objects() -> list[dict[str, Any]]:
    """An object of every kind with a pod template (a StatefulSet with a volume claim
    template), and a Deployment of another API group."""
    pod = {"spec": {"containers": [{"name": "c", "image": "x"}]}}
    objs = [kinds.with_pod_template({"apiVersion": kind.api_version, "kind": name,
                                     "metadata": {"name": name.lower(), "labels": {"app": "x"}}}, pod)
            for name, kind in KINDS.items() if kind.pod_template is not None]
    for obj in objs:
        if obj["kind"] == "StatefulSet":
            obj["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "data"}, "spec": {}}]
    return [*objs, {**objs[1], "apiVersion": "example.com/v1", "metadata": {"name": "other-group"}}]


@needs_kubectl
def test_the_include_templates_prediction_is_what_real_kustomize_does_for_every_kind(tmp_path: Path) -> None:
    objs = _templated_objects()
    (tmp_path / "objects.yaml").write_text(yaml.safe_dump_all(objs))
    labels = [{"pairs": {"env": "prod"}, "includeSelectors": False, "includeTemplates": True}]
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump({"resources": ["objects.yaml"], "labels": labels}))
    predicted = keyed(apply_features(obj, Features(labels={"env": "prod"}, template_labels=True)) for obj in objs)
    assert differences(kustomize(tmp_path), predicted) == []
    assert predicted[("CronJob", "", "cronjob")]["spec"]["jobTemplate"]["metadata"] == {"labels": {"env": "prod"}}
    assert predicted[("Pod", "", "pod")]["spec"] == objs[0]["spec"], "a Pod is its own template: labels only once"


def _obj(kind: str, name: str, namespace: str = "a", **more: Any) -> Resource:
    api = {"RoleBinding": "rbac.authorization.k8s.io/v1", "Deployment": "apps/v1"}.get(kind, "v1")
    return Resource(
        obj={"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": namespace}, **more}, app="app"
    )


def test_namespace_transformer_is_not_used_where_it_would_rewrite_role_binding_subjects() -> None:
    subjects = [{"kind": "ServiceAccount", "name": "x", "namespace": "elsewhere"}]
    base = [_obj("RoleBinding", "rb", subjects=subjects, roleRef={"kind": "Role", "name": "r", "apiGroup": "x"})]
    env = [_obj("RoleBinding", "rb", "b", subjects=subjects, roleRef={"kind": "Role", "name": "r", "apiGroup": "x"})]
    kustomization = yaml.safe_load(overlay_files(base, env)["kustomization.yaml"].data)
    assert "namespace" not in kustomization
    assert kustomization["patches"][0]["target"] == {"group": "rbac.authorization.k8s.io", "version": "v1",
                                                      "kind": "RoleBinding", "name": "rb", "namespace": "a"}


def test_a_label_that_one_object_overrides_is_patched_not_transformed() -> None:
    base = [_obj("ConfigMap", "one"), _obj("ConfigMap", "two")]
    env = [_obj("ConfigMap", "one", metadata={"name": "one", "namespace": "a", "labels": {"env": "x"}}),
           _obj("ConfigMap", "two", metadata={"name": "two", "namespace": "a", "labels": {"env": "y"}})]
    features = choose_features(
        {("app", r.kind, r.name): r for r in base}, {("app", r.kind, r.name): r for r in env}, ()
    )
    assert features.labels == {}


def test_objects_dropped_by_an_environment_are_deleted_with_a_patch() -> None:
    base = [_obj("ConfigMap", "keep"), _obj("ConfigMap", "gone")]
    kustomization = yaml.safe_load(overlay_files(base, base[:1])["kustomization.yaml"].data)
    assert yaml.safe_load(kustomization["patches"][0]["patch"]) == {
        "$patch": "delete", "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "gone", "namespace": "a"}}


def test_apply_features_predicts_images_and_replicas() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}}
    out = apply_features(deployment, Features("ns", {"env": "x"}, ({"name": "nginx", "newTag": "2"},), {"web": 3}))
    assert out["metadata"] == {"name": "web", "namespace": "ns", "labels": {"env": "x"}}
    assert out["spec"]["replicas"] == 3
    assert out["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_secrets_follow_the_secret_output_mode_and_are_private(tmp_path: Path) -> None:
    project = load_project(Path(__file__).parents[1] / "examples" / "sops")
    plain = Options(secret_output="secret", allow_plaintext_secrets=True)
    out = render_dir(project, "kustomize", tmp_path / "secret", plain)
    rendered = plain_objects(project, "default", plain)
    plaintext = [
        v for (kind, _, _), obj in rendered.items() if kind == "Secret" for v in (obj.get("stringData") or {}).values()
    ]
    plaintext += [base64.b64decode(v).decode() for (kind, _, _), obj in rendered.items() if kind == "Secret"
                  for v in (obj.get("data") or {}).values()]
    assert plaintext
    for path in out.glob("base/**/secret-*.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        obj = yaml.safe_load(path.read_text())
        assert rendered[("Secret", obj["metadata"]["namespace"], obj["metadata"]["name"])] == obj
    encrypted = render_dir(project, "kustomize", tmp_path / "sops", Options(secret_output="sops"))
    assert list(encrypted.glob("base/**/secret-*.yaml")) == [], "sealed Secrets are per environment, never in the base"
    files = list(encrypted.glob("overlays/*/*/resources/**/secret-*.yaml"))   # overlays/<env>/<app>/
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert "ENC[AES256_GCM" in text
        assert [v for v in plaintext if len(v) > 6 and v in text] == []   # ("shop" is also the namespace)


class _Text(str):
    """A str subclass, as SecretStr and the traced strings of `explain` are."""


_leaves = st.one_of(st.text(max_size=3), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False),
                    st.text(max_size=3).map(_Text))
_values = st.recursive(_leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.lists(inner, max_size=2).map(tuple),
    st.dictionaries(st.one_of(st.text(max_size=2), st.integers(0, 3)), inner, max_size=3)), max_leaves=15)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=3), _values, max_size=4))
def test_json_copy_copies_as_a_json_round_trip_does(obj: dict[str, Any]) -> None:
    copy = json_copy(obj)
    assert copy == json.loads(json.dumps(obj))
    assert all(type(k) is str for k in copy) and _no_subclass_or_tuple(copy)


def _no_subclass_or_tuple(node: Any) -> bool:
    if isinstance(node, dict):
        return all(type(k) is str and _no_subclass_or_tuple(v) for k, v in node.items())
    if isinstance(node, list):
        return all(_no_subclass_or_tuple(v) for v in node)
    return type(node) in (str, int, float, bool, type(None))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(st.sampled_from("abc"), _values, max_size=3), st.dictionaries(st.sampled_from("abc"), _values,
                                                                                      max_size=3))
def test_same_json_is_what_jsonpatch_finds_no_operation_for(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The Kustomize emitter skips jsonpatch's diff for the same JSON (the common case); 1, True and 1.0 differ."""
    before, after = json_copy(before), json_copy(after)
    for a, b in ((before, after), (before, before), (before, json_copy(before)), ({"x": [1]}, {"x": [True]}),
                 ({"x": 1.0}, {"x": 1})):
        assert same_json(a, b) == (jsonpatch.make_patch(a, b).patch == [])

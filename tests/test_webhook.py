"""`manifestkit webhook` request handling (issue 12), pure: AdmissionReview in, response out;
the result equals what `manifestkit inject` makes of the same pod, and reinvocation is idempotent."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.patterns.inject import Change
from manifestkit.patterns.user import registry
from manifestkit.webhook.config import WebhookConfig, load_config, parse_config
from manifestkit.webhook.mutate import inline_generated
from manifestkit.webhook.review import handle
from manifestkit.webhook.selectors import matches
from manifestkit.yaml_dump import dump
from manifestkit.yamlio import load_documents

DATA = Path(__file__).resolve().parent / "data" / "webhook"
CONFIG = DATA / "webhook-config.yaml"


def review() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "demoapp-review.json").read_text())
    return data


def config(text: str = "") -> WebhookConfig:
    return parse_config(text, "webhook.yaml", registry(None)) if text else load_config(str(CONFIG), registry(None))


def answer(cfg: WebhookConfig, body: dict[str, Any]) -> dict[str, Any]:
    reply = handle(cfg, json.dumps(body).encode(), cfg.rules, own_namespace="manifestkit")
    assert reply.status == 200, reply.body
    response: dict[str, Any] = reply.body["response"]
    assert response["uid"] == body["request"]["uid"]
    return response


def patched(body: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    assert response["patchType"] == "JSONPatch"
    result: dict[str, Any] = jsonpatch.apply_patch(
        body["request"]["object"], json.loads(base64.b64decode(response["patch"]))
    )
    return result


def offline_inject(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], obj: dict[str, Any], *patterns: str
) -> list[Any]:
    """`manifestkit inject` of the same object, as a user runs it."""
    (tmp_path / "pod.yaml").write_text(dump(obj))
    capsys.readouterr()
    assert main(["inject", *(a for p in patterns for a in ("-p", p)), str(tmp_path / "pod.yaml")]) == 0
    return [doc.data for doc in load_documents(capsys.readouterr().out, "<inject>")]


def test_seed_pod_gets_what_inject_makes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = review()
    response = answer(config(), body)
    assert response["allowed"] is True and "warnings" not in response
    pod = patched(body, response)
    assert [c["image"] for c in pod["spec"]["containers"]] == ["hashicorp/http-echo", "envoyproxy/envoy:v1.31.2"]
    offline = offline_inject(tmp_path, capsys, body["request"]["object"], "sidecar/envoy=upstreamPort=5678")
    inject_pod, inject_config_map = offline
    # The containers are exactly inject's; its ConfigMap travels inside the pod instead (a webhook creates no objects).
    assert pod["spec"]["containers"] == inject_pod["spec"]["containers"]
    assert pod == inline_generated([Change(body["request"]["object"], inject_pod), Change(None, inject_config_map)]).obj
    volume = pod["spec"]["volumes"][-1]
    key = "envoy-config.files.manifestkit.dev/envoy.yaml"
    assert volume == {"name": "envoy-config", "downwardAPI": {"items": [
        {"path": "envoy.yaml", "fieldRef": {"fieldPath": f"metadata.annotations['{key}']"}}]}}
    assert pod["metadata"]["annotations"][key] == inject_config_map["data"]["envoy.yaml"]
    assert "port_value: 5678" in pod["metadata"]["annotations"][key]
    (tmp_path / "patched.yaml").write_text(dump(pod))
    assert main(["validate", "--strict", "--no-lint", str(tmp_path / "patched.yaml")]) == 0


def test_reinvocation_of_the_patched_pod_is_an_empty_patch() -> None:
    cfg = config()
    body = review()
    again = copy.deepcopy(body)
    again["request"]["object"] = patched(body, answer(cfg, body))
    again["request"]["uid"] = "0d1e6b7c-2f4a-4c59-9d3e-5b8a7c6d2e10"
    assert answer(cfg, again) == {"uid": again["request"]["uid"], "allowed": True}


def test_dry_run_is_answered_the_same() -> None:
    cfg = config()
    body = review()
    dry = copy.deepcopy(body)
    dry["request"]["dryRun"] = True
    assert answer(cfg, dry) == answer(cfg, body)
    assert handle(cfg, json.dumps(dry).encode(), cfg.rules).log.endswith("patched sidecar/envoy (dry run)")


def with_annotation(value: str) -> dict[str, Any]:
    body = review()
    body["request"]["object"]["metadata"]["annotations"] = {"manifestkit.dev/inject": value}
    return body


SELECTIVE = """apiVersion: manifestkit.dev/v1alpha1
kind: WebhookConfig
metadata: {name: sidecars}
spec:
  onConflict: {on_conflict}
  rules:
    - objectSelector: {matchLabels: {mesh: "on"}}
      kinds: [Pod, Deployment]
      patterns: [{use: sidecar/envoy, with: {upstreamPort: 5678}}]
"""


@pytest.mark.parametrize(("annotation", "injected"), [
    (None, False),                      # the objectSelector does not match the demoapp pod
    ("true", True),                     # opt in to every pattern of the rules
    ("sidecar/envoy", True),            # opt in by name
    ("sidecar/log-tailer", False),      # a pattern no rule offers: a warning, nothing injected
    ("false", False),                   # opt out
])
def test_opt_in_and_out_annotation(annotation: str | None, injected: bool) -> None:
    cfg = config(SELECTIVE.replace("{on_conflict}", "deny"))
    body = review() if annotation is None else with_annotation(annotation)
    response = answer(cfg, body)
    assert ("patch" in response) is injected
    if annotation == "sidecar/log-tailer":
        assert response["warnings"] == [
            "manifestkit.dev/inject: pattern 'sidecar/log-tailer' is not offered by this webhook; "
            "offered: sidecar/envoy"
        ]


def test_opt_out_wins_over_a_matching_rule() -> None:
    assert answer(config(), with_annotation("false")) == {"uid": review()["request"]["uid"], "allowed": True}


@pytest.mark.parametrize("namespace", ["kube-system", "manifestkit"])
def test_the_webhook_never_mutates_its_own_namespace_or_kube_system(namespace: str) -> None:
    body = review()
    body["request"]["namespace"] = namespace
    assert "patch" not in answer(config(), body)


def test_deployment_pod_template_for_teams_that_want_to_see_it() -> None:
    cfg = config(SELECTIVE.replace("{on_conflict}", "deny"))
    template = {
        "metadata": {"labels": {"app": "demoapp", "mesh": "on"}},
        "spec": {"containers": [{"name": "demoapp", "image": "hashicorp/http-echo:1.0", "args": ["-text", "hello"]}]},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "demoapp", "namespace": "demoapp"},
        "spec": {"selector": {"matchLabels": {"app": "demoapp"}}, "template": template},
    }
    body = review()
    body["request"].update(kind={"group": "apps", "version": "v1", "kind": "Deployment"}, object=deployment,
                           resource={"group": "apps", "version": "v1", "resource": "deployments"})
    result = patched(body, answer(cfg, body))
    assert [c["name"] for c in result["spec"]["template"]["spec"]["containers"]] == ["demoapp", "envoy"]
    # The pods the Deployment makes already carry the pattern: the Pod rule then patches nothing.
    pod_body = review()
    pod_body["request"]["object"]["metadata"] = {
        **result["spec"]["template"]["metadata"],
        "name": "demoapp-7d9f-x2x",
        "namespace": "demoapp",
    }
    pod_body["request"]["object"]["spec"] = result["spec"]["template"]["spec"]
    assert "patch" not in answer(cfg, pod_body)


def test_native_sidecar_when_the_kubernetes_version_allows_it() -> None:
    text = (
        CONFIG.read_text()
        .replace('"1.30"', '"1.29"')
        .replace("with: {upstreamPort: 5678}", "with: {upstreamPort: 5678}\n          native: auto")
    )
    body = review()
    pod = patched(body, answer(config(text), body))
    assert [c["name"] for c in pod["spec"]["containers"]] == ["demoapp"]
    assert [(c["name"], c["restartPolicy"]) for c in pod["spec"]["initContainers"]] == [("envoy", "Always")]
    old = answer(config(text.replace('"1.29"', '"1.28"')), review())
    assert [c["name"] for c in patched(review(), old)["spec"]["containers"]] == ["demoapp", "envoy"]


def conflicting_body() -> dict[str, Any]:
    body = review()
    body["request"]["object"]["spec"]["containers"].append({"name": "envoy", "image": "example/envoy:1"})
    return body


def test_conflict_denies_with_a_clear_message() -> None:
    response = answer(config(), conflicting_body())
    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    assert response["status"]["message"].startswith("manifestkit: Pod/demoapp: ")
    assert "envoy" in response["status"]["message"]


def test_conflict_warns_when_configured() -> None:
    response = answer(config(CONFIG.read_text().replace("onConflict: deny", "onConflict: warn")), conflicting_body())
    assert response["allowed"] is True and "patch" not in response
    assert response["warnings"][0].startswith("manifestkit: not injected: Pod/demoapp: ")


BAD_BODIES = [
    (b"not json", "the body is not JSON"),
    (b"[1, 2]", "the body is not a JSON object"),
    (
        json.dumps(
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}
        ).encode(),
        "found apiVersion 'admission.k8s.io/v1beta1', kind 'AdmissionReview'; expected admission.k8s.io/v1 "
        "AdmissionReview",
    ),
    (
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "Pod"}).encode(),
        "found apiVersion 'admission.k8s.io/v1', kind 'Pod'; expected admission.k8s.io/v1 AdmissionReview",
    ),
    (
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
        "the review has no request",
    ),
    (
        json.dumps(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {"object": {}}}
        ).encode(),
        "the request has no uid",
    ),
    (b"\xff\xfe", "the body is not JSON"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_malformed_bodies_are_400(body: bytes, message: str) -> None:
    cfg = config()
    reply = handle(cfg, body, cfg.rules)
    assert (reply.status, reply.body, reply.log) == (
        400,
        {"error": message},
        f"rejected a malformed request: {message}",
    )


@pytest.mark.parametrize("breaks", ["containers", "metadata", "labels"])
def test_a_malformed_object_is_400(breaks: str) -> None:
    body = review()
    obj = body["request"]["object"]
    {"containers": lambda: obj["spec"].update(containers="x"), "metadata": lambda: obj.update(metadata=None),
     "labels": lambda: obj["metadata"].update(labels=["a"])}[breaks]()
    cfg = config()
    reply = handle(cfg, json.dumps(body).encode(), cfg.rules)
    assert (reply.status, reply.body) == (400, {"error": "request.object is not a well-formed Kubernetes object"})


def test_the_log_line_never_carries_the_body() -> None:
    body = review()
    body["request"]["object"]["spec"]["containers"][0]["env"] = [{"name": "TOKEN", "value": "s3cr3t-value"}]
    cfg = config()
    reply = handle(cfg, json.dumps(body).encode(), cfg.rules)
    assert reply.log == "6f84fe4b-902a-47ec-bd52-50a3a2bd16f2 CREATE Pod demoapp/demoapp: patched sidecar/envoy"


def test_delete_is_allowed_unchanged() -> None:
    body = review()
    body["request"].update(operation="DELETE", object=None, oldObject=body["request"]["object"])
    assert answer(config(), body) == {"uid": body["request"]["uid"], "allowed": True}


def test_a_pod_update_is_never_mutated() -> None:
    """A running pod's containers cannot change; only its creation is mutated."""
    body = review()
    body["request"].update(operation="UPDATE", oldObject=body["request"]["object"])
    assert answer(config(), body) == {"uid": body["request"]["uid"], "allowed": True}


CONFIG_ERRORS = [
    (
        "kind: WebhookConfig",
        "kind: WebhookConfg",
        "webhook.yaml:2:1: error: kind: apiVersion 'manifestkit.dev/v1alpha1', kind 'WebhookConfg' is not a "
        "manifestkit file; "
        "expected apiVersion manifestkit.dev/v1alpha1 and kind one of: WebhookConfig\n  hint: did you mean "
        "'WebhookConfig'?",
    ),
    (
        "use: sidecar/envoy",
        "use: sidecar/envoi",
        "webhook.yaml:13:11: error: spec.rules[0].patterns[0].use: unknown pattern 'sidecar/envoi'; expected one of: "
        + ", ".join(sorted(registry(None)))
        + "\n  hint: did you mean 'sidecar/envoy'?",
    ),
    (
        "upstreamPort: 5678",
        "upstreamPort: 99999",
        "webhook.yaml:14:18: error: spec.rules[0].patterns[0].with.upstreamPort: sidecar/envoy: 99999 is greater than "
        "the maximum of 65535",
    ),
    (
        "onConflict: deny",
        "onConflict: allow",
        "webhook.yaml:7:3: error: spec.onConflict: found 'allow'; expected one of: deny, warn",
    ),
    (
        "    - name: envoy\n",
        "    - name: envoy\n      kinds: [Pods]\n",
        "webhook.yaml:10:15: error: spec.rules[0].kinds[0]: found kind 'Pods'; expected one of: CronJob, DaemonSet, "
        "Deployment, "
        "Job, Pod, ReplicaSet, ReplicationController, StatefulSet\n  hint: did you mean 'Pod'?",
    ),
]


@pytest.mark.parametrize(("old", "new", "message"), CONFIG_ERRORS)
def test_bad_config_is_a_located_error(old: str, new: str, message: str) -> None:
    with pytest.raises(ManifestkitError) as exc:
        config(CONFIG.read_text().replace(old, new))
    assert "\n".join(d.format() for d in exc.value.diagnostics) == message


@pytest.mark.parametrize(("selector", "labels", "expected"), [
    (None, {}, True),
    ({"matchLabels": {"injection": "enabled"}}, {"injection": "enabled", "x": "y"}, True),
    ({"matchLabels": {"injection": "enabled"}}, {"injection": "disabled"}, False),
    ({"matchExpressions": [{"key": "env", "operator": "In", "values": ["dev", "prod"]}]}, {"env": "dev"}, True),
    ({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}, {}, True),
    ({"matchExpressions": [{"key": "env", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]}, {}, True),
])
def test_label_selectors(selector: dict[str, Any] | None, labels: dict[str, str], expected: bool) -> None:
    assert matches(selector, labels) is expected


def test_a_generated_object_that_cannot_travel_in_the_pod_is_a_conflict() -> None:
    pod = review()["request"]["object"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "demoapp-extra"}, "stringData": {"k": "v"}}
    env_only = {**pod, "spec": {**pod["spec"], "containers": [
        {**pod["spec"]["containers"][0], "envFrom": [{"configMapRef": {"name": "demoapp-env"}}]}]}}
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demoapp-env"}, "data": {"A": "1"}}
    assert inline_generated([Change(pod, pod), Change(None, secret)]).problems == [
        "a pattern generates Secret 'demoapp-extra', which an admission webhook cannot create"]
    assert inline_generated([Change(pod, env_only), Change(None, config_map)]).problems == [
        "the pod reads ConfigMap 'demoapp-env' other than as a volume; an admission webhook cannot create it"]

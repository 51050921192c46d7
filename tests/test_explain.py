"""`manifestkit explain` (issue 15, point 5) on the shipped examples and the seeds' apps: golden outputs for a field set
by the App, overridden by an overlay, set by a pattern, a patch, builtin:production, a secret mode, the checksum or a
default, list items by name, redacted Secrets, JSON, the object listing; and every error, with its exact message.
Regenerate with --update-golden and review the diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.explain_path import Item, find_object, format_field, resolve, tokens
from manifestkit.explain_run import SPLITS
from manifestkit.model import Resource
from manifestkit.pipeline import STEPS

from .conftest import ROOT
from .test_cli_citizen import _complete

GOLDEN = Path(__file__).parent / "golden" / "explain"
SHOP = ("-p", "examples/shop", "--env", "prod")
IMAGE = "Deployment/web.spec.template.spec.containers[web].image"

CASES: dict[str, tuple[str, ...]] = {
    # the App, then an overlay over it; list items by name and by index
    "shop-prod-image-overlay": ("web", IMAGE, *SHOP),
    "shop-prod-port-app": ("web", "Deployment/web.spec.template.spec.containers[0].ports[http].containerPort", *SHOP),
    "shop-dev-env-overlay": ("web", "spec.template.spec.containers[web].env[LOG_LEVEL].value", "-p", "examples/shop",
                             "--env", "dev"),
    "shop-dev-replicas-overlay": ("web", "spec.replicas", "-p", "examples/shop", "--env", "dev"),
    "shop-prod-configmap-overlay": ("web", "ConfigMap/web-config.data.MODE", *SHOP),
    # builtin:production: a number, a boolean found beside its neighbours, the PodDisruptionBudget it asks for
    "shop-prod-replicas-builtin": ("api", "spec.replicas", *SHOP),
    "shop-prod-readonly-builtin": ("api", "spec.template.spec.containers[api].securityContext.readOnlyRootFilesystem",
                                   *SHOP),
    "shop-prod-pdb-builtin": ("web", "PodDisruptionBudget/web.spec", *SHOP),
    # an overlay's images rule, a template-rendered file, a default, the checksum, a subtree, a label key with dots
    "shop-prod-image-rule": ("api", "spec.template.spec.containers[api].image", *SHOP),
    "shop-prod-template-file": ("web", "ConfigMap/web-config.data[default.conf]", *SHOP),
    "shop-prod-default": ("web", "Deployment/web.apiVersion", *SHOP),
    "shop-prod-checksum": ("web", "spec.template.metadata.annotations[manifestkit.dev/config-checksum]", *SHOP),
    "shop-prod-resources": ("web", "spec.template.spec.containers[web].resources", *SHOP),
    "shop-prod-label-dots": ("web", "deployment/shop-prod/web.metadata.labels.app.kubernetes.io/part-of", *SHOP),
    "shop-prod-objects": ("web", *SHOP),
    "shop-prod-image-json": ("web", IMAGE, *SHOP, "--output", "json"),
    "shop-prod-resources-json": ("web", "spec.template.spec.containers[web].resources", *SHOP, "--output", "json"),
    "shop-prod-objects-json": ("web", *SHOP, "--output", "json"),
    # patterns: one asked for by the App, its `with:` parameter; four in a row on one annotation
    "http-echo-pattern": ("demoapp", "Pod/demoapp.spec.containers[envoy].image", "-p", "examples/http-echo"),
    "http-echo-objects": ("demoapp", "-p", "examples/http-echo"),
    "elasticsearch-pattern-param": ("elasticsearch",
                                    "spec.template.spec.containers[prometheus-exporter].ports[http-prometheus]"
                                    ".containerPort", "-p", "examples/elasticsearch"),
    "elasticsearch-patterns-annotation": ("elasticsearch",
                                          "spec.template.metadata.annotations[manifestkit.dev/patterns]",
                                          "-p", "examples/elasticsearch"),
    # an overlay's object patch, an overlay over an HPA, a base manifest (Google's microservices-demo)
    "platform-prod-patch": ("db", "Service/db.spec.type", "-p", "examples/platform", "--env", "prod"),
    "platform-prod-hpa": ("web", "HorizontalPodAutoscaler.spec.minReplicas", "-p", "examples/platform", "--env",
                          "prod"),
    "microservices-demo-base": ("frontend", "spec.template.spec.containers[server].image", "-p",
                                "examples/microservices-demo"),
    # secrets: redacted values, the mode that wrote them, an env ref moved into a Secret, --secret-output
    "sops-secret-redacted": ("api", "Secret/api-keys.data.key", "-p", "examples/sops"),
    "sops-secret-data-json": ("api", "Secret/api-keys.data", "-p", "examples/sops", "--output", "json"),
    "sops-env-moved": ("api", "spec.template.spec.containers[api].env[DB_PASSWORD].valueFrom.secretKeyRef.name",
                       "-p", "examples/sops"),
    "sops-mode-flag": ("api", "Secret/api-keys.data.key", "-p", "examples/sops", "--secret-output", "sops"),
    # the seeds: the Vault agent delivered by the secrets step, an App file alone, mirrors
    "vault-agent-objects": ("application", "-p", "examples/seed-000-vault-agent"),
    "vault-agent-sidecar": ("application", "spec.template.spec.containers[vault-agent].securityContext.runAsUser",
                            "-p", "examples/seed-000-vault-agent"),
    "seed-000-nginx-template": ("application", "ConfigMap/application-html.data[index.html]", "-p",
                                "examples/seed-000-nginx/application.yaml"),
    "seed-003-mirror-objects": ("mirrors", "-p", "examples/seed-003-mirror"),
}

ERRORS: dict[str, tuple[str, ...]] = {
    "unknown-app": ("wbe", *SHOP),
    "unknown-env": ("web", "-p", "examples/shop", "--env", "prd"),
    "several-envs-and-unknown-app": ("wbe", "-p", "examples/shop"),
    "no-project": ("web", "-p", "docs"),
    "unknown-object": ("web", "Deployment/wbe.spec", *SHOP),
    "unknown-kind": ("web", "Deploy.spec", *SHOP),
    "several-of-a-kind": ("db", "Service.spec", "-p", "examples/platform", "--env", "prod"),
    "no-workload": ("shared", "spec.replicas", "-p", "examples/platform", "--env", "prod"),
    "unknown-field": ("web", "spec.replics", *SHOP),
    "no-such-item": ("web", "spec.template.spec.containers[app].image", *SHOP),
    "index-out-of-range": ("web", "spec.template.spec.containers[5]", *SHOP),
    "field-of-a-value": ("web", "spec.replicas.foo", *SHOP),
    "unclosed-bracket": ("web", "spec.template.spec.containers[web", *SHOP),
    "empty-field": ("web", "metadata..name", *SHOP),
    "unknown-object-in-namespace": ("web", "Deployment/shop-dev/web.spec", *SHOP),
    "field-of-a-secret-value": ("api", "Secret/api-keys.data.key.x", "-p", "examples/sops"),
    "secret-not-there": ("application", "Secret/application-html", "-p", "examples/seed-000-vault-agent"),
}


def _run(args: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[
        int, str, str]:
    monkeypatch.chdir(ROOT)
    code = main(["explain", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _golden(name: str, text: str, update: bool) -> str:
    path = GOLDEN / f"{name}.txt"
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_explains_to_golden(name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                            update_golden: bool) -> None:
    code, out, err = _run(CASES[name], capsys, monkeypatch)
    assert (code, err) == (0, "")
    assert out == _golden(name, out, update_golden)
    if "--output" in CASES[name]:
        json.loads(out)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_bad_input_is_exit_2_with_what_there_is(name: str, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    code, out, err = _run(ERRORS[name], capsys, monkeypatch)
    assert (code, out) == (2, "")
    assert "Traceback" not in err
    assert err == _golden(f"error-{name}", err, update_golden)


def test_golden_files_are_all_used() -> None:
    used = {*(f"{n}.txt" for n in CASES), *(f"error-{n}.txt" for n in ERRORS)}
    assert sorted(p.name for p in GOLDEN.glob("*.txt") if p.name not in used) == []


# ---------------------------------------------------------------- one field, many spellings


@pytest.mark.parametrize("spelled", [
    IMAGE,
    "deployment/web.spec.template.spec.containers[web].image",
    "Deployment/shop-prod/web.spec.template.spec.containers[web].image",
    "Deployment.spec.template.spec.containers[web].image",
    "spec.template.spec.containers[web].image",
    "spec.template.spec.containers[0].image",
    "spec.template.spec.containers[name=web].image",
    "spec.template.spec.containers['web'].image",
    'spec.template["spec"].containers[web]["image"]',
])
def test_every_spelling_names_the_same_field(spelled: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = _run(("web", spelled, *SHOP, "--output", "json"), capsys, monkeypatch)
    assert code == 0
    data = json.loads(out)
    assert (data["object"], data["path"], data["value"]) == (
        {"kind": "Deployment", "namespace": "shop-prod", "name": "web"},
        "spec.template.spec.containers[web].image", "nginx:1.25.4")


def _resource(kind: str, name: str, namespace: str = "", **spec: object) -> Resource:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return Resource(obj={"kind": kind, "metadata": meta, "spec": spec}, app="a")


def test_object_names_with_dots_and_namespaces() -> None:
    objects = [_resource("ConfigMap", "web"), _resource("ConfigMap", "web.conf"),
               _resource("Secret", "db", "ns-a"), _resource("Secret", "db", "ns-b")]
    found, rest = find_object("ConfigMap/web.conf.data.x", objects, "a")
    assert (found.name, rest) == ("web.conf", "data.x")
    found, rest = find_object("ConfigMap/web.data", objects, "a")
    assert (found.name, rest) == ("web", "data")
    found, rest = find_object("Secret/ns-b/db.spec", objects, "a")
    assert (found.namespace, rest) == ("ns-b", "spec")
    with pytest.raises(ManifestkitError) as caught:
        find_object("Secret/db.spec", objects, "a")
    assert [d.message for d in caught.value.diagnostics] == [
        "app 'a' has Secret/db in 2 namespaces (ns-a, ns-b); name one: Secret/NAMESPACE/db"]


def test_list_items_by_a_field_and_their_canonical_form() -> None:
    obj = {"spec": {"mounts": [{"name": "data", "mountPath": "/a"}, {"name": "data", "mountPath": "/b"}],
                    "ports": [{"name": "http", "port": 80}]}}
    assert resolve(obj, "spec.mounts[mountPath=/b].name", "X/y") == ("spec", "mounts", Item("mountPath", "/b"), "name")
    assert resolve(obj, "spec.mounts[1]", "X/y") == ("spec", "mounts", 1)     # the name is not unique: by index
    assert resolve(obj, "spec.ports[0].port", "X/y") == ("spec", "ports", Item("name", "http"), "port")
    assert format_field(("metadata", "labels", "app.kubernetes.io/name")) == "metadata.labels[app.kubernetes.io/name]"
    assert format_field(("data", 'a"]b')) == 'data["a\\"]b"]'
    assert [t.text for t in tokens('data["a\\"]b"]')] == ["data", 'a"]b']
    with pytest.raises(ManifestkitError) as caught:
        resolve(obj, "spec.mounts[data]", "X/y")
    assert [(d.message, d.hint) for d in caught.value.diagnostics] == [
        ("X/y: spec.mounts has 2 items with name 'data'", "name one by its index: [0], [1]")]


# ---------------------------------------------------------------- the command line


def test_help_lists_only_its_own_flags(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["explain", "--help"])
    shown = capsys.readouterr().out
    assert "FIELD-PATH" in shown and "--output {json,text}" in shown and "--secret-output" in shown
    assert "--format" not in shown and "--check" not in shown and "--fail-on" not in shown


def test_missing_app_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["explain"])
    assert caught.value.code == 2
    assert "the following arguments are required: APP" in capsys.readouterr().err


def test_shell_completion_knows_explain(tmp_path: Path) -> None:
    assert _complete("manifestkit exp", tmp_path) == ["explain"]
    assert _complete("manifestkit explain --out", tmp_path) == ["--output"]
    assert _complete("manifestkit explain --output ", tmp_path) == ["json", "text"]
    assert "--secret-output" in _complete("manifestkit explain --", tmp_path)


def test_every_split_is_a_step_of_the_pipeline() -> None:
    assert set(SPLITS) <= set(STEPS)

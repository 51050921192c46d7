"""`manifestkit webhook manifests` (issue 12 point 4): everything that runs the webhook, valid
under `manifestkit validate`, with certificates made here or by cert-manager."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from manifestkit.cli import main
from manifestkit.diagnostics import display_path
from manifestkit.patterns.user import registry
from manifestkit.webhook.config import parse_config
from manifestkit.yamlio import load_documents, load_file

DATA = Path(__file__).resolve().parent / "data" / "webhook"
CONFIG = DATA / "webhook-config.yaml"


def generate(tmp_path: Path, *extra: str, config: Path = CONFIG) -> dict[str, dict[str, Any]]:
    out = tmp_path / "out"
    assert main(["webhook", "manifests", "--config", str(config), "-o", str(out), *extra]) == 0
    return {f.name: load_file(str(f))[0].data for f in sorted(out.glob("*.yaml"))}


def by_kind(objects: dict[str, dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects.values() if o["kind"] == kind]


def test_self_signed_manifests_validate_and_run_safely(tmp_path: Path) -> None:
    objects = generate(tmp_path)
    assert list(objects) == [
        "00-namespace-manifestkit.yaml",
        "01-serviceaccount-manifestkit-webhook.yaml",
        "02-configmap-manifestkit-webhook-config.yaml",
        "03-secret-manifestkit-webhook-tls.yaml",
        "04-deployment-manifestkit-webhook.yaml",
        "05-poddisruptionbudget-manifestkit-webhook.yaml",
        "06-service-manifestkit-webhook.yaml",
        "07-mutatingwebhookconfiguration-manifestkit-webhook.yaml",
    ]
    assert main(["validate", "--strict", "--fail-on", "warning", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "03-secret-manifestkit-webhook-tls.yaml").stat().st_mode & 0o077 == 0
    deployment = by_kind(objects, "Deployment")[0]
    pod = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 2
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "kubernetes.io/hostname"
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "scheme": "HTTPS", "port": "https"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["seccompProfile"] == {
        "type": "RuntimeDefault"
    }
    assert container["resources"]["requests"] and container["resources"]["limits"]
    assert by_kind(objects, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    config_map = by_kind(objects, "ConfigMap")[0]
    shipped = parse_config(config_map["data"]["webhook.yaml"], "configmap", registry(None))
    assert shipped.data == load_documents(CONFIG.read_text(), "x")[0].data
    (webhook,) = by_kind(objects, "MutatingWebhookConfiguration")[0]["webhooks"]
    assert {k: v for k, v in webhook.items() if k != "clientConfig"} == {
        "name": "envoy.manifestkit-webhook.manifestkit.svc",
        "admissionReviewVersions": ["v1"],
        "rules": [
            {
                "operations": ["CREATE"],
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "resources": ["pods"],
                "scope": "Namespaced",
            }
        ],
        "matchPolicy": "Equivalent",
        "namespaceSelector": {
            "matchLabels": {"injection": "enabled"},
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", "manifestkit"]}
            ],
        },
        "sideEffects": "None",
        "timeoutSeconds": 5,
        "reinvocationPolicy": "IfNeeded",
        "failurePolicy": "Ignore",
    }
    assert webhook["clientConfig"]["service"] == {"name": "manifestkit-webhook", "namespace": "manifestkit",
                                                  "path": "/mutate/envoy", "port": 443}
    ca = x509.load_pem_x509_certificate(base64.b64decode(webhook["clientConfig"]["caBundle"]))
    serving = x509.load_pem_x509_certificate(by_kind(objects, "Secret")[0]["stringData"]["tls.crt"].encode())
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName
    )
    assert "manifestkit-webhook.manifestkit.svc" in sans
    dockerfile = (tmp_path / "out" / "Dockerfile").read_text()
    assert "manifestkit[webhook]==" in dockerfile and "USER 65532:65532" in dockerfile


def test_cert_manager_manifests(tmp_path: Path) -> None:
    objects = generate(tmp_path, "--certs", "cert-manager", "--namespace", "injector", "--name", "injector")
    assert main(["validate", "--strict", "--fail-on", "warning", "--schemas", str(DATA / "cert-manager-schemas"),
                 str(tmp_path / "out")]) == 0
    assert not by_kind(objects, "Secret")
    mwc = by_kind(objects, "MutatingWebhookConfiguration")[0]
    assert mwc["metadata"]["annotations"] == {"cert-manager.io/inject-ca-from": "injector/injector-tls"}
    assert "caBundle" not in mwc["webhooks"][0]["clientConfig"]
    serving = next(c for c in by_kind(objects, "Certificate") if c["metadata"]["name"] == "injector-tls")
    assert serving["spec"]["dnsNames"] == [
        "injector",
        "injector.injector",
        "injector.injector.svc",
        "injector.injector.svc.cluster.local",
    ]
    assert [i["metadata"]["name"] for i in by_kind(objects, "Issuer")] == ["injector-selfsigned", "injector-ca"]


def test_workload_rules_watch_their_templates_on_create_and_update(tmp_path: Path) -> None:
    config = tmp_path / "webhook.yaml"
    config.write_text(
        CONFIG.read_text()
        .replace("    - name: envoy\n", "    - name: envoy\n      kinds: [Pod, Deployment]\n")
        .replace("onConflict: deny", "onConflict: warn\n  failurePolicy: Fail\n  timeoutSeconds: 3")
    )
    objects = generate(tmp_path, config=config)
    webhook = by_kind(objects, "MutatingWebhookConfiguration")[0]["webhooks"][0]
    assert webhook["rules"][1] == {"operations": ["CREATE", "UPDATE"], "apiGroups": ["apps"], "apiVersions": ["v1"],
                                   "resources": ["deployments"], "scope": "Namespaced"}
    assert (webhook["failurePolicy"], webhook["timeoutSeconds"]) == ("Fail", 3)


def test_stdout_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["webhook", "manifests", "--config", str(CONFIG), "--certs", "cert-manager"]) == 0
    kinds = [doc.data["kind"] for doc in load_documents(capsys.readouterr().out, "<stdout>")]
    assert kinds == ["Namespace", "ServiceAccount", "ConfigMap", "Issuer", "Certificate", "Issuer", "Certificate",
                     "Deployment", "PodDisruptionBudget", "Service", "MutatingWebhookConfiguration"]


def test_bad_config_is_exit_2_with_a_located_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "webhook.yaml"
    config.write_text(CONFIG.read_text().replace("upstreamPort: 5678", "upstreamPrt: 5678"))
    capsys.readouterr()
    assert main(["webhook", "manifests", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"{display_path(config)}:14:18: error: spec.rules[0].patterns[0].with.upstreamPrt: unknown parameter "
        f"'upstreamPrt' for "
        "sidecar/envoy; expected one of: adminPort, image, logLevel, port, upstreamPort\n  hint: did you mean "
        "'upstreamPort'?\n"
    )


def test_running_again_keeps_the_certificates_so_the_output_is_the_same_bytes(tmp_path: Path) -> None:
    generate(tmp_path)
    first = {p.name: p.read_bytes() for p in sorted((tmp_path / "out").iterdir())}
    generate(tmp_path)
    assert {p.name: p.read_bytes() for p in sorted((tmp_path / "out").iterdir())} == first
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "out").rename(other / "out")
    assert (
        main(["webhook", "manifests", "--config", str(CONFIG), "--namespace", "elsewhere", "-o", str(other / "out")])
        == 0
    )
    secret = load_file(str(other / "out" / "03-secret-manifestkit-webhook-tls.yaml"))[0].data
    assert (
        secret["stringData"]["ca.crt"]
        != load_documents(first["03-secret-manifestkit-webhook-tls.yaml"].decode(), "x")[0].data["stringData"]["ca.crt"]
    )                     # other DNS names: new certificates

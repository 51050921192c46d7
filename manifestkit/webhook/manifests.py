"""Everything that runs the webhook in a cluster, as data: Namespace, ServiceAccount, the
WebhookConfig as a ConfigMap, Deployment, PDB, Service, certificates and the
MutatingWebhookConfiguration; plus the Dockerfile of the server image."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from manifestkit import __version__
from manifestkit.kinds import LIVENESS_PROBE, READINESS_PROBE
from manifestkit.model import MANAGED_BY
from manifestkit.webhook.certs import Certificates, dns_names
from manifestkit.webhook.config import ALWAYS_EXCLUDED, Rule, WebhookConfig
from manifestkit.webhook.selectors import excluding
from manifestkit.webhook.targets import api_version
from manifestkit.yaml_dump import dump

Obj = dict[str, Any]
CERT_MODES = ("self-signed", "cert-manager")
PORT = 8443
CONFIG_DIR = "/etc/manifestkit/config"
TLS_DIR = "/etc/manifestkit/tls"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"   # set by the API server on every namespace (1.21+)


@dataclass(frozen=True, slots=True, kw_only=True)
class Layout:
    name: str = "manifestkit-webhook"
    namespace: str = "manifestkit"
    image: str = f"manifestkit/webhook:{__version__}"
    certs: str = "self-signed"                          # one of CERT_MODES


def manifests(config: WebhookConfig, layout: Layout, certificates: Certificates | None) -> list[Obj]:
    """The objects in apply order; ``certificates`` is required for self-signed, unused for cert-manager."""
    config_text = dump(dict(config.data))
    tls: list[Obj] = (
        _cert_manager(layout) if layout.certs == "cert-manager" else [_tls_secret(layout, _need(certificates))]
    )
    ca_bundle = None if layout.certs == "cert-manager" else _need(certificates).ca.cert_pem
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": layout.namespace, "labels": _labels(layout)}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(layout, layout.name),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(layout, f"{layout.name}-config"),
         "data": {"webhook.yaml": config_text}},
        *tls,
        _deployment(layout, hashlib.sha256(config_text.encode()).hexdigest()),
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": _meta(layout, layout.name),
         "spec": {"minAvailable": 1, "selector": {"matchLabels": _selector(layout)}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": _meta(layout, layout.name),
         "spec": {"selector": _selector(layout), "ports": [{"name": "https", "port": 443, "targetPort": "https"}]}},
        _webhook_configuration(config, layout, ca_bundle),
    ]


def _need(certificates: Certificates | None) -> Certificates:
    if certificates is None:
        raise ValueError("self-signed manifests need certificates")
    return certificates


def _labels(layout: Layout) -> dict[str, str]:
    return {**_selector(layout), "app.kubernetes.io/managed-by": MANAGED_BY}


def _selector(layout: Layout) -> dict[str, str]:
    return {"app.kubernetes.io/name": layout.name, "app.kubernetes.io/component": "admission-webhook"}


def _meta(layout: Layout, name: str, **more: Any) -> Obj:
    return {"name": name, "namespace": layout.namespace, "labels": _labels(layout), **more}


def _deployment(layout: Layout, config_checksum: str) -> Obj:
    probe = {"scheme": "HTTPS", "port": "https"}
    container: Obj = {
        "name": "webhook",
        "image": layout.image,
        "args": ["webhook", "serve", "--config", f"{CONFIG_DIR}/webhook.yaml", "--tls-cert", f"{TLS_DIR}/tls.crt",
                 "--tls-key", f"{TLS_DIR}/tls.key", "--port", str(PORT), "--namespace", layout.namespace],
        "ports": [{"name": "https", "containerPort": PORT}],
        READINESS_PROBE: {"httpGet": {"path": "/readyz", **probe}, "periodSeconds": 5},
        LIVENESS_PROBE: {"httpGet": {"path": "/healthz", **probe}, "periodSeconds": 10, "failureThreshold": 3},
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        # The Pod Security "restricted" profile: https://kubernetes.io/docs/concepts/security/pod-security-standards/
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tls", "mountPath": TLS_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    pod_spec: Obj = {
        "serviceAccountName": layout.name,
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "terminationGracePeriodSeconds": 30,
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": _selector(layout)},
            }
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": _selector(layout)},
                        },
                    }
                ]
            }
        },
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": f"{layout.name}-config"}},
            {"name": "tls", "secret": {"secretName": f"{layout.name}-tls"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
        ],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(layout, layout.name),
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": _selector(layout)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
            "template": {
                "metadata": {
                    "labels": _labels(layout),
                    "annotations": {"manifestkit.dev/config-checksum": f"sha256:{config_checksum}"},
                },
                "spec": pod_spec,
            },
        },
    }


def _tls_secret(layout: Layout, certificates: Certificates) -> Obj:
    # MK014 (plaintext Secret in a file) is silenced on purpose: the key is made here for this cluster; the file is
    # written 0600, and a GitOps repository should keep it sops-encrypted or use --certs cert-manager instead.
    meta = _meta(layout, f"{layout.name}-tls", annotations={"manifestkit.dev/ignore": "MK014"})
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "kubernetes.io/tls",
            "stringData": {"tls.crt": certificates.serving.cert_pem, "tls.key": certificates.serving.key_pem,
                           "ca.crt": certificates.ca.cert_pem}}


def _cert_manager(layout: Layout) -> list[Obj]:
    """cert-manager's CA bootstrap: a self-signed Issuer makes a CA, whose Issuer signs the serving certificate."""
    group = "cert-manager.io/v1"
    ca, tls = f"{layout.name}-ca", f"{layout.name}-tls"
    return [
        {
            "apiVersion": group,
            "kind": "Issuer",
            "metadata": _meta(layout, f"{layout.name}-selfsigned"),
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": group,
            "kind": "Certificate",
            "metadata": _meta(layout, ca),
            "spec": {
                "isCA": True,
                "commonName": ca,
                "secretName": ca,
                "duration": "87600h",
                "privateKey": {"algorithm": "ECDSA", "size": 256},
                "issuerRef": {"name": f"{layout.name}-selfsigned", "kind": "Issuer", "group": "cert-manager.io"},
            },
        },
        {"apiVersion": group, "kind": "Issuer", "metadata": _meta(layout, ca), "spec": {"ca": {"secretName": ca}}},
        {
            "apiVersion": group,
            "kind": "Certificate",
            "metadata": _meta(layout, tls),
            "spec": {
                "secretName": tls,
                "dnsNames": dns_names(layout.name, layout.namespace),
                "duration": "2160h",
                "renewBefore": "360h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
                "usages": ["server auth", "digital signature"],
                "issuerRef": {"name": ca, "kind": "Issuer", "group": "cert-manager.io"},
            },
        },
    ]


def resource_rule(kind: str) -> Obj:
    """The admission rule of one kind: pods on CREATE, workloads' templates on CREATE and UPDATE."""
    group, _, version = api_version(kind).rpartition("/")
    operations = ["CREATE"] if kind == "Pod" else ["CREATE", "UPDATE"]
    return {"operations": operations, "apiGroups": [group], "apiVersions": [version], "resources": [kind.lower() + "s"],
            "scope": "Namespaced"}


def _webhook_configuration(config: WebhookConfig, layout: Layout, ca_bundle: str | None) -> Obj:
    annotations = (
        {"cert-manager.io/inject-ca-from": f"{layout.namespace}/{layout.name}-tls"} if ca_bundle is None else {}
    )
    meta: Obj = {
        "name": layout.name,
        "labels": _labels(layout),
        **({"annotations": annotations} if annotations else {}),
    }
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration", "metadata": meta,
            "webhooks": [_webhook(config, layout, rule, ca_bundle) for rule in config.rules]}


def _webhook(config: WebhookConfig, layout: Layout, rule: Rule, ca_bundle: str | None) -> Obj:
    # https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#avoiding-operating-on-the-kube-system-namespace
    never = [layout.namespace, *ALWAYS_EXCLUDED, *config.exclude_namespaces]
    client: Obj = {
        "service": {"name": layout.name, "namespace": layout.namespace, "path": f"/mutate/{rule.name}", "port": 443}
    }
    if ca_bundle is not None:
        client["caBundle"] = base64.b64encode(ca_bundle.encode()).decode()
    return {
        "name": f"{rule.name}.{layout.name}.{layout.namespace}.svc",
        "admissionReviewVersions": ["v1"],
        "clientConfig": client,
        "rules": [resource_rule(kind) for kind in rule.kinds],
        "matchPolicy": "Equivalent",
        # The API server owns namespace selection; the webhook owns objectSelector and the opt-in annotation.
        "namespaceSelector": excluding(rule.namespace_selector, NAMESPACE_NAME_LABEL, sorted(set(never))),
        "sideEffects": "None",
        "timeoutSeconds": config.timeout_seconds,
        "reinvocationPolicy": config.reinvocation_policy,
        "failurePolicy": config.failure_policy,
    }


def dockerfile(version: str = __version__) -> str:
    """The server image: manifestkit from the package index, run as a non-root user."""
    return (f"# The manifestkit admission webhook (manifestkit webhook manifests writes this file).\n"
            f"FROM python:3.12-slim\n"
            f"RUN pip install --no-cache-dir 'manifestkit[webhook]=={version}'\n"
            f"USER 65532:65532\n"
            f"EXPOSE {PORT}\n"
            f'ENTRYPOINT ["manifestkit"]\n'
            f'CMD ["webhook", "serve", "--config", "{CONFIG_DIR}/webhook.yaml", "--tls-cert", "{TLS_DIR}/tls.crt", '
            f'"--tls-key", "{TLS_DIR}/tls.key"]\n')


def file_names(objects: list[Obj]) -> list[str]:
    """``NN-<kind>-<name>.yaml``: `kubectl apply -f DIR` takes files in name order, the Namespace first."""
    return [f"{i:02d}-{o['kind'].lower()}-{o['metadata']['name']}.yaml" for i, o in enumerate(objects)]


def objects_by_file(objects: list[Obj]) -> Mapping[str, Obj]:
    return dict(zip(file_names(objects), objects, strict=True))

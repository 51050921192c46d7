"""`manifestkit webhook serve` over real sockets, as the API server calls it (issue 12 point 5):
certificates from `webhook manifests`, TLS verified against the generated caBundle for
`<svc>.<ns>.svc`, the seed's demoapp review, bad bodies, metrics, a namespace not selected."""

from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import jsonpatch
import pytest
from prometheus_client.parser import text_string_to_metric_families

from manifestkit.cli import main
from manifestkit.patterns.inject import Change
from manifestkit.webhook.mutate import inline_generated
from manifestkit.webhook.selectors import matches
from manifestkit.yaml_dump import dump
from manifestkit.yamlio import load_documents, load_file

DATA = Path(__file__).resolve().parent / "data" / "webhook"
CONFIG = DATA / "webhook-config.yaml"
ROOT = Path(__file__).resolve().parents[1]
SERVICE = "manifestkit-webhook"
NAMESPACE = "manifestkit"
DNS_NAME = f"{SERVICE}.{NAMESPACE}.svc"


class Deployed(NamedTuple):
    folder: Path
    cert: Path
    key: Path
    ca_bundle: str                    # PEM, decoded from the MutatingWebhookConfiguration
    webhooks: list[dict[str, Any]]


def deploy(folder: Path) -> Deployed:
    """`webhook manifests` with self-signed certificates; the Secret's pair written where the server reads it."""
    assert main(["webhook", "manifests", "--config", str(CONFIG), "-o", str(folder / "manifests")]) == 0
    docs = {
        doc.data["kind"]: doc.data for f in sorted((folder / "manifests").glob("*.yaml")) for doc in load_file(str(f))
    }
    secret = docs["Secret"]["stringData"]
    (folder / "tls.crt").write_text(secret["tls.crt"])
    (folder / "tls.key").write_text(secret["tls.key"])
    webhooks = docs["MutatingWebhookConfiguration"]["webhooks"]
    return Deployed(
        folder,
        folder / "tls.crt",
        folder / "tls.key",
        base64.b64decode(webhooks[0]["clientConfig"]["caBundle"]).decode(),
        webhooks,
    )


class Server(NamedTuple):
    process: subprocess.Popen[str]
    port: int
    lines: queue.Queue[str]

    def log(self, wait: float = 0.3) -> str:
        time.sleep(wait)
        out = []
        while not self.lines.empty():
            out.append(self.lines.get())
        return "".join(out)


def start(deployed: Deployed, *extra: str) -> Server:
    """The real server in a subprocess on a free loopback port; returns once it says where it listens."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "manifestkit",
            "webhook",
            "serve",
            "--config",
            str(CONFIG),
            "--tls-cert",
            str(deployed.cert),
            "--tls-key",
            str(deployed.key),
            "--address",
            "127.0.0.1",
            "--port",
            "0",
            "--namespace",
            NAMESPACE,
            *extra,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=deployed.folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    lines: queue.Queue[str] = queue.Queue()
    def pump() -> None:
        for line in process.stderr or []:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    deadline = time.monotonic() + 15
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"on https://127\.0\.0\.1:(\d+)", line)
        if found:
            return Server(process, int(found.group(1)), lines)
    process.kill()
    raise AssertionError(f"the server did not start: {''.join(seen)}")


def stop(server: Server) -> int:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        raise


def client_context(ca_pem: str) -> ssl.SSLContext:
    """What the API server does: trust only the caBundle, check the Service's DNS name."""
    context = ssl.create_default_context(cadata=ca_pem)
    context.check_hostname = True
    return context


class ServiceConnection(http.client.HTTPSConnection):
    """HTTPS to ``<svc>.<ns>.svc`` (SNI and hostname check) dialled on 127.0.0.1."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def request(server: Server, ca_pem: str, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes, str]:
    conn = ServiceConnection(DNS_NAME, server.port, context=client_context(ca_pem), timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body is not None else {})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("Content-Type") or ""
    finally:
        conn.close()


def review(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "demoapp-review.json").read_text())
    data["request"].update(changes)
    return data


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Deployed:
    return deploy(tmp_path_factory.mktemp("webhook"))


@pytest.fixture(scope="module")
def server(deployed: Deployed) -> Iterator[Server]:
    running = start(deployed, "--max-body", "262144", "--body-timeout", "1")
    yield running
    assert stop(running) == 0


def api_server_admits(
    server: Server, deployed: Deployed, namespace_labels: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    """Admission as the API server runs it: each webhook whose namespaceSelector and rules match is called
    on its clientConfig path, and its JSON Patch applied to the object."""
    obj = body["request"]["object"]
    for webhook in deployed.webhooks:
        rules = webhook["rules"]
        if not matches(webhook["namespaceSelector"], namespace_labels) or not any(
            "pods" in r["resources"] for r in rules
        ):
            continue
        status, data, _ = request(server, deployed.ca_bundle, "POST", webhook["clientConfig"]["service"]["path"],
                                  json.dumps({**body, "request": {**body["request"], "object": obj}}).encode())
        assert status == 200
        response = json.loads(data)["response"]
        assert response["uid"] == body["request"]["uid"] and response["allowed"] is True
        if "patch" in response:
            assert response["patchType"] == "JSONPatch"
            obj = jsonpatch.apply_patch(obj, json.loads(base64.b64decode(response["patch"])))
    result: dict[str, Any] = obj
    return result


SELECTED = {"kubernetes.io/metadata.name": "demoapp", "injection": "enabled"}


def test_seed_pod_over_tls_gets_the_sidecar_inject_makes(server: Server, deployed: Deployed, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    pod = api_server_admits(server, deployed, SELECTED, review())
    assert [c["image"] for c in pod["spec"]["containers"]] == ["hashicorp/http-echo", "envoyproxy/envoy:v1.31.2"]
    (tmp_path / "pod.yaml").write_text(dump(review()["request"]["object"]))
    capsys.readouterr()
    assert main(["inject", "-p", "sidecar/envoy=upstreamPort=5678", str(tmp_path / "pod.yaml")]) == 0
    offline = load_file_text(capsys.readouterr().out)
    assert pod["spec"]["containers"] == offline[0]["spec"]["containers"]
    # Whole pod: inject's result with its generated ConfigMap carried inside the pod (a webhook creates no objects).
    assert pod == inline_generated([Change(review()["request"]["object"], offline[0]), Change(None, offline[1])]).obj
    (tmp_path / "patched.yaml").write_text(dump(pod))
    assert main(["validate", "--strict", "--no-lint", str(tmp_path / "patched.yaml")]) == 0
    # Reinvocation: the patched pod comes back with an empty patch.
    status, data, _ = request(
        server, deployed.ca_bundle, "POST", "/mutate/envoy", json.dumps(review(object=pod)).encode()
    )
    assert (status, json.loads(data)["response"]) == (200, {"uid": review()["request"]["uid"], "allowed": True})


def load_file_text(text: str) -> list[Any]:
    return [doc.data for doc in load_documents(text, "<inject>")]


def test_a_namespace_not_selected_gets_no_patch(server: Server, deployed: Deployed) -> None:
    body = review()
    assert (
        api_server_admits(server, deployed, {"kubernetes.io/metadata.name": "demoapp"}, body)
        == body["request"]["object"]
    )
    own = review(namespace=NAMESPACE)
    assert (
        api_server_admits(server, deployed, {"kubernetes.io/metadata.name": NAMESPACE, "injection": "enabled"}, own)
        == own["request"]["object"]
    )
    # Called anyway (by a hand-written configuration), the webhook still leaves kube-system alone.
    status, data, _ = request(
        server, deployed.ca_bundle, "POST", "/mutate", json.dumps(review(namespace="kube-system")).encode()
    )
    assert (status, "patch" in json.loads(data)["response"]) == (200, False)


def test_health_readiness_and_metrics(server: Server, deployed: Deployed) -> None:
    assert request(server, deployed.ca_bundle, "GET", "/healthz")[:2] == (200, b"ok\n")
    assert request(server, deployed.ca_bundle, "GET", "/readyz")[:2] == (200, b"ready\n")
    request(server, deployed.ca_bundle, "POST", "/mutate/envoy", json.dumps(review()).encode())
    status, data, content_type = request(server, deployed.ca_bundle, "GET", "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(data.decode()) for s in family.samples}
    assert samples[("manifestkit_webhook_patches_total", (("pattern", "sidecar/envoy"),))] >= 1
    assert samples[("manifestkit_webhook_requests_total", (("result", "patched"), ("rule", "envoy")))] >= 1
    assert samples[("manifestkit_webhook_request_duration_seconds_count", (("rule", "envoy"),))] >= 1


BAD = [
    (b"{not json", 400, "the body is not JSON"),
    (
        json.dumps(
            {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "u"}}
        ).encode(),
        400,
        "found apiVersion 'admission.k8s.io/v1beta1', kind 'AdmissionReview'; expected admission.k8s.io/v1 "
        "AdmissionReview",
    ),
    (
        json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}).encode(),
        400,
        "the request has no uid",
    ),
    (b"x" * 300_000, 413, "the body is larger than 262144 bytes"),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD)
def test_bad_bodies_get_4xx_and_a_log_line_and_the_server_keeps_serving(server: Server, deployed: Deployed, body: bytes,
                                                                        status: int, message: str) -> None:
    server.log(0)
    got, data, _ = request(server, deployed.ca_bundle, "POST", "/mutate", body)
    assert (got, json.loads(data)) == (status, {"error": message})
    assert "rejected a" in server.log() and server.process.poll() is None
    assert request(server, deployed.ca_bundle, "GET", "/healthz")[0] == 200


def test_a_slow_client_gets_408(server: Server, deployed: Deployed) -> None:
    sock = client_context(deployed.ca_bundle).wrap_socket(socket.create_connection(("127.0.0.1", server.port), 5),
                                                          server_hostname=DNS_NAME)
    with sock:
        sock.sendall(
            b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        )
        sock.settimeout(5)
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert "the body did not arrive within 1 s" in server.log()
    assert request(server, deployed.ca_bundle, "GET", "/healthz")[0] == 200


def test_unknown_rule_is_404(server: Server, deployed: Deployed) -> None:
    status, data, _ = request(server, deployed.ca_bundle, "POST", "/mutate/nope", json.dumps(review()).encode())
    assert (status, json.loads(data)) == (404, {"error": "unknown rule 'nope'; expected one of: envoy"})


def test_the_request_body_is_never_logged(server: Server, deployed: Deployed) -> None:
    body = review()
    body["request"]["object"]["spec"]["containers"][0]["env"] = [
        {"name": "API_TOKEN", "value": "tok-51ab9c-never-logged"}
    ]
    server.log(0)
    request(server, deployed.ca_bundle, "POST", "/mutate", json.dumps(body).encode())
    request(server, deployed.ca_bundle, "POST", "/mutate", b'{"broken": "tok-51ab9c-never-logged"')
    log = server.log()
    assert "6f84fe4b-902a-47ec-bd52-50a3a2bd16f2 CREATE Pod demoapp/demoapp: patched sidecar/envoy" in log
    assert "tok-51ab9c" not in log

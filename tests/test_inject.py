"""`manifestkit inject` (issue 3 point 8): patterns on existing manifests, patches that
apply with the `jsonpatch` library, idempotence, and the microservices-demo corpus."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonpatch
import pytest

from manifestkit.cli import main
from manifestkit.cmd_inject import split_top
from manifestkit.kinds import pod_template
from manifestkit.schema_errors import check_object
from manifestkit.yamlio import load_documents, load_file
from tests.conftest import corpora

ROOT = Path(__file__).resolve().parents[1]

ES = """apiVersion: apps/v1
kind: Deployment
metadata: {name: elasticsearch}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: elasticsearch}}
  template:
    metadata: {labels: {app.kubernetes.io/name: elasticsearch}}
    spec:
      containers:
      - name: elasticsearch
        image: elasticsearch:7.9.3
        env: [{name: discovery.type, value: single-node}]
        ports: [{name: http, containerPort: 9200}]
---
apiVersion: v1
kind: Service
metadata: {name: elasticsearch}
spec:
  selector: {app.kubernetes.io/name: elasticsearch}
  ports: [{name: http, port: 9200, targetPort: http}]
"""

POD: dict[str, Any] = {"metadata": {"labels": {"app": "x"}},
       "spec": {"containers": [{"name": "x", "image": "example/x:1", "ports": [{"containerPort": 8080}]}]}}
WORKLOADS: dict[str, dict[str, Any]] = {
    "Deployment": {"apiVersion": "apps/v1", "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": POD}},
    "StatefulSet": {"apiVersion": "apps/v1",
                    "spec": {"serviceName": "x", "selector": {"matchLabels": {"app": "x"}}, "template": POD}},
    "DaemonSet": {"apiVersion": "apps/v1", "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": POD}},
    "Job": {"apiVersion": "batch/v1",
            "spec": {"template": {**POD, "spec": {**POD["spec"], "restartPolicy": "Never"}}}},
    "CronJob": {"apiVersion": "batch/v1", "spec": {"schedule": "@daily", "jobTemplate": {
        "spec": {"template": {**POD, "spec": {**POD["spec"], "restartPolicy": "Never"}}}}}},
    "Pod": {"apiVersion": "v1", "metadata": {"name": "x", "labels": {"app": "x"}}, "spec": POD["spec"]},
}


def inject(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["inject", *argv]) == 0
    return capsys.readouterr().out


def by_key(objs: list[Any]) -> dict[tuple[str, str | None, str], Mapping[str, Any]]:
    return {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in objs}


def assert_patches_reproduce(before: list[Any], after: list[Any], lines: str) -> None:
    """Each JSON line, applied with `jsonpatch` to its input object, gives exactly the injected object."""
    inputs, outputs = by_key(before), by_key(after)
    patched = dict(inputs)
    for line in lines.splitlines():
        change = json.loads(line)
        key = (change["kind"], change["namespace"], change["name"])
        patched[key] = jsonpatch.apply_patch(inputs.get(key, {}), change["patch"])
    assert patched == outputs


# ---------------------------------------------------------------- every workload kind


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_every_workload_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    obj = {"kind": kind, "metadata": {"name": "x"}, **WORKLOADS[kind]}
    source = tmp_path / "in.yaml"
    source.write_text(json.dumps(obj), encoding="utf-8")
    out = [
        d.data
        for d in load_documents(
            inject(capsys, "-p", "sidecar/envoy", "-p", "init/sysctl=sysctls={net.core.somaxconn: 1024}", str(source)),
            "out",
        )
    ]
    pod = pod_template(out[0])
    assert pod is not None
    if pod["spec"].get("restartPolicy") == "Never":
        # Job pods run to completion: the sidecar is native, so it stops with the app (issue 13, point 3).
        assert [c["name"] for c in pod["spec"]["containers"]] == ["x"]
        assert [(c["name"], c.get("restartPolicy")) for c in pod["spec"]["initContainers"]] == [("envoy", "Always"),
                                                                                              ("sysctl", None)]
    else:
        assert [c["name"] for c in pod["spec"]["containers"]] == ["x", "envoy"]
        assert [c["name"] for c in pod["spec"]["initContainers"]] == ["sysctl"]
    assert pod["metadata"]["annotations"] == {"manifestkit.dev/patterns": "sidecar/envoy,init/sysctl"}
    assert [o["kind"] for o in out] == [kind, "ConfigMap"]
    for o in out:
        assert check_object(o, "1.30", strict=True) == []


# ---------------------------------------------------------------- output, patches, idempotence


def test_multi_document_file_with_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "es.yaml"
    source.write_text(ES, encoding="utf-8")
    args = ["-p", "adapter/prometheus-exporter=image=justwatch/elasticsearch_exporter:1.1.0,port=9114,"
                  "args=[--es.uri=http://localhost:9200]", "-p", "init/sysctl=sysctls={vm.max_map_count: 262144}",
            str(source)]
    after = [d.data for d in load_documents(inject(capsys, *args), "out")]
    assert after[1]["spec"]["ports"] == [{"name": "http", "port": 9200, "targetPort": "http"},
                                         {"name": "metrics", "port": 9114, "targetPort": "metrics"}]
    before = [d.data for d in load_documents(ES, "in")]
    assert_patches_reproduce(before, after, inject(capsys, "--emit", "patch", *args))


def test_output_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, target = tmp_path / "es.yaml", tmp_path / "out.yaml"
    source.write_text(ES, encoding="utf-8")
    assert inject(capsys, "-p", "sidecar/redis-cache", str(source), "-o", str(target)) == ""
    assert target.read_text(encoding="utf-8") == inject(capsys, "-p", "sidecar/redis-cache", str(source))


def test_inject_twice_adds_no_second_sidecar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source, once = tmp_path / "es.yaml", tmp_path / "once.yaml"
    source.write_text(ES, encoding="utf-8")
    once.write_text(
        inject(capsys, "-p", "sidecar/envoy", "-p", "sidecar/log-tailer=path=/logs,file=es.log", str(source)),
        encoding="utf-8",
    )
    args = ["-p", "sidecar/envoy", "-p", "sidecar/log-tailer=path=/logs,file=es.log", str(once)]
    assert inject(capsys, *args) == once.read_text(encoding="utf-8")
    assert inject(capsys, "--emit", "patch", *args) == ""


def test_patch_lines_have_the_documented_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "pod.yaml"
    source.write_text((ROOT / "examples" / "http-echo" / "manifests" / "demoapp.yaml").read_text(), encoding="utf-8")
    lines = [
        json.loads(line) for line in inject(capsys, "--emit", "patch", "-p", "sidecar/envoy", str(source)).splitlines()
    ]
    assert [(x["kind"], x["namespace"], x["name"]) for x in lines] == [("Pod", "demoapp", "demoapp"),
                                                                     ("ConfigMap", "demoapp", "demoapp-envoy")]
    assert lines[0]["patch"][0] == {"op": "add", "path": "/metadata/annotations",
                                    "value": {"manifestkit.dev/patterns": "sidecar/envoy"}}
    assert {op["op"] for op in lines[0]["patch"]} == {"add"}


# ---------------------------------------------------------------- the microservices-demo corpus


def test_microservices_demo_with_envoy(capsys: pytest.CaptureFixture[str]) -> None:
    folder = corpora("microservices-demo", "kubernetes-manifests")
    # loadgenerator declares no port: Envoy would route nowhere, so the pattern asks for it (issue 13, point 4).
    files = sorted(str(p) for p in folder.glob("*.yaml") if p.name not in ("kustomization.yaml", "loadgenerator.yaml"))
    assert len(files) == 10
    before = [d.data for f in files for d in load_file(f)]
    after = [d.data for d in load_documents(inject(capsys, "-p", "sidecar/envoy", *files), "out")]
    workloads = [o for o in after if pod_template(o) is not None]
    assert len(workloads) == 11   # cartservice.yaml also holds the redis-cart Deployment
    for obj in after:
        assert check_object(obj, "1.30", strict=True) == [], obj["metadata"]["name"]
    for obj in workloads:
        pod = pod_template(obj)
        assert pod is not None
        assert [c["name"] for c in pod["spec"]["containers"]][-1] == "envoy"
    assert_patches_reproduce(before, after, inject(capsys, "--emit", "patch", "-p", "sidecar/envoy", *files))


# ---------------------------------------------------------------- --pattern syntax and errors


@pytest.mark.parametrize(("text", "items"), [
    ("a=1,b=2", ["a=1", "b=2"]),
    ("sysctls={a.b: 1, c.d: 2},image=x", ["sysctls={a.b: 1, c.d: 2}", "image=x"]),
    ("args=[--x=1, --y=2]", ["args=[--x=1, --y=2]"]),
    ("text='a,b'", ["text='a,b'"]),
])
def test_split_top(text: str, items: list[str]) -> None:
    assert split_top(text) == items


def test_values_are_yaml_scalars_and_words_stay_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "pod.yaml"
    source.write_text(json.dumps({"kind": "Pod", **WORKLOADS["Pod"]}), encoding="utf-8")
    out = load_documents(inject(capsys, "-p", "sidecar/envoy=logLevel=off,adminPort=15006", str(source)), "out")[0].data
    envoy = out["spec"]["containers"][1]
    assert envoy["args"][-1] == "off"
    assert envoy["ports"] == [{"name": "envoy-inbound", "containerPort": 15001}]   # admin listens on 127.0.0.1 only


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["-p", "sidecar/envoi"],
            "--pattern sidecar/envoi: error: unknown pattern 'sidecar/envoi'; expected one of: {known}"
            "\n  hint: did you mean 'sidecar/envoy'?",
        ),
        (
            ["-p", "sidecar/envoy=prot=1"],
            "--pattern sidecar/envoy=prot=1: error: unknown parameter 'prot' for sidecar/envoy; "
            "expected one of: adminPort, image, logLevel, port, upstreamPort\n  hint: did you mean 'port'?",
        ),
        (["-p", "sidecar/envoy=port"], "--pattern sidecar/envoy=port: error: found 'port'; expected key=value"),
        (
            ["-p", "sidecar/envoy=native=true", "-k", "1.28"],
            "POD:4:3: error: Pod/x: native sidecars need Kubernetes 1.29 or newer; the target is 1.28\n"
            '  hint: set kubernetesVersion to "1.29" or newer, or drop `native: true`',
        ),
        (
            ["-p", "sidecar/redis-cache", "-p", "ambassador/tunnel=target=redis.example.com:6380,localPort=6379"],
            "POD:4:3: error: Pod/x: ambassador/tunnel: container 'tunnel' listens on port 6379/TCP, which container "
            "'redis-cache' (added by sidecar/redis-cache) already uses (containers of a pod share one network "
            "namespace)",
        ),
    ],
)
def test_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                argv: list[str], expected: str) -> None:
    from tests.test_patterns import known
    monkeypatch.chdir(tmp_path)
    Path("pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\nspec:\n  containers:\n"
        "  - {name: x, image: 'example/x:1', ports: [{containerPort: 8080}]}\n",
        encoding="utf-8",
    )
    assert main(["inject", *argv, "pod.yaml"]) == 2
    assert capsys.readouterr().err == known(expected.replace("POD", "pod.yaml")) + "\n"


def test_native_sidecar_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "pod.yaml"
    source.write_text(json.dumps({"kind": "Pod", **WORKLOADS["Pod"]}), encoding="utf-8")
    out = load_documents(inject(capsys, "-k", "1.29", "-p", "sidecar/envoy=native=true", str(source)), "out")[0].data
    assert [(c["name"], c.get("restartPolicy")) for c in out["spec"]["initContainers"]] == [("envoy", "Always")]
    assert check_object(out, "1.29", strict=True) == []


def test_user_patterns_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_patterns import USER_PATTERN
    monkeypatch.chdir(tmp_path)
    Path("patterns").mkdir()
    Path("patterns/heartbeat.yaml").write_text(USER_PATTERN, encoding="utf-8")
    Path("pod.yaml").write_text(json.dumps({"kind": "Pod", **WORKLOADS["Pod"]}), encoding="utf-8")
    out = load_documents(inject(capsys, "-p", "sidecar/heartbeat=every=3", "pod.yaml"), "out")[0].data
    assert [c["name"] for c in out["spec"]["containers"]] == ["x", "heartbeat"]

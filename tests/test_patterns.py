"""Patterns (issue 3): golden cases for every built-in, the merge's conflict rules, native
sidecars, the annotation, errors with locations, user patterns (YAML and entry points)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.emit.plain import stream
from manifestkit.kinds import pod_template
from manifestkit.loader import load_project
from manifestkit.model import Options, Resource
from manifestkit.patterns import PATTERNS
from manifestkit.patterns.engine import PatternProblems, Target, Use, apply_patterns
from manifestkit.patterns.model import ROLES, USER_ROLES
from manifestkit.patterns.user import registry
from manifestkit.pipeline import render_env
from manifestkit.schema_errors import check_object

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "patterns_cases"
PLUGIN = ROOT / "tests" / "plugin_pkg"
GOLDEN = sorted([*(p for p in CASES.iterdir() if (p / "app.yaml").exists()),
                 ROOT / "examples" / "elasticsearch", ROOT / "examples" / "http-echo"])


def render(path: Path) -> list[Resource]:
    return render_env(load_project(path), None, Options(environ={}))


def source_of(case: Path) -> Path:
    return case / "app.yaml" if (case / "app.yaml").exists() else case


# ---------------------------------------------------------------- golden cases


@pytest.mark.parametrize("case", GOLDEN, ids=lambda p: p.name)
def test_golden(case: Path, update_golden: bool) -> None:
    resources = render(source_of(case))
    for resource in resources:
        assert check_object(resource.obj, "1.30", strict=True) == [], resource.ref()
    text = stream(resources)
    expected = case / "expected" / "default.yaml"
    if update_golden:
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(text, encoding="utf-8")
    assert text == expected.read_text(encoding="utf-8")


def test_every_builtin_has_a_golden_case() -> None:
    used: set[str] = set()
    for case in GOLDEN:
        for app in load_project(source_of(case)).apps:
            used.update(entry["use"] for entry in app.spec.get("patterns") or [])
    assert sorted(set(PATTERNS) - used) == ["vault/agent"]   # golden-tested with the secrets issue


def test_render_is_deterministic() -> None:
    case = ROOT / "examples" / "elasticsearch"
    assert stream(render(case)) == stream(render(case))


# ---------------------------------------------------------------- conflicts and bad input (exit 2)

APP_HEAD = "apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n"

# (App spec body under `spec:`, every diagnostic of the render, formatted). File name: app.yaml.
ERRORS: list[tuple[str, str, str]] = [
    (
        "two containers on one port",
        """
  containers: [{name: web, image: "nginx:1.25", ports: [{name: proxy, containerPort: 15001}]}]
  patterns: [{use: sidecar/envoy}]
""",
        "app.yaml:6:14: error: spec.patterns[0]: sidecar/envoy: container 'envoy' listens on port 15001/TCP, which "
        "container 'web' already uses (containers of a pod share one network namespace)",
    ),
    (
        "ports of two patterns",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns:
    - use: sidecar/redis-cache
    - use: ambassador/tunnel
      with: {target: "redis.example.com:6380", localPort: 6379}
""",
        "app.yaml:8:7: error: spec.patterns[1]: ambassador/tunnel: container 'tunnel' listens on port 6379/TCP, which "
        "container 'redis-cache' (added by sidecar/redis-cache) already uses (containers of a pod share one network "
        "namespace)",
    ),
    (
        "container name twice",
        """
  containers: [{name: envoy, image: "nginx:1.25", ports: [{containerPort: 80}]}]
  patterns: [{use: sidecar/envoy}]
""",
        "app.yaml:6:14: error: spec.patterns[0]: sidecar/envoy adds container 'envoy', but the pod already has "
        "container 'envoy'",
    ),
    (
        "volume name twice, different definition",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  volumes: [{name: logs, configMap: {name: web-logs}}]
  patterns: [{use: sidecar/log-tailer, with: {path: /var/log/web, file: web.log}}]
""",
        "app.yaml:7:14: error: spec.patterns[0]: sidecar/log-tailer adds volume 'logs' as emptyDir, but the pod "
        "already "
        "has a volume 'logs' as configMap",
    ),
    (
        "port name twice",
        """
  containers: [{name: web, image: "nginx:1.25", ports: [{name: http, containerPort: 8080}]}]
  patterns:
    - use: sidecar
      with: {container: {name: helper, image: "busybox:1.36", ports: [{name: http, containerPort: 9000}]}}
""",
        "app.yaml:7:7: error: spec.patterns[0]: sidecar: container 'helper' names a port 'http', which container 'web' "
        "already names (port names must be unique in a pod)",
    ),
    (
        "two mounts on one path",
        """
  containers: [{name: web, image: "nginx:1.25", volumeMounts: [{name: data, mountPath: /var/log/web}]}]
  volumes: [{name: data, emptyDir: {}}]
  patterns: [{use: sidecar/log-tailer, with: {path: /var/log/web, file: web.log}}]
""",
        "app.yaml:7:14: error: spec.patterns[0]: sidecar/log-tailer mounts volume 'logs' on /var/log/web in container "
        "'web', which already mounts volume 'data' there",
    ),
    (
        "Service port name clash",
        """
  containers: [{name: web, image: "nginx:1.25", ports: [{name: http, containerPort: 8080}]}]
  service: {ports: [{name: metrics, port: 8080, targetPort: http}]}
  patterns: [{use: adapter/prometheus-exporter, with: {image: "prom/x:1", port: 9114}}]
""",
        "app.yaml:7:14: error: spec.patterns[0]: adapter/prometheus-exporter adds Service port 'metrics' (9114), but "
        "the "
        "Service already has a port named 'metrics' (8080)",
    ),
    (
        "Service port number clash",
        """
  containers: [{name: web, image: "nginx:1.25", ports: [{name: http, containerPort: 8080}]}]
  service: {ports: [{name: web, port: 9114, targetPort: http}]}
  patterns: [{use: adapter/prometheus-exporter, with: {image: "prom/x:1", port: 9114}}]
""",
        "app.yaml:7:14: error: spec.patterns[0]: adapter/prometheus-exporter adds Service port 'metrics' on 9114/TCP, "
        "but "
        "the Service's port 'web' already uses 9114/TCP",
    ),
    (
        "probe on a plain init container",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns:
    - use: init
      with: {container: {name: prep, image: "busybox:1.36", readinessProbe: {exec: {command: ["true"]}}}}
""",
        "app.yaml:7:7: error: spec.patterns[0]: container 'prep' (added by init) is an init container with a "
        "readinessProbe, which Kubernetes allows only on native sidecars (restartPolicy: Always)",
    ),
    (
        "same pattern twice",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns:
    - use: sidecar/redis-cache
    - use: sidecar/redis-cache
""",
        "app.yaml:8:7: error: spec.patterns[1].use: pattern 'sidecar/redis-cache' is already applied by entry [0]; "
        "it may be applied only once",
    ),
    (
        "unknown pattern",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: sidecar/envoi}]
""",
        "app.yaml:6:15: error: spec.patterns[0].use: unknown pattern 'sidecar/envoi'; expected one of: {known}"
        "\n  hint: did you mean 'sidecar/envoy'?",
    ),
    (
        "unknown parameter",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: sidecar/envoy, with: {prot: 15001}}]
""",
        "app.yaml:6:42: error: spec.patterns[0].with.prot: unknown parameter 'prot' for sidecar/envoy; expected one "
        "of: "
        "adminPort, image, logLevel, port, upstreamPort\n  hint: did you mean 'port'?",
    ),
    (
        "missing parameter",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: ambassador/tls-proxy, with: {port: 8443, upstreamPort: 8080}}]
""",
        "app.yaml:6:42: error: spec.patterns[0].with: ambassador/tls-proxy needs parameter 'certSecret'; expected: "
        "certSecret, port, upstreamPort",
    ),
    (
        "parameter of the wrong type",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: sidecar/envoy, with: {port: http}}]
""",
        "app.yaml:6:42: error: spec.patterns[0].with.port: sidecar/envoy: 'http' is not of type 'integer'",
    ),
    (
        "container that does not exist",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: sidecar/log-tailer, with: {path: /logs, file: a.log, container: wbe}}]
""",
        "app.yaml:6:73: error: spec.patterns[0].with.container: sidecar/log-tailer: container 'wbe' not found; "
        "expected one of: web",
    ),
    (
        "volume that does not exist",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: sidecar/config-reloader, with: {volume: config, webhookUrl: "http://127.0.0.1:80/reload"}}]
""",
        "app.yaml:6:52: error: spec.patterns[0].with.volume: sidecar/config-reloader: volume 'config' not found in the "
        "pod; the pod has no volumes",
    ),
    (
        "native init pattern",
        """
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: init/wait-for, native: true, with: {host: db, port: 5432}}]
""",
        "app.yaml:6:35: error: spec.patterns[0].native: init/wait-for runs to completion before the app; `native: "
        "true` "
        "applies only to long-running helpers (sidecar, ambassador, adapter)",
    ),
]


def known(message: str) -> str:
    """Fill in the known patterns: the built-ins plus any installed plug-ins (CI installs tests/plugin_pkg)."""
    return message.replace("{known}", ", ".join(sorted(registry(None))))


def test_unknown_pattern_lists_the_builtins() -> None:
    assert set(PATTERNS) <= set(registry(None))
    assert sorted(PATTERNS) == [
        "adapter",
        "adapter/prometheus-exporter",
        "ambassador",
        "ambassador/tls-proxy",
        "ambassador/tunnel",
        "init",
        "init/fetch",
        "init/migrate",
        "init/sysctl",
        "init/wait-for",
        "sidecar",
        "sidecar/config-reloader",
        "sidecar/envoy",
        "sidecar/log-tailer",
        "sidecar/redis-cache",
        "vault/agent",
    ]


def write_app(folder: Path, body: str) -> Path:
    path = folder / "app.yaml"
    path.write_text(APP_HEAD + body.lstrip("\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in ERRORS], ids=[n for n, _, _ in ERRORS])
def test_error_from_render(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestkitError) as caught:
        render(write_app(Path("."), body).relative_to("."))
    assert "\n".join(d.format() for d in caught.value.diagnostics) == known(expected)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in ERRORS], ids=[n for n, _, _ in ERRORS])
def test_error_from_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                        body: str, expected: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_app(Path("."), body)
    assert main(["render", "app.yaml", "-o", "-"]) == 2
    assert capsys.readouterr().err == known(expected) + "\n"


# ---------------------------------------------------------------- native sidecars (Kubernetes 1.29+)

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  apps: [apps/*.yaml]
  kubernetesVersion: "%s"
"""
NATIVE_APP = """
  workload: Job
  containers: [{name: web, image: "nginx:1.25"}]
  patterns: [{use: adapter/prometheus-exporter, native: true, with: {image: "prom/x:1", port: 9114}}]
"""


def project(folder: Path, kube_version: str, body: str) -> Path:
    (folder / "apps").mkdir()
    (folder / "manifestkit.yaml").write_text(PROJECT % kube_version, encoding="utf-8")
    write_app(folder / "apps", body)
    return folder


@pytest.mark.parametrize("kube_version", ["1.29", "1.30"])
def test_native_sidecar_from_1_29(tmp_path: Path, kube_version: str) -> None:
    resources = render(project(tmp_path, kube_version, NATIVE_APP))
    job = next(r.obj for r in resources if r.kind == "Job")
    spec = pod_template(job)["spec"]  # type: ignore[index]
    assert [c["name"] for c in spec["containers"]] == ["web"]
    assert [(c["name"], c["restartPolicy"]) for c in spec["initContainers"]] == [("prometheus-exporter", "Always")]
    assert check_object(job, kube_version, strict=True) == []


def test_native_sidecar_below_1_29_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ManifestkitError) as caught:
        render(project(Path("."), "1.28", NATIVE_APP))
    assert [d.format() for d in caught.value.diagnostics] == [
        "apps/app.yaml:7:49: error: spec.patterns[0].native: native sidecars need Kubernetes 1.29 or newer; the target "
        "is 1.28\n  hint: set kubernetesVersion to \"1.29\" or newer, or drop `native: true`"]


# ---------------------------------------------------------------- what the built-ins promise (seed 002)


def objects(path: Path) -> dict[str, Mapping[str, Any]]:
    return {f"{r.kind}/{r.name}": r.obj for r in render(path)}


def containers(pod_spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {c["name"]: c for key in ("initContainers", "containers") for c in pod_spec.get(key) or []}


ES = ROOT / "examples" / "elasticsearch"


def test_elasticsearch_annotation_lists_patterns_in_order() -> None:
    pod = pod_template(objects(ES)["Deployment/elasticsearch"])
    assert pod is not None
    assert pod["metadata"]["annotations"]["manifestkit.dev/patterns"] == (
        "ambassador/tls-proxy,adapter/prometheus-exporter,sidecar/log-tailer,init/sysctl")


def test_tls_proxy_is_the_only_way_in() -> None:
    objs = objects(ES)
    spec = pod_template(objs["Deployment/elasticsearch"])["spec"]  # type: ignore[index]
    proxy = containers(spec)["tls-proxy"]
    # The Service targets only the proxy's port; no container declares the plain port 9201.
    assert objs["Service/elasticsearch"]["spec"]["ports"][0] == {"name": "https", "port": 9200, "targetPort": "https"}
    assert all(
        p["targetPort"] != 9201 and p["targetPort"] != "http" for p in objs["Service/elasticsearch"]["spec"]["ports"]
    )
    assert all(p["containerPort"] != 9201 for c in containers(spec).values() for p in c.get("ports") or [])
    assert {m["mountPath"]: m.get("readOnly") for m in proxy["volumeMounts"]} == {"/etc/nginx/conf.d": True,
                                                                                   "/etc/nginx/certs": True}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["tls-proxy-certs"] == {"name": "tls-proxy-certs", "secret": {"secretName": "elasticsearch-tls"}}
    conf = objs["ConfigMap/elasticsearch-tls-proxy"]["data"]["default.conf"]
    assert "listen 9200 ssl;" in conf and "proxy_pass http://127.0.0.1:9201;" in conf


def test_prometheus_exporter_port_and_annotations() -> None:
    objs = objects(ES)
    pod = pod_template(objs["Deployment/elasticsearch"])
    assert pod is not None
    annotations = pod["metadata"]["annotations"]
    assert {k: v for k, v in annotations.items() if k.startswith("prometheus.io/")} == {
        "prometheus.io/scrape": "true", "prometheus.io/port": "9114", "prometheus.io/path": "/metrics"}
    assert {"name": "http-prometheus", "port": 9114, "targetPort": "http-prometheus"} in objs["Service/elasticsearch"][
        "spec"
    ]["ports"]


def test_log_tailer_shares_an_empty_dir_read_only() -> None:
    spec = pod_template(objects(ES)["Deployment/elasticsearch"])["spec"]  # type: ignore[index]
    by_name = containers(spec)
    assert {"name": "logs", "emptyDir": {}} in spec["volumes"]
    assert {"name": "logs", "mountPath": "/var/log/elasticsearch"} in by_name["elasticsearch"]["volumeMounts"]
    assert by_name["log-tailer"]["volumeMounts"] == [
        {"name": "logs", "mountPath": "/var/log/elasticsearch", "readOnly": True}
    ]
    assert by_name["log-tailer"]["command"][-1] == "/var/log/elasticsearch/docker-cluster_server.json"


def test_sysctl_is_the_only_privileged_container() -> None:
    spec = pod_template(objects(ES)["Deployment/elasticsearch"])["spec"]  # type: ignore[index]
    privileged = [name for name, c in containers(spec).items() if (c.get("securityContext") or {}).get("privileged")]
    assert privileged == ["sysctl"]
    assert [c["name"] for c in spec["initContainers"]] == ["sysctl"]
    assert spec["initContainers"][0]["command"] == ["sysctl", "-w", "vm.max_map_count=262144"]
    assert "securityContext" not in spec   # nothing pod-wide


def test_repeatable_pattern_applies_twice() -> None:
    pod = pod_template(objects(CASES / "wait-for" / "app.yaml")["Deployment/api"])
    assert pod is not None
    assert [c["name"] for c in pod["spec"]["initContainers"]] == ["wait-for-db-shop-svc-5432", "wait-for-redis-6379"]
    assert pod["metadata"]["annotations"]["manifestkit.dev/patterns"] == "init/wait-for,init/wait-for"


def test_pattern_output_is_merged_without_mutating_the_input() -> None:
    pod = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x:1"}]}}
    frozen = repr(pod)
    applied = apply_patterns(pod, None, [Use("sidecar/redis-cache")], Target("x", None, "1.30"), PATTERNS)
    assert repr(pod) == frozen
    assert [c["name"] for c in applied.pod["spec"]["containers"]] == ["x", "redis-cache"]


def test_engine_reports_problems_with_the_entry_index() -> None:
    pod = {"spec": {"containers": [{"name": "x", "image": "x:1"}]}}
    with pytest.raises(PatternProblems) as caught:
        apply_patterns(pod, None, [Use("sidecar/redis-cache"), Use("nope")], Target("x", None, "1.30"), PATTERNS)
    assert [(p.entry, p.path) for p in caught.value.problems] == [(1, ("use",))]


# ---------------------------------------------------------------- vault/agent slot


def test_vault_agent_has_a_registry_slot() -> None:
    pattern = PATTERNS["vault/agent"]
    assert (pattern.name, pattern.repeatable, pattern.long_running) == ("vault/agent", False, True)
    pod = {"spec": {"containers": [{"name": "x", "image": "x:1"}]}}
    # Its `with:` is checked by schemas/patterns/vault-agent.schema.json, like any pattern's.
    with pytest.raises(PatternProblems) as caught:
        apply_patterns(pod, None, [Use("vault/agent", {"rle": "web"})], Target("x", None, "1.30"), PATTERNS)
    assert caught.value.problems[0].path[:1] == ("with",)


# ---------------------------------------------------------------- user patterns: YAML + Jinja2 in patterns/

USER_PATTERN = """apiVersion: manifestkit.dev/v1alpha1
kind: Pattern
metadata: {name: sidecar/heartbeat}
spec:
  description: prints a line every few seconds, and serves a health port
  parameters:
    type: object
    additionalProperties: false
    required: [every]
    properties:
      every: {type: integer, minimum: 1}
      port: {type: integer, default: 8099}
  template: |
    container:
      name: heartbeat
      image: busybox:1.36
      command: [sh, -c, "while true; do echo {{ app }} alive; sleep {{ every }}; done"]
      ports: [{name: heartbeat, containerPort: {{ port }}}]
      volumeMounts: [{name: beat, mountPath: /beat}]
    volumes: [{name: beat, emptyDir: {}}]
    servicePorts: [{name: heartbeat, port: {{ port }}, targetPort: heartbeat}]
"""
USER_APP = """
  containers: [{name: web, image: "nginx:1.25", ports: [{name: http, containerPort: 8080}]}]
  service: {ports: [{name: http, port: 80, targetPort: http}]}
  patterns: [{use: sidecar/heartbeat, with: {every: 5}}]
"""


def test_user_yaml_pattern(tmp_path: Path) -> None:
    folder = project(tmp_path, "1.30", USER_APP)
    (folder / "patterns").mkdir()
    (folder / "patterns" / "heartbeat.yaml").write_text(USER_PATTERN, encoding="utf-8")
    objs = objects(folder)
    spec = pod_template(objs["Deployment/web"])["spec"]  # type: ignore[index]
    heartbeat = containers(spec)["heartbeat"]
    assert heartbeat["command"][-1] == "while true; do echo web alive; sleep 5; done"
    assert heartbeat["ports"] == [{"name": "heartbeat", "containerPort": 8099}]
    assert {"name": "beat", "emptyDir": {}} in spec["volumes"]
    assert objs["Service/web"]["spec"]["ports"][-1] == {"name": "heartbeat", "port": 8099, "targetPort": "heartbeat"}


def test_user_yaml_pattern_parameters_are_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = project(Path("."), "1.30", USER_APP.replace("every: 5", "evry: 5"))
    (folder / "patterns").mkdir()
    (folder / "patterns" / "heartbeat.yaml").write_text(USER_PATTERN, encoding="utf-8")
    with pytest.raises(ManifestkitError) as caught:
        render(folder)
    assert [d.format() for d in caught.value.diagnostics] == [
        "apps/app.yaml:7:46: error: spec.patterns[0].with.evry: unknown parameter 'evry' for sidecar/heartbeat; "
        "expected one of: every, port\n  hint: did you mean 'every'?"]


def test_edited_user_pattern_is_read_again(tmp_path: Path) -> None:
    """A library user or a watch loop renders the pattern file as it is now, not as it was first read."""
    folder = project(tmp_path, "1.30", USER_APP)
    (folder / "patterns").mkdir()
    file = folder / "patterns" / "heartbeat.yaml"
    file.write_text(USER_PATTERN, encoding="utf-8")

    def image() -> str:
        pod = pod_template(objects(folder)["Deployment/web"]) or {}
        return str(containers(pod["spec"])["heartbeat"]["image"])

    assert image() == "busybox:1.36"
    file.write_text(USER_PATTERN.replace("busybox:1.36", "busybox:1.37.0"), encoding="utf-8")
    assert image() == "busybox:1.37.0"
    # Same size, same second: the nanosecond mtime still tells the edit apart.
    stat = file.stat()
    file.write_text(USER_PATTERN.replace("busybox:1.36", "busybox:1.38.0"), encoding="utf-8")
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert image() == "busybox:1.38.0"


def test_user_pattern_may_not_shadow_a_builtin(tmp_path: Path) -> None:
    (tmp_path / "envoy.yaml").write_text(USER_PATTERN.replace("sidecar/heartbeat", "sidecar/envoy"), encoding="utf-8")
    with pytest.raises(ManifestkitError) as caught:
        registry(tmp_path)
    assert [d.format() for d in caught.value.diagnostics] == [
        f"{tmp_path / 'envoy.yaml'}: error: pattern 'sidecar/envoy' is already defined (built in)\n"
        "  hint: give your pattern another name"]


# ---------------------------------------------------------------- user patterns: Python entry points


def _plugin_installed() -> bool:
    importlib.invalidate_caches()
    return any(ep.name == "sidecar/hello" for ep in importlib.metadata.entry_points(group="manifestkit.patterns"))


@pytest.fixture(scope="session")
def plugin() -> None:
    """The test plug-in package (tests/plugin_pkg). CI installs it (.ci/run); elsewhere it is installed here."""
    if not _plugin_installed():
        if os.environ.get("CI") == "true":
            pytest.fail("tests/plugin_pkg is not installed; .ci/run must `pip install --no-deps tests/plugin_pkg`")
        offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", *offline, str(PLUGIN)], check=True
        )
    if not _plugin_installed():
        pytest.fail("tests/plugin_pkg is installed but its entry point 'sidecar/hello' is not visible")


def test_entry_point_pattern(tmp_path: Path, plugin: None) -> None:
    body = textwrap.dedent("""
      containers: [{name: web, image: "nginx:1.25"}]
      patterns: [{use: sidecar/hello, with: {port: 8081}}]
    """).replace("\n", "\n  ")
    objs = objects(project(tmp_path, "1.30", body))
    spec = pod_template(objs["Deployment/web"])["spec"]  # type: ignore[index]
    assert containers(spec)["hello"]["args"] == ["-text", "hello from web", "-listen=:8081"]
    assert check_object(objs["Deployment/web"], "1.30", strict=True) == []


def test_entry_point_pattern_schema_is_checked(tmp_path: Path, plugin: None) -> None:
    with pytest.raises(PatternProblems) as caught:
        apply_patterns({"spec": {"containers": [{"name": "x", "image": "x:1"}]}}, None,
                       [Use("sidecar/hello", {"port": "x"})], Target("x", None, "1.30"), registry(None))
    assert [p.message for p in caught.value.problems] == ["sidecar/hello: 'x' is not of type 'integer'"]


# ---------------------------------------------------------------- `base:` manifests


def test_patterns_on_a_base_manifest(tmp_path: Path) -> None:
    from tests.test_inject import ES as ES_MANIFEST
    (tmp_path / "es.yaml").write_text(ES_MANIFEST, encoding="utf-8")
    (tmp_path / "app.yaml").write_text(APP_HEAD.replace("name: web", "name: elasticsearch") + textwrap.dedent("""
      base: es.yaml
      patterns:
        - use: adapter/prometheus-exporter
          with: {image: "justwatch/elasticsearch_exporter:1.1.0", port: 9114}
    """).replace("\n", "\n  ").rstrip() + "\n", encoding="utf-8")
    objs = objects(tmp_path / "app.yaml")
    pod = pod_template(objs["Deployment/elasticsearch"])
    assert pod is not None
    assert [c["name"] for c in pod["spec"]["containers"]] == ["elasticsearch", "prometheus-exporter"]
    assert objs["Service/elasticsearch"]["spec"]["ports"][-1] == {
        "name": "metrics",
        "port": 9114,
        "targetPort": "metrics",
    }


def test_every_builtin_is_documented() -> None:
    docs = (ROOT / "docs" / "patterns.md").read_text(encoding="utf-8")
    assert [name for name in PATTERNS if f"`{name}`" not in docs] == []


def test_name_renames_the_helper_container() -> None:
    pod = {"spec": {"containers": [{"name": "x", "image": "x:1"}]}}
    applied = apply_patterns(pod, None, [Use("init/wait-for", {"host": "db", "port": 5432}, name="db-ready")],
                             Target("x", None, "1.30"), PATTERNS)
    assert [c["name"] for c in applied.pod["spec"]["initContainers"]] == ["db-ready"]


def test_pod_field_and_annotation_conflicts_name_both_values() -> None:
    from manifestkit.patterns.apply import merge
    from manifestkit.patterns.model import PatternOutput
    pod = {"metadata": {"annotations": {"prometheus.io/port": "8080"}},
           "spec": {"shareProcessNamespace": False, "containers": [{"name": "x", "image": "x:1"}]}}
    out = PatternOutput(pod_fields={"shareProcessNamespace": True}, annotations={"prometheus.io/port": "9114"})
    assert merge(pod, None, out, "vault/agent").conflicts == (
        "vault/agent sets pod field shareProcessNamespace to True, but the pod already sets it to False",
        "vault/agent sets pod annotation prometheus.io/port='9114', but the pod already has prometheus.io/port='8080'")


# ---------------------------------------------------------------- one home for each fact


def test_registry_is_keyed_by_each_pattern_name() -> None:
    assert all(name == pattern.name for name, pattern in PATTERNS.items())
    assert {pattern.role for pattern in PATTERNS.values()} <= set(ROLES)


def test_every_role_users_may_extend_has_its_generic_pattern() -> None:
    assert [name for name in PATTERNS if "/" not in name] == list(USER_ROLES)
    assert [PATTERNS[name].long_running for name in USER_ROLES] == [ROLES[name].long_running for name in USER_ROLES]


def test_long_running_follows_the_role() -> None:
    assert sorted(name for name, p in PATTERNS.items() if not p.long_running) == [
        "init", "init/fetch", "init/migrate", "init/sysctl", "init/wait-for"]


def test_every_schema_file_belongs_to_a_pattern() -> None:
    stems = {p.schema or name.replace("/", "-") for name, p in PATTERNS.items() if isinstance(p.schema, str)}
    files = {path.name.removesuffix(".schema.json") for path in (ROOT / "schemas" / "patterns").glob("*.schema.json")}
    assert stems <= files
    assert files <= stems


def test_the_docs_describe_exactly_the_builtins() -> None:
    """docs/patterns.md has a section per built-in; the names come from the registry, the docs follow them."""
    headings = [line for line in (ROOT / "docs" / "patterns.md").read_text(encoding="utf-8").splitlines()
                if line.startswith("### `")]
    documented = {name for line in headings for name in line.split("`")[1::2]}
    assert documented == set(PATTERNS)

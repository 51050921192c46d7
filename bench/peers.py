"""The peers bench_render.py runs beside manifestkit, each given the same objects as
manifestkit's render of the bench workload (bench/workload.py), environment ``prod``:

- a hand-written Helm chart, the classic layout a person writes: one template per kind,
  each a ``range`` over ``.Values.services``, a per-service config checksum
  (``toJson | sha256sum`` of that service's config), labels from one small helper;
- a flat kustomization that lists the plain render's files: what real Kustomize needs at
  least for those objects (its own floor, whatever the tree);
- a kapitan project: an inventory class with the shared settings, one target per
  environment listing the services, and a Jinja2 compile of one template per kind (the
  same templates as the hand-written chart, in Jinja2 syntax).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import workload
import yaml

# ------------------------------------------------------------------ hand-written Helm chart

HELPERS = """{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .name }}
app.kubernetes.io/part-of: {{ .root.Values.partOf }}
app.kubernetes.io/managed-by: manifestkit
env: {{ .root.Values.env }}
{{- end }}

{{- define "bench.selector" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .name }}
{{- end }}

{{- define "bench.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
  - ALL
{{- end }}
"""

DEPLOYMENT = """{{- range .Values.services }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .name }}
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" (dict "name" .name "root" $) | nindent 4 }}
spec:
  replicas: {{ $.Values.replicas }}
  selector:
    matchLabels:
      {{- include "bench.selector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "bench.labels" (dict "name" .name "root" $) | nindent 8 }}
      annotations:
        manifestkit.dev/config-checksum: CHECKSUM
    spec:
      initContainers:
      - name: init
        image: {{ $.Values.toolImage }}
        command: [sh, -c, echo init]
        securityContext:
          {{- include "bench.securityContext" . | nindent 10 }}
      containers:
      - name: app
        image: {{ .image }}
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: MODE
          value: fast
        - name: INDEX
          value: {{ .index | quote }}
        envFrom:
        - configMapRef:
            name: {{ .name }}-config
        - secretRef:
            name: {{ .name }}-secret
        livenessProbe:
          httpGet: {path: /livez, port: http}
          periodSeconds: 10
        readinessProbe:
          httpGet: {path: /readyz, port: http}
          periodSeconds: 5
        securityContext:
          {{- include "bench.securityContext" . | nindent 10 }}
        volumeMounts:
        - name: logs
          mountPath: /var/log/app
        resources:
          {{- toYaml $.Values.appResources | nindent 10 }}
      - name: log-tailer
        image: {{ $.Values.toolImage }}
        args: [/bin/sh, -c, tail -n+1 -F /var/log/app/app.log]
        securityContext:
          {{- include "bench.securityContext" . | nindent 10 }}
        volumeMounts:
        - name: logs
          mountPath: /var/log/app
          readOnly: true
        resources:
          {{- toYaml $.Values.tailerResources | nindent 10 }}
      volumes:
      - name: logs
        emptyDir: {}
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        seccompProfile:
          type: RuntimeDefault
{{- end }}
"""

# The same text manifestkit hashes (docs/checksums.md): this service's config data and its Secret's token.
CHECKSUM = ('sha256:{{ dict (printf "ConfigMap/%s-config" .name) (dict "data" .config)'
            ' (printf "Secret/%s-secret" .name) "unversioned:Opaque" | toJson | sha256sum }}')
DEPLOYMENT = DEPLOYMENT.replace("CHECKSUM", CHECKSUM)

SERVICE = """{{- range .Values.services }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" (dict "name" .name "root" $) | nindent 4 }}
spec:
  selector:
    {{- include "bench.selector" . | nindent 4 }}
  ports:
  - name: http
    port: 80
    targetPort: http
{{- end }}
"""

CONFIGMAP = """{{- range .Values.services }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}-config
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" (dict "name" .name "root" $) | nindent 4 }}
data:
  {{- toYaml .config | nindent 2 }}
{{- end }}
"""

SECRET = """{{- range .Values.services }}
---
apiVersion: v1
kind: Secret
metadata:
  name: {{ .name }}-secret
  namespace: {{ $.Values.namespace }}
  labels:
    {{- include "bench.labels" (dict "name" .name "root" $) | nindent 4 }}
type: Opaque
data:
  {{- range $key, $value := .secret }}
  {{ $key }}: {{ $value | b64enc }}
  {{- end }}
{{- end }}
"""

TEMPLATES = {"_helpers.tpl": HELPERS, "deployment.yaml": DEPLOYMENT, "service.yaml": SERVICE,
             "configmap.yaml": CONFIGMAP, "secret.yaml": SECRET}


def chart_values(n: int) -> dict[str, Any]:
    """The hand-written chart's values for ``prod``: the shared settings and one entry per service."""
    settings = workload.PROD
    return {
        "namespace": settings["namespace"], "env": settings["env"], "partOf": workload.PROJECT_NAME,
        "replicas": settings["replicas"], "toolImage": f"busybox:{settings['busyboxTag']}",
        "appResources": workload.APP_RESOURCES, "tailerResources": workload.TAILER_RESOURCES,
        "services": [{"name": f"app-{i}", "image": f"ghcr.io/example/app:{i}.0.0", "index": str(i),
                      "config": workload.config_data(), "secret": workload.secret_data(i)} for i in range(n)],
    }


def write_chart(chart: Path, values: dict[str, Any], values_name: str = f"values-{workload.ENV}.yaml") -> Path:
    """The hand-written chart at ``chart`` with ``values`` as its environment's values file."""
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: {chart.name}\nversion: 0.1.0\ntype: application\n")
    (chart / "values.yaml").write_text("services: []\n")
    (chart / values_name).write_text(yaml.safe_dump(values))
    for name, text in TEMPLATES.items():
        (chart / "templates" / name).write_text(text)
    return chart


def write_one_chart(root: Path, n: int) -> Path:
    """One hand-written chart of all ``n`` services (the classic layout)."""
    return write_chart(root / "bench", chart_values(n))


def write_chart_per_app(root: Path, n: int) -> Path:
    """The same hand-written chart once per service (``root/app-<i>/``), as manifestkit writes one per app."""
    values = chart_values(n)
    for service in values.pop("services"):
        write_chart(root / service["name"], {**values, "services": [service]})
    return root


# ------------------------------------------------------------------ the same objects

def plain_text(folder: Path) -> str:
    """Every YAML file under ``folder`` as one stream."""
    return "---\n".join(p.read_text() for p in sorted(folder.rglob("*.yaml")))


def keyed(texts: list[str]) -> dict[tuple[str, str, str], Any]:
    return {workload.objects_key(obj): obj for text in texts for obj in yaml.safe_load_all(text) if obj}


def check_same_objects(plain_env: Path, chart: Path, kapitan_compiled: Path | None = None) -> None:
    """Stop the bench unless the hand-written chart (rendered by real Helm) and kapitan's
    output are manifestkit's plain render, object for object."""
    import helm_python

    want = keyed([p.read_text() for p in sorted(plain_env.rglob("*.yaml"))])
    values = yaml.safe_load((chart / f"values-{workload.ENV}.yaml").read_text())
    with helm_python.Chart.load(str(chart)) as loaded:
        got = keyed(list(loaded.render(values, name=chart.name, namespace="default").values()))
    if got != want:
        raise SystemExit(f"the hand-written chart does not render the plain render's {len(want)} objects")
    if kapitan_compiled is not None:
        got = keyed([p.read_text() for p in sorted(kapitan_compiled.rglob("*.yaml"))])
        if got != want:
            raise SystemExit(f"kapitan does not compile the plain render's {len(want)} objects")


# ------------------------------------------------------------------ Kustomize's floor

def write_flat_kustomization(plain_env: Path) -> Path:
    """A kustomization beside the plain render of one env listing its files (the floor of
    what real Kustomize does for these objects)."""
    files = sorted(p.relative_to(plain_env).as_posix() for p in plain_env.rglob("*.yaml"))
    (plain_env / "kustomization.yaml").write_text(yaml.safe_dump({"resources": files}))
    return plain_env


# ------------------------------------------------------------------ kapitan

KAPITAN_FILTERS = '''"""Custom Jinja2 filters of the bench's kapitan project (kapitan loads lib/jinja2_filters.py)."""
import json


def go_json(value):
    """JSON as Go writes it (sorted keys, no spaces): the text the config checksum hashes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))
'''

KAPITAN_LABELS = """      app.kubernetes.io/name: {{ s.name }}
      app.kubernetes.io/instance: {{ s.name }}
      app.kubernetes.io/part-of: {{ p.partOf }}
      app.kubernetes.io/managed-by: manifestkit
      env: {{ p.env }}"""

KAPITAN_CHECKSUM = ('sha256:{{ {("ConfigMap/" ~ s.name ~ "-config"): {"data": s.config}, '
                    '("Secret/" ~ s.name ~ "-secret"): "unversioned:Opaque"} | go_json | sha256 }}')

KAPITAN_SECURITY = """          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}"""


def _kapitan_templates() -> dict[str, str]:
    labels, security = KAPITAN_LABELS, KAPITAN_SECURITY
    meta = "metadata:\n  name: NAME\n  namespace: {{ p.namespace }}\n  labels:\n" + labels.replace("      ", "    ")
    deployment = f"""{{% set p = inventory.parameters %}}
{{% for s in p.services %}}
---
apiVersion: apps/v1
kind: Deployment
{meta.replace("NAME", "{{ s.name }}")}
spec:
  replicas: {{{{ p.replicas }}}}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{{{ s.name }}}}
      app.kubernetes.io/instance: {{{{ s.name }}}}
  template:
    metadata:
      labels:
{labels.replace("      ", "        ")}
      annotations:
        manifestkit.dev/config-checksum: {KAPITAN_CHECKSUM}
    spec:
      initContainers:
      - name: init
        image: {{{{ p.toolImage }}}}
        command: [sh, -c, echo init]
        securityContext:
{security}
      containers:
      - name: app
        image: {{{{ s.image }}}}
        ports: [{{name: http, containerPort: 8080}}]
        env: [{{name: MODE, value: fast}}, {{name: INDEX, value: "{{{{ s.index }}}}"}}]
        envFrom: [{{configMapRef: {{name: {{{{ s.name }}}}-config}}}}, {{secretRef: {{name: {{{{ s.name }}}}-secret}}}}]
        livenessProbe: {{httpGet: {{path: /livez, port: http}}, periodSeconds: 10}}
        readinessProbe: {{httpGet: {{path: /readyz, port: http}}, periodSeconds: 5}}
        securityContext:
{security}
        volumeMounts: [{{name: logs, mountPath: /var/log/app}}]
        resources: {{{{ p.appResources | tojson }}}}
      - name: log-tailer
        image: {{{{ p.toolImage }}}}
        args: [/bin/sh, -c, tail -n+1 -F /var/log/app/app.log]
        securityContext:
{security}
        volumeMounts: [{{name: logs, mountPath: /var/log/app, readOnly: true}}]
        resources: {{{{ p.tailerResources | tojson }}}}
      volumes: [{{name: logs, emptyDir: {{}}}}]
      securityContext: {{runAsNonRoot: true, runAsUser: 10001, seccompProfile: {{type: RuntimeDefault}}}}
{{% endfor %}}
"""
    service = f"""{{% set p = inventory.parameters %}}
{{% for s in p.services %}}
---
apiVersion: v1
kind: Service
{meta.replace("NAME", "{{ s.name }}")}
spec:
  selector:
    app.kubernetes.io/name: {{{{ s.name }}}}
    app.kubernetes.io/instance: {{{{ s.name }}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
{{% endfor %}}
"""
    configmap = f"""{{% set p = inventory.parameters %}}
{{% for s in p.services %}}
---
apiVersion: v1
kind: ConfigMap
{meta.replace("NAME", "{{ s.name }}-config")}
data: {{{{ s.config | tojson }}}}
{{% endfor %}}
"""
    secret = f"""{{% set p = inventory.parameters %}}
{{% for s in p.services %}}
---
apiVersion: v1
kind: Secret
{meta.replace("NAME", "{{ s.name }}-secret")}
type: Opaque
data:
{{% for key, value in s.secret.items() %}}
  {{{{ key }}}}: {{{{ value | b64encode }}}}
{{% endfor %}}
{{% endfor %}}
"""
    return {"deployment.yaml": deployment, "service.yaml": service, "configmap.yaml": configmap, "secret.yaml": secret}


def write_kapitan(root: Path, n: int) -> Path:
    """A kapitan project for ``n`` services under ``root``: a class with the environment's
    settings, target ``prod`` with the services, Jinja2 templates compiled to ``manifests``."""
    project = root / "kapitan"
    values = chart_values(n)
    services = values.pop("services")
    (project / "inventory" / "classes").mkdir(parents=True)
    (project / "inventory" / "targets").mkdir()
    (project / "templates").mkdir()
    (project / "lib").mkdir()
    (project / "lib" / "jinja2_filters.py").write_text(KAPITAN_FILTERS)
    (project / "inventory" / "classes" / "bench.yml").write_text(yaml.safe_dump({"parameters": values}))
    target = {"classes": ["bench"], "parameters": {
        "kapitan": {"vars": {"target": workload.ENV},
                    "compile": [{"output_path": "manifests", "input_type": "jinja2", "input_paths": ["templates"]}]},
        "services": services}}
    (project / "inventory" / "targets" / f"{workload.ENV}.yml").write_text(yaml.safe_dump(target))
    for name, text in _kapitan_templates().items():
        (project / "templates" / name).write_text(text)
    return project

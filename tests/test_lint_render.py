"""Issue 13, point 10: `render` runs the lint rules, so a render that exits 0 passes `manifestkit validate`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.cli import main
from manifestkit.cmd_render import Plan, configure_render, plan
from manifestkit.diagnostics import Diagnostic
from manifestkit.emit.plain import join_stream, object_file, stream_documents
from manifestkit.lint import RULES, LintConfig, LintContext
from manifestkit.lint.podspec import pod_of
from manifestkit.model import Resource
from manifestkit.render_lint import STDOUT, _under, lint_files, lint_stream, lint_texts, render_config
from manifestkit.writer import OutFile

from ._fixtures import write_files
from .conftest import EXAMPLES, corpora

PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: shop}
spec:
  apps: [apps/*.yaml]
%s"""
# A Job with a classic nginx sidecar never completes: MK018, an error.
JOB = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: report, namespace: shop}
spec:
  workload: Job
  containers:
    - {name: report, image: "busybox:1.36", command: [sh, -c, "echo done"]}
    - {name: proxy, image: "nginx:1.27"}
"""


def project(root: Path, lint: str = "") -> Path:
    return write_files(root, {"manifestkit.yaml": PROJECT % lint, "apps/report.yaml": JOB})


def test_a_lint_error_fails_render_and_validate_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p")
    out = tmp_path / "out"
    assert main(["render", str(root), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    file = out / "default" / "shop" / "job-report.yaml"
    assert (f"{file}:27:9: error [MK018]: spec.template.spec.containers[1]: Job/shop/report: container 'proxy' "
            "(nginx:1.27) keeps running, so the Job never completes") in err.splitlines()
    assert (
        err.splitlines()[0] == f"manifestkit: 1 written, 0 unchanged, 0 removed in {out}"
    )  # the render's own line first
    assert main(["validate", str(out)]) == 1


def test_warnings_are_shown_and_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p", "  lint: {disable: [MK018]}\n")
    assert main(["render", str(root), "-o", "-"]) == 0
    captured = capsys.readouterr()
    assert "warning [MK012]" in captured.err
    assert "MK" not in captured.out.replace("MK018", "")    # findings never go into the output
    assert main(["render", str(root), "-o", "-", "--fail-on", "warning"]) == 1
    capsys.readouterr()
    assert main(["render", str(root), "-o", "-", "--fail-on", "warning", "--no-lint"]) == 0
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- issue 16: lint the emitted objects, not their text
# The render lints the objects each emitted file holds and reads a file only to locate a finding; its findings must be
# exactly those of reading every file back (`lint_texts`, what `validate` does): messages, files, lines and order.

def _job(root: Path, fmt: str, out: Path, environ: Mapping[str, str] | None = None) -> Plan:
    parser = argparse.ArgumentParser()
    configure_render(parser)
    args = parser.parse_args([str(root), "-o", str(out), "-f", fmt, "--allow-plaintext-secrets"])
    return plan(args, {**os.environ, **(environ or {})})


def _both_routes(job: Plan) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """The findings of the in-memory route and of reading every file back, on what ``job`` would write."""
    config = render_config(job.project.file, Path.cwd())
    files = job.emitted.files
    texts = {str(job.target / rel): out.data.decode() for rel, out in files.items() if rel.endswith(".yaml")}
    return lint_files(files, job.target, config), lint_texts(texts, config)


EXAMPLE_PROJECTS = sorted(p.parent.name for p in EXAMPLES.glob("*/manifestkit.yaml"))


@pytest.mark.parametrize("fmt", ["plain", "kustomize"])
@pytest.mark.parametrize("example", EXAMPLE_PROJECTS)
def test_in_memory_lint_finds_what_reading_back_finds_on_the_examples(example: str, fmt: str, tmp_path: Path) -> None:
    root = EXAMPLES / example
    job = _job(root, fmt, tmp_path / "out", {"SOPS_AGE_KEY_FILE": str(root / "age-test-key.txt")})
    held = [rel for rel, out in job.emitted.files.items() if out.objects]
    assert held and all(rel.endswith(".yaml") for rel in held)
    in_memory, read_back = _both_routes(job)
    assert in_memory == read_back


def test_the_examples_have_findings_to_compare() -> None:
    """The comparison above means something: the examples have findings, of several rules."""
    rules: set[str] = set()
    for example in EXAMPLE_PROJECTS:
        root = EXAMPLES / example
        job = _job(root, "plain", root / "build", {"SOPS_AGE_KEY_FILE": str(root / "age-test-key.txt")})
        rules.update(d.rule for d in _both_routes(job)[0])
    assert len(rules) >= 4, rules


def _corpus_project(root: Path, overlay: str = "") -> Path:
    """A Project whose `resources:` are Google's microservices-demo manifests, copied as they are, beside the
    ``report`` App; environments ``dev`` (no overlay) and ``prod`` (``overlay``) when an overlay is given."""
    manifests = corpora("microservices-demo", "kubernetes-manifests")
    files = {f"manifests/{p.name}": p.read_text(encoding="utf-8") for p in sorted(manifests.glob("*.yaml"))
             if p.name != "kustomization.yaml"}
    environments = "  environments:\n    dev: {}\n    prod: {overlays: [prod.yaml]}\n" if overlay else ""
    return write_files(root, {**files, "apps/report.yaml": JOB, "prod.yaml": overlay,
                              "manifestkit.yaml": PROJECT % f"  resources: [manifests/*.yaml]\n{environments}"})


PROD = """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  namespace: boutique
  labels: {env: prod}
"""


@pytest.mark.parametrize("fmt", ["plain", "kustomize"])
@pytest.mark.parametrize("overlay", ["", PROD], ids=["one-env", "two-envs"])
def test_in_memory_lint_on_real_manifests(fmt: str, overlay: str, tmp_path: Path) -> None:
    job = _job(_corpus_project(tmp_path / "p", overlay), fmt, tmp_path / "out")
    in_memory, read_back = _both_routes(job)
    assert in_memory == read_back
    assert len(in_memory) > 15 and len({d.file for d in in_memory}) > 10 and all(d.line for d in in_memory)


# Findings of many rules, one located inside a multi-line template (a line offset), on objects an overlay changes.
MIXED = {
    "apps/web.yaml": """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  containers:
    - name: web
      image: nginx:1.27
      ports: [{name: http, containerPort: 8080}]
      securityContext: {privileged: true}
    - name: twin
      image: nginx:1.27
      ports: [{name: http, containerPort: 8080}]
  service:
    ports: [{name: http, port: 80, targetPort: htttp}]
  objects:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: agent-templates}
      data:
        config.tmpl: |
          first line
          {{ with secret "secret/data/web" }}{{ .Data.password }}{{ end }}
          {{ with secret "secret/web" }}{{ .Data.data.password }}{{ end }}
""",
    "apps/report.yaml": JOB,
}


@pytest.mark.parametrize("fmt", ["plain", "kustomize"])
def test_in_memory_lint_on_many_rules_and_environments(fmt: str, tmp_path: Path) -> None:
    environments = "  environments:\n    dev: {}\n    prod: {overlays: [prod.yaml]}\n"
    root = write_files(tmp_path / "p", {**MIXED, "manifestkit.yaml": PROJECT % environments,
                                        "prod.yaml": PROD.replace("namespace: boutique", "replicas: 3")})
    in_memory, read_back = _both_routes(_job(root, fmt, tmp_path / "out"))
    assert in_memory == read_back
    assert {"MK018", "MK009", "MK004"} <= {d.rule for d in in_memory}
    assert any(d.column == 0 for d in in_memory)   # the template finding, at a line inside the string


def test_the_stream_is_linted_from_its_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files(tmp_path / "p", {**MIXED, "manifestkit.yaml": PROJECT % ""})
    job = _job(root, "plain", tmp_path / "out")
    documents = stream_documents(job.resources)
    config = render_config(job.project.file, Path.cwd())
    findings = lint_stream(documents, config)
    assert findings == lint_texts({STDOUT: join_stream(documents)}, config)
    assert len({d.line for d in findings}) > 5
    assert main(["render", str(root), "-o", "-"]) == 1
    assert capsys.readouterr().err.splitlines() == [line for d in findings for line in d.format().splitlines()]


def test_a_file_whose_bytes_were_replaced_is_read_back(tmp_path: Path) -> None:
    """An OutFile without objects (the previous sops file's bytes kept, a generator file) is parsed, as before."""
    job = _job(project(tmp_path / "p"), "plain", tmp_path / "out")
    config = render_config(job.project.file, Path.cwd())
    files = {rel: OutFile(out.data, out.mode) for rel, out in job.emitted.files.items()}
    assert lint_files(files, job.target, config) == _both_routes(job)[0] != []


_words = st.sampled_from(["web", "on", "0755", "1.10", "a b", "x: y", "- z", "#c", "'q'", "line\nnext", "", "é"])
_ports = st.lists(st.fixed_dictionaries({"name": _words, "containerPort": st.sampled_from([80, 8080, "80"])}),
                  max_size=3)
_containers = st.lists(st.fixed_dictionaries({"name": _words, "image": _words, "ports": _ports},
                                             optional={"securityContext": st.just({"privileged": True}),
                                                       "env": st.lists(st.fixed_dictionaries(
                                                           {"name": _words, "value": _words}), max_size=2)}),
                       min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(_containers, st.dictionaries(_words, _words, max_size=3))
def test_in_memory_lint_on_generated_pods(containers: list[dict[str, object]], labels: dict[str, str]) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n", "labels": labels},
           "spec": {"containers": containers}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "p", "namespace": "n"},
               "spec": {"selector": labels or {"app": "p"}, "ports": [{"port": 80, "targetPort": "http"}]}}
    files = {f"n/{obj['kind']}.yaml": object_file(Resource(obj=obj)) for obj in (pod, service)}
    texts = {f"/out/{rel}": out.data.decode() for rel, out in files.items()}
    config = LintConfig()
    assert lint_files(files, Path("/out"), config) == lint_texts(texts, config)


@pytest.mark.parametrize("target", [".", "/", "out", "/tmp/out/", "./out", "a/../b"])
def test_lint_names_each_file_as_a_path_under_the_target_would(target: str) -> None:
    under = _under(Path(target))
    for rel in ("a.yaml", "p/q/a.yaml", "./a.yaml", "p//a.yaml", "p/./a.yaml", "/abs.yaml", "p/../a.yaml", ".h/a"):
        assert under(rel) == str(Path(target) / rel), (target, rel)


NO_POD = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
     "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}},
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "ref+vault://x/y"}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {"spec": []}}},
    {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}},
]


@pytest.mark.parametrize("obj", NO_POD, ids=lambda obj: str(obj["kind"]))
def test_a_rule_marked_pods_finds_nothing_on_an_object_without_a_pod(obj: Mapping[str, Any]) -> None:
    assert pod_of(obj) is None
    for rule in RULES.values():
        if rule.pods:
            assert list(rule.check(obj, LintContext(file="x.yaml"), None)) == [], rule.id

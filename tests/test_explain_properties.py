"""What keeps `manifestkit explain` honest, on material we did not write as well as our own: on every shipped example
and environment (Google's microservices-demo, the seeds' apps among them) the traced run renders exactly what render
renders, every field has a writer, every place it names holds that value in the file, every field path it prints
reads back to the same field, and no secret value is ever shown; plus an App built on the microservices-demo corpus."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.cmd_explain import answer
from manifestkit.diagnostics import ManifestkitError, display_path
from manifestkit.explain_chain import fields_of
from manifestkit.explain_path import format_field, object_ref, resolve
from manifestkit.explain_run import explain_run
from manifestkit.loader import load_project
from manifestkit.model import Options, Resource
from manifestkit.package_data import data_dir
from manifestkit.pipeline import render_env
from manifestkit.provenance import plain
from manifestkit.redact import REDACTED

from .conftest import EXAMPLES, ROOT, corpora
from .test_render_golden import _targets

GOLDEN = Path(__file__).parent / "golden" / "explain"
CASES = [(target, env) for target in _targets() for env in load_project(target).env_names()]


def _id(case: tuple[Path, str]) -> str:
    return f"{case[0].relative_to(EXAMPLES)}:{case[1]}"


def _env(target: Path, env: str) -> str | None:
    return env if load_project(target).environments else None


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_the_traced_run_renders_what_render_renders(case: tuple[Path, str]) -> None:
    project = load_project(case[0])
    options = Options(environ={}, validate=False)
    rendered = [dict(r.obj) for r in render_env(project, _env(*case), options)]
    assert [plain(r.obj) for r in explain_run(project, _env(*case), options).final] == rendered
    assert [dict(r.obj) for r in render_env(project, _env(*case), options)] == rendered, "explain changed the project"


def _text(value: object) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_every_field_has_a_writer_and_every_place_holds_its_value(case: tuple[Path, str]) -> None:
    """An independent check: the line of the file a writer is said to be at holds the value it wrote (or, for a
    value made from a key the user wrote, that key; for an images rule, a word of the value)."""
    run = explain_run(load_project(case[0]), _env(*case), Options(environ={}))
    wrong = []
    for resource in run.final:
        for field in fields_of(run, resource):
            assert field.chain, f"{resource.ref()} {format_field(field.path)} has no writer"
            assert field.chain[-1].value == field.value
            for entry in field.chain:
                origin = entry.origin
                if origin is None or entry.value == REDACTED or isinstance(entry.value, (dict, list)):
                    continue
                line = Path(origin.file).read_text(encoding="utf-8").split("\n")[origin.line - 1]
                if entry.how == "key":
                    holds = str(origin.path[-1]) in line
                elif entry.how == "part":
                    holds = any(len(word) >= 3 and word in _text(entry.value)
                                for word in line.replace(",", " ").replace("{", " ").replace("}", " ").split())
                else:
                    holds = "\n" in _text(entry.value) or _text(entry.value) in line
                if not holds:
                    wrong.append(f"{resource.ref()} {format_field(field.path)} = {entry.value!r}: "
                                 f"{origin.file}:{origin.line} is {line!r}")
    assert wrong == []


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_every_printed_field_path_reads_back_to_its_field(case: tuple[Path, str]) -> None:
    run = explain_run(load_project(case[0]), _env(*case), Options(environ={}))
    for resource in run.final:
        for field in fields_of(run, resource):
            assert resolve(resource.obj, format_field(field.path), resource.ref()) == field.path


# ---------------------------------------------------------------- secrets


def _plaintexts(resources: list[Resource]) -> set[str]:
    """Every value of every Secret of a render, decoded, that is not also written in the clear elsewhere (the
    example's db user is its namespace): what explain must never show."""
    out: set[str] = set()
    for r in resources:
        if r.kind == "Secret":
            out |= {base64.b64decode(v).decode() for v in (r.obj.get("data") or {}).values()}
            out |= {str(v) for v in (r.obj.get("stringData") or {}).values()}
    public = json.dumps([r.obj for r in resources if r.kind != "Secret"])
    return {text for text in out if len(text) >= 4 and text not in public}


@pytest.mark.parametrize("mode", [None, "sops", "secret"])
def test_no_secret_value_in_any_answer(mode: str | None, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    project = load_project(EXAMPLES / "sops")
    options = Options(environ={}, secret_output=mode)
    secrets = _plaintexts(render_env(project, None, Options(environ={})))
    assert len(secrets) >= 3    # the example's db user and password and API key
    run = explain_run(project, None, options)
    shown = [answer(run, "api", "default", None, output) for output in ("text", "json")]
    for resource in (r for r in run.final if r.app == "api"):
        paths = ["", *(format_field(f.path) for f in fields_of(run, resource)), "data", "stringData"]
        for path in paths:
            if path in ("data", "stringData") and path not in resource.obj:
                continue
            spelled = f"{object_ref(resource)}.{path}" if path else object_ref(resource)
            shown += [answer(run, "api", "default", spelled, output) for output in ("text", "json")]
            for wrong in (f"{spelled}.x", f"{spelled}[x]", f"{spelled}.x[0]"):    # errors name what is there
                with pytest.raises(ManifestkitError) as caught:
                    answer(run, "api", "default", wrong, "text")
                shown.append(str(caught.value))
    monkeypatch.chdir(ROOT)
    assert main(["explain", "api", "Secret/api-keys.data", "-p", "examples/sops", "-v"]) == 0
    shown.append(capsys.readouterr().out + capsys.readouterr().err)
    leaked = [text for text in secrets for answer_text in shown if text in answer_text]
    assert leaked == []


# ---------------------------------------------------------------- an App built on Google's microservices-demo


APP = """apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: frontend, namespace: boutique}
spec:
  base: ../manifests/frontend.yaml
  patterns:
    - use: sidecar/log-tailer
      with: {path: /tmp/logs, file: frontend.log}
"""
OVERLAY = """apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: prod}
spec:
  extends: [builtin:production]
  namespace: boutique-prod
  images:
    - {name: frontend, newName: us-central1-docker.pkg.dev/google-samples/microservices-demo/frontend, newTag: v0.10.1}
  apps:
    frontend:
      replicas: 3
      containers:
        - name: server
          env: {ENABLE_PROFILER: "1"}
"""
PROJECT = """apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: boutique}
spec:
  apps: [apps/*.yaml]
  environments: {prod: {overlays: [overlays/prod.yaml]}}
"""
DEMO = ("frontend", "-p", ".", "--env", "prod")
DEMO_CASES: dict[str, tuple[str, ...]] = {
    "demo-objects": DEMO,
    "demo-image": (*DEMO[:1], "spec.template.spec.containers[server].image", *DEMO[1:]),
    "demo-replicas": (*DEMO[:1], "spec.replicas", *DEMO[1:]),
    "demo-env": (*DEMO[:1], "spec.template.spec.containers[server].env[ENABLE_PROFILER].value", *DEMO[1:]),
    "demo-port": (*DEMO[:1], "spec.template.spec.containers[server].ports[0].containerPort", *DEMO[1:]),
    "demo-readonly": (*DEMO[:1], "spec.template.spec.containers[log-tailer].securityContext.readOnlyRootFilesystem",
                      *DEMO[1:]),
    "demo-pattern-mount": (*DEMO[:1], "spec.template.spec.containers[server].volumeMounts[logs].mountPath",
                           *DEMO[1:]),
    "demo-service-port": (*DEMO[:1], "Service/frontend-external.spec.ports[http].targetPort", *DEMO[1:]),
}


@pytest.fixture
def boutique(tmp_path: Path) -> Path:
    project = tmp_path / "boutique"
    (project / "manifests").mkdir(parents=True)
    shutil.copy(corpora("microservices-demo", "kubernetes-manifests", "frontend.yaml"), project / "manifests")
    for rel, text in (("manifestkit.yaml", PROJECT), ("apps/frontend.yaml", APP), ("overlays/prod.yaml", OVERLAY)):
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text, encoding="utf-8")
    return project


@pytest.mark.parametrize("name", sorted(DEMO_CASES))
def test_an_app_on_the_microservices_demo_corpus(name: str, boutique: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch, update_golden: bool) -> None:
    monkeypatch.chdir(boutique)
    assert main(["explain", *DEMO_CASES[name]]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    # The package's own overlay, shown relative to the working folder: a path that depends on where the test runs.
    builtin = data_dir("overlays") / "production.yaml"
    out = captured.out.replace(str(builtin.resolve()), "<manifestkit>/overlays/production.yaml").replace(
        display_path(builtin), "<manifestkit>/overlays/production.yaml")
    golden = GOLDEN / "microservices-demo" / f"{name.removeprefix('demo-')}.txt"
    if update_golden:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(out, encoding="utf-8")
    assert out == golden.read_text(encoding="utf-8")


def test_the_corpus_manifest_is_the_writer_of_what_nobody_changed(boutique: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(boutique)
    run = explain_run(load_project("."), "prod", Options(environ={}))
    service = next(r for r in run.final if r.ref() == "Service/boutique-prod/frontend")
    writers = {(format_field(f.path), f.chain[-1].writer.kind) for f in fields_of(run, service)}
    assert writers == {
        ("apiVersion", "base"), ("kind", "base"), ("metadata.name", "base"), ("metadata.labels.app", "base"),
        ("metadata.namespace", "overlay"), ("spec.type", "base"), ("spec.selector.app", "base"),
        ("spec.ports[http].name", "base"), ("spec.ports[http].port", "base"), ("spec.ports[http].targetPort", "base"),
    }

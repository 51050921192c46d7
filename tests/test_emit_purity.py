"""Emitters are pure: they read data the render plan computed (no rendering, key reading,
decryption or sealing inside), import no pipeline internals, and stay small modules."""

from __future__ import annotations

import ast
import subprocess
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

import manifestkit.emit
from manifestkit import pipeline, render_plan
from manifestkit.cli import main
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.emit import EmitInput
from manifestkit.emit.registry import EMITTERS
from manifestkit.model import Options

from ._fixtures import write_files
from ._formats import render_dir
from .test_sops_layouts import SECRET_VALUES, Keys, environ, make_project, project_files

EMIT_DIR = Path(manifestkit.emit.__file__).parent
FORBIDDEN = (
    "manifestkit.build_step",
    "manifestkit.build_workload",
    "manifestkit.build_service",
    "manifestkit.build_config",
    "manifestkit.build_base",
    "manifestkit.build_meta",
    "manifestkit.overlay",
    "manifestkit.pipeline",
    "manifestkit.secrets",
)
MAX_LINES = 250


def imported(tree: ast.AST) -> list[str]:
    """Every module an ``import`` or ``from … import`` names (``from manifestkit import x`` → both)."""
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
            out.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def forbidden_imports(source: str) -> list[str]:
    return sorted({name for name in imported(ast.parse(source))
                   if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)})


def emit_modules() -> list[Path]:
    return sorted(EMIT_DIR.glob("*.py"))


@pytest.mark.parametrize("path", emit_modules(), ids=lambda p: p.name)
def test_emit_modules_import_no_build_overlay_pipeline_or_secrets(path: Path) -> None:
    assert forbidden_imports(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    ("source", "found"),
    [
        (
            "from manifestkit.build_base import base_objects",
            ["manifestkit.build_base", "manifestkit.build_base.base_objects"],
        ),
        ("from manifestkit import overlay", ["manifestkit.overlay"]),
        (
            "def f():\n    from manifestkit.secrets.step import sops_keys\n",
            ["manifestkit.secrets.step", "manifestkit.secrets.step.sops_keys"],
        ),
        ("import manifestkit.pipeline as p", ["manifestkit.pipeline"]),
        ("from manifestkit.emit.plain import stream", []),
    ],
)
def test_the_import_check_finds_every_spelling(source: str, found: list[str]) -> None:
    assert forbidden_imports(source) == found


@pytest.mark.parametrize("path", emit_modules(), ids=lambda p: p.name)
def test_emit_modules_are_small_and_say_their_job(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) < MAX_LINES
    assert ast.get_docstring(ast.parse(source))


def test_emit_input_carries_data_not_callables() -> None:
    hints = typing.get_type_hints(EmitInput)
    assert [f.name for f in fields(EmitInput) if "Callable" in str(hints[f.name])] == []


# ------------------------------------------------------------------ no I/O inside an emitter

@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys()


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("an emitter rendered, read keys, decrypted, sealed or ran a program")


@pytest.mark.parametrize("fmt", sorted(EMITTERS))
@pytest.mark.parametrize("layout", ["flux", "ksops", "helm-secrets"])
def test_emitters_render_nothing_and_decrypt_nothing(fmt: str, layout: str, tmp_path: Path, keys: Keys,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, keys, layout)
    options = Options(environ=environ(keys))
    renders = {env: pipeline.render_env(project, env, options) for env in project.env_names()}
    job = render_plan.emit_input(project, EMITTERS[fmt], renders, options)
    first = EMITTERS[fmt].emit(job)
    # What could render, read keys, decrypt or seal is reachable only through these (emit/
    # imports no secrets module: see the import test above); gpg and sops run as programs.
    for target, name in ((pipeline, "render_env"), (render_plan, "render_env"), (render_plan, "sops_keys"),
                         (render_plan, "open_secret"), (render_plan, "sealed_values"),
                         (subprocess, "run"), (subprocess, "Popen")):
        monkeypatch.setattr(target, name, _refuse)
    again = EMITTERS[fmt].emit(job)
    assert again == first


def test_only_formats_that_need_the_base_render_compute_it(tmp_path: Path, keys: Keys,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(tmp_path, keys, "flux")
    options = Options(environ=environ(keys))
    renders = {env: pipeline.render_env(project, env, options) for env in project.env_names()}
    asked: list[str | None] = []
    real = pipeline.render_env

    def recorded(p: Any, env: str | None, o: Any) -> Any:
        asked.append(env)
        return real(p, env, o)

    monkeypatch.setattr(render_plan, "render_env", recorded)
    assert render_plan.emit_input(project, EMITTERS["plain"], renders, options).base == []
    assert asked == []
    assert render_plan.emit_input(project, EMITTERS["kustomize"], renders, options).base != []
    assert asked == [None]


# ------------------------------------------------------------------ helm-secrets keys: no silent fall-back

BAD_KEY_HINT = "age plugin and SSH identities are not supported"


def test_helm_secrets_with_a_malformed_age_key_file_is_a_located_error(tmp_path: Path, keys: Keys) -> None:
    """Unreadable key settings used to be swallowed (an empty key set, then a misleading
    'cannot open' error); now the key file's own located diagnostic is reported."""
    project = make_project(tmp_path, keys, "helm-secrets")
    bad = tmp_path / "keys.txt"
    bad.write_text("# created: 2026-01-01\nnot-an-age-key\n", encoding="utf-8")
    with pytest.raises(ManifestkitError) as caught:
        render_dir(project, "helm", tmp_path / "out", Options(environ={**SECRET_VALUES, "SOPS_AGE_KEY_FILE": str(bad)}))
    assert caught.value.diagnostics == [
        Diagnostic(message="not an age identity (AGE-SECRET-KEY-1...)", file=str(bad), line=2, hint=BAD_KEY_HINT)]


def test_helm_secrets_malformed_key_through_the_cli_exits_2_naming_the_file(
        tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    root = write_files(tmp_path / "project", project_files(keys.recipient, "helm-secrets"))
    bad = tmp_path / "keys.txt"
    bad.write_text("not-an-age-key\n", encoding="utf-8")
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SOPS_AGE_KEY", raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(bad))
    assert main(["render", str(root), "-f", "helm", "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err == f"{bad}:1: error: not an age identity (AGE-SECRET-KEY-1...)\n  hint: {BAD_KEY_HINT}\n"
    assert [v for v in SECRET_VALUES.values() if v in err] == []


def test_plain_and_kustomize_never_read_sops_keys(tmp_path: Path, keys: Keys) -> None:
    """A malformed key does not matter to formats that do not open sops Secrets."""
    project = make_project(tmp_path, keys, "ksops")
    bad = tmp_path / "keys.txt"
    bad.write_text("not-an-age-key\n", encoding="utf-8")
    options = Options(environ={**SECRET_VALUES, "SOPS_AGE_KEY_FILE": str(bad)})
    for fmt in ("plain", "kustomize"):
        assert (render_dir(project, fmt, tmp_path / fmt, options) / ".").is_dir()


def test_opened_secrets_and_values_to_seal_never_print_their_values(tmp_path: Path, keys: Keys) -> None:
    project = make_project(tmp_path, keys, "helm-secrets")
    options = Options(environ=environ(keys))
    renders = {env: pipeline.render_env(project, env, options) for env in project.env_names()}
    job = render_plan.emit_input(project, EMITTERS["helm"], renders, options)
    emitted = EMITTERS["helm"].emit(job)
    assert job.opened and emitted.to_seal
    shown = repr(job) + repr(emitted)
    assert [v for v in SECRET_VALUES.values() if v in shown] == []


def test_a_sops_secret_the_plan_did_not_open_is_an_error_not_ciphertext_in_a_chart() -> None:
    from manifestkit.emit.helm import chart_files
    from manifestkit.model import Resource

    secret = Resource(obj={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
                       "data": {"k": "ENC[AES256_GCM,data:x]"}, "sops": {"version": "3.9.0"}}, app="app")
    with pytest.raises(ManifestkitError) as caught:
        chart_files("app", {"": [secret]}, {"": [secret]}, None, {("", "app", "a", "other"): {}})
    assert caught.value.diagnostics == [
        Diagnostic(message="helm-secrets layout: app: Secret/s was not opened by the render plan")
    ]

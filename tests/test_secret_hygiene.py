"""Secret hygiene: known values (from env refs and from a real OpenBao server) never show up in
stdout, stderr, logs, `--check` output, exception texts, or any written file but the Secret;
Secret files are 0600; resolved Secrets written inside a git work tree get a warning."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.pipeline import render_env
from manifestkit.redact import SecretStr
from tests._fixtures import write_files
from tests._openbao import OpenBao, openbao_server, write_kv2  # noqa: F401

ENV_VALUE = "HYG-env-8c1f-value"
VAULT_VALUE = "HYG-vault-3e77-value"
OTHER_VAULT_VALUE = "HYG-vault-other-5a90"
KNOWN = (ENV_VALUE, VAULT_VALUE, OTHER_VAULT_VALUE)


def forms(value: str) -> list[str]:
    """A value as it could leak: plain, base64 (as in a Secret's data), repr."""
    return [value, base64.b64encode(value.encode()).decode(), repr(value)]


def assert_clean(text: str, where: str) -> None:
    for value in KNOWN:
        for form in forms(value):
            assert form not in text, f"{value!r} leaked into {where}"


def app(vault: bool, env_refs: bool = True) -> dict[str, Any]:
    stringdata = {"env-key": "ref+env://HYG_SECRET"} if env_refs else {}
    env = {"FROM_ENV": "ref+env://HYG_SECRET", "PLAIN": "hello"} if env_refs else {"PLAIN": "hello"}
    if vault and env_refs:
        env["FROM_VAULT"] = "x-ref+vault://secret/data/hygiene#/password+-y"
    if vault:
        stringdata["vault-key"] = "ref+vault://secret/data/hygiene#/password"
    return {"apiVersion": "manifestkit.dev/v1alpha1", "kind": "App", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "env": env,
                                     "volumeMounts": [{"name": "s", "mountPath": "/s"}]}],
                     "volumes": [{"name": "s", "secret": {"secretName": "web-secret"}}],
                     "configMaps": {"web-config": {"data": {"MODE": "fast"}}},
                     "secrets": {"web-secret": {"stringData": stringdata}},
                     "service": {"ports": [{"name": "http", "port": 80}]}}}


def project(root: Path, vault: bool, env_refs: bool = True) -> Path:
    manifest = {
        "apiVersion": "manifestkit.dev/v1alpha1",
        "kind": "Project",
        "metadata": {"name": "hygiene"},
        "spec": {
            "apps": ["apps/*.yaml"],
            "secrets": {
                "env": {"allow": ["HYG_*"]},
                "vaultAgent": {"role": "web", "runAsUser": 101},
                "sops": {"ageRecipients": ["age1jg8m850qprtv4p72pvsc7hh6ryd806e9ycgh4zhqexadttzadftskld7w0"]},
            },
        },
    }
    return write_files(root, {"manifestkit.yaml": yaml.safe_dump(manifest),
                              "apps/web.yaml": yaml.safe_dump(app(vault, env_refs), sort_keys=False)})


@pytest.fixture
def vault_env(openbao: OpenBao, monkeypatch: pytest.MonkeyPatch) -> OpenBao:
    write_kv2(openbao, "hygiene", {"password": VAULT_VALUE, "other": OTHER_VAULT_VALUE})
    monkeypatch.setenv("VAULT_ADDR", openbao.address)
    monkeypatch.setenv("VAULT_TOKEN", openbao.root_token)
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE)
    return openbao


def written(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("mode", ["secret", "sops", "external-secret", "reference", "vault-agent"])
def test_values_only_in_secret_files(mode: str, vault_env: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # modes that resolve nothing read only Vault refs (env refs there are an error: see test_secret_modes)
    root = project(tmp_path / "p", vault=True, env_refs=mode in ("secret", "sops"))
    out = tmp_path / "out"
    args = ["-v", "render", str(root), "-o", str(out), "--secret-output", mode]
    code = main(args)
    captured = capsys.readouterr()
    assert_clean(captured.out, "stdout")
    assert_clean(captured.err, "stderr")
    assert_clean(caplog.text, "logs")
    assert code == 0, captured.err
    files = written(out)
    secret_files = {k for k in files if k.rsplit("/", 1)[-1].startswith("secret-")}
    assert bool(secret_files) == (mode in ("secret", "sops", "reference"))
    for name, text in files.items():
        if name not in secret_files or mode != "secret":
            assert_clean(text, name)
    for name in secret_files:
        assert (out / name).stat().st_mode & 0o777 == 0o600, name
    if mode == "secret":
        data = yaml.safe_load(files["default/shop/secret-web-secret.yaml"])["data"]
        assert base64.b64decode(data["vault-key"]).decode() == VAULT_VALUE


def test_check_output_and_errors_stay_clean(vault_env: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path / "p", vault=True)
    out = tmp_path / "out"
    assert main(["render", str(root), "-o", str(out)]) == 0
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE + "-changed")
    capsys.readouterr()
    assert main(["render", str(root), "-o", str(out), "--check"]) == 1
    captured = capsys.readouterr()
    assert "changed: " in captured.out
    assert_clean(captured.out + captured.err, "--check output")
    assert ENV_VALUE + "-changed" not in captured.out + captured.err
    # a missing key: the error names the keys that exist, never their values
    (root / "apps" / "web.yaml").write_text((root / "apps" / "web.yaml").read_text().replace("#/password", "#/pasword"))
    with pytest.raises(ManifestkitError) as caught:
        render_env(load_project(root), None, Options(environ={"VAULT_ADDR": vault_env.address,
                                                              "VAULT_TOKEN": vault_env.root_token,
                                                              "HYG_SECRET": ENV_VALUE}))
    text = str(caught.value) + repr(caught.value) + "".join(repr(d) for d in caught.value.diagnostics)
    assert "expected one of: other, password" in text
    assert_clean(text, "exception text")


def test_secret_str_never_prints_itself() -> None:
    value = SecretStr(ENV_VALUE)
    assert repr(value) == "<redacted>" and f"{value!r}" == "<redacted>"
    assert ENV_VALUE not in repr({"k": value}) and ENV_VALUE not in repr([value])


def _git_tree(tmp_path: Path) -> Path:
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    return tmp_path / "repo"


def test_warning_inside_a_git_work_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE)
    repo = _git_tree(tmp_path)
    root = project(repo / "deploy", vault=False)
    out = repo / "build"
    assert main(["render", str(root), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert err.splitlines()[:2] == [
        f"manifestkit: warning: writing 2 Secret(s) with resolved values in plain text to {out}, inside the git "
        f"work tree {repo}: Secret/shop/web-env, Secret/shop/web-secret",
        "  hint: keep the output folder out of git, use --secret-output sops, or pass --allow-plaintext-secrets"]
    assert_clean(err, "warning")


@pytest.mark.parametrize(("args", "in_git"), [
    (["--allow-plaintext-secrets"], True),
    ([], False),
    (["--secret-output", "reference"], True),
])
def test_no_warning(args: list[str], in_git: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE)
    base = _git_tree(tmp_path) if in_git else tmp_path / "plain"
    root = project(base / "deploy", vault=False)
    stringdata = yaml.safe_load((root / "apps" / "web.yaml").read_text())
    if "reference" in args:   # reference mode reads only Vault refs
        stringdata["spec"]["secrets"]["web-secret"]["stringData"] = {"k": "ref+vault://secret/data/x#/k"}
        stringdata["spec"]["containers"][0]["env"] = {"PLAIN": "hello"}
        (root / "apps" / "web.yaml").write_text(yaml.safe_dump(stringdata))
    assert main(["render", str(root), "-o", str(base / "build"), *args]) == 0
    assert "manifestkit: warning" not in capsys.readouterr().err


# --- every secret output mode x every format, with environments (issue 11, points 6 and 16) -----

def every_form(value: str) -> list[str]:
    """As :func:`forms`, plus the value's sha256 hex (a checksum of one value would reveal a guess)."""
    return [*forms(value), hashlib.sha256(value.encode()).hexdigest()]


def leaks(text: str) -> list[str]:
    return [form for value in KNOWN for form in every_form(value) if form in text]


def environments_project(root: Path) -> Path:
    """The hygiene project with dev (as the base) and prod, whose Secret reads another Vault key."""
    project(root, vault=True, env_refs=True)
    spec = yaml.safe_load((root / "manifestkit.yaml").read_text())
    spec["spec"]["environments"] = {"dev": {"overlays": []}, "prod": {"overlays": ["overlays/prod.yaml"]}}
    (root / "manifestkit.yaml").write_text(yaml.safe_dump(spec))
    (root / "overlays").mkdir()
    (root / "overlays" / "prod.yaml").write_text(yaml.safe_dump({
        "apiVersion": "manifestkit.dev/v1alpha1", "kind": "Overlay", "metadata": {"name": "prod"},
        "spec": {"apps": {"web": {"secrets": {"web-secret": {"stringData": {
            "vault-key": "ref+vault://secret/data/hygiene#/other"}}}}}}}))
    return root


def _is_secret_file(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.startswith("secret-")


@pytest.mark.parametrize("fmt", ["plain", "kustomize", "helm"])
@pytest.mark.parametrize("mode", ["secret", "sops", "external-secret", "reference", "vault-agent"])
def test_every_mode_and_format_keeps_values_in_secret_files(
        mode: str, fmt: str, vault_env: OpenBao, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(
        "SOPS_AGE_KEY_FILE", str(Path(__file__).parent.parent / "examples" / "sops" / "age-test-key.txt")
    )
    root = environments_project(tmp_path / "p")
    if mode not in ("secret", "sops"):   # these modes read only Vault refs
        web = yaml.safe_load((root / "apps" / "web.yaml").read_text())
        web["spec"]["containers"][0]["env"] = {"PLAIN": "hello"}
        del web["spec"]["secrets"]["web-secret"]["stringData"]["env-key"]
        (root / "apps" / "web.yaml").write_text(yaml.safe_dump(web, sort_keys=False))
    out = tmp_path / "out"
    common = [str(root), "-o", str(out), "--secret-output", mode, "--format", fmt]
    printed = []
    assert main(["-v", "render", *common]) == 0, capsys.readouterr().err
    printed.append(capsys.readouterr())
    assert main(["render", *common, "--check"]) == 0
    printed.append(capsys.readouterr())
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE + "-changed")
    main(["diff", *common])
    printed.append(capsys.readouterr())
    main(["render", *common, "--check"])
    printed.append(capsys.readouterr())
    monkeypatch.setenv("HYG_SECRET", ENV_VALUE)
    main(["validate", str(out)])
    printed.append(capsys.readouterr())
    bad = root / "apps" / "web.yaml"
    broken = ("#/password", "#/pasword") if mode in ("secret", "sops") else ("image: nginx:1.25", "image: [nginx]")
    bad.write_text(bad.read_text().replace(*broken))
    assert main(["render", str(root), "-o", str(tmp_path / "failed"), "--secret-output", mode, "--format", fmt]) == 2
    printed.append(capsys.readouterr())
    assert not (tmp_path / "failed").exists()
    for captured in printed:
        assert leaks(captured.out + captured.err) == []
    assert leaks(caplog.text) == []
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        found = leaks(path.read_text(encoding="utf-8", errors="replace"))
        if found:
            assert _is_secret_file(rel), f"a secret value in {rel}"
        if _is_secret_file(rel) or found:
            assert path.stat().st_mode & 0o777 == 0o600, rel


def test_per_environment_secrets_still_build_like_the_plain_render(vault_env: OpenBao, tmp_path: Path) -> None:
    """The Secret that differs in prod: kustomize and helm give the plain render's objects (point 6)."""
    from manifestkit.merge import merge
    from tests._formats import differences, helm_objects, plain_objects, render_dir
    from tests.test_kustomize import KUBECTL, kustomize

    project_ = load_project(environments_project(tmp_path / "p"))
    options = Options(environ=dict(os.environ))
    for env in ("dev", "prod"):
        want = plain_objects(project_, env, options)
        if KUBECTL is not None:
            built = kustomize(render_dir(project_, "kustomize", tmp_path / "k", options) / "overlays" / env)
            assert differences(built, want) == []
        chart = render_dir(project_, "helm", tmp_path / "h", options) / "charts" / "web"
        values = yaml.safe_load((chart / "values.yaml").read_text())
        env_values = yaml.safe_load((chart / f"values-{env}.yaml").read_text()) or {}
        assert differences(helm_objects(chart, merge(values, env_values)), want) == []


@pytest.mark.parametrize("output", ["text", "json", "sarif", "junit"])
def test_validate_never_quotes_a_secret_value(output: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Point 7: schema errors and lint findings under a Secret's data/stringData name the key, not the value."""
    file = tmp_path / "secret.yaml"
    file.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: a}\n"
        f"data: {{k: 12345678, j: {ENV_VALUE}}}\nstringData: {{x: [{VAULT_VALUE}], y: {OTHER_VAULT_VALUE}}}\n"
    )
    assert main(["validate", str(file), "--output", output]) == 1
    captured = capsys.readouterr()
    assert leaks(captured.out + captured.err) == []
    assert "12345678" not in captured.out + captured.err
    if output == "text":
        assert f"{file}:4:8: error [schema]: data.k: Secret/a/s: found an integer <redacted>; expected string" \
            in captured.out + captured.err

"""The five secret output modes, chosen by --secret-output, overlays, the Project, or a Secret's
own `output:`; the vault/agent pattern built after seed 000."""

from __future__ import annotations

import base64
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.loader import load_project
from manifestkit.model import Options
from manifestkit.patterns import PATTERNS
from manifestkit.patterns.engine import schema_of
from manifestkit.patterns.model import PatternError, PatternInput
from manifestkit.patterns.vault_agent import vault_agent
from manifestkit.patterns.vault_agent_config import hcl_string, signal_command
from manifestkit.pipeline import render_env
from manifestkit.secrets import sops
from manifestkit.secrets.go_templates import template_of
from manifestkit.secrets.modes import MODES, RESOLVING

from ._fixtures import WEB_APP_HEAD, write_files
from .conftest import EXAMPLES

AGE_KEY = EXAMPLES / "sops" / "age-test-key.txt"
AGE_RECIPIENT = "age1jg8m850qprtv4p72pvsc7hh6ryd806e9ycgh4zhqexadttzadftskld7w0"

PROJECT = f"""\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {{name: demo}}
spec:
  apps: [apps/*.yaml]
  environments:
    dev: {{overlays: [overlays/dev.yaml]}}
  secrets:
    output: secret
    env: {{allow: [PASSWORD]}}
    vault: {{address: http://vault.vault.svc:8200}}
    vaultAgent: {{role: web, process: "nginx: master", interval: 1m}}
    sops: {{ageRecipients: [{AGE_RECIPIENT}]}}
    externalSecrets:
      refreshInterval: 15m
      store:
        name: vault
        provider: {{vault: {{server: http://vault.vault.svc:8200, path: secret, version: v2,
                   auth: {{kubernetes: {{mountPath: kubernetes, role: web}}}}}}}}
"""

OVERLAY = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Overlay
metadata: {name: dev}
spec: {}
"""

WEB = WEB_APP_HEAD + """\
      securityContext: {runAsUser: 101}
      volumeMounts: [{name: conf, mountPath: /etc/web, readOnly: true}]
  volumes:
    - {name: conf, secret: {secretName: web-conf}}
  secrets:
    web-conf:
      stringData:
        password: ref+vault://secret/data/web#/password
        dsn: "postgres://web:ref+vault://secret/data/web?version=3#/password+@db/shop"
"""


def project(tmp_path: Path, web: str = WEB, overlay: str = OVERLAY) -> Path:
    files = {"manifestkit.yaml": PROJECT, "overlays/dev.yaml": overlay, "apps/web.yaml": textwrap.dedent(web)}
    return write_files(tmp_path, files)


def render(root: Path, mode: str | None, environ: dict[str, str] | None = None,
           validate: bool = True) -> dict[str, dict[str, Any]]:
    resources = render_env(load_project(root), "dev", Options(secret_output=mode, environ=environ or {},
                                                              validate=validate))
    return {f"{r.kind}/{r.name}": dict(r.obj) for r in resources}


def pod(objs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = objs["Deployment/web"]["spec"]["template"]
    return spec


def test_registry_lists_the_five_modes() -> None:
    assert list(MODES) == ["secret", "sops", "vault-agent", "external-secret", "reference"]


def test_resolving_modes_come_from_the_registry() -> None:
    assert RESOLVING == tuple(name for name, mode in MODES.items() if mode.resolves) == ("secret", "sops")


def test_secret_output_choices_come_from_the_registry(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(MODES, "new-mode", MODES["reference"])
    with pytest.raises(SystemExit):
        main(["render", "--secret-output", "nope"])
    assert "(choose from 'external-secret', 'new-mode', 'reference', 'secret', 'sops', 'vault-agent')" in \
        capsys.readouterr().err


def test_mode_precedence_flag_then_overlay_then_project(tmp_path: Path) -> None:
    overlay = OVERLAY.replace("spec: {}", "spec: {secrets: {output: reference}}")
    root = project(tmp_path, overlay=overlay)
    assert "Secret/web-conf" in render(root, None) and "ExternalSecret/web-conf" not in render(root, None)
    assert render(root, None)["Secret/web-conf"]["stringData"]["password"] == "<path:secret/data/web#password>"
    assert "ExternalSecret/web-conf" in render(root, "external-secret")


def test_a_secret_may_choose_its_own_output(tmp_path: Path) -> None:
    web = WEB.replace("    web-conf:\n", "    web-conf:\n      output: external-secret\n")
    objs = render(project(tmp_path, web), "reference")
    assert "ExternalSecret/web-conf" in objs and "Secret/web-conf" not in objs


def test_external_secret(tmp_path: Path) -> None:
    objs = render(project(tmp_path), "external-secret")
    assert objs["ExternalSecret/web-conf"] == {
        "apiVersion": "external-secrets.io/v1beta1",
        "kind": "ExternalSecret",
        "metadata": objs["ExternalSecret/web-conf"]["metadata"],
        "spec": {
            "refreshInterval": "15m",
            "secretStoreRef": {"name": "vault", "kind": "SecretStore"},
            "target": {"name": "web-conf", "creationPolicy": "Owner",
                       "template": {"engineVersion": "v2", "type": "Opaque",
                                    "data": {"dsn": "postgres://web:{{ .dsn_0 }}@db/shop"}}},
            "data": [
                {"secretKey": "dsn_0", "remoteRef": {"key": "secret/web", "property": "password", "version": "3"}},
                {"secretKey": "password", "remoteRef": {"key": "secret/web", "property": "password"}},
            ],
        },
    }
    assert objs["SecretStore/vault"]["metadata"] == {"name": "vault", "namespace": "shop"}
    assert objs["SecretStore/vault"]["spec"]["provider"]["vault"]["path"] == "secret"
    assert "Secret/web-conf" not in objs


def test_reference_mode_keeps_avp_placeholders(tmp_path: Path) -> None:
    objs = render(project(tmp_path), "reference")
    secret = objs["Secret/web-conf"]
    assert secret["stringData"] == {"dsn": "postgres://web:<path:secret/data/web#password#3>@db/shop",
                                    "password": "<path:secret/data/web#password>"}
    assert "avp.kubernetes.io/path" not in (secret["metadata"].get("annotations") or {})


def test_reference_mode_refuses_non_vault_refs(tmp_path: Path) -> None:
    web = WEB.replace("ref+vault://secret/data/web#/password\n", "ref+env://PASSWORD\n")
    with pytest.raises(ManifestkitError) as caught:
        render(project(tmp_path, web), "reference")
    assert [(d.message, d.hint) for d in caught.value.diagnostics] == [(
        "Secret/shop/web-conf: secrets output reference reads only Vault, but found ref+env://PASSWORD",
        "set `output: secret` or `output: sops` on this Secret, or move the values to Vault")]


def _sops_project(tmp_path: Path) -> Path:
    web = WEB.replace("ref+vault://secret/data/web#/password\n", "ref+env://PASSWORD\n") \
        .replace("ref+vault://secret/data/web?version=3#/password+", "ref+env://PASSWORD+")
    return project(tmp_path, web)


def test_sops_mode_reads_back_with_our_decryptor(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = _sops_project(tmp_path / "p")
    monkeypatch.setenv("PASSWORD", "pw-sops-71")
    out = tmp_path / "out"
    assert main(["render", str(root), "--env", "dev", "-o", str(out), "--secret-output", "sops"]) == 0
    file = out / "dev" / "shop" / "secret-web-conf.yaml"
    text = file.read_text()
    assert "pw-sops-71" not in text and "ENC[AES256_GCM," in text
    doc = sops.decrypt_file(file, sops.keys_from_env({}, str(AGE_KEY)))
    values = {k: base64.b64decode(str(v)).decode() for k, v in doc.tree["data"].items()}
    assert values == {"dsn": "postgres://web:pw-sops-71@db/shop", "password": "pw-sops-71"}
    raw = yaml.safe_load(text)
    assert raw["metadata"]["name"] == "web-conf"          # metadata stays readable for KSOPS/Flux
    assert set(raw["sops"]) >= {"age", "lastmodified", "mac", "encrypted_regex", "version"}
    assert raw["sops"]["encrypted_regex"] == "^(data|stringData)$"
    assert file.stat().st_mode & 0o777 == 0o600


def test_sops_ciphertext_differs_per_encryption(tmp_path: Path) -> None:
    """Fresh IVs and data key on every encryption; only the metadata stays the same."""
    root = _sops_project(tmp_path)
    first = render(root, "sops", {"PASSWORD": "x"})["Secret/web-conf"]
    second = render(root, "sops", {"PASSWORD": "x"})["Secret/web-conf"]
    assert first["data"] != second["data"]
    assert {k: v for k, v in first.items() if k not in ("data", "sops")} == \
        {k: v for k, v in second.items() if k not in ("data", "sops")}


@pytest.mark.parametrize(("key_available", "expected_check"), [(True, 0), (False, 1)])
def test_sops_render_reuses_unchanged_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str], key_available: bool,
                                            expected_check: int) -> None:
    """With a key that opens the previous file, an unchanged Secret keeps its bytes, so
    `render --check` passes; without one, the new ciphertext is written (documented)."""
    root = _sops_project(tmp_path / "p")
    for name in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    if key_available:
        monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(AGE_KEY))
    monkeypatch.setenv("PASSWORD", "pw-1")
    out = tmp_path / "out"
    args = ["render", str(root), "--env", "dev", "-o", str(out), "--secret-output", "sops"]
    assert main(args) == 0
    file = out / "dev" / "shop" / "secret-web-conf.yaml"
    before = file.read_bytes()
    assert main([*args, "--check"]) == expected_check
    assert main(args) == 0
    assert (file.read_bytes() == before) is key_available
    monkeypatch.setenv("PASSWORD", "pw-2")
    capsys.readouterr()
    assert main([*args, "--check"]) == 1
    assert capsys.readouterr().out == f"changed: {file}\n"


def test_sops_mode_needs_recipients(tmp_path: Path) -> None:
    root = _sops_project(tmp_path)
    (root / "manifestkit.yaml").write_text(PROJECT.replace(f"sops: {{ageRecipients: [{AGE_RECIPIENT}]}}", "sops: {}"))
    with pytest.raises(ManifestkitError) as caught:
        render(root, "sops", {"PASSWORD": "x"})
    assert [d.message for d in caught.value.diagnostics] == [
        "Secret/shop/web-conf: secrets output sops needs recipients, but spec.secrets.sops has no ageRecipients "
        "or pgpFingerprints"]


# ------------------------------------------------------------------ vault-agent


def test_vault_agent_mode_follows_seed_000(tmp_path: Path) -> None:
    objs = render(project(tmp_path), "vault-agent")
    assert "Secret/web-conf" not in objs
    template = pod(objs)
    spec = template["spec"]
    assert spec["shareProcessNamespace"] is True
    assert template["metadata"]["annotations"]["manifestkit.dev/patterns"] == "vault/agent"
    init = spec["initContainers"][-1]
    agent = next(c for c in spec["containers"] if c["name"] == "vault-agent")
    app = next(c for c in spec["containers"] if c["name"] == "web")
    assert init["args"] == ["agent", "-config=/etc/vault/config/init.hcl"]
    assert agent["args"] == ["agent", "-config=/etc/vault/config/agent.hcl"]
    for container in (init, agent):
        assert container["securityContext"]["runAsUser"] == 101        # the app's user
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}   # same user: no capability
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["resources"]["limits"] == {"memory": "64Mi"}
    assert {"name": "vault-secrets", "emptyDir": {"medium": "Memory"}} in spec["volumes"]
    assert not any("secret" in v for v in spec["volumes"])
    assert app["volumeMounts"] == [{"name": "vault-secrets", "mountPath": "/etc/web", "subPath": "web-conf",
                                    "readOnly": True}]
    config = objs["ConfigMap/web-vault-agent"]["data"]
    assert "exit_after_auth = true" in config["init.hcl"] and "exit_after_auth" not in config["agent.hcl"]
    assert 'command     = "pkill -HUP -f \'[n]ginx: master\'"' in config["agent.hcl"]
    assert 'static_secret_render_interval = "1m"' in config["agent.hcl"]
    assert 'destination = "/vault/secrets/web-conf/password"' in config["init.hcl"]
    assert sorted(config) == ["agent.hcl", "init.hcl", "template-0.ctmpl", "template-1.ctmpl"]
    assert config["template-0.ctmpl"] == ('postgres://web:{{ with secret "secret/data/web?version=3" }}'
                                          '{{ index .Data.data "password" }}{{ end }}@db/shop')


def test_vault_agent_injector_mode(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "manifestkit.yaml").write_text(PROJECT.replace('role: web, process', 'role: web, mode: injector, process'))
    objs = render(root, "vault-agent")
    template = pod(objs)
    annotations = template["metadata"]["annotations"]
    assert annotations["vault.hashicorp.com/agent-inject"] == "true"
    assert annotations["vault.hashicorp.com/role"] == "web"
    assert annotations["vault.hashicorp.com/agent-inject-secret-web-conf-password"] == "secret/data/web"
    assert annotations["vault.hashicorp.com/agent-inject-template-web-conf-password"] == \
        '{{ with secret "secret/data/web" }}{{ index .Data.data "password" }}{{ end }}'
    assert annotations["vault.hashicorp.com/secret-volume-path-web-conf-password"] == "/etc/web"
    assert annotations["vault.hashicorp.com/agent-inject-file-web-conf-password"] == "password"
    assert annotations["vault.hashicorp.com/agent-run-as-user"] == "101"
    assert "initContainers" not in template["spec"] and "volumes" not in template["spec"]
    assert "ConfigMap/web-vault-agent" not in objs


def test_vault_agent_refuses_env_use(tmp_path: Path) -> None:
    web = WEB.replace(
        "      volumeMounts:",
        "      env: [{name: PW, valueFrom: {secretKeyRef: {name: web-conf, key: password}}}]\n      volumeMounts:",
    )
    with pytest.raises(ManifestkitError) as caught:
        render(project(tmp_path, web), "vault-agent")
    assert [d.message for d in caught.value.diagnostics] == [
        "secrets output vault-agent renders Secrets as files, but container 'web' reads env 'PW' from Secret "
        "'web-conf'"]


def test_vault_agent_unmounted_secret_is_an_error(tmp_path: Path) -> None:
    web = WEB.replace("    - {name: conf, secret: {secretName: web-conf}}", "    - {name: conf, emptyDir: {}}")
    with pytest.raises(ManifestkitError) as caught:
        render(project(tmp_path, web), "vault-agent")
    assert [d.message for d in caught.value.diagnostics] == [
        "Secret/shop/web-conf: secrets output vault-agent delivers values into the pods that mount the Secret, "
        "but no workload of this render mounts it"]


def test_vault_agent_pattern_directly() -> None:
    pod_template = {"metadata": {}, "spec": {"securityContext": {"runAsUser": 1000},
                                             "containers": [{"name": "app", "image": "app:1"}]}}
    params = {"role": "app", "templates": [{"file": "config.json", "template": '{"a": 1}'}]}
    out = vault_agent(PatternInput(name="app", namespace="ns", params=params, pod=pod_template, service=None))
    assert [c["securityContext"]["runAsUser"] for c in (*out.init_containers, *out.containers)] == [1000, 1000]
    assert out.pod_fields == {}                     # no process to signal: no shared PID namespace
    assert out.mounts == {"app": ({"name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": True},)}
    assert out.objects[0]["metadata"] == {"name": "app-vault-agent", "namespace": "ns"}
    assert set(schema_of(PATTERNS["vault/agent"])["required"]) == {"role", "templates"}


def test_vault_agent_needs_the_app_user() -> None:
    pod_template = {"spec": {"containers": [{"name": "app", "image": "app:1"}]}}
    with pytest.raises(PatternError) as caught:
        vault_agent(
            PatternInput(
                name="app",
                namespace=None,
                params={"role": "r", "templates": [{"file": "f", "template": "t"}]},
                pod=pod_template,
                service=None,
            )
        )
    assert caught.value.message == ("cannot tell which user container 'app' runs as; the Vault agent must run as "
                                    "the app's user to share its files")


@pytest.mark.parametrize(
    ("text", "template"),
    [
        ("ref+vault://kv1/web#/token", '{{ with secret "kv1/web" }}{{ index .Data "token" }}{{ end }}'),
        ("ref+vault://secret/web#/token", '{{ with secret "secret/data/web" }}{{ index .Data.data "token" }}{{ end }}'),
        (
            "ref+vault://secret/data/web#/token",
            '{{ with secret "secret/data/web" }}{{ index .Data.data "token" }}{{ end }}',
        ),
        ("ref+vault://other/web?kv=2#/t", '{{ with secret "other/data/web" }}{{ index .Data.data "t" }}{{ end }}'),
        ("ref+vault://other/web?kv=1#/t", '{{ with secret "other/web" }}{{ index .Data "t" }}{{ end }}'),
        (
            "a {{ b }} <path:secret/data/x#k>",
            'a {{ `{{` }} b }} {{ with secret "secret/data/x" }}{{ index .Data.data "k" }}{{ end }}',
        ),
    ],
)
def test_template_of(text: str, template: str) -> None:
    assert template_of(text, {"kv1": 1, "secret": 2}) == template


def test_hcl_and_signal_quoting() -> None:
    assert hcl_string('a"b${c}%{d}') == '"a\\"b$${c}%%{d}"'
    assert signal_command("nginx: master") == "pkill -HUP -f '[n]ginx: master'"
    assert signal_command("java -jar app.jar", "USR1") == "pkill -USR1 -f '[j]ava -jar app\\.jar'"


def test_sops_output_time_is_injectable() -> None:
    from manifestkit.model import Resource
    from manifestkit.redact import SecretStr
    from manifestkit.secrets.jobs import ModeContext, Resolved, SecretJob
    from manifestkit.secrets.mode_sops import to_sops

    job = SecretJob(resource=Resource(obj={"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}),
                    templates={"k": "ref+env://X"}, plain={}, encoded={})
    ctx = ModeContext(
        settings={"sops": {"ageRecipients": [AGE_RECIPIENT]}},
        resolve=lambda ref, source: Resolved(SecretStr("v"), ""),
        environ={},
        now=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert to_sops(job, ctx)[0].obj["sops"]["lastmodified"] == "2026-01-02T00:00:00Z"


def test_vault_agent_as_a_pattern_in_an_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {
        "apiVersion": "manifestkit.dev/v1alpha1",
        "kind": "App",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "securityContext": {"runAsUser": 1000},
            "containers": [{"name": "web", "image": "nginx:1.25"}],
            "patterns": [
                {
                    "use": "vault/agent",
                    "with": {
                        "role": "web",
                        "address": "http://vault:8200",
                        "process": "nginx: master",
                        "templates": [
                            {
                                "file": "config.json",
                                "template": '{{ with secret "secret/data/web" }}{{ .Data.data | toJSON }}{{ end }}',
                            }
                        ],
                    },
                }
            ],
        },
    }
    (tmp_path / "web.yaml").write_text(yaml.safe_dump(spec))
    assert main(["render", str(tmp_path / "web.yaml"), "-o", "-"]) == 0
    objs = {f"{o['kind']}/{o['metadata']['name']}": o for o in yaml.safe_load_all(capsys.readouterr().out)}
    pod_spec = objs["Deployment/web"]["spec"]["template"]["spec"]
    assert [c["name"] for c in pod_spec["containers"]] == ["web", "vault-agent"]
    assert pod_spec["containers"][0]["volumeMounts"] == [
        {"name": "vault-secrets", "mountPath": "/vault/secrets", "readOnly": True}]
    assert 'destination = "/vault/secrets/config.json"' in objs["ConfigMap/web-vault-agent"]["data"]["agent.hcl"]


@pytest.mark.parametrize("mode", ["vault-agent", "external-secret", "reference"])
def test_secrets_without_refs_pass_through_unresolving_modes(mode: str, tmp_path: Path) -> None:
    web = WEB.replace(
        "  secrets:\n", "  secrets:\n    tls-literal: {type: kubernetes.io/tls, stringData: {tls.crt: C, tls.key: K}}\n"
    )
    objs = render(project(tmp_path, web), mode)
    assert objs["Secret/tls-literal"]["stringData"] == {"tls.crt": "C", "tls.key": "K"}
    assert "ExternalSecret/tls-literal" not in objs


def test_emitted_external_secrets_validate_against_the_shipped_crds(tmp_path: Path) -> None:
    """issue 10, point 5: ExternalSecret and SecretStore are checked out of the box (schemas/crds/), so a
    wrong field in them is caught like one in a Deployment."""
    from manifestkit.custom_schemas import load_extra_schemas
    from manifestkit.package_data import data_dir
    from manifestkit.schema_errors import check_object

    objs = render(project(tmp_path), "external-secret")   # validated by the render's schema step
    shipped = load_extra_schemas([data_dir("schemas") / "crds"])
    external, store = objs["ExternalSecret/web-conf"], next(o for k, o in objs.items() if k.startswith("SecretStore/"))
    assert check_object(external, "1.30", strict=True, extra=shipped) == []
    assert check_object(store, "1.30", strict=True, extra=shipped) == []
    wrong = {**external, "spec": {**external["spec"],
                                  "target": {**external["spec"]["target"], "creationPolicy": "Always"}}}
    errors = check_object(wrong, "1.30", strict=True, extra=shipped)
    assert errors and [e.path for e in errors] == [("spec", "target", "creationPolicy")]

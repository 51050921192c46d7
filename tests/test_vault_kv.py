"""Issue 14, seed 000: the KV version of each mount (ref, Project, spelling, Vault's mount table), MK020 on every
wrong form, the HUP user check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manifestkit.diagnostics import ManifestkitError
from manifestkit.lint import LintConfig, Settings
from manifestkit.patterns.model import PatternError, PatternInput
from manifestkit.patterns.vault_agent import vault_agent
from manifestkit.secrets.go_templates import template_of
from manifestkit.secrets.refs import find_refs
from manifestkit.secrets.vault import VaultReader
from manifestkit.secrets.vault_kv import KvPath, kv_path
from manifestkit.secrets.vault_settings import VaultAuth, VaultConfig
from manifestkit.validation import validate
from tests._openbao import OpenBao, openbao_server  # noqa: F401
from tests.test_secret_modes import PROJECT, WEB, pod, project, render


def ref(text: str) -> Any:
    return find_refs(text)[0]


@pytest.mark.parametrize(("text", "table", "expected"), [
    ("ref+vault://secret/application#/user", {"secret": 2}, KvPath("secret/data/application", 2)),
    ("ref+vault://secret/data/application#/user", {"secret": 2}, KvPath("secret/data/application", 2)),
    ("ref+vault://secret/data/application#/user", {}, KvPath("secret/data/application", 2)),
    ("ref+vault://legacy/application#/user", {"legacy": 1}, KvPath("legacy/application", 1)),
    ("ref+vault://team/a/app#/user", {"team/a": 2, "team": 1}, KvPath("team/a/data/app", 2)),
    ("ref+vault://other/app?kv=2#/user", {"other": 1}, KvPath("other/data/app", 2)),
])
def test_kv_path(text: str, table: dict[str, int], expected: KvPath) -> None:
    assert kv_path(ref(text), table) == expected


def test_unknown_kv_version_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError) as caught:
        kv_path(ref("ref+vault://secret/application#/user"), {})
    assert str(caught.value) == (
        "'ref+vault://secret/application#/user': cannot tell whether Vault mount 'secret' is KV version 1 or 2, "
        "and the agent template differs (.Data vs .Data.data); set spec.secrets.vault.kv: {secret: 2} in "
        "manifestkit.yaml, write the KV v2 path secret/data/application, add ?kv=2 to the ref, or set "
        "spec.secrets.vault.kvLookup: true to ask Vault's mount table")
    assert kv_path(ref("ref+vault://secret/application#/user"), {}, lambda path: 2) == \
        KvPath("secret/data/application", 2)


def test_both_seed_spellings_render_the_same_template() -> None:
    short = template_of("ref+vault://secret/application#/user", {"secret": 2})
    long = template_of("ref+vault://secret/data/application#/user", {"secret": 2})
    assert short == long == '{{ with secret "secret/data/application" }}{{ index .Data.data "user" }}{{ end }}'


def test_render_with_the_seed_spelling_needs_the_kv_version(tmp_path: Path) -> None:
    root = project(tmp_path, web=WEB.replace("secret/data/web", "secret/web"))
    with pytest.raises(ManifestkitError) as caught:
        render(root, "vault-agent")
    assert "cannot tell whether Vault mount 'secret' is KV version 1 or 2" in caught.value.diagnostics[0].message
    (root / "manifestkit.yaml").write_text(
        PROJECT.replace(
            "vault: {address: http://vault.vault.svc:8200}",
            "vault: {address: http://vault.vault.svc:8200, kv: {secret: 2}}",
        )
    )
    config = render(root, "vault-agent")["ConfigMap/web-vault-agent"]["data"]
    assert '{{ with secret "secret/data/web" }}{{ index .Data.data "password" }}{{ end }}' in config.values()


def test_mount_table_from_a_real_vault(openbao: OpenBao, tmp_path: Path) -> None:
    reader = VaultReader(VaultConfig(openbao.address, openbao.root_token, None, None, VaultAuth(), retries=0))
    assert (reader.kv_version("secret/application"), reader.kv_version("kv1/application")) == (2, 1)
    assert reader.kv_version("sys/nothing-here") is None
    root = project(tmp_path, web=WEB.replace("secret/data/web", "secret/web"))
    (root / "manifestkit.yaml").write_text(PROJECT.replace(
        "vault: {address: http://vault.vault.svc:8200}", f"vault: {{address: {openbao.address}, kvLookup: true}}"))
    config = render(root, "vault-agent", environ={"VAULT_TOKEN": openbao.root_token, "VAULT_ADDR": openbao.address})[
        "ConfigMap/web-vault-agent"
    ]
    assert '{{ with secret "secret/data/web" }}{{ index .Data.data "password" }}{{ end }}' in config["data"].values()


def _cm(template: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"t": template}}


@pytest.mark.parametrize("template", [
    '{{ with secret "secret/application" }}{{ index .Data "user" }}{{ end }}',       # manifestkit's old output
    '{{ with secret "secret/data/application" }}{{ index .Data "user" }}{{ end }}',
    '{{ with secret "secret/data/application" }}{{ .Data.user }}{{ end }}',
    '{{ (secret "secret/data/application").Data.user }}',
    '{{ index (secret "secret/data/application").Data "user" }}',
])
def test_mk020_catches_every_kv2_form(template: str) -> None:
    assert [d.rule for d in validate([_cm(template)])] == ["MK020"]


@pytest.mark.parametrize("template", [
    '{{ with secret "secret/data/application" }}{{ index .Data.data "user" }}{{ end }}',
    '{{ with secret "secret/application" }}{{ .Data.data.user }}{{ end }}',
    '{{ with secret "secret/data/application" }}{{ .Data.metadata.version }}{{ end }}',
])
def test_mk020_passes_right_kv2_forms(template: str) -> None:
    assert validate([_cm(template)]) == []


def test_mk020_catches_nested_reads_on_kv1() -> None:
    config = LintConfig(settings=Settings(kv1_mounts=frozenset({"legacy"})))
    wrong = _cm('{{ with secret "legacy/app" }}{{ index .Data.data "user" }}{{ end }}')
    assert [d.message for d in validate([wrong], config=config)] == [
        "ConfigMap/t: template reads .Data.data.<field> from KV v1 path 'legacy/app'; KV v1 keeps the fields at "
        ".Data.<field>"
    ]
    assert validate([_cm('{{ with secret "legacy/app" }}{{ index .Data "user" }}{{ end }}')], config=config) == []


def _agent(container: dict[str, Any], **params: Any) -> Any:
    return vault_agent(
        PatternInput(
            name="web",
            namespace="shop",
            params={"role": "r", "templates": [{"file": "f", "template": "t"}], "process": "nginx: master", **params},
            pod={"spec": {"containers": [container]}},
            service=None,
        )
    )


def test_the_agent_signals_only_its_own_user() -> None:
    with pytest.raises(PatternError) as caught:
        _agent({"name": "nginx", "image": "nginx:1.25"}, runAsUser=101)     # the official image: master is root
    assert caught.value.message == (
        "the agent signals 'nginx: master' in container 'nginx' as user 101, but the container's user is not set, "
        "so it runs as its image's user (root for the official nginx image) and the signal fails with "
        "'Operation not permitted'")
    with pytest.raises(PatternError) as caught:
        _agent({"name": "nginx", "image": "nginx:1.25", "securityContext": {"runAsUser": 0}}, runAsUser=101)
    assert caught.value.message == ("the agent runs as user 101 but signals 'nginx: master' in container 'nginx', "
                                    "which runs as user 0; the signal fails with 'Operation not permitted'")
    out = _agent({"name": "nginx", "image": "nginxinc/nginx-unprivileged:1.25", "securityContext": {"runAsUser": 101}})
    for agent in (*out.init_containers, *out.containers):
        assert agent["securityContext"]["capabilities"] == {"drop": ["ALL"]}      # no IPC_LOCK, no SYS_PTRACE
        assert agent["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}}


def test_seed_000_render_passes_pod_security_restricted_capabilities(tmp_path: Path) -> None:
    spec = pod(render(project(tmp_path), "vault-agent"))["spec"]
    added = [c for c in (*spec["containers"], *spec["initContainers"])
             if c.get("securityContext", {}).get("capabilities", {}).get("add")]
    assert added == []

"""Issue 14: ``vaultAgent.mode: injector`` against the Vault Agent Injector's annotation names and Kubernetes'
63-character limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from manifestkit.diagnostics import ManifestkitError
from manifestkit.patterns.model import PatternError, PatternInput
from manifestkit.patterns.vault_agent import vault_agent
from manifestkit.patterns.vault_agent_injector import MAX_NAME, annotation_name, check_annotations
from tests.test_secret_modes import PROJECT, WEB, pod, project, render

V = "vault.hashicorp.com/"
INJECTOR = PROJECT.replace("role: web, process", "role: web, mode: injector, image: hashicorp/vault:1.17, "
                           "authPath: auth/k8s-prod, process")


def annotations_of(tmp_path: Path, web: str = WEB) -> dict[str, str]:
    root = project(tmp_path, web=web)
    (root / "manifestkit.yaml").write_text(INJECTOR)
    found: dict[str, str] = pod(render(root, "vault-agent"))["metadata"]["annotations"]
    return found


def test_every_option_maps_to_an_injector_annotation(tmp_path: Path) -> None:
    found = annotations_of(tmp_path)
    assert {k: found[V + k] for k in ("agent-image", "auth-path", "template-static-secret-render-interval",
                                      "service", "role", "agent-run-as-user", "agent-share-process-namespace")} == {
        "agent-image": "hashicorp/vault:1.17", "auth-path": "auth/k8s-prod",
        "template-static-secret-render-interval": "1m", "service": "http://vault.vault.svc:8200", "role": "web",
        "agent-run-as-user": "101", "agent-share-process-namespace": "true"}
    assert found[V + "agent-inject-command-web-conf-password"] == "pkill -HUP -f '[n]ginx: master'"
    assert check_annotations(found) == []


def test_names_never_read_as_the_template_file_prefix_and_fit_63_characters() -> None:
    assert annotation_name("file-conf/a") == "f-file-conf-a"
    long = annotation_name("a-very-long-secret-name-for-the-application/and-an-even-longer-key-name.txt")
    assert len(f"agent-inject-template-{long}") <= MAX_NAME and long.startswith("a-very-long-secret-name")
    assert annotation_name("x" * 80) != annotation_name("x" * 81)


def test_check_annotations_knows_the_injector() -> None:
    assert check_annotations({V + "agent-inject-secret-a": "p", V + "agent-inject-template-b": "t",
                              V + "agent-imag": "x", V + "agent-inject-file-" + "a" * 50: "f"}) == [
        f"annotation '{V}agent-imag' is not a Vault Agent Injector annotation",
        f"annotation '{V}agent-inject-file-{'a' * 50}': the name after '/' must be at most 63 characters of "
        "[-A-Za-z0-9_.], starting and ending alphanumeric",
        f"annotation '{V}agent-inject-file-{'a' * 50}' names no secret of an agent-inject-secret-* annotation",
        f"annotation '{V}agent-inject-template-b' names no secret of an agent-inject-secret-* annotation"]


def test_keys_that_collide_are_refused(tmp_path: Path) -> None:
    web = WEB.replace("password: ref+vault", "A_B: ref+vault").replace("dsn: ", "a-b: ")
    with pytest.raises(ManifestkitError) as caught:
        annotations_of(tmp_path, web)
    assert caught.value.diagnostics[0].message == (
        "vault/agent: template files 'web-conf/A_B' and 'web-conf/a-b' both become injector secret 'web-conf-a-b'; "
        "the injector would keep only one")


def test_items_keep_their_folders(tmp_path: Path) -> None:
    web = WEB.replace(
        "secret: {secretName: web-conf}", "secret: {secretName: web-conf, items: [{key: password, path: conf/a.txt}]}"
    )
    found = annotations_of(tmp_path, web)
    assert found[V + "agent-inject-file-web-conf-conf-a.txt"] == "conf/a.txt"
    assert found[V + "secret-volume-path-web-conf-conf-a.txt"] == "/etc/web"


def test_a_subpath_mount_is_refused(tmp_path: Path) -> None:
    web = WEB.replace("mountPath: /etc/web, readOnly: true", "mountPath: /etc/nginx/conf.d/password, subPath: password")
    with pytest.raises(ManifestkitError) as caught:
        annotations_of(tmp_path, web)
    assert caught.value.diagnostics[0].message == (
        "Secret 'web-conf' is mounted with subPath 'password' at '/etc/nginx/conf.d/password', but the Vault Agent "
        "Injector mounts a whole folder at secret-volume-path, which would hide the rest of '/etc/nginx/conf.d'")


def test_a_secret_mounted_twice_is_served_at_both_paths(tmp_path: Path) -> None:
    web = WEB.replace("volumeMounts: [{name: conf, mountPath: /etc/web, readOnly: true}]",
                      "volumeMounts: [{name: conf, mountPath: /etc/web}, {name: conf, mountPath: /srv/conf}]")
    found = annotations_of(tmp_path, web)
    assert found[V + "secret-volume-path-web-conf-password"] == "/etc/web"
    assert found[V + "secret-volume-path-web-conf-2-password"] == "/srv/conf"
    assert found[V + "agent-inject-file-web-conf-2-password"] == "password"


def _injector(pod: dict[str, Any], **params: Any) -> Any:
    return vault_agent(
        PatternInput(
            name="web",
            namespace="shop",
            params={"role": "r", "mode": "injector", **params, "templates": [{"file": "f", "template": "t"}]},
            pod=pod,
            service=None,
        )
    )


def test_refused_options_say_why() -> None:
    app = {"name": "web", "image": "app:1", "securityContext": {"runAsUser": 101}}
    with pytest.raises(PatternError) as caught:
        _injector({"spec": {"automountServiceAccountToken": False, "containers": [app]}})
    assert caught.value.message == ("mode injector logs in with the pod's service account token, but the pod sets "
                                    "automountServiceAccountToken: false, so the agent cannot log in")
    with pytest.raises(PatternError) as caught:
        _injector({"spec": {"containers": [app]}}, mountInto=["web"])
    assert caught.value.message == ("mode injector mounts the secrets into every container; found mountInto, which "
                                    "the Vault Agent Injector has no annotation for")

"""Issue 14, seed 003: mirroring engines (render, secret-mirror, reflector, kyverno) of a Secret's `mirror:`; the
Kyverno policy checked against the shipped ClusterPolicy CRD. The seed's SecretMirrors: test_secret_mirrors.py."""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.diagnostics import ManifestkitError
from manifestkit.filekinds import CHOICES
from manifestkit.secrets.mirror_engines import ENGINES
from tests.test_secrets_step import by_ref, project, render

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "seed-003-mirror"


def app(mirror: str, data: str = "stringData: {token: ref+env://TOKEN}") -> dict[str, str]:
    return {"web.yaml": textwrap.dedent(f"""\
        apiVersion: manifestkit.dev/v1alpha1
        kind: App
        metadata: {{name: web, namespace: shop}}
        spec:
          containers: [{{name: web, image: nginx:1.25}}]
          secrets:
            shared:
              {data}
              mirror: {mirror}
        """)}


def objects(tmp_path: Path, mirror: str, data: str = "stringData: {token: ref+env://TOKEN}") -> dict[str, Any]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    found: dict[str, Any] = by_ref(render(project(tmp_path, app(mirror, data)), {"TOKEN": "t0ken"}))
    return found


def test_engine_choices_come_from_the_registry() -> None:
    assert CHOICES["mirror-engine"] is ENGINES
    assert list(ENGINES) == ["render", "secret-mirror", "reflector", "kyverno"]


def test_render_engine_warns_about_a_rule_that_matches_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="manifestkit"):
        objs = objects(tmp_path, '{namespaces: ["team-a-.+", "nobody-.+"]}')
    assert sorted(k for k in objs if k.startswith("Secret/")) == [
        "Secret/shop/shared", "Secret/team-a-1/shared", "Secret/team-a-dev/shared"]
    assert [r.getMessage() for r in caplog.records] == [
        "Secret/shop/shared: mirror: namespace rule 'nobody-.+' matches no namespace of this render (other, shop, "
        "team-a-1, "
        "team-a-dev, team-b-2); engine render copies only into namespaces it knows"
    ]


def test_a_glob_is_not_a_regex(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path, '{engine: reflector, namespaces: ["*-prod"]}')
    (problem,) = caught.value.diagnostics
    assert problem.message == ("Secret/shop/shared: mirror.namespaces[0]: '*-prod' is not a regular expression "
                               "(nothing to repeat at position 0)")
    assert problem.hint == "namespaces are regular expressions, not globs; for the glob write '.*-prod'"


@pytest.mark.parametrize("engine", ["secret-mirror", "kyverno"])
def test_go_engines_refuse_what_only_python_regexes_have(tmp_path: Path, engine: str) -> None:
    """The SecretMirror controller and Kyverno's regex_match are Go: no lookahead. Engine render (Python) has one."""
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path / engine, f'{{engine: {engine}, namespaces: ["(?!team-b-).+"]}}')
    (problem,) = caught.value.diagnostics
    assert problem.message == ("Secret/shop/shared: mirror.namespaces[0]: '(?!team-b-).+' uses a negative lookahead, "
                               "which Go's regexp (RE2), used by the controller, does not have")
    objs = objects(tmp_path / "render", '{engine: render, namespaces: ["(?!team-b-).+"]}')
    assert "Secret/team-a-1/shared" in objs and "Secret/team-b-2/shared" not in objs


def test_secret_mirror_for_a_secret_of_the_cluster(tmp_path: Path) -> None:
    objs = objects(
        tmp_path,
        "{engine: secret-mirror, source: cluster, namespaces: [project-a-.+], pollPeriodSeconds: 60}",
        data="type: kubernetes.io/tls",
    )
    assert not [k for k in objs if k.startswith("Secret/")]          # no data in git, no Secret written
    mirror = objs["SecretMirror/shop/shared-mirror"]
    assert mirror["spec"] == {          # what is not set is left to the controller (delete, 180 s)
        "source": {"name": "shared"},
        "destination": {"type": "namespaces", "namespaces": ["project-a-.+"]},
        "pollPeriodSeconds": 60,
    }


def test_secret_mirror_from_vault_keeps_the_controllers_auth_spelling(tmp_path: Path) -> None:
    vault = "{addr: 'https://vault.example.com', path: secret/data/x, auth: {approle: {secretRef: {name: r}}}}"
    objs = objects(tmp_path / "ok", f"{{engine: secret-mirror, source: {{vault: {vault}}}, namespaces: [a-.+]}}",
                   data="type: Opaque")
    assert objs["SecretMirror/shop/shared-mirror"]["spec"]["source"] == {
        "name": "shared", "type": "vault", "vault": yaml.safe_load(vault)}
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path / "bad", "{engine: secret-mirror, namespaces: [a-.+], source: {vault: "
                + vault.replace("approle", "appRole") + "}}", data="type: Opaque")
    (problem,) = caught.value.diagnostics
    assert (problem.message, problem.hint) == (
        "unknown field 'appRole' in spec.secrets.shared.mirror.source.vault.auth", "did you mean 'approle'?")


def test_reflector_annotations(tmp_path: Path) -> None:
    objs = objects(tmp_path, "{engine: reflector, namespaces: [project-a-.+, team-b-2]}")
    annotations = objs["Secret/shop/shared"]["metadata"]["annotations"]
    prefix = "reflector.v1.k8s.emberstack.com/"
    assert {k.removeprefix(prefix): v for k, v in annotations.items() if k.startswith(prefix)} == {
        "reflection-allowed": "true", "reflection-allowed-namespaces": "project-a-.+,team-b-2",
        "reflection-auto-enabled": "true", "reflection-auto-namespaces": "project-a-.+,team-b-2"}
    assert "Secret/team-b-2/shared" not in objs                      # the controller copies, not the render


def test_reflector_needs_the_source_in_git(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path, "{engine: reflector, source: cluster, namespaces: [a]}", data="type: Opaque")
    assert caught.value.diagnostics[0].message == (
        "Secret/shop/shared: mirror.engine: reflector reads its annotations from the source Secret, which manifestkit "
        "does not write when the source is not in git")


def test_kyverno_generate_policy_shape(tmp_path: Path) -> None:
    objs = objects(tmp_path, "{engine: kyverno, namespaces: [project-a-.+, project-b-.+]}")
    policy = objs["ClusterPolicy//mirror-shop-shared"]
    assert policy["apiVersion"] == "kyverno.io/v1" and policy["spec"]["generateExisting"] is True
    (rule,) = policy["spec"]["rules"]
    assert rule["match"] == {"any": [{"resources": {"kinds": ["Namespace"]}}]}
    assert rule["preconditions"] == {"all": [{
        "key": "{{ regex_match('^(project-a-.+|project-b-.+)$', '{{request.object.metadata.name}}') }}",
        "operator": "Equals", "value": True}]}
    assert rule["generate"] == {"apiVersion": "v1", "kind": "Secret", "name": "shared",
                                "namespace": "{{request.object.metadata.name}}", "synchronize": True,
                                "clone": {"namespace": "shop", "name": "shared"}}
    assert "Secret/shop/shared" in objs                               # the source is still written


MALFORMED_POLICY = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: clone-tls}
spec:
  generateExisting: true
  rules:
    - name: clone-tls
      match: {any: [{resources: {kinds: [Namespace]}}]}
      generate:
        apiVersion: v1
        kind: Secret
        name: tls
        namespace: "{{request.object.metadata.name}}"
        synchronize: "true"
        clone: {namespace: certs, name: tls}
        cloneList: {kinds: [v1/Secret]}
    - match: {any: [{resources: {kinds: [Namespace]}}]}
      generate: {kind: Secret, name: tls, clone: {namespace: certs, name: tls}, synchronise: true}
"""


def test_render_checks_kyverno_policies_against_the_shipped_crd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy engine kyverno emits passes (a whole render, below); a malformed one among the Project's
    `resources:` is refused by the same schema step, every mistake located in the Project file."""
    root = project(tmp_path, app("{engine: kyverno, namespaces: [project-a-.+]}"))
    manifest = (root / "manifestkit.yaml").read_text()
    monkeypatch.chdir(root)
    monkeypatch.setenv("TOKEN", "t0ken")
    assert main(["render", ".", "-o", "-"]) == 0
    assert "ClusterPolicy" in capsys.readouterr().out
    (root / "policy.yaml").write_text(MALFORMED_POLICY)
    (root / "manifestkit.yaml").write_text(manifest.replace("  apps: [apps/*.yaml]", "  apps: [apps/*.yaml]\n"
                                                                                     "  resources: [policy.yaml]"))
    assert main(["render", ".", "-o", "-"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert [line for line in err.splitlines() if ": error" in line] == [
        "policy.yaml:9:7: error: spec.rules[0].generate: ClusterPolicy/clone-tls: 'clone' and 'cloneList' exclude "
        "each other",
        "policy.yaml:14:9: error: spec.rules[0].generate.synchronize: ClusterPolicy/clone-tls: found a string "
        '"true"; expected boolean',
        "policy.yaml:17:7: error: spec.rules[1]: ClusterPolicy/clone-tls: missing required field 'name'",
        "policy.yaml:18:81: error: spec.rules[1].generate.synchronise: ClusterPolicy/clone-tls: unknown field "
        "'synchronise'",
    ]


def test_unknown_engine_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path, "{engine: reflektor, namespaces: [a]}")
    # The App schema's enum, filled from ENGINES, refuses it before the engine step sees it.
    assert (
        caught.value.diagnostics[0].message
        == "found 'reflektor'; expected one of: render, secret-mirror, reflector, kyverno"
    )

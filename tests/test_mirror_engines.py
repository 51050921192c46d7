"""Issue 14, seed 003: mirroring engines (render, secret-mirror, reflector, kyverno); the seed's SecretMirror examples
from a manifestkit spec, valid against the CRD."""

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
    assert problem.message == ("Secret/shop/shared: mirror.namespaces: '*-prod' is not a regular expression "
                               "(nothing to repeat at position 0)")
    assert (
        problem.hint
        == "namespaces are regular expressions matched against the whole name; for the glob write '.*-prod'"
    )


def test_secret_mirror_for_a_secret_of_the_cluster(tmp_path: Path) -> None:
    objs = objects(
        tmp_path,
        "{engine: secret-mirror, source: cluster, namespaces: [project-a-.+], pollPeriodSeconds: 60}",
        data="type: kubernetes.io/tls",
    )
    assert not [k for k in objs if k.startswith("Secret/")]          # no data in git, no Secret written
    mirror = objs["SecretMirror/shop/shared-mirror"]
    assert mirror["spec"] == {
        "source": {"name": "shared"},
        "destination": {"type": "namespaces", "namespaces": ["project-a-.+"]},
        "deletePolicy": "delete",
        "pollPeriodSeconds": 60,
    }


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


def test_unknown_engine_lists_the_known(tmp_path: Path) -> None:
    with pytest.raises(ManifestkitError) as caught:
        objects(tmp_path, "{engine: reflektor, namespaces: [a]}")
    # The App schema's enum, filled from ENGINES, refuses it before the engine step sees it.
    assert (
        caught.value.diagnostics[0].message
        == "found 'reflektor'; expected one of: render, secret-mirror, reflector, kyverno"
    )


# The seed document's SecretMirror manifests (scenarios 1, 2 and the MongoDB bonus), as written
# there, but with auth `appRole`: the controller's field (the seed's `approle` would be pruned).
SEED_MIRRORS = """\
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata: {name: mysecret-mirror, namespace: default}
spec:
  source: {name: mysecret}
  destination:
    namespaces: [project-a-.+, project-b-.+]
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata: {name: myvaultsecret-mirror, namespace: default}
spec:
  source:
    name: myvaultsecret-sync
    type: vault
    vault:
      addr: https://vault.example.com
      path: /secret/data/myvaultsecret
      auth: {appRole: {secretRef: {name: vault-approle}}}
  destination:
    type: namespaces
    namespaces: [project-c-.+]
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata: {name: secretmirror-from-vault-mongo-to-ns, namespace: default}
spec:
  source:
    name: mongo-creds
    type: vault
    vault:
      addr: https://vault.example.com
      path: mongodb/creds/somedb
      auth: {appRole: {secretRef: {name: vault-approle}}}
  destination:
    type: namespaces
    namespaces: [default]
"""


def _rendered(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> dict[str, Any]:
    assert main(["render", str(EXAMPLE), "-o", "-"]) == 0
    out = capsys.readouterr().out
    (tmp_path / "rendered.yaml").write_text(out)
    return {d["metadata"]["name"]: d for d in yaml.safe_load_all(out) if d["kind"] == "SecretMirror"}


def test_the_seed_secret_mirrors_come_from_a_manifestkit_spec(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rendered = _rendered(capsys, tmp_path)
    for seed in yaml.safe_load_all(SEED_MIRRORS):
        ours = rendered[seed["metadata"]["name"]]
        defaults = {"deletePolicy": "delete", "pollPeriodSeconds": 180}      # the controller's defaults, written out
        assert ours["metadata"]["namespace"] == seed["metadata"]["namespace"]
        assert ours["spec"] == {**seed["spec"], **defaults,
                                "destination": {"type": "namespaces", **seed["spec"]["destination"]}}
    (tmp_path / "seed.yaml").write_text(SEED_MIRRORS)
    assert (
        main(["validate", "--strict", "--no-lint", "--schemas", str(EXAMPLE / "crds"), str(tmp_path / "seed.yaml")])
        == 0
    )
    capsys.readouterr()
    assert main(["validate", "--strict", "--no-lint", "--schemas", str(EXAMPLE / "crds"),
                 "--skip", "kyverno.io/v1/ClusterPolicy", str(tmp_path / "rendered.yaml")]) == 0


def test_the_crd_refuses_the_seeds_approle_spelling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "typo.yaml").write_text(SEED_MIRRORS.split("---\n")[1].replace("appRole", "approle"))
    assert main(["validate", "--strict", "--schemas", str(EXAMPLE / "crds"), str(tmp_path / "typo.yaml")]) == 1
    assert "approle" in capsys.readouterr().out

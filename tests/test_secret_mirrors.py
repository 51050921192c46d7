"""Issue 14, seed 003: every SecretMirror of the seed document from a manifestkit spec (`mirror:` on a Secret, an
App's and the Project's `mirrors:`), checked by the shipped CRDs; bad mirrors refused where they were written."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from manifestkit.cli import main
from manifestkit.package_data import data_dir
from manifestkit.secrets.secret_mirror import regex_problem

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "seed-003-mirror"
CRDS = data_dir("schemas") / "crds"

# The seed document's five SecretMirror manifests, as the seed writes them (its page lost the
# indentation; the keys, values and their nesting are the seed's).
SEED_EXAMPLES = """\
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata:
  name: mysecret-mirror
  namespace: default
spec:
  source:
    name: mysecret
  destination:
    namespaces:
      - project-a-.+
      - project-b-.+
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata:
  name: myvaultsecret-mirror
  namespace: default
spec:
  source:
    name: myvaultsecret-sync
    type: vault
    vault:
      addr: https://vault.example.com
      path: /secret/data/myvaultsecret
      auth:
        approle:
          secretRef:
            name: vault-approle
  destination:
    type: namespaces
    namespaces:
      - project-c-.+
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata:
  name: myvaultsecret-mirror-reverse
  namespace: default
spec:
  source:
    name: mysecret
  destination:
    type: vault
    vault:
      addr: https://vault.example.com
      path: /secret/data/myvaultsecret
      auth:
        approle:
          secretRef:
            name: vault-approle
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata:
  name: secretmirror-from-vault-mongo-to-ns
  namespace: default
spec:
  source:
    name: mongo-creds
    type: vault
    vault:
      addr: https://vault.example.com
      path: mongodb/creds/somedb
      auth:
        approle:
          secretRef:
            name: vault-approle
  destination:
    type: namespaces
    namespaces:
      - default
---
apiVersion: mirrors.kts.studio/v1alpha2
kind: SecretMirror
metadata:
  name: secretmirror-from-vault-to-vault
  namespace: default
spec:
  source:
    name: mysecret
    type: vault
    vault:
      addr: https://vault1.example.com
      path: /secret/data/mysecret
      auth:
        approle:
          secretRef:
            name: vault1-approle
  destination:
    type: vault
    vault:
      addr: https://vault2.example.com
      path: /secret/data/mysecret
      auth:
        approle:
          secretRef:
            name: vault2-approle
"""

PROJECT_LABELS = {"app.kubernetes.io/part-of": "seed-003-mirror", "app.kubernetes.io/managed-by": "manifestkit"}
APP_LABELS = {"app.kubernetes.io/name": "mirrors", "app.kubernetes.io/instance": "mirrors", **PROJECT_LABELS}
# Where each seed example comes from in examples/seed-003-mirror: the labels tell (an App's or the Project's).
MADE_BY = {
    "mysecret-mirror": APP_LABELS,                        # the App's `mirrors:`
    "myvaultsecret-mirror": APP_LABELS,                   # `mirror:` on the App's Secret myvaultsecret-sync
    "myvaultsecret-mirror-reverse": APP_LABELS,           # the App's `mirrors:` (Secret → Vault)
    "secretmirror-from-vault-mongo-to-ns": APP_LABELS,    # `mirror:` on the App's Secret mongo-creds
    "secretmirror-from-vault-to-vault": PROJECT_LABELS,   # the Project's `mirrors:` (Vault → Vault)
}


def _rendered(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    assert main(["render", str(EXAMPLE), "-o", "-"]) == 0           # render's schema step: the shipped CRDs
    return list(yaml.safe_load_all(capsys.readouterr().out))


def test_every_seed_secret_mirror_comes_from_the_example_spec(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's manifests exactly, but for the labels manifestkit puts on every object it writes."""
    rendered = {d["metadata"]["name"]: d for d in _rendered(capsys) if d["kind"] == "SecretMirror"}
    seeds = list(yaml.safe_load_all(SEED_EXAMPLES))
    assert sorted(rendered) == sorted(s["metadata"]["name"] for s in seeds) == sorted(MADE_BY)
    for seed in seeds:
        name = seed["metadata"]["name"]
        assert rendered[name] == {**seed, "metadata": {**seed["metadata"], "labels": MADE_BY[name]}}, name


def test_the_seed_examples_and_the_render_validate_against_the_shipped_crds(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "seed.yaml").write_text(SEED_EXAMPLES)
    (tmp_path / "rendered.yaml").write_text(yaml.safe_dump_all(_rendered(capsys), sort_keys=False))
    for name in ("seed.yaml", "rendered.yaml"):      # the ClusterPolicy too: no kind is skipped
        assert main(["validate", "--strict", "--no-lint", "--schemas", str(CRDS), str(tmp_path / name)]) == 0, name
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(("change", "expected"), [
    # The early v1alpha2 spelling: the controller reads `approle`, the API server would prune `appRole`.
    (("approle:", "appRole:"), "spec.source.vault.auth.appRole: SecretMirror/default/myvaultsecret-mirror: "
                               "unknown field 'appRole'"),
    (("type: vault\n    vault:\n      addr: https://vault.example.com\n      path: /secret/data/myvaultsecret",
      "vault:\n      addr: https://vault.example.com\n      path: /secret/data/myvaultsecret"),
     "spec.source: SecretMirror/default/myvaultsecret-mirror: missing required field 'type'"),
    (("      path: /secret/data/myvaultsecret\n", ""),
     "spec.source.vault: SecretMirror/default/myvaultsecret-mirror: missing required field 'path'"),
    (("addr: https://vault.example.com", "addr: vault.example.com"),
     'spec.source.vault.addr: SecretMirror/default/myvaultsecret-mirror: "vault.example.com" does not match '
     '"^https?://[^\\s/?#@]+(/[^\\s?#]*)?$"'),
])
def test_the_crd_refuses_a_hand_written_mistake(change: tuple[str, str], expected: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    second = SEED_EXAMPLES.split("---\n")[1]
    assert change[0] in second
    (tmp_path / "bad.yaml").write_text(second.replace(change[0], change[1], 1))
    assert main(["validate", "--strict", "--no-lint", "--schemas", str(CRDS), str(tmp_path / "bad.yaml")]) == 1
    lines = [line for line in capsys.readouterr().out.splitlines() if "error [schema]" in line]
    assert [line.split("error [schema]: ", 1)[1] for line in lines] == [expected]


APP = """\
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: web, namespace: shop}
spec:
  containers: [{name: web, image: nginx:1.25}]
  mirrors:
"""
PROJECT = """\
apiVersion: manifestkit.dev/v1alpha1
kind: Project
metadata: {name: demo}
spec:
  apps: [apps/*.yaml]
"""
VAULT = '{addr: "https://vault.example.com", path: /secret/data/tls, auth: {approle: {secretRef: {name: role}}}}'


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)          # diagnostics name files relative to the working directory


def _render(tmp_path: Path, mirrors: str, capsys: pytest.CaptureFixture[str], project: str = PROJECT) -> tuple[
        int, str, str]:
    (tmp_path / "apps").mkdir(exist_ok=True)
    (tmp_path / "manifestkit.yaml").write_text(project)
    (tmp_path / "apps" / "web.yaml").write_text(APP + textwrap.indent(textwrap.dedent(mirrors), "    "))
    code = main(["render", ".", "-o", "-"])
    out, err = capsys.readouterr()
    return code, out, err


# Each bad entry (the lines under `mirrors:`) and every diagnostic it gets, as printed.
BAD_MIRRORS = {
    "vault destination without path, bad addr, unknown auth": ("""\
        - name: to-vault
          source: {name: tls}
          destination:
            type: vault
            vault: {addr: vault.example.com, auth: {kubernetes: {role: x}}}
        """, """\
apps/web.yaml:11:9: error: spec.mirrors[0].destination.vault: missing required field 'path'
apps/web.yaml:11:17: error: spec.mirrors[0].destination.vault.addr: found 'vault.example.com'; expected an http or \
https URL such as https://vault.example.com
apps/web.yaml:11:49: error: spec.mirrors[0].destination.vault.auth.kubernetes: unknown field 'kubernetes' in \
spec.mirrors[0].destination.vault.auth
  hint: expected one of: approle, token
"""),
    "the early appRole spelling": ("""\
        - name: to-vault
          source: {name: tls}
          destination:
            vault: {addr: "https://v.example.com", path: /secret/data/tls, auth: {appRole: {secretRef: {name: r}}}}
        """, """\
apps/web.yaml:10:79: error: spec.mirrors[0].destination.vault.auth.appRole: unknown field 'appRole' in \
spec.mirrors[0].destination.vault.auth
  hint: did you mean 'approle'?
"""),
    "regexes: a glob, and a lookahead Go's regexp lacks": ("""\
        - name: copies
          source: {name: tls}
          destination: {namespaces: ["(?!kube-).+", "*-prod"]}
        """, """\
apps/web.yaml:9:34: error: spec.mirrors[0].destination.namespaces[0]: mirror 'copies': '(?!kube-).+' uses a negative \
lookahead, which Go's regexp (RE2), used by the controller, does not have
  hint: RE2 has no lookaround or backreferences: list the namespaces to match instead of those to skip
apps/web.yaml:9:49: error: spec.mirrors[0].destination.namespaces[1]: mirror 'copies': '*-prod' is not a regular \
expression (nothing to repeat at position 0)
  hint: namespaces are regular expressions, not globs; for the glob write '.*-prod'
"""),
    "fields that contradict each other": (f"""\
        - name: m1
          source: {{name: tls, type: secret, vault: {VAULT}}}
          destination: {{namespaces: [a-.+], vault: {VAULT}}}
          deletePolicy: delete
        """, """\
apps/web.yaml:8:27: error: spec.mirrors[0].source.type: mirror 'm1': type 'secret' with a `vault` block: the \
controller would ignore the block
  hint: write type: vault, or drop the vault block
apps/web.yaml:9:7: error: spec.mirrors[0].destination: mirror 'm1': `namespaces` and `vault` exclude each other: the \
controller writes to one
  hint: write two mirrors for two destinations
apps/web.yaml:9:84: error: spec.mirrors[0].destination.vault.path: mirror 'm1': the mirror copies a Vault secret \
onto itself (same addr and path as the source)
apps/web.yaml:10:7: error: spec.mirrors[0].deletePolicy: mirror 'm1': 'delete' has no effect with a Vault \
destination: the controller keeps what it wrote there (it sets retain)
  hint: drop deletePolicy
"""),
    "missing pieces and a name used twice": ("""\
        - name: m1
          source: {name: tls}
          destination: {}
        - name: m1
          source: {name: tls, type: vault}
        """, """\
apps/web.yaml:9:7: error: spec.mirrors[0].destination: mirror 'm1': missing `namespaces` (regexes) or `vault`: the \
mirror copies nowhere
apps/web.yaml:10:7: error: spec.mirrors[1]: mirror 'm1': missing required field 'destination'
apps/web.yaml:10:7: error: spec.mirrors[1].name: mirror 'm1' is also entry 0: one SecretMirror would replace the other
  hint: give each mirror its own name
apps/web.yaml:11:7: error: spec.mirrors[1].source: mirror 'm1': type vault needs a `vault` block: {addr, path, auth}
"""),
}


@pytest.mark.parametrize("case", sorted(BAD_MIRRORS))
def test_a_bad_mirror_is_refused_where_it_was_written(case: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    mirrors, expected = BAD_MIRRORS[case]
    code, out, err = _render(tmp_path, mirrors, capsys)
    assert (code, out, err) == (2, "", expected)


def test_a_vault_block_brings_its_type_and_unset_fields_stay_the_controllers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _render(tmp_path, f"""\
        - name: to-vault
          namespace: certs
          source: {{name: tls}}
          destination: {{vault: {VAULT}}}
          pollPeriodSeconds: 60
        """, capsys)
    assert code == 0
    (mirror,) = [d for d in yaml.safe_load_all(out) if d["kind"] == "SecretMirror"]
    assert mirror["metadata"]["namespace"] == "certs"
    assert mirror["spec"] == {"source": {"name": "tls"}, "pollPeriodSeconds": 60,
                              "destination": {"type": "vault", "vault": yaml.safe_load(VAULT)}}


def test_project_mirrors_take_the_environment_namespace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = PROJECT + textwrap.indent(textwrap.dedent(f"""\
        environments:
          prod: {{overlays: [overlays/prod.yaml]}}
        mirrors:
          - name: vault-to-vault
            source: {{name: tls, vault: {VAULT}}}
            destination: {{vault: {VAULT.replace("vault.example.com", "dr.example.com")}}}
        """), "  ")
    (tmp_path / "overlays").mkdir()
    (tmp_path / "overlays" / "prod.yaml").write_text(
        "apiVersion: manifestkit.dev/v1alpha1\nkind: Overlay\nmetadata: {name: prod}\nspec: {namespace: prod}\n")
    code, out, _ = _render(tmp_path, "[]\n", capsys, project=project)
    assert code == 0, out
    (mirror,) = [d for d in yaml.safe_load_all(out) if d["kind"] == "SecretMirror"]
    assert mirror["metadata"] == {"name": "vault-to-vault", "namespace": "prod", "labels": {
        "app.kubernetes.io/part-of": "demo", "app.kubernetes.io/managed-by": "manifestkit"}}
    assert mirror["spec"]["source"]["type"] == mirror["spec"]["destination"]["type"] == "vault"


def test_an_overlay_patches_a_mirror_by_name_and_cannot_miss(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    project = PROJECT + "  environments:\n    prod: {overlays: [overlays/prod.yaml]}\n"
    (tmp_path / "overlays").mkdir()
    overlay = ("apiVersion: manifestkit.dev/v1alpha1\nkind: Overlay\nmetadata: {name: prod}\nspec:\n  apps:\n"
               "    web:\n      mirrors: [{name: %s, destination: {namespaces: [prod-.+]}}]\n")
    (tmp_path / "overlays" / "prod.yaml").write_text(overlay % "copies")
    entry = "- name: copies\n  source: {name: tls}\n  destination: {namespaces: [dev-.+]}\n"
    code, out, _ = _render(tmp_path, entry, capsys, project=project)
    assert code == 0
    (mirror,) = [d for d in yaml.safe_load_all(out) if d["kind"] == "SecretMirror"]
    assert mirror["spec"]["destination"] == {"namespaces": ["prod-.+"]}
    (tmp_path / "overlays" / "prod.yaml").write_text(overlay % "copeis")
    code, _, err = _render(tmp_path, entry, capsys, project=project)
    assert code == 2
    assert err.splitlines()[:2] == [
        "overlays/prod.yaml:7:18: error: spec.apps.web.mirrors[0].name: overlay entry for mirror 'copeis', which "
        "app 'web' does not have; expected one of: copies",
        "  hint: did you mean 'copies'?"]


@pytest.mark.parametrize(("pattern", "go", "problem"), [
    ("project-a-.+", True, None),
    (r"^team-[a-z]+\d$", True, None),
    (r"[(?!]x", True, None),                       # inside a class the group openings are plain characters
    (r"a\(?=b", True, None),                      # an escaped parenthesis opens nothing
    ("(?!kube-).+", False, None),                 # Python's re has lookaheads: fine for engine render
    ("(?!kube-).+", True, "a negative lookahead"),
    ("(?<=x)y", True, "a lookbehind"),
    (r"(a)\1", True, "a backreference"),
    ("(?P<n>a)(?P=n)", True, "a backreference"),
    ("a++", True, "a possessive quantifier"),
    ("a+?", True, None),                          # lazy: RE2 has it
    ("(?>ab)", True, "an atomic group"),
    (r"prod\Z", True, r"\Z (RE2 writes \z)"),
])
def test_go_regexp_refusals(pattern: str, go: bool, problem: str | None) -> None:
    found = regex_problem(pattern, go)
    assert (found[0].split(" uses ")[1].split(", which")[0] if found else None) == problem


def test_render_checks_a_hand_written_secret_mirror_against_the_shipped_crd(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A SecretMirror among an App's `objects:` meets the same CRD in render's schema step (no --schemas needed)."""
    second = SEED_EXAMPLES.split("---\n")[1]
    for folder in ("apps", "k8s"):
        (tmp_path / folder).mkdir()
    (tmp_path / "manifestkit.yaml").write_text(PROJECT)
    (tmp_path / "apps" / "web.yaml").write_text(APP.replace("  mirrors:\n", "  objects: [../k8s/mirror.yaml]\n"))
    for text, code in ((second, 0), (second.replace("approle:", "appRole:"), 1)):
        (tmp_path / "k8s" / "mirror.yaml").write_text(text)
        assert main(["render", ".", "-o", "-"]) == code
    err = capsys.readouterr().err
    assert "k8s/mirror.yaml:14:9: error: spec.source.vault.auth.appRole: SecretMirror/shop/myvaultsecret-mirror: " \
           "unknown field 'appRole'" in err.splitlines()

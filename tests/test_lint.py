"""Lint rules: the broken-manifest corpus (tests/lint_cases), the docs examples, the
configuration, and the helpers each rule relies on."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from manifestkit.diagnostics import ManifestkitError
from manifestkit.lint import RULES, LintConfig, LintContext, Settings, lint_object, load_config, parse_config
from manifestkit.lint.container_rules import image_problem, probe_never_fails
from manifestkit.lint.refs import is_kv2_path
from manifestkit.lint.workload_rules import selector_matches
from manifestkit.validation import validate, validate_paths
from manifestkit.validation_checks import Options
from manifestkit.yamlio import load_documents

ROOT = Path(__file__).resolve().parents[1]
CASES = sorted((ROOT / "tests" / "lint_cases").glob("*.yaml"))
EXPECT = re.compile(r"^# expect:(?P<ids>.*)$")


def expected(path: Path) -> list[str]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = EXPECT.match(first)
    assert match, f"{path.name}: the first line must be '# expect: RULE@LINE ...'"
    return sorted(match.group("ids").split())


@pytest.mark.parametrize("case", CASES, ids=[p.stem for p in CASES])
def test_lint_case(case: Path) -> None:
    outcome = validate_paths([str(case)], Options(kube_version="1.30", strict=True))
    assert sorted(f"{d.rule}@{d.line}" for d in outcome.findings) == expected(case)


def test_the_cases_cover_every_default_rule() -> None:
    covered = {item.split("@")[0] for c in CASES for item in expected(c)}
    assert {r.id for r in RULES.values() if r.enabled} <= covered


# ---------------------------------------------------------------- registry and docs

def test_registry_ids_are_stable_and_sequential() -> None:
    assert list(RULES) == [f"MK{n:03d}" for n in range(1, len(RULES) + 1)]
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id
        assert rule.severity in ("error", "warning", "info")
        assert re.fullmatch(r"[a-z0-9-]+", rule.name)


def _doc_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (MK\d{3}) ", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_rule_has_a_docs_section() -> None:
    sections = _doc_sections()
    assert sorted(sections) == sorted(RULES)
    for rule_id, body in sections.items():
        assert body.startswith(RULES[rule_id].name), rule_id
        assert f"Severity: {RULES[rule_id].severity}" in body, rule_id


@pytest.mark.parametrize("rule_id", sorted(RULES))
def test_docs_examples(rule_id: str, tmp_path: Path) -> None:
    """The bad example of each rule triggers it; the good one does not."""
    body = _doc_sections()[rule_id]
    bad = re.search(r"Bad:\n```yaml\n(.*?)```", body, re.S)
    good = re.search(r"Good:\n```yaml\n(.*?)```", body, re.S)
    assert bad and good, f"{rule_id}: needs a Bad: and a Good: yaml example"
    config = LintConfig(enable=frozenset({"MK022"}))
    for label, example, should in (("bad", bad.group(1), True), ("good", good.group(1), False)):
        file = tmp_path / f"{label}.yaml"
        file.write_text(example, encoding="utf-8")
        outcome = validate_paths([str(file)], Options(kube_version="1.30", strict=True, config=config))
        assert not [d for d in outcome.findings if d.rule in ("schema", "yaml", "duplicate-key")], label
        assert any(d.rule == rule_id for d in outcome.findings) is should, f"{rule_id} {label} example"


# ---------------------------------------------------------------- ignore and configuration

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  annotations: {manifestkit.dev/ignore: "MK011, mk012"}
spec:
  containers: [{name: web, image: nginx}]
"""


def test_ignore_annotation_silences_listed_rules_only() -> None:
    findings = validate(load_documents(POD, "pod.yaml"), kube_version="1.30")
    assert sorted({d.rule for d in findings}) == ["MK007", "MK013"]


def test_config_disable_enable_and_severity() -> None:
    config = parse_config({"disable": ["MK007"], "enable": ["MK022"], "severity": {"MK013": "error"}}, RULES)
    findings = validate(load_documents(POD, "pod.yaml"), kube_version="1.30", config=config)
    assert sorted((d.rule, d.severity) for d in findings) == [("MK013", "error"), ("MK022", "info")]


@pytest.mark.parametrize(
    ("lint", "message"),
    [
        ("  disable: [MK999]\n", "c.yaml:2:13: error: lint.disable[0]: unknown rule 'MK999'; rules are MK001 to MK023"),
        (
            "  disable: [MK07]\n",
            "c.yaml:2:13: error: lint.disable[0]: unknown rule 'MK07'; rules are MK001 to MK023\n"
            "  hint: did you mean 'MK007'?",
        ),  # issue 13, point 9
        (
            "  enable: [mk022]\n",
            "c.yaml:2:12: error: lint.enable[0]: unknown rule 'mk022'; rules are MK001 to MK023\n"
            "  hint: did you mean 'MK022'?",
        ),
        (
            "  severity: {MK001: fatal}\n",
            "c.yaml:2:14: error: lint.severity.MK001: severity 'fatal' is not one of: error, warning, info",
        ),
        (
            "  disabel: [MK001]\n",
            "c.yaml:2:3: error: lint.disabel: unknown lint setting 'disabel'; expected one of: disable, enable, "
            "severity, vault\n"
            "  hint: did you mean 'disable'?",
        ),
    ],
)
def test_config_mistakes_are_located(lint: str, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("c.yaml").write_text("lint:\n" + lint)
    with pytest.raises(ManifestkitError) as exc:
        load_config(Path("c.yaml"), RULES)
    assert "\n".join(d.format() for d in exc.value.diagnostics) == message


def test_config_files(tmp_path: Path) -> None:
    hidden = tmp_path / ".manifestkit.yaml"
    hidden.write_text("lint:\n  disable: [MK011]\n  vault: {kv1Mounts: [secret]}\n")
    config = load_config(hidden, RULES)
    assert config.disable == frozenset({"MK011"})
    assert config.settings.kv1_mounts == frozenset({"secret"})
    project = tmp_path / "manifestkit.yaml"
    project.write_text("apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: shop}\n"
                       "spec:\n  apps: [apps/*.yaml]\n  lint:\n    severity: {MK010: error}\n")
    assert load_config(project, RULES).severity == {"MK010": "error"}


def test_kv1_mount_setting_silences_mk020() -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "t"},
          "data": {"t": '{{ with secret "secret/app" }}{{ .Data.user }}{{ end }}'}}
    assert [d.rule for d in validate([cm])] == ["MK020"]
    assert validate([cm], config=LintConfig(settings=Settings(kv1_mounts=frozenset({"secret"})))) == []


def test_findings_on_plain_dicts_name_object_and_path() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "securityContext": {"runAsNonRoot": True},
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.25.4",
                    "securityContext": {"privileged": True},
                    "readinessProbe": {"tcpSocket": {"port": 80}},
                    "livenessProbe": {"tcpSocket": {"port": 80}},
                    "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1"}},
                }
            ],
        },
    }
    [finding] = lint_object(obj, LintContext())
    assert finding.format() == (
        "<input>: error [MK009]: spec.containers[0].securityContext.privileged: Pod/shop/web: "
        "container 'web' runs privileged for its whole life\n"
        "  hint: do the privileged setup in an init container (e.g. pattern init/sysctl) and run the app unprivileged"
    )


def test_plaintext_secret_rule_needs_a_file() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}}
    assert validate([secret]) == []
    assert [
        d.rule
        for d in validate(
            load_documents("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n", "s.yaml")
        )
    ] == ["MK014"]


def test_previous_versions_catch_roleref_changes() -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "b", "namespace": "x"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "new"},
        "subjects": [],
    }
    old = {**binding, "roleRef": {**binding["roleRef"], "name": "old"}}  # type: ignore[dict-item]
    assert validate([binding]) == []
    assert [d.rule for d in validate([binding], previous={("RoleBinding", "x", "b"): old})] == ["MK015"]


# ---------------------------------------------------------------- helpers

@pytest.mark.parametrize(("command", "why"), [
    (["sh", "-c", "ps aux | grep my_web_server_process"], "`ps | grep` always finds at least the grep process itself"),
    (["/bin/bash", "-c", "ps -ef | grep -q nginx"], "`ps | grep` always finds at least the grep process itself"),
    (["sh", "-c", "ps aux | grep '[n]ginx'"], ""),
    (["sh", "-c", "ps aux | grep nginx | grep -v grep"], ""),
    (["pgrep", "nginx"], ""),
    (["sh", "-c", "curl -f localhost:8080/healthz || true"], "the command always exits 0"),
    (["sh", "-c", "check.sh; exit 0"], "the command always exits 0"),
    (["true"], "the command always exits 0"),
    (["echo", "ok"], "the command always exits 0"),
    (["sh", "-c", "echo ok && curl -f localhost"], ""),
    (["cat", "/tmp/healthy"], ""),
])
def test_probe_never_fails(command: list[str], why: str) -> None:
    assert probe_never_fails(command) == why


@pytest.mark.parametrize(("image", "problem"), [
    ("nginx", "image 'nginx' has no tag, so it means 'latest'"),
    ("nginx:latest", "image 'nginx:latest' uses the moving tag 'latest'"),
    ("localhost:5000/web", "image 'localhost:5000/web' has no tag, so it means 'latest'"),
    ("localhost:5000/web:1.0", ""),
    ("nginx@sha256:" + "a" * 64, ""),
    ("nginx:1.25.4", ""),
])
def test_image_problem(image: str, problem: str) -> None:
    assert image_problem(image) == problem


@pytest.mark.parametrize(("path", "kv1", "v2"), [
    ("secret/data/app", (), True),
    ("secret/app", (), True),
    ("kv/data/app", (), True),
    ("kv/app", (), False),
    ("secret/app", ("secret",), False),
    ("team/kv/app", (), False),
])
def test_is_kv2_path(path: str, kv1: tuple[str, ...], v2: bool) -> None:
    assert is_kv2_path(path, frozenset(kv1), frozenset({"secret"})) is v2


@pytest.mark.parametrize(("selector", "labels", "match"), [
    ({"matchLabels": {"app": "web"}}, {"app": "web", "tier": "x"}, True),
    ({"matchLabels": {"app": "web"}}, {"app": "api"}, False),
    ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "api"]}]}, {"app": "api"}, True),
    ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}, {"app": "web"}, False),
    ({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}, {"app": "web"}, True),
    ({"matchExpressions": [{"key": "canary", "operator": "Exists"}]}, {"app": "web"}, False),
])
def test_selector_matches(selector: dict[str, object], labels: dict[str, str], match: bool) -> None:
    assert selector_matches(selector, labels) is match


def test_strict_summary_counts_every_object_with_an_error(tmp_path: Path) -> None:
    """Issue 13, point 9: a --strict finding found while reading (a duplicate key) makes its object invalid too."""
    from manifestkit.report import summary_line
    case = tmp_path / "two.yaml"
    case.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  bogus: 1\n---\n"
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  name: c\n", encoding="utf-8")
    outcome = validate_paths([str(case)], Options(kube_version="1.30", strict=True))
    assert summary_line(outcome, "error") == ("Summary: 2 resources found in 1 files - Valid: 0, Invalid: 2, "
                                              "Errors: 0, Skipped: 0")

"""`--format helm`: real Helm (helm-python-sdk) lints the charts and renders the plain render."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import helm_python as helm
import pytest
import yaml

from manifestkit.checksums import ANNOTATION
from manifestkit.emit.helm_schema import schema_of, values_diff
from manifestkit.emit.helm_values import Hole, differing, template_text, values_expr
from manifestkit.loader import load_project
from manifestkit.model import Options

from ._formats import (
    PATTERNED_FILES,
    case_id,
    differences,
    env_cases,
    helm_objects,
    plain_objects,
    render_dir,
    write_files,
)

SHOP = Path(__file__).parents[1] / "examples" / "shop"


def charts(out: Path) -> list[Path]:
    return sorted(p.parent for p in (out / "charts").glob("*/Chart.yaml"))


def env_values(chart: Path, env: str) -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((chart / f"values-{env}.yaml").read_text()) or {}
    return values


def helm_render(out: Path, env: str) -> dict[tuple[str, str, str], Any]:
    got: dict[tuple[str, str, str], Any] = {}
    for chart in charts(out):
        got.update(helm_objects(chart, env_values(chart, env)))
    return got


def lint_errors(chart: Path, values: dict[str, Any]) -> list[str]:
    report = helm.lint(str(chart), values)
    return [*report["errors"], *(m["error"] for m in report["messages"] if m["severity"] >= 3)]


@pytest.mark.parametrize("case", env_cases(), ids=case_id)
def test_every_env_of_every_example_lints_and_renders_like_plain(case: tuple[Path, str], tmp_path: Path) -> None:
    root, env = case
    project = load_project(root)
    out = render_dir(project, "helm", tmp_path / "out")
    for chart in charts(out):
        assert lint_errors(chart, env_values(chart, env)) == [], chart
    assert differences(helm_render(out, env), plain_objects(project, env)) == []


def test_base_manifests_and_patterns_survive_every_environment(tmp_path: Path) -> None:
    project = load_project(write_files(tmp_path / "project", PATTERNED_FILES))
    out = render_dir(project, "helm", tmp_path / "out")
    for env in ("dev", "prod"):
        got = helm_render(out, env)
        assert differences(got, plain_objects(project, env)) == []
        pod = got[("Deployment", f"echo-{env}", "echo")]["spec"]["template"]
        assert [c["name"] for c in pod["spec"]["containers"]] == ["echo", "envoy"]


def test_umbrella_chart_renders_like_plain(tmp_path: Path) -> None:
    files = {
        **PATTERNED_FILES,
        "manifestkit.yaml": PATTERNED_FILES["manifestkit.yaml"] + "  output: {umbrella: true}\n",
    }
    project = load_project(write_files(tmp_path / "project", files))
    out = render_dir(project, "helm", tmp_path / "out")
    umbrella = out / "charts" / "echo"
    assert (umbrella / "charts" / "echo" / "Chart.yaml").is_file()
    for env in ("dev", "prod"):
        values = env_values(umbrella, env)
        assert lint_errors(umbrella, values) == []
        assert differences(helm_objects(umbrella, values), plain_objects(project, env)) == []


def _shop_web(tmp_path: Path) -> Path:
    return render_dir(load_project(SHOP), "helm", tmp_path / "out") / "charts" / "web"


def _checksum(objects: dict[tuple[str, str, str], Any], namespace: str = "shop-dev") -> str:
    return str(objects[("Deployment", namespace, "web")]["spec"]["template"]["metadata"]["annotations"][ANNOTATION])


def test_set_of_config_data_changes_the_checksum_but_a_chart_version_bump_does_not(tmp_path: Path) -> None:
    chart = _shop_web(tmp_path)
    values = env_values(chart, "dev")
    before = _checksum(helm_objects(chart, values))
    changed = helm.parse_set_string("configMaps.web-config.data.MODE=other")
    merged = {**values, "configMaps": {"web-config": {"data": {**values["configMaps"]["web-config"]["data"],
                                                                **changed["configMaps"]["web-config"]["data"]}}}}
    assert _checksum(helm_objects(chart, merged)) != before
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    (chart / "Chart.yaml").write_text(yaml.safe_dump({**meta, "version": "9.9.9", "appVersion": "other"}))
    assert _checksum(helm_objects(chart, values)) == before


def test_no_helm_chart_label_anywhere(tmp_path: Path) -> None:
    chart = _shop_web(tmp_path)
    assert "helm.sh/chart" not in json.dumps(list(helm_objects(chart, env_values(chart, "prod")).values()))


def test_operator_values_are_exposed(tmp_path: Path) -> None:
    values = yaml.safe_load((_shop_web(tmp_path) / "values.yaml").read_text())
    assert values["replicas"] == 2
    assert values["namespace"] == "shop"
    assert values["containers"]["web"]["image"] == "nginx:1.25"
    assert values["containers"]["web"]["resources"] == {
        "requests": {"cpu": "50m", "memory": "64Mi"},
        "limits": {"memory": "128Mi"},
    }
    assert values["containers"]["web"]["env"][0] == {"name": "LOG_LEVEL", "value": "info"}
    assert values["configMaps"]["web-config"]["data"]["MODE"] == "fast"
    prod = yaml.safe_load((_shop_web(tmp_path / "again") / "values-prod.yaml").read_text())
    assert prod["replicas"] == 4 and prod["containers"]["web"]["image"] == "nginx:1.25.4"


def test_chart_files_and_schema(tmp_path: Path) -> None:
    chart = _shop_web(tmp_path)
    names = {p.relative_to(chart).as_posix() for p in chart.rglob("*") if p.is_file()}
    assert {"Chart.yaml", "values.yaml", "values-dev.yaml", "values-prod.yaml", "values.schema.json",
            "templates/_helpers.tpl", "templates/NOTES.txt", "templates/deployment-web.yaml"} <= names
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["apiVersion"] == "v2"
    schema = json.loads((chart / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    with helm.Chart.load(str(chart)) as loaded:
        loaded.validate_schema(env_values(chart, "prod"))
        with pytest.raises(helm.HelmValuesError):
            loaded.validate_schema({"replicas": "four"})
        with pytest.raises(helm.HelmValuesError):   # a new key too: ConfigMap data are strings
            loaded.validate_schema({"configMaps": {"web-config": {"data": {"PORT": 80}}}})
        loaded.validate_schema({"configMaps": {"web-config": {"data": {"PORT": "80"}}}, "overrides": {"x": [1]}})


def test_secrets_are_static_private_templates(tmp_path: Path) -> None:
    project = load_project(Path(__file__).parents[1] / "examples" / "sops")
    options = Options(secret_output="secret", allow_plaintext_secrets=True)
    out = render_dir(project, "helm", tmp_path / "out", options)
    secrets = list(out.glob("charts/*/templates/secret-*.yaml"))
    assert secrets
    for path in secrets:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert differences(helm_render(out, "default"), plain_objects(project, "default", options)) == []


# ------------------------------------------------------------------ the template writer

def test_differing_descends_maps_and_named_lists_only() -> None:
    a = {"m": {"x": 1, "y": 2}, "c": [{"name": "a", "v": 1}], "l": [1, 2]}
    b = {"m": {"x": 1, "y": 3}, "c": [{"name": "a", "v": 2}], "l": [1, 3]}
    assert differing([a, b]) == [("c", "0", "v"), ("l",), ("m", "y")]
    assert differing([a, a]) == []


def test_template_text_guards_each_hole_and_keeps_list_items_open() -> None:
    obj = {"kind": "X", "spec": {"c": [{"v": 1, "name": "a"}]}}
    text = template_text(obj, [Hole(("spec", "c", "0", "v"), values_expr(("v",)))])
    assert text == ('kind: X\nspec:\n  c:\n  - name: a\n'
                    '{{- $h0 := (index .Values "v") }}\n{{- if ne $h0 nil }}\n'
                    '    v: {{ toJson $h0 }}\n{{- end }}\n')


def test_values_diff_uses_null_to_delete() -> None:
    assert values_diff({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"x": 1}, "b": 2, "c": 3}) == {
        "a": {"y": None},
        "b": 2,
        "c": 3,
    }


def test_schema_covers_every_version() -> None:
    assert schema_of([{"a": 1}, {"a": "x", "b": [1]}]) == {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
        "properties": {"a": {"type": ["integer", "string"]}, "b": {"type": "array"}}}


def test_schema_names_values_to_a_fields_depth_and_open_maps_by_rule() -> None:
    values = {"containers": {"web": {"image": "nginx", "resources": {"limits": {"cpu": "1"}}}},
              "configMaps": {"c": {"data": {"A": "x"}}}, "enabled": {"Secret/s": True},
              "overrides": {"Deployment/web": {"spec": {"paused": True}}}}
    assert schema_of([values]) == {
        "$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {
            "containers": {"type": "object", "properties": {"web": {"type": "object", "properties": {
                "image": {"type": "string"}, "resources": {"type": "object"}}}}},
            "configMaps": {"type": "object", "properties": {"c": {"type": "object", "properties": {
                "data": {"type": "object", "additionalProperties": {"type": "string"}}}}}},
            "enabled": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "overrides": {"type": "object"}}}


def test_two_namespaces_in_one_chart_are_an_error_not_a_wrong_chart() -> None:
    from manifestkit.diagnostics import ManifestkitError
    from manifestkit.emit.helm import chart_files
    from manifestkit.model import Resource

    objs = [Resource(obj={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "namespace": ns}}, app="app")
            for n, ns in (("one", "a"), ("two", "b"))]
    with pytest.raises(ManifestkitError) as caught:
        chart_files("app", {"": objs}, {"": objs}, None)
    assert caught.value.diagnostics[0].message == (
        "helm output: value 'namespace' of app: ConfigMap/two differs from another object's in the same chart")


UNPINNED_APP = """
apiVersion: manifestkit.dev/v1alpha1
kind: App
metadata: {name: echo}
spec:
  containers:
    - {name: echo, image: "hashicorp/http-echo:1.0", args: ["-text", "hi"], ports: [{name: http, containerPort: 5678}]}
  service: {ports: [{name: http, port: 80, targetPort: http}]}
"""


def test_charts_honour_helm_install_namespace_and_carry_app_version(tmp_path: Path) -> None:
    """An App that pins no namespace goes where `helm install -n` says; a pinned one stays (shop)."""
    write_files(tmp_path / "p", {"app.yaml": UNPINNED_APP})
    chart = render_dir(load_project(tmp_path / "p" / "app.yaml"), "helm", tmp_path / "out") / "charts" / "echo"
    objects = helm_objects(chart, {}, namespace="team-a", as_plain=False)
    assert sorted(key for key in objects) == [("Deployment", "team-a", "echo"), ("Service", "team-a", "echo")]
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["appVersion"] == "1.0"
    pinned = helm_objects(_shop_web(tmp_path / "shop"), env_values(_shop_web(tmp_path / "shop"), "prod"),
                          namespace="team-a", as_plain=False)
    assert {ns for _, ns, _ in pinned} == {"shop-prod"}

"""The shipped schemas: each shared definition lives once in common.schema.json, enums that a
registry owns come from that registry, and cross-file ``$ref``s resolve from an installed wheel."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from manifestkit import checksums, filekinds
from manifestkit.diagnostics import Diagnostic, ManifestkitError
from manifestkit.emit.registry import EMITTERS
from manifestkit.model import Options, Project, RenderContext, Resource
from manifestkit.secrets.modes import MODES
from manifestkit.yamlio import load_documents

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ROOT / "schemas"
FILE_KINDS = ("app", "overlay", "project")
APP = ("apiVersion: manifestkit.dev/v1alpha1\nkind: App\nmetadata: {name: web}\nspec:\n"
       "  containers: [{name: web, image: nginx}]\n")
PROJECT = "apiVersion: manifestkit.dev/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec:\n  apps: [apps/*.yaml]\n"


def _raw(stem: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / f"{stem}.schema.json").read_text(encoding="utf-8"))
    return schema


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def _rebuild() -> None:
    """Validators built again from the registries as they are now."""
    for cache in (
        filekinds.shipped_schemas,
        filekinds.schema_registry,
        filekinds._validator,
        filekinds._fast_validator,
    ):
        cache.cache_clear()


@pytest.fixture
def fresh_schemas() -> Iterator[None]:
    _rebuild()
    yield
    _rebuild()


def _problems(text: str) -> list[str]:
    return [f"{d.path}: {d.message}" for doc in load_documents(text, "f.yaml") for d in filekinds.check_document(doc)]


def test_the_file_kind_schemas_define_nothing_themselves() -> None:
    for stem in FILE_KINDS:
        assert "$defs" not in _raw(stem), stem


def test_no_shared_definition_is_written_out_again() -> None:
    """No schema file (common itself included) holds an inline copy of a common definition."""
    defs = _raw("common")["$defs"]
    shapes = {json.dumps(d, sort_keys=True): name for name, d in defs.items() if len(json.dumps(d)) > 30}
    files = [*(SCHEMAS / f"{s}.schema.json" for s in FILE_KINDS), *sorted((SCHEMAS / "patterns").glob("*.json"))]
    for path in [*files, SCHEMAS / "common.schema.json"]:
        tops = {id(d) for d in defs.values()} if path.name == "common.schema.json" else set()
        schema = defs if tops else json.loads(path.read_text(encoding="utf-8"))
        for node in _nodes(schema):
            if id(node) in tops:
                continue
            bare = {k: v for k, v in node.items() if k not in ("description", "default")}
            assert json.dumps(bare, sort_keys=True) not in shapes, (
                f"{path.name} repeats $defs/{shapes.get(json.dumps(bare, sort_keys=True))}"
            )


def test_no_schema_file_copies_a_registry() -> None:
    registries = [set(values) for values in filekinds.CHOICES.values()]
    for path in sorted(SCHEMAS.glob("**/*.schema.json")):
        for node in _nodes(json.loads(path.read_text(encoding="utf-8"))):
            assert not ("enum" in node and set(node["enum"]) in registries), f"{path.name}: {node}"
            if filekinds.CHOICE_KEYWORD in node:
                assert node[filekinds.CHOICE_KEYWORD] in filekinds.CHOICES, path.name


def test_the_loaded_schemas_list_each_registry_in_its_order() -> None:
    project = filekinds.file_schema("project")["properties"]["spec"]["properties"]
    assert project["checksums"]["properties"]["mode"]["enum"] == list(checksums.MODES)
    assert project["output"]["properties"]["format"]["enum"] == list(EMITTERS)
    common = filekinds.shipped_schemas()["https://manifestkit.dev/schemas/common.schema.json"]
    assert common["$defs"]["secretOutput"]["enum"] == list(MODES)


@pytest.mark.parametrize(("registry", "text", "where"), [
    (MODES, APP + "  secrets:\n    s: {stringData: {a: b}, output: %s}\n", "spec.secrets.s.output"),
    (checksums.MODES, PROJECT + "  checksums: {mode: %s}\n", "spec.checksums.mode"),
    (EMITTERS, PROJECT + "  output: {format: %s}\n", "spec.output.format"),
    (MODES, PROJECT + "  secrets: {output: %s}\n", "spec.secrets.output"),
])
def test_a_key_added_to_a_registry_is_accepted_by_the_schema(
    registry: dict[str, Any], text: str, where: str, fresh_schemas: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _problems(text % "brand-new") == [f"{where}: found 'brand-new'; expected one of: {', '.join(registry)}"]
    monkeypatch.setitem(registry, "brand-new", next(iter(registry.values())))
    _rebuild()
    assert _problems(text % "brand-new") == []


def test_sops_layouts_come_from_their_constant(fresh_schemas: None, monkeypatch: pytest.MonkeyPatch) -> None:
    text = PROJECT + "  secrets: {sops: {layout: sealed}}\n"
    assert _problems(text) == ["spec.secrets.sops.layout: found 'sealed'; expected one of: flux, ksops, helm-secrets"]
    monkeypatch.setitem(filekinds.CHOICES, "sops-layout", (*filekinds.CHOICES["sops-layout"], "sealed"))
    _rebuild()
    assert _problems(text) == []


def _checksum_context(mode: str) -> RenderContext:
    """The context of a render whose Project (built in code, unchecked) sets ``checksums.mode``."""
    project = Project(name="p", root=Path("."), spec={"checksums": {"mode": mode}}, apps=(), environments={},
                      file="manifestkit.yaml")
    return RenderContext(project=project, env="default", apps={}, options=Options())


@pytest.mark.parametrize("mode", list(checksums.MODES))
def test_the_checksum_step_runs_the_mode_its_registry_names(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = _checksum_context(mode)
    marker = Resource(obj={"kind": "ConfigMap", "metadata": {"name": f"ran-{mode}"}})
    monkeypatch.setitem(checksums.MODES, mode, lambda resources, ctx: [*resources, marker])
    assert checksums.add_checksums([], ctx) == [marker]


def test_a_checksum_mode_outside_the_registry_is_refused() -> None:
    """Only reachable without the schema (a Project built in code): the step names the known modes."""
    ctx = _checksum_context("reload")
    with pytest.raises(ManifestkitError) as exc:
        checksums.add_checksums([], ctx)
    assert exc.value.diagnostics == [
        Diagnostic(
            message="spec.checksums.mode: unknown checksum mode 'reload'; expected one of: annotation, none, reloader",
            file="manifestkit.yaml",
            hint="did you mean 'reloader'?",
        )
    ]


def test_common_schema_resolves_from_an_installed_wheel(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
    )
    site = tmp_path / "site"
    zipfile.ZipFile(next((tmp_path / "dist").glob("manifestkit-*.whl"))).extractall(site)
    (tmp_path / "app.yaml").write_text(APP + "  service: {ports: [{port: 70000}]}\n", encoding="utf-8")
    script = ("import manifestkit, manifestkit.filekinds as f, manifestkit.yamlio as y; print(manifestkit.__file__); "
              "[print(d.path, d.message) for doc in y.load_file('app.yaml') for d in f.check_document(doc)]")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False,
                            env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    where, problem = result.stdout.splitlines()
    assert where.startswith(str(site))
    assert problem == "spec.service.ports[0].port 70000 is greater than the maximum of 65535"  # from common.schema.json

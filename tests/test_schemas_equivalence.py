"""The split schemas (common.schema.json + $ref, registry-filled enums) judge every file exactly
as the self-contained schemas of before did (kept verbatim in tests/data/schemas-before/).

Same verdict from both validators (python-jsonschema and jsonschema-rs), the same errors
(path, keyword, message) and the same explained diagnostics, on every App/Overlay/Project
file of examples/ and tests/, every bad-input case of test_errors.py, every such YAML string
in the tests, and a few hundred seeded mutations of them.
"""

from __future__ import annotations

import ast
import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from manifestkit import filekinds
from manifestkit.diagnostics import ManifestkitError
from manifestkit.model import API_VERSION
from manifestkit.yamlio import Document, load_documents
from tests.test_errors import CASES

ROOT = Path(__file__).resolve().parent.parent
BEFORE = Path(__file__).parent / "data" / "schemas-before"


@functools.cache
def _old(kind: str) -> tuple[Any, Any]:
    schema = json.loads((BEFORE / f"{kind.lower()}.schema.json").read_text(encoding="utf-8"))
    return (jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()),
            jsonschema_rs.validator_for(schema))


def _manifestkit_docs(text: str, file: str) -> list[Document]:
    try:
        docs = load_documents(text, file)
    except ManifestkitError:
        return []
    return [d for d in docs if isinstance(d.data, dict) and d.data.get("apiVersion") == API_VERSION
            and d.data.get("kind") in filekinds.KINDS]


def _yaml_strings_in_tests() -> list[tuple[str, str]]:
    """String constants in tests/*.py that are whole manifestkit files."""
    out = []
    for path in sorted(Path(__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and API_VERSION in node.value \
                    and "\n" in node.value:
                out.append((f"{path.name}:{node.lineno}", node.value))
    return out


@functools.cache
def seeds() -> list[Document]:
    found: list[Document] = []
    files = [p for folder in ("examples", "tests", "overlays") for p in sorted((ROOT / folder).glob("**/*.y*ml"))]
    for path in files:
        found += _manifestkit_docs(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    for name, (case_files, _) in sorted(CASES.items()):
        for rel, text in case_files.items():
            found += _manifestkit_docs(text, f"test_errors:{name}/{rel}")
    for where, text in _yaml_strings_in_tests():
        found += _manifestkit_docs(text, where)
    return found


def _errors(validator: Any, data: Any) -> list[tuple[str, str, str]]:
    return sorted((json.dumps(list(e.absolute_path)), str(e.validator), e.message) for e in validator.iter_errors(data))


def assert_same_verdict(doc: Document) -> None:
    kind = doc.data["kind"]
    old_py, old_rs = _old(kind)
    new_py, new_rs = filekinds._validator(kind), filekinds._fast_validator(kind)
    assert new_py.is_valid(doc.data) == old_py.is_valid(doc.data), doc.file
    assert new_rs.is_valid(doc.data) == old_rs.is_valid(doc.data), doc.file
    assert _errors(new_py, doc.data) == _errors(old_py, doc.data), doc.file
    assert filekinds.schema_diagnostics(doc, new_py) == filekinds.schema_diagnostics(doc, old_py), doc.file
    if not old_rs.is_valid(doc.data):
        assert filekinds.check_document(doc) == filekinds.schema_diagnostics(doc, old_py), doc.file


def test_the_seeds_cover_every_kind_and_both_verdicts() -> None:
    docs = seeds()
    assert {d.data["kind"] for d in docs} == set(filekinds.KINDS)
    verdicts = {_old(d.data["kind"])[0].is_valid(d.data) for d in docs}
    assert verdicts == {True, False}
    assert any(d.file.startswith("examples/") for d in docs) and any(d.file.startswith("test_errors:") for d in docs)


def test_every_file_in_examples_and_tests_gets_the_same_verdict() -> None:
    for doc in seeds():
        assert_same_verdict(doc)


# ------------------------------------------------------------------ mutations

def _enum_values(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_enum_values(v) for v in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    here = {str(v) for v in node.get("enum", [])} | ({str(node["const"])} if "const" in node else set())
    return here.union(*(_enum_values(v) for v in node.values()))


ENUM_VALUES = sorted(set().union(*(_enum_values(json.loads(p.read_text(encoding="utf-8")))
                                   for p in sorted(BEFORE.glob("*.json")))))
ODD_VALUES: list[Any] = [0, -1, 70000, 1.5, "", "x", "Web_App", "3", True, None, [], [1, "a"], {}, {"a": 1}]
UNKNOWN_KEYS = ["extra", "replica", "imagee", "namespce", "Name", "$patch", "containerPort", "use", "output", "mode"]


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out += _paths(value, (*path, key))
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> Document:
    doc = draw(st.sampled_from(seeds()))
    data = copy.deepcopy(doc.data)
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        # kind and apiVersion stay: check_kind judges those before any schema does
        path = draw(st.sampled_from([p for p in _paths(data) if p[:1] not in (("kind",), ("apiVersion",))]))
        target = _at(data, path)
        op = draw(st.sampled_from(["drop", "retype", "unknown", "enum"]))
        if op == "drop" and isinstance(target, (dict, list)) and target:
            keys = (
                [k for k in target if path or k not in ("kind", "apiVersion")]
                if isinstance(target, dict)
                else range(len(target))
            )
            if keys:
                del target[draw(st.sampled_from(sorted(keys)))]
        elif op == "unknown" and isinstance(target, dict):
            target[draw(st.sampled_from(UNKNOWN_KEYS))] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif path and op in ("retype", "enum"):
            pool = ODD_VALUES if op == "retype" else [*ENUM_VALUES, *(v[:-1] for v in ENUM_VALUES if len(v) > 2)]
            _at(data, path[:-1])[path[-1]] = copy.deepcopy(draw(st.sampled_from(pool)))
    return Document(data, f"{doc.file} (mutated)", {})


@settings(max_examples=300, derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
def test_mutated_files_get_the_same_verdict(doc: Document) -> None:
    assert_same_verdict(doc)


STEMS = sorted(str(p.relative_to(BEFORE)).removesuffix(".schema.json") for p in BEFORE.glob("**/*.schema.json"))


@pytest.mark.parametrize("stem", STEMS)
def test_old_and_new_schemas_differ_only_in_where_definitions_live(stem: str) -> None:
    """Inlining every $ref of the new schema (file kinds and pattern parameters) gives back the
    old one, registry-filled enums included; only descriptions may differ."""
    old = json.loads((BEFORE / f"{stem}.schema.json").read_text(encoding="utf-8"))
    registry = filekinds.schema_registry()
    resolver = registry.resolver(base_uri=filekinds.file_schema(stem)["$id"])

    def inline(node: Any, resolver: Any) -> Any:
        if isinstance(node, list):
            return [inline(v, resolver) for v in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            resolved = resolver.lookup(node["$ref"])
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**inline(resolved.contents, resolved.resolver), **rest}
        return {k: inline(v, resolver) for k, v in node.items()
                if k not in (filekinds.CHOICE_KEYWORD, "description")}

    def plain(node: Any) -> Any:   # the old schema without $defs, refs inlined, descriptions dropped
        def walk(n: Any) -> Any:
            if isinstance(n, list):
                return [walk(v) for v in n]
            if not isinstance(n, dict):
                return n
            if "$ref" in n:
                return walk(_at(node, tuple(n["$ref"].removeprefix("#/").split("/"))))
            return {k: walk(v) for k, v in n.items() if k not in ("$defs", "description")}
        return walk(node)

    new = inline(filekinds.file_schema(stem), resolver)
    new = {k: v for k, v in new.items() if k != "$defs"}
    assert json.dumps(_no_descriptions(new), sort_keys=True) == json.dumps(plain(old), sort_keys=True)


def _no_descriptions(node: Any) -> Any:
    if isinstance(node, list):
        return [_no_descriptions(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: _no_descriptions(v) for k, v in node.items() if k != "description"}

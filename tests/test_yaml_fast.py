"""The fast loader never reads a file apart from the careful one: it proves a file clean or declines it."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.diagnostics import ManifestkitError
from manifestkit.yaml_careful import MAX_DEPTH, careful_documents
from manifestkit.yaml_dump import dump
from manifestkit.yaml_fast import _UNPROVABLE, fast_data
from manifestkit.yaml_locate import quick_position
from manifestkit.yamlio import LazyPositions, load_documents

from ._fuzz import MUTATIONS
from .conftest import EXAMPLES
from .test_yamlio import GO_YAML_V2_NON_STRINGS

YAML_FILES = sorted(str(p) for p in EXAMPLES.rglob("*.yaml") if "expected" not in p.parts)

# Plain scalars YAML 1.1 (PyYAML, go-yaml v2) and YAML 1.2 (yaml-rs) read apart, and their friends.
ROUNDS = 40
TRICKY = [*GO_YAML_V2_NON_STRINGS, "1_000", "0o17", "1:20", "+12", "-0", "1.0e3", "1.0e+3", ".5", "=", "On",
          "2001-12-14 21:59:43.10 -5", "2001-12-14t21:59:43.10-05:00", "NULL", "Null", "TRUE", "0.", "-.inf"]


def plain(node: Any) -> bool:
    """Made only of dicts with str keys, lists, str, int, bool and None, each of exactly that type."""
    if type(node) is dict:
        return all(type(k) is str and plain(v) for k, v in node.items())
    if type(node) is list:
        return all(plain(item) for item in node)
    return type(node) in (str, int, bool, type(None))


def agrees(text: str) -> bool:
    """True when the fast path took ``text``; then the careful loader must read the same, cleanly."""
    proven, data = fast_data(text)
    if not proven:
        return False
    assert plain(data), text    # what Document.plain promises the schema check and the render cache
    built, problems = careful_documents(text, "f.yaml", lenient=True)
    assert problems == [], text
    assert [b.data for b in built] == ([] if data is None else [data]), text
    if built:   # every position a line scan claims is the careful loader's
        lines = text.split("\n")
        for path, position in built[0].positions.items():
            assert quick_position(lines, path) in (None, position), (text, path)
        lazy = LazyPositions(text, "f.yaml", 0, data)
        assert all(lazy[path] == position and path in lazy for path, position in built[0].positions.items())
    return True


@pytest.mark.parametrize("word", TRICKY)
@pytest.mark.parametrize("shape", ["k: {}\n", "{}: v\n", "- {}\n", "k: [a, {}]\n", "k: {{x: {}}}\n", "k: '{}'\n",
                                   'k: "{}"\n', "k: a {}\n", "k: {}  # c\n", "k:\n  {}\n"])
def test_tricky_scalars_are_declined_or_read_the_same(word: str, shape: str) -> None:
    text = shape.format(word)
    agrees(text)
    built, problems = careful_documents(text, "f.yaml", lenient=True)
    try:
        assert [d.data for d in load_documents(text, "f.yaml")] == [b.data for b in built]
        assert problems == []
    except ManifestkitError as exc:
        assert list(exc.diagnostics) == problems


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a: &x 1\nb: *x\n", "<<: {a: 1}\n", "a: !!str 1\n", "a:\n\tb: 1\n",
                                  "a: 1\n---\nb: 2\n", "%YAML 1.1\n---\na: 1\n", "a: \"\\/\"\n", "a: 0755\n",
                                  "a: 1e3\n", "a: yes\n", "a: 1_000\n", "a: 2001-12-14\n", "- - - x\n", "a: 1.5\n",
                                  "a: b\x85c\n", "a: \x00\n", "1: a\n", "? [a]\n: b\n", "a: [1, 2\n", "a: b: c\n"])
def test_what_the_fast_path_declines(text: str) -> None:
    assert fast_data(text) == (False, None)


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(Path(p).relative_to(EXAMPLES)))
def test_mutated_examples_are_declined_or_read_the_same(path: str) -> None:
    original = Path(path).read_bytes()
    agrees(original.decode())
    rng = random.Random(path)
    for _ in range(ROUNDS):
        data = original
        for name in rng.sample(sorted(MUTATIONS), rng.choice((1, 2, 3))):
            data = MUTATIONS[name](data, rng) if data else data
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
        agrees(text)


SCALARS = st.one_of(st.sampled_from(TRICKY), st.sampled_from(["a", "web", "8080", "http", "-1", "x y", "a:b"]),
                    st.text(alphabet="aby0159.:-_ ~'\"#[]{},", max_size=6))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "  ", "- ", "  - "]), SCALARS, st.sampled_from([": ", ":", ""]),
                          SCALARS, st.sampled_from(["", "'", '"'])), min_size=1, max_size=6))
def test_generated_yaml_is_declined_or_read_the_same(lines: list[tuple[str, str, str, str, str]]) -> None:
    agrees("".join(f"{indent}{key}{colon}{quote}{value}{quote}\n" for indent, key, colon, value, quote in lines))


def test_fast_documents_locate_lazily_and_like_the_careful_loader() -> None:
    text = "a:\n  b:\n    - c: 1\n      d: x\n"
    doc = load_documents(text, "f.yaml")[0]
    assert isinstance(doc.positions, LazyPositions)
    assert dict(doc.positions) == careful_documents(text, "f.yaml", False)[0][0].positions
    assert doc.position(("a", "b", 0, "d", "missing")) == (4, 7)
    assert doc.diagnostic(("a", "b"), "boom").line == 2


_scalars = st.one_of(st.sampled_from(["web", "nginx:1.25", "8080", "true", "a b", "x-y"]), st.integers(0, 99))
_names = st.sampled_from(["name", "image", "ports", "env", "spec", "containers", "value", "items"])
_trees = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=3),
                                                        st.dictionaries(_names, inner, min_size=1, max_size=3)),
                      max_leaves=12)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.dictionaries(_names, _trees, min_size=1, max_size=4))
def test_a_line_scan_finds_list_items_where_the_careful_loader_does(data: dict[str, Any]) -> None:
    """Block sequences on a path (``spec.containers[0].image``, as the dumper writes them) are located by the
    line scan too, so lint findings on rendered files need no second parse; anything unsure answers None."""
    text = dump(data)
    built, _ = careful_documents(text, "f.yaml", lenient=True)
    lines = text.split("\n")
    for path, position in built[0].positions.items():
        assert quick_position(lines, path) in (None, position), (text, path)


def test_a_rendered_container_field_is_located_without_the_careful_loader() -> None:
    text = dump({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"},
                                                                {"name": "b", "image": "y"}]}}}})
    path = ("spec", "template", "spec", "containers", 1, "image")
    careful = careful_documents(text, "f.yaml", lenient=True)[0][0].positions[path]
    assert quick_position(text.split("\n"), path) == careful


@pytest.mark.parametrize("depth", range(MAX_DEPTH - 3, MAX_DEPTH + 2))
@pytest.mark.parametrize("leaf", ["x", "[x]", "{}", "[]"])
def test_nesting_about_the_depth_limit_is_declined_or_read_the_same(depth: int, leaf: str) -> None:
    """A scalar one level past the limit counts as deeper than it: the careful loader words that error."""
    agrees("a: " + "{a: " * depth + leaf + "}" * depth + "\n")


# What the fast loader's second pattern means, written plainly: after a token boundary, an anchor, alias or tag; an
# octal, hex, binary or underscored number YAML 1.1 and 1.2 read apart.
BOUNDED = re.compile(r"[\s\[{,:](?:[&*!]|[-+]?0[0-9oOxXbB_]|[-+]?[0-9][0-9_]*_)")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=" \n\t[{,:&*!-+0123456789_oOxXbBa.", max_size=16))
def test_the_boundary_pattern_finds_what_its_plain_definition_finds(text: str) -> None:
    assert bool(_UNPROVABLE[1].search(text)) == bool(BOUNDED.search(text))

"""Inputs built to exhaust time or memory are refused quickly, at the place that is wrong (issue 11: 8, 9, 12, 13)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import hypothesis.strategies as st
import pytest
import yaml
from hypothesis import given, settings

from manifestkit import yamlio
from manifestkit.diagnostics import ManifestkitError
from manifestkit.templating import describe_error, environment

BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
               for prev, name in zip("abcdefgh", "bcdefghi", strict=True))
BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + BOMB


@contextmanager
def bounded(seconds: float = 2.0, megabytes: float = 50.0) -> Iterator[None]:
    tracemalloc.start()
    start = time.monotonic()
    try:
        yield
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    assert time.monotonic() - start < seconds
    assert peak < megabytes


def refusal(load: Callable[[], Any]) -> list[str]:
    with bounded(), pytest.raises(ManifestkitError) as caught:
        load()
    return [f"{d.line}:{d.column}: {d.message}" for d in caught.value.diagnostics]


def test_a_later_document_cannot_reuse_an_earlier_documents_sizes() -> None:
    # Many small nodes, freed after the first document, then a bomb: ids are reused.
    first = "\n".join(f"k{i}: [1, 2, 3]" for i in range(3000))
    assert refusal(lambda: yamlio.load_documents(f"{first}\n---\n{BOMB}", "f.yaml")) == [
        "3002:1: YAML aliases expand to more than 1,000,000 nodes"]


def test_a_big_file_without_aliases_is_not_a_bomb() -> None:
    text = "\n".join(f"key{i}: value{i}" for i in range(60_000))
    assert len(yamlio.load_documents(text, "sops.yaml")[0].data) == 60_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: " + "[" * 400 + "]" * 400 + "\n", "1:103: YAML nesting is deeper than 100 levels (below this key)"),
        (
            "".join("  " * i + f"k{i}:\n" for i in range(400)),
            "101:201: YAML nesting is deeper than 100 levels (below this key)",
        ),
        ("a: &a [*a]\n", "1:1: a YAML alias refers to a node that contains it (a recursive structure)"),
        ("a: !!int two\n", "1:4: cannot read value: 'two' is not a valid !!int"),
        ("a: !!bool maybe\n", "1:4: cannot read value: 'maybe' is not a valid !!bool"),
        ("a: !!timestamp soon\n", "1:4: cannot read value: 'soon' is not a valid !!timestamp"),
        ("a: b\nc: d\x00e\n", "2:5: invalid YAML: the control character U+0000 is not allowed in YAML text"),
        ("a: {<<: [1]}\n", "1:10: a `<<` merge key takes a mapping or a list of mappings"),
    ],
)
def test_refused_at_the_place_that_is_wrong(text: str, expected: str) -> None:
    assert refusal(lambda: yamlio.load_documents(text, "f.yaml")) == [expected]


def test_undecodable_bytes_are_located() -> None:
    assert refusal(lambda: yamlio.load_bytes(b"a: 1\nb: caf\xe9\n", "f.yaml")) == [
        "2:7: file is not UTF-8 text: byte 0xe9 cannot be decoded"]


def test_a_bom_is_dropped() -> None:
    assert yamlio.load_bytes(b"\xef\xbb\xbfa: 1\r\n", "f.yaml")[0].data == {"a": 1}


MERGES = """\
base: &base {image: nginx, port: 80, env: {A: "1"}}
extra: &extra {port: 81, user: web}
one: {<<: *base, port: 8080}
two: {<<: [*base, *extra], user: root}
three:
  <<: *base
  env: {B: "2"}
"""


def test_merge_keys_override_as_go_yaml_reads_them() -> None:
    # The merge-key spec (yaml.org/type/merge.html) and go-yaml v2, which kubectl and Helm use: the
    # mapping's own keys win, then earlier merged mappings over later ones. (PyYAML 6 lets a later
    # mapping win in some cases, so it is not the reference here.)
    data = yamlio.load_documents(MERGES, "f.yaml")[0].data
    assert data["one"] == {"image": "nginx", "port": 8080, "env": {"A": "1"}}
    assert data["two"] == {"image": "nginx", "port": 80, "env": {"A": "1"}, "user": "root"}
    assert data["three"] == {"image": "nginx", "port": 80, "env": {"B": "2"}}


def test_an_explicit_key_twice_is_still_a_duplicate_next_to_a_merge() -> None:
    text = "base: &b {x: 1}\nc: {<<: *b, y: 1, y: 2}\n"
    assert refusal(lambda: yamlio.load_documents(text, "f.yaml")) == [
        "2:19: duplicate key 'y' (first defined on line 2)"]


_keys = st.sampled_from(["a", "b", "c", "d"])
_maps = st.dictionaries(_keys, st.integers(0, 9), max_size=4)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(_maps, min_size=1, max_size=3), _maps)
def test_merges_follow_the_merge_key_spec(sources: list[dict[str, int]], own: dict[str, int]) -> None:
    anchors = "".join(f"s{i}: &s{i} {yaml.safe_dump(s, default_flow_style=True).strip()}\n"
                      for i, s in enumerate(sources))
    refs = ", ".join(f"*s{i}" for i in range(len(sources)))
    body = ", ".join(f"{k}: {v}" for k, v in own.items())
    text = f"{anchors}out: {{<<: [{refs}]{', ' if body else ''}{body}}}\n"
    expected: dict[str, int] = {}
    for source in reversed(sources):
        expected.update(source)
    assert yamlio.load_documents(text, "f.yaml")[0].data["out"] == {**expected, **own}


@pytest.mark.parametrize("source, expected", [
    ("{{ 'x' * 10**9 }}", "a template value grew past 1,048,576 characters"),
    ("{{ 'x' | center(10**9) }}", "a template argument of 1,000,000,000 exceeds the limit of 1,048,576"),
    ("{{ 'x'.ljust(10**9) }}", "a template argument of 1,000,000,000 exceeds the limit of 1,048,576"),
    ("{{ 7 ** 100000 }}", "a template power exceeds 4096 bits"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "template loops ran past 100,000 iterations of range()"),
    ("{% for i in range(90000) %}{{ 'y' * 20 }}{% endfor %}", "template output grew past 1,048,576 characters"),
])
def test_templates_cannot_exhaust_memory_or_time(source: str, expected: str) -> None:
    with bounded(), pytest.raises(Exception) as caught:
        environment("/nonexistent").from_string(source).render()
    message, _ = describe_error(caught.value)
    assert message == f"template tried an unsafe operation: {expected}"


def test_templates_have_no_mutable_namespace() -> None:
    with pytest.raises(Exception) as caught:
        environment("/nonexistent").from_string("{% set ns = namespace(s='x') %}").render()
    assert describe_error(caught.value)[0] == "template uses an undefined variable: 'namespace' is undefined"


def test_ordinary_templates_still_render() -> None:
    source = "{{ 'ab' * 3 }} {{ 2 ** 10 }} {% for i in range(3) %}{{ i }}{% endfor %} {{ 'a' | center(5) }}|"
    assert environment("/nonexistent").from_string(source).render() == "ababab 1024 012   a  |"

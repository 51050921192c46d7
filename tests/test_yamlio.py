"""yamlio: positions, refusals, and a dumper whose strings stay strings for every reader."""

from __future__ import annotations

import string

import yaml
from hypothesis import given
from hypothesis import strategies as st

from manifestkit.yaml_dump import dump
from manifestkit.yamlio import load_documents

# What go-yaml v2 (kubectl, Helm, sigs.k8s.io/yaml) reads as something other than a string.
GO_YAML_V2_NON_STRINGS = [
    "y",
    "Y",
    "n",
    "N",
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "False",
    "null",
    "~",
    "",
    "0755",
    "1.10",
    "1e3",
    "-2E5",
    "0x1F",
    "0b101",
    ".inf",
    ".NaN",
    "2024-01-01",
    "12:30",
    "On",
    "NULL",
    "1_000",
    "0o17",
    "0O17",
    "-0b1_0",
    "+1",
    "+.5",
    "1.",
    "1e+3",
    "-.Inf",
    "1:20:30",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "=",
    "<<",
]


def test_strings_that_look_like_other_types_are_quoted() -> None:
    text = dump({"values": GO_YAML_V2_NON_STRINGS})
    for value in GO_YAML_V2_NON_STRINGS:
        assert f"\n- {value}\n" not in text, f"{value!r} written bare"
    assert yaml.safe_load(text) == {"values": GO_YAML_V2_NON_STRINGS}


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "._/-:~ \n", max_size=12), max_size=8))
def test_any_string_round_trips(values: list[str]) -> None:
    text = dump({"v": values})
    assert load_documents(text, "x.yaml")[0].data == {"v": values}


def test_positions_point_at_keys() -> None:
    doc = load_documents("a:\n  b:\n    - c: 1\n", "f.yaml")[0]
    assert doc.positions[("a", "b", 0, "c")] == (3, 7)
    assert doc.position(("a", "b", 0, "missing")) == (3, 7)

"""Pattern parameters are checked by the compiled (Rust) validator first; python-jsonschema words the errors. The
fast check may only ever say "valid" where python-jsonschema says so too, on every shipped pattern schema."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from manifestkit.package_data import schema_registry, surely_valid
from manifestkit.patterns import PATTERNS
from manifestkit.patterns.engine import schema_of

from .conftest import EXAMPLES, ROOT

SCHEMAS = {name: schema_of(pattern) for name, pattern in sorted(PATTERNS.items())}
_scalars = st.one_of(st.text(max_size=8), st.sampled_from(["", "a", "1.2.3.4", "http://x:80/y", "5s", "10Mi", "-1",
                                                           "abc\n", "ABC", "x y", "/etc/x", "0", "true"]),
                     st.integers(-3, 70000), st.booleans(), st.none(), st.floats(allow_nan=False, width=32))
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(st.text(max_size=6), inner, max_size=3)),
                       max_leaves=8)


def _uses() -> list[tuple[str, dict[str, Any]]]:
    """Every (pattern, `with:`) of the shipped examples and the pattern cases: valid maps written for apps."""
    found = []
    cases = sorted((ROOT / "tests" / "patterns_cases").glob("*/app.yaml"))
    for path in [*sorted(EXAMPLES.rglob("apps/*.yaml")), *cases]:
        for doc in yaml.safe_load_all(path.read_text()):
            for use in (doc or {}).get("spec", {}).get("patterns") or []:
                if isinstance(use, dict) and use.get("use") in SCHEMAS and isinstance(use.get("with"), dict):
                    found.append((use["use"], use["with"]))
    return found


USES = _uses()


def _near(params: dict[str, Any], schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``params`` as written, or with one parameter of the schema (or an unknown one) set to another value, or
    dropped: many valid maps and many nearly valid ones."""
    keys = sorted({*schema.get("properties", {}), *params, "unknownParam"})
    changed = st.tuples(st.sampled_from(keys), _values).map(lambda kv: {**params, kv[0]: kv[1]})
    dropped = st.sampled_from(sorted(params) or ["-"]).map(lambda k: {x: v for x, v in params.items() if x != k})
    return st.one_of(st.just(dict(params)), changed, dropped)


def test_every_pattern_with_a_schema_is_used_by_an_example() -> None:
    assert {name for name, _ in USES} >= {name for name in SCHEMAS if "/" in name} - {"vault/agent"}


@pytest.mark.parametrize(("name", "params"), USES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(USES)])
def test_the_fast_check_never_accepts_what_python_jsonschema_refuses(name: str, params: dict[str, Any]) -> None:
    schema = dict(SCHEMAS[name])
    validator = jsonschema.Draft202012Validator(schema, registry=schema_registry())
    answers: list[bool] = []

    @settings(max_examples=120, deadline=None, derandomize=True)
    @given(_near(params, schema))
    def check(candidate: dict[str, Any]) -> None:
        fast = surely_valid(schema, candidate)
        answers.append(fast)
        assert not fast or list(validator.iter_errors(candidate)) == [], candidate

    check()
    assert surely_valid(schema, params) and not all(answers), "the example's own map is valid; some near ones not"

"""The reference parser: a table of concrete cases, then properties over generated refs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from manifestkit.redact import SecretStr
from manifestkit.secrets.refs import Ref, find_refs, has_refs, parse_ref, substitute, to_avp, unparse

# (text, [(scheme, path, key, query, raw, start, end, syntax), ...])
CASES = [
    ("ref+vault://secret/data/web#/password",
     [("vault", "secret/data/web", ("password",), (), "ref+vault://secret/data/web#/password", 0, 37, "vals")]),
    ("ref+sops://secrets/web.enc.yaml#/api/key",
     [("sops", "secrets/web.enc.yaml", ("api", "key"), (), "ref+sops://secrets/web.enc.yaml#/api/key", 0, 40, "vals")]),
    ("ref+env://DB_PASSWORD",
     [("env", "DB_PASSWORD", (), (), "ref+env://DB_PASSWORD", 0, 21, "vals")]),
    ("ref+file://certs/tls.key",
     [("file", "certs/tls.key", (), (), "ref+file://certs/tls.key", 0, 24, "vals")]),
    ("ref+file://conf/db.json#/auth/0/token",
     [("file", "conf/db.json", ("auth", "0", "token"), (), "ref+file://conf/db.json#/auth/0/token", 0, 37, "vals")]),
    ("postgres://u:ref+vault://db#/pw+@host",
     [("vault", "db", ("pw",), (), "ref+vault://db#/pw+", 13, 32, "vals")]),
    ("ref+vault://secret/web?version=3#/password",
     [("vault", "secret/web", ("password",), (("version", "3"),), "ref+vault://secret/web?version=3#/password",
       0, 42, "vals")]),
    ("ref+vault://kv/app?z=1&a=b%2Bc#/k",
     [("vault", "kv/app", ("k",), (("a", "b+c"), ("z", "1")), "ref+vault://kv/app?z=1&a=b%2Bc#/k", 0, 33, "vals")]),
    ("user=ref+env://USER pass=ref+env://PASS",
     [("env", "USER", (), (), "ref+env://USER", 5, 19, "vals"),
      ("env", "PASS", (), (), "ref+env://PASS", 25, 39, "vals")]),
    ("a ref+env://A+ref+env://B+b",
     [("env", "A", (), (), "ref+env://A+", 2, 14, "vals"), ("env", "B", (), (), "ref+env://B+", 14, 26, "vals")]),
    ("<path:secret/data/web#password>",
     [("vault", "secret/data/web", ("password",), (), "<path:secret/data/web#password>", 0, 31, "avp")]),
    ("<path:secret/data/web#password#2>",
     [("vault", "secret/data/web", ("password",), (("version", "2"),), "<path:secret/data/web#password#2>",
       0, 33, "avp")]),
    ("jdbc://<path:kv/db#user>:<path:kv/db#pw>@h",
     [("vault", "kv/db", ("user",), (), "<path:kv/db#user>", 7, 24, "avp"),
      ("vault", "kv/db", ("pw",), (), "<path:kv/db#pw>", 25, 40, "avp")]),
    ("no refs here: ref+ alone, ref+vault without slashes, 1+1", []),
]

MALFORMED = [
    ("ref+foo://x#/y", "'ref+foo://x#/y': unknown reference scheme 'foo'; expected one of: env, file, sops, vault"),
    ("ref+vault://#/pw", "'ref+vault://#/pw': found no path after 'ref+vault://'; "
                         "expected e.g. 'ref+vault://secret/data/web#/password'"),
    ("ref+vault://a#/b//c", "'ref+vault://a#/b//c': found an empty key segment; expected '#/key' or '#/key/nested'"),
    ("ref+vault://a?=1#/b", "'ref+vault://a?=1#/b': found query option '=1'; expected 'name=value'"),
    ("<path:secret/web>", "'<path:secret/web>': malformed Argo CD Vault Plugin placeholder; "
                          "expected '<path:PATH#KEY>' or '<path:PATH#KEY#VERSION>'"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_find_refs(text: str, expected: list[tuple[object, ...]]) -> None:
    assert [tuple(r) for r in find_refs(text)] == expected
    assert has_refs(text) == bool(expected)


@pytest.mark.parametrize(("text", "message"), MALFORMED)
def test_malformed(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        find_refs(text)
    assert str(caught.value) == message
    assert has_refs(text)


@pytest.mark.parametrize(("text", "message"), [
    ("x ref+env://A", "'x ref+env://A': found 'ref+env://A' followed or preceded by text; expected exactly one "
                      "reference such as 'ref+vault://secret/data/web#/password' or '<path:secret/data/web#password>'"),
    ("plain", "'plain': found 0 refs; expected exactly one reference such as "
              "'ref+vault://secret/data/web#/password' or '<path:secret/data/web#password>'"),
])
def test_parse_ref_wants_one_whole_ref(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_ref(text)
    assert str(caught.value) == message


def test_option_and_version() -> None:
    ref = parse_ref("ref+vault://kv/a?version=3&b=x#/k")
    assert (ref.version, ref.option("b"), ref.option("c"), ref.option("c", "d")) == ("3", "x", None, "d")
    assert parse_ref("ref+vault://kv/a#/k").version is None


def test_avp_round_trip() -> None:
    ref = parse_ref("<path:secret/data/web#password#2>")
    assert to_avp(ref) == "<path:secret/data/web#password#2>"
    assert unparse(ref) == "ref+vault://secret/data/web?version=2#/password"
    assert to_avp(parse_ref("ref+vault://secret/data/web#/password")) == "<path:secret/data/web#password>"
    with pytest.raises(ValueError) as caught:
        to_avp(parse_ref("ref+vault://secret/data/web#/a/b"))
    assert str(caught.value) == ("'ref+vault://secret/data/web#/a/b' cannot be written as an Argo CD Vault Plugin "
                                 "placeholder; expected a vault ref with exactly one key and no query option but "
                                 "'version'")


def test_substitute_embedded() -> None:
    values = {"db": "s3cr+t"}
    result = substitute("postgres://u:ref+vault://db#/pw+@host", lambda r: values[r.path])
    assert isinstance(result, SecretStr)
    assert result.reveal() == "postgres://u:s3cr+t@host"
    assert repr(result) == "<redacted>"
    plain = substitute("no refs", lambda r: "x")
    assert plain == "no refs" and not isinstance(plain, SecretStr)


# --- properties ------------------------------------------------------------------------

_chars = st.characters(codec="utf-8")  # no lone surrogates
_text = st.text(_chars, min_size=1, max_size=12)
_name = st.text(st.characters(categories=["L", "N"], include_characters="-_."), min_size=1, max_size=10)


@st.composite
def vals_refs(draw: st.DrawFn) -> Ref:
    scheme = draw(st.sampled_from(["vault", "sops", "env", "file"]))
    path = draw(_text)
    key = tuple(draw(st.lists(_text, max_size=3)))
    query = tuple(sorted(draw(st.lists(st.tuples(_text, st.text(_chars, max_size=8)), max_size=3))))
    return Ref(scheme, path, key, query, "", 0, 0, "vals")


@st.composite
def avp_refs(draw: st.DrawFn) -> Ref:
    path = "/".join(draw(st.lists(_name, min_size=1, max_size=3)))
    version = draw(st.one_of(st.none(), st.integers(1, 99).map(str)))
    query = (("version", version),) if version else ()
    return Ref("vault", path, (draw(_name),), query, "", 0, 0, "avp")


def _without_refs(text: str) -> bool:
    return "ref+" not in text and "<path:" not in text


@given(vals_refs())
def test_unparse_parse_round_trip(ref: Ref) -> None:
    text = unparse(ref)
    assert parse_ref(text) == ref._replace(raw=text, end=len(text))


@given(avp_refs())
def test_avp_parse_round_trip(ref: Ref) -> None:
    text = to_avp(ref)
    assert parse_ref(text) == ref._replace(raw=text, end=len(text))


@given(st.text(_chars).filter(_without_refs))
def test_text_without_refs_has_none(text: str) -> None:
    assert find_refs(text) == []
    assert not has_refs(text)


@given(st.text(_chars).filter(_without_refs), st.one_of(vals_refs(), avp_refs()),
       st.text(_chars).filter(_without_refs))
def test_embedded_ref_is_found(before: str, ref: Ref, after: str) -> None:
    raw = to_avp(ref) if ref.syntax == "avp" else unparse(ref) + "+"
    text = before + raw + after
    expected = ref._replace(raw=raw, start=len(before), end=len(before) + len(raw))
    assert find_refs(text) == [expected]


@given(st.text(_chars), st.one_of(vals_refs(), avp_refs()))
def test_substitute_identity(text: str, ref: Ref) -> None:
    raw = to_avp(ref) if ref.syntax == "avp" else unparse(ref)
    for candidate in (text, f"{text} {raw} {text}", raw):
        try:
            refs = find_refs(candidate)
        except ValueError:
            continue  # random text may hold a malformed ref
        result = substitute(candidate, lambda r: r.raw)
        assert result == candidate
        assert isinstance(result, SecretStr) == bool(refs)

"""The public records are frozen, slotted, keyword-only dataclasses, and a Source makes located diagnostics."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from manifestkit import model
from manifestkit.diagnostics import Diagnostic, ManifestkitError, fold
from manifestkit.lint.base import LintContext
from manifestkit.model import Resource, Source
from manifestkit.patterns.model import PatternInput, PatternOutput
from manifestkit.secrets.backends import BackendContext
from manifestkit.secrets.jobs import ModeContext, SecretJob
from manifestkit.yamlio import load_documents

SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}

RECORDS: list[tuple[type[Any], dict[str, Any], str]] = [
    (Diagnostic, {"message": "bad", "file": "a.yaml", "line": 3}, "message"),
    (Resource, {"obj": SECRET, "app": "web"}, "obj"),
    (Source, {"file": "a.yaml", "line": 3}, "file"),
]


@pytest.mark.parametrize(("record", "fields", "first"), RECORDS, ids=lambda v: getattr(v, "__name__", ""))
def test_records_refuse_positional_construction(record: type[Any], fields: dict[str, Any], first: str) -> None:
    with pytest.raises(TypeError):
        record(*fields.values())


@pytest.mark.parametrize(("record", "fields", "first"), RECORDS, ids=lambda v: getattr(v, "__name__", ""))
def test_records_refuse_attribute_assignment(record: type[Any], fields: dict[str, Any], first: str) -> None:
    value = record(**fields)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, first, fields[first])
    with pytest.raises((AttributeError, TypeError)):   # slotted: no room for a new attribute
        value.comment = "x"
    assert not hasattr(value, "__dict__")


@pytest.mark.parametrize(("record", "fields", "first"), RECORDS, ids=lambda v: getattr(v, "__name__", ""))
def test_records_are_not_tuples(record: type[Any], fields: dict[str, Any], first: str) -> None:
    value = record(**fields)
    assert not isinstance(value, tuple)
    with pytest.raises(TypeError):
        iter(value)


def test_replace_makes_a_new_record() -> None:
    resource = Resource(obj=SECRET, app="web", source=Source(file="apps/web.yaml", line=4))
    settled = dataclasses.replace(resource, secret_version="sha256:1", resolved=True)
    assert (settled.secret_version, settled.resolved, settled.source) == ("sha256:1", True, resource.source)
    assert (resource.secret_version, resource.resolved) == (None, False)
    assert resource.replace_obj({"kind": "ConfigMap"}).kind == "ConfigMap"


TEXT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
"""


def test_source_diagnostic_locates_through_the_document() -> None:
    [document] = load_documents(TEXT, "base/web.yaml")
    source = Source(file="base/web.yaml", line=1, document=document)
    path = ("spec", "template", "spec", "containers", 0, "image")
    assert source.diagnostic(path, "bad image", hint="pin a tag") == Diagnostic(
        message="bad image", file="base/web.yaml", line=10, column=11,
        path="spec.template.spec.containers[0].image", hint="pin a tag")
    # a path that was not written is located at its nearest written ancestor
    assert source.diagnostic(("spec", "template", "spec", "volumes"), "no volumes").format() == \
        "base/web.yaml:7:5: error: spec.template.spec.volumes: no volumes"


def test_source_diagnostic_without_a_document_is_at_file_and_line() -> None:
    source = Source(file="apps/web.yaml", line=4)
    assert source.diagnostic(("spec", "replicas"), "found 'x'; expected an integer", rule="schema") == Diagnostic(
        message="found 'x'; expected an integer", file="apps/web.yaml", line=4, path="spec.replicas", rule="schema")
    assert source.diagnostic((), "unknown").format() == "apps/web.yaml:4: error: unknown"


def test_a_derived_source_keeps_file_and_line_but_not_the_document() -> None:
    [document] = load_documents(TEXT, "base/web.yaml")
    assert Source(file="base/web.yaml", line=1, document=document).derived() == Source(file="base/web.yaml", line=1)


@pytest.mark.parametrize("record", [model.App, model.Overlay, model.Environment, model.Project, model.Options,
                                    model.EnvSettings, model.RenderContext, model.Resource, model.Source, Diagnostic,
                                    PatternInput, PatternOutput, SecretJob, ModeContext, BackendContext, LintContext],
                         ids=lambda r: r.__name__)
def test_public_records_are_frozen_slotted_keyword_only_dataclasses(record: type[Any]) -> None:
    params = record.__dataclass_params__
    assert params.frozen and "__slots__" in vars(record)
    assert all(f.kw_only for f in dataclasses.fields(record))


def test_fold_feeds_each_item_the_last_good_value_and_raises_every_error_together() -> None:
    def add(total: int, item: int) -> int:
        if item < 0:
            raise ManifestkitError([Diagnostic(message=f"negative: {item}", file=f"{-item}.yaml")])
        return total + item

    assert fold([1, 2, 3], 0, add) == 6
    with pytest.raises(ManifestkitError) as caught:
        fold([1, -2, 3, -4], 0, add)
    assert [d.message for d in caught.value.diagnostics] == ["negative: -2", "negative: -4"]

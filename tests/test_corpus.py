"""Issue 13 on the whole corpus (tests/corpus/): inject never crashes, and validate after inject finds nothing
the input did not have, except what sidecar/envoy documents (docs/patterns.md: the envoy container has no
probes, resources or runAsNonRoot of its own)."""

from __future__ import annotations

import contextlib
import io
from collections import Counter
from pathlib import Path

import pytest

from manifestkit.cli import main
from manifestkit.diagnostics import Diagnostic
from manifestkit.validation import validate_paths
from manifestkit.validation_checks import Options
from manifestkit.yamlio import load_file

CORPUS = Path(__file__).resolve().parent / "corpus"
FILES = sorted(CORPUS.rglob("*.yaml"))
# What docs/patterns.md says sidecar/envoy leaves to the user, on its own container only.
DOCUMENTED = frozenset({"MK007", "MK012", "MK013"})


def findings(path: Path) -> list[Diagnostic]:
    return validate_paths([str(path)], Options(strict=False, ignore_missing_schemas=True)).findings


def test_the_corpus_is_large_enough_to_matter() -> None:
    objects = sum(1 for f in FILES for d in load_file(str(f)) if isinstance(d.data, dict) and "kind" in d.data)
    assert len(FILES) >= 200 and objects >= 350
    assert {p.relative_to(CORPUS).parts[0] for p in FILES} == {"dask-kubernetes-operator", "generated", "kopf",
                                                              "microservices-demo"}
    for folder in ("dask-kubernetes-operator", "kopf", "microservices-demo"):
        assert (CORPUS / folder / "LICENSE").is_file()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(CORPUS)) for p in FILES])
def test_inject_never_crashes_and_adds_no_finding(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.yaml"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["inject", "-p", "sidecar/envoy", str(path), "-o", str(out)])
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert ": error: " in err.getvalue() and "Traceback" not in err.getvalue()
        return
    before = Counter((d.rule, d.message) for d in findings(path))
    after = Counter((d.rule, d.message) for d in findings(out))
    new = [(rule, message) for rule, message in (after - before).elements()
           if not (rule in DOCUMENTED and "container 'envoy'" in message)]
    assert new == []

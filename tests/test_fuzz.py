"""A bounded, seeded fuzz run over render, validate, inject and diff (issue 11, point 15); the large
run is `python bench/fuzz.py`."""

from __future__ import annotations

from pathlib import Path

import pytest

from ._fuzz import run_case

CASES = 300
SEED = 11


@pytest.mark.parametrize("chunk", range(6))
def test_mutated_examples_never_crash_escape_or_leave_partial_output(tmp_path: Path, chunk: int,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    size = CASES // 6
    failures = [f"{o.case}: {', '.join(o.problems)}"
                for o in (run_case(work, SEED, case) for case in range(chunk * size, (chunk + 1) * size)) if o.problems]
    assert failures == []

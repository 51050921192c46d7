"""Shared pytest options and helpers. Append only: several test modules rely on this."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORPORA = ROOT.parent / "shared" / "corpora"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff!)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def corpora(*parts: str) -> Path:
    """A path in ../shared/corpora, or a skip when the folder is absent (a user's clone)."""
    path = CORPORA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus {path} is absent (it sits beside the project in the team's checkout)")
    return path

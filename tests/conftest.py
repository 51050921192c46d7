"""Shared pytest options and helpers. Append only: several test modules rely on this."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
CORPORA = ROOT / "tests" / "corpora"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files from the current output (review the diff!)")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def corpora(*parts: str) -> Path:
    """A path in tests/corpora, the real-world files shipped with the repository (see its README)."""
    path = CORPORA.joinpath(*parts)
    assert path.exists(), f"corpus file {path} is missing from the repository"
    return path


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ci_may_skip: a skip that is legitimate in CI too")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI (CI=true) a skipped test is a failure: a missing tool must not pass silently."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not item.get_closest_marker("ci_may_skip"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run every test: {reason}"


@pytest.fixture(autouse=True, scope="session")
def render_cache_in_a_temp_folder(tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test reads or writes the real render cache (~/.cache/manifestkit): every render of the session, in this
    process or a child, uses one temp folder (tests of the cache itself pass --cache-dir or their own variable)."""
    os.environ["MANIFESTKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("render-cache"))

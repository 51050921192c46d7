"""Every relative link and anchor in README.md and docs/*.md resolves, and so does every SARIF helpUri."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from manifestkit.report import DOCS_URL, REPORTERS, ReportOptions
from manifestkit.validation_checks import Outcome

from .conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped except - and _, spaces as dashes."""
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        n, candidate = 0, slug
        while candidate in found:
            n += 1
            candidate = f"{slug}-{n}"
        found.add(candidate)
    return found


def links(page: Path) -> list[str]:
    return [link for link in LINK.findall(FENCE.sub("", page.read_text(encoding="utf-8")))
            if not re.match(r"^[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for link in links(page):
        target, _, anchor = link.partition("#")
        path = (page.parent / target).resolve() if target else page
        if not path.exists():
            broken.append(f"{link}: no such file")
        elif anchor and (path.suffix != ".md" or anchor not in anchors(path)):
            broken.append(f"{link}: no heading with anchor #{anchor}")
    assert broken == []


def test_readme_links_each_guide() -> None:
    readme_links = {link.partition("#")[0] for link in links(ROOT / "README.md")}
    guides = {
        "docs/getting-started.md",
        "docs/ci.md",
        "docs/argocd.md",
        "docs/flux.md",
        "docs/migrating-helm-checksums.md",
        "docs/migrating-helm-secrets.md",
        "docs/migrating-argocd-vault-plugin.md",
    }
    assert guides <= readme_links
    assert all((ROOT / guide).is_file() for guide in guides)


def test_sarif_help_uris_point_at_existing_sections() -> None:
    sarif = json.loads(REPORTERS["sarif"](Outcome(findings=[], notes=[], checked=[], files=0), ReportOptions()))
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    uris = [rule["helpUri"] for rule in rules if "helpUri" in rule]
    assert uris and all(uri.startswith(f"{DOCS_URL}#") for uri in uris)
    missing = sorted(uri for uri in uris if uri.partition("#")[2] not in anchors(ROOT / "docs" / "rules.md"))
    assert missing == []


def test_no_page_points_outside_the_repository_at_design_notes() -> None:
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert "DESIGN.md" not in text and "issue notes" not in text, page

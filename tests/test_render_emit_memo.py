"""The Kustomize emitter's memo (issue 16): each app's files kept in the render cache and used again while
everything the emitter reads of the app is unchanged; a warm render writes exactly what an uncached one writes."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from manifestkit.render_cache import FORMAT
from manifestkit.schema_step import _loaded

from .conftest import EXAMPLES
from .test_render_cache import CHANGES, FILES, entries, lint_report, render, same_as_uncached, tree, write


def test_each_app_s_files_are_kept_and_used_again(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", project)
    cache = tmp_path / "cache"
    first = same_as_uncached(project, tmp_path, cache, "-f", "kustomize")
    kept = entries(cache, "emitted")
    apps = {rel.split("/")[1] for body in kept.values() for rel in body if rel.startswith("base/")}
    assert apps and len(kept) == len(apps), "one entry an app"
    # An entry made to say something else, its line still sound: the warm render writes what the entry says.
    [pack] = sorted((cache / FORMAT / "emitted").glob("*/*.json"))
    lines = pack.read_bytes().split(b"\n")
    digest, key, body = lines[1].split(b" ", 2)
    rel = next(r for r, (text, _, _) in kept[key.decode()].items() if "kind: Kustomization" in text)   # the first
    marked = body.replace(b"kind: Kustomization", b"kind: Kustomization\\n# from the memo", 1)
    assert marked != body
    lines[1] = b" ".join([hashlib.sha256(marked).hexdigest().encode(), key, marked])
    pack.write_bytes(b"\n".join(lines))
    assert render(project, tmp_path / "warm", "-f", "kustomize", "--cache-dir", str(cache)) == 0
    warm = tree(tmp_path / "warm")
    assert b"kind: Kustomization\n# from the memo\n" in warm[rel] and {r: d for r, d in warm.items() if r != rel} == \
        {r: d for r, d in first.items() if r != rel}
    # The same edit with its digest left stale: a miss, and the files are made again.
    lines[1] = b" ".join([digest, key, marked])
    pack.write_bytes(b"\n".join(lines))
    assert render(project, tmp_path / "again", "-f", "kustomize", "--cache-dir", str(cache)) == 0
    assert tree(tmp_path / "again") == first


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_is_emitted_as_an_uncached_render_emits_it(change: str, tmp_path: Path) -> None:
    project = write(tmp_path / "project", FILES)
    cache = tmp_path / "cache"
    same_as_uncached(project, tmp_path, cache, "-f", "kustomize")
    assert entries(cache, "emitted"), "the apps' files are kept"
    CHANGES[change](project)
    _loaded.cache_clear()
    code_plain = render(project, tmp_path / "plain", "--no-cache", "-f", "kustomize")
    assert render(project, tmp_path / "cached", "--cache-dir", str(cache), "-f", "kustomize") == code_plain
    assert tree(tmp_path / "cached") == tree(tmp_path / "plain")


def test_the_lint_findings_of_kept_files_are_those_of_an_uncached_render(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Kept files come back with the objects the render's lint reads: the same findings, at the same lines."""
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLES / "shop", project)
    cache = ["-f", "kustomize", "--cache-dir", str(tmp_path / "cache")]
    first = lint_report(project, tmp_path / "a", capsys, *cache)
    assert "warning [MK" in first[1]
    assert lint_report(project, tmp_path / "b", capsys, *cache) == first, "warm, every app's files kept"
    assert lint_report(project, tmp_path / "c", capsys, "-f", "kustomize", "--no-cache") == first

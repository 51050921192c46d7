"""The shortcuts of a warm render (issue 16): each one still notices every change that would alter the output."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from manifestkit.render_inputs import _installed, _library_versions


def test_a_library_is_stamped_by_its_installed_metadata_without_being_imported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mk_fake_lib").mkdir()
    (tmp_path / "mk_fake_lib" / "__init__.py").write_text("raise ImportError('a stamp may not import me')\n")
    record = tmp_path / "Mk.Fake_Lib-1.2.dist-info" / "RECORD"
    record.parent.mkdir()
    record.write_text("mk_fake_lib/__init__.py,,\n")
    (tmp_path / "other_lib-9.9.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    first = _installed("mk_fake_lib", "mk_fake_lib", {})
    assert first is not None and first.startswith("Mk.Fake_Lib-1.2.dist-info:") and "other_lib" not in first
    assert "mk_fake_lib" not in sys.modules
    record.write_text("mk_fake_lib/__init__.py,,\nmk_fake_lib/more.py,,\n")     # reinstalled
    assert _installed("mk_fake_lib", "mk_fake_lib", {}) != first
    record.parent.rename(tmp_path / "Mk.Fake_Lib-1.3.dist-info")                # upgraded
    upgraded = _installed("mk_fake_lib", "mk_fake_lib", {})
    assert upgraded is not None and upgraded.startswith("Mk.Fake_Lib-1.3.dist-info:")


def test_a_library_without_metadata_is_stamped_as_before(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "mk_bare_lib.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _installed("mk_bare_lib", "mk_bare_lib", {}) is None
    assert _installed("mk_not_installed_at_all", "mk_not_installed_at_all", {}) is None


def test_the_stamp_names_each_library_by_its_version() -> None:
    import jinja2
    import yaml

    stamps = dict(s.split("=", 1) for s in _library_versions())
    assert sorted(stamps) == ["jinja2", "jsonpatch", "jsonschema_rs", "kubernetes_validate", "yaml"]
    assert f"-{yaml.__version__}.dist-info:" in stamps["yaml"]
    assert f"-{jinja2.__version__}.dist-info:" in stamps["jinja2"]

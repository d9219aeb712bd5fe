"""Atomic folder replacement (used by the SavedModel export)."""

import pytest

from tf_structgen.common.atomic import atomic_directory


def test_atomic_directory_replaces_only_when_complete(tmp_path):
    final = tmp_path / "1"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(final) as tmp:
            (tmp / "new.txt").write_text("new")
            raise RuntimeError("killed mid-export")
    assert [p.name for p in final.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["1"]  # no temporary left
    with atomic_directory(final) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in final.iterdir()] == ["new.txt"]

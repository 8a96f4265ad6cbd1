"""The application: a folder that is not a store is refused."""

from __future__ import annotations

import pytest

from seawatch.api import create_app


def test_not_a_store_is_refused(tmp_path):
    from seawatch.store import StoreError

    with pytest.raises(StoreError):
        create_app(tmp_path / "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(StoreError):
        create_app(tmp_path / "junk")

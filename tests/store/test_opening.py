"""Opening a store (seawatch.store.opening): creation, refusals, damage, resumed creation."""

from __future__ import annotations

import json

import polars as pl
import pytest

from seawatch import schema
from seawatch.store import Store, StoreError
from tests.store.store_checks import ingest
from tests.store.store_synth import positions, result, ts


def test_new_store_layout(tmp_path):
    store = Store(tmp_path / "new")
    root = store.path
    assert json.loads((root / "seawatch-store.json").read_text()) == {
        "format": "seawatch-store",
        "version": 1,
    }
    assert (root / "CURRENT").read_text().strip() == "00000000.json"
    assert (root / "snapshots" / "00000000.json").is_file()
    assert (root / "staging").is_dir()
    assert store.snapshot_id == 0
    assert store.positions().collect().schema == pl.Schema(schema.POSITIONS)
    assert store.inputs().height == 0
    assert store.latest_identity().height == 0


def test_empty_existing_directory_becomes_a_store(tmp_path):
    Store(tmp_path)
    assert (tmp_path / "seawatch-store.json").is_file()
    assert Store(tmp_path, create=False).snapshot_id == 0


def test_non_empty_directory_is_refused_with_its_path(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a seawatch store") as err:
        Store(tmp_path)
    assert str(tmp_path) in str(err.value)
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "seawatch-store.json").exists()


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="no seawatch store"):
        Store(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


def test_file_instead_of_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        Store(tmp_path / "f")


def test_newer_format_and_bad_marker_are_refused(tmp_path):
    Store(tmp_path / "s")
    marker = tmp_path / "s" / "seawatch-store.json"
    marker.write_text(json.dumps({"format": "seawatch-store", "version": 99}))
    with pytest.raises(StoreError, match="upgrade"):
        Store(tmp_path / "s")
    marker.write_text("{not json")
    with pytest.raises(StoreError, match="not a valid"):
        Store(tmp_path / "s")
    marker.write_text(json.dumps({"format": "other", "version": 1}))
    with pytest.raises(StoreError, match="format"):
        Store(tmp_path / "s")


def test_damaged_store_is_reported_not_wiped(tmp_path):
    store = Store(tmp_path / "s")
    ingest(store, "a", [result(positions=positions([{"mmsi": 1, "ts": ts(0)}]))])
    (store.path / "CURRENT").unlink()
    with pytest.raises(StoreError, match="damaged"):
        Store(store.path)
    assert len(list((store.path / "positions").rglob("*.parquet"))) == 1


def test_interrupted_creation_is_finished(tmp_path):
    root = tmp_path / "s"
    Store(root)
    (root / "CURRENT").unlink()
    (root / "snapshots" / "00000000.json").unlink()
    assert Store(root).snapshot_id == 0
    # a marker temp file left by a creation killed before the marker existed
    other = tmp_path / "t"
    other.mkdir()
    (other / ".seawatch-store.json.abc.tmp").write_text("{")
    Store(other)
    assert not list(other.glob(".seawatch-store.json.*.tmp"))



"""The on-disk cache of derived geography: same results, and never a failure of its own."""

from __future__ import annotations

import numpy as np
import shapely

from seawatch.geo import derived
from seawatch.geo._grid import PolygonGrid


def _counting_build(calls: list[int]):
    def build() -> dict[str, np.ndarray]:
        calls.append(1)
        return {"a": np.arange(5, dtype=np.int32), "b": np.array([1.5, 2.5])}

    return build


def test_second_call_reads_the_entry(tmp_path):
    calls: list[int] = []
    key = derived.fingerprint("geo/derived.py", params=("t", 1))
    first = derived.load_or_build("t", key, _counting_build(calls), directory=tmp_path)
    second = derived.load_or_build("t", key, _counting_build(calls), directory=tmp_path)
    assert calls == [1]
    for k in first:
        assert np.array_equal(first[k], second[k]) and first[k].dtype == second[k].dtype
    assert [p.name for p in tmp_path.iterdir()] == [f"t-{key}.npz"]


def test_a_changed_parameter_is_a_new_entry(tmp_path):
    calls: list[int] = []
    for p in (1, 2, 1):
        key = derived.fingerprint("geo/derived.py", params=p)
        derived.load_or_build("t", key, _counting_build(calls), directory=tmp_path)
    assert calls == [1, 1]


def test_an_unreadable_entry_is_rebuilt_and_replaced(tmp_path):
    calls: list[int] = []
    key = derived.fingerprint("geo/derived.py")
    (tmp_path / f"t-{key}.npz").write_bytes(b"PK\x03\x04 truncated")
    out = derived.load_or_build("t", key, _counting_build(calls), directory=tmp_path)
    assert calls == [1] and out["a"].tolist() == [0, 1, 2, 3, 4]
    derived.load_or_build("t", key, _counting_build(calls), directory=tmp_path)
    assert calls == [1]


def test_a_file_in_place_of_the_directory_only_costs_the_rebuild(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    calls: list[int] = []
    out = derived.load_or_build("t", "k", _counting_build(calls), directory=blocker / "sub")
    assert calls == [1] and out["a"].size == 5


def test_turned_off_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(derived.CACHE_ENV, "none")
    assert derived.cache_dir() is None
    monkeypatch.setenv(derived.CACHE_ENV, str(tmp_path))
    assert derived.cache_dir() == tmp_path
    monkeypatch.delenv(derived.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert derived.cache_dir() == tmp_path / "xdg" / "seawatch"


def test_a_polygon_grid_from_the_cache_answers_like_a_built_one(monkeypatch, tmp_path):
    monkeypatch.setenv(derived.CACHE_ENV, str(tmp_path))
    geom = shapely.Polygon([(0, 0), (3, 0), (3, 1), (1, 1), (1, 3), (0, 3)])
    built = PolygonGrid(geom, cell_deg=0.05)
    assert len(list(tmp_path.glob("polygon-grid-*.npz"))) == 1
    loaded = PolygonGrid(geom, cell_deg=0.05)
    assert np.array_equal(built.classes, loaded.classes)
    rng = np.random.default_rng(5)
    lon, lat = rng.uniform(-0.5, 3.5, 20_000), rng.uniform(-0.5, 3.5, 20_000)
    expected = shapely.contains_xy(geom, lon, lat)
    assert np.array_equal(loaded.contains(lon, lat), expected)
    # another shape under the same grid gets its own entry, not the first one's classes
    other = PolygonGrid(shapely.box(0, 0, 3, 3), cell_deg=0.05)
    assert other.contains(np.array([2.0]), np.array([2.0])).tolist() == [True]


def test_shore_distances_are_the_same_from_the_cache(monkeypatch, tmp_path):
    from seawatch.geo import shore

    monkeypatch.setenv(derived.CACHE_ENV, str(tmp_path))
    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-10, 12, 5000), rng.uniform(-100, -70, 5000)
    shore._index.cache_clear()
    fresh = shore.distance_to_shore_km(lat, lon)
    assert len(list(tmp_path.glob("shore-box-*.npz"))) == 1
    shore._index.cache_clear()
    cached = shore.distance_to_shore_km(lat, lon)
    assert np.array_equal(fresh, cached)


def test_default_zones_are_the_same_from_the_cache(monkeypatch, tmp_path):
    from seawatch.geo import zones

    monkeypatch.setenv(derived.CACHE_ENV, str(tmp_path))
    built = zones._default_shapes()
    assert len(list(tmp_path.glob("default-zones-*.npz"))) == 1
    loaded = zones._default_shapes()
    assert all(shapely.equals_exact(a, b, tolerance=0) for a, b in zip(built, loaded, strict=True))

"""The positions query index (seawatch.store.posindex): the same rows, order and totals as the
plain scan of the store, a fallback until it is built, rebuilt per day file as the store
changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.api.query import StoreQuery
from seawatch.io.result import ReadResult
from seawatch.store import Store, posindex

T0 = datetime(2026, 1, 15, 6, tzinfo=UTC)
HOURS = 40  # three UTC days


def random_positions(seed: int, n: int, start: datetime = T0, hours: int = HOURS) -> ReadResult:
    """Positions of 300 MMSIs: mostly off Ecuador, some across the antimeridian, some with
    null or NaN coordinates, some sharing (mmsi, ts) with another report."""
    rng = np.random.default_rng(seed)
    mmsi = rng.integers(200_000_000, 200_000_300, n)
    ts = rng.integers(0, hours * 3_600_000_000, n)
    ts[: n // 50] = ts[n // 50 : 2 * (n // 50)]  # ties on (mmsi, ts) with other content
    mmsi[: n // 50] = mmsi[n // 50 : 2 * (n // 50)]
    lat = rng.uniform(-8.0, 6.0, n)
    lon = rng.uniform(-95.0, -78.0, n)
    far = rng.random(n) < 0.05
    lat[far] = rng.uniform(-30.0, 30.0, far.sum())
    lon[far] = rng.choice([-179.99, -179.5, 179.5, 179.99, 180.0, -180.0], far.sum())
    frame = pl.DataFrame({
        "mmsi": mmsi,
        "ts": pl.Series(ts).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        + (start - datetime(1970, 1, 1, tzinfo=UTC)),
        "lat": lat,
        "lon": lon,
        "sog": rng.uniform(0, 20, n).astype(np.float32),
        "heading": rng.integers(0, 360, n).astype(np.int16),
        "msg_type": np.full(n, 1, dtype=np.int8),
        "second": rng.integers(0, 60, n).astype(np.int8),
        "source": rng.choice(["rx-a", "rx-b", "rx-c"], n),
    })
    nulls = rng.random(n)
    frame = frame.with_columns(
        pl.when(pl.Series(nulls < 0.01)).then(None).otherwise(pl.col("lat")).alias("lat"),
        pl.when(pl.Series((nulls >= 0.01) & (nulls < 0.015))).then(float("nan"))
        .otherwise(pl.col("lon")).alias("lon"),
        pl.when(pl.Series(nulls > 0.98)).then(None).otherwise(pl.col("sog")).alias("sog"),
    )
    return ReadResult(positions=schema.conform(frame, schema.POSITIONS))


def ingest(store: Store, chunk: ReadResult, name: str) -> None:
    store.ingest_results([chunk], name=name, sha256=name.ljust(64, "0")[:64], size=1)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, StoreQuery]:
    root = tmp_path_factory.mktemp("posindex") / "store"
    store = Store(root)
    ingest(store, random_positions(1, 60_000), "a")
    query = StoreQuery(root, index_min_rows=0)
    query.position_index.build_all()
    assert query.position_index.ready()
    return root, query


def queries(seed: int, count: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    out: list[dict] = []
    for i in range(count):
        side = float(rng.choice([0.1, 0.5, 2.0, 5.0, 20.0]))
        lat = float(rng.uniform(-10, 8))
        lon = float(rng.uniform(-97, -76))
        bbox: tuple[float, float, float, float] | None = (
            lon - side / 2, lat - side / 2, lon + side / 2, lat + side / 2)
        if i % 9 == 0:
            bbox = (179.0, -40.0, -179.0, 40.0)  # across the antimeridian
        elif i % 9 == 1:
            bbox = None
        start = T0 + timedelta(seconds=float(rng.uniform(-3600, HOURS * 3600)))
        end = start + timedelta(hours=float(rng.choice([0.5, 1, 6, 24, 60])))
        if i % 7 == 0:
            start = None  # type: ignore[assignment]
        elif i % 7 == 1:
            end = None  # type: ignore[assignment]
        if bbox is None and start is None and end is None:
            bbox = (-90.0, -5.0, -80.0, 5.0)
        offset = int(rng.choice([0, 0, 0, 7, 500, 3000]))
        limit = int(rng.choice([1, 10, 1000, 10_000]))
        out.append({"bbox": bbox, "start": start, "end": end, "offset": offset,
                    "limit": limit})
    return out


def both(query: StoreQuery, q: dict) -> tuple[tuple[pl.DataFrame, int], tuple[pl.DataFrame, int]]:
    filters = {k: q[k] for k in ("bbox", "start", "end")}
    query.use_position_index = False
    try:
        plain = query.positions_page(q["offset"], q["limit"], **filters)
    finally:
        query.use_position_index = True
    assert query._indexes(None, filters["start"], filters["end"], filters["bbox"]) is not None
    return plain, query.positions_page(q["offset"], q["limit"], **filters)


@pytest.mark.parametrize("simple_max", [posindex.SIMPLE_PAGE_MAX, 0])
def test_pages_equal_the_plain_scan(indexed, monkeypatch, simple_max) -> None:
    _, query = indexed
    monkeypatch.setattr(posindex, "SIMPLE_PAGE_MAX", simple_max)  # 0: always bisect
    seen = 0
    for q in queries(5, 120):
        (a, na), (b, nb) = both(query, q)
        assert nb == na, q
        assert b.schema == a.schema
        assert b.equals(a), q
        seen += b.height
    assert seen > 10_000


def test_counts_and_whole_selections_equal_the_plain_scan(indexed) -> None:
    _, query = indexed
    for q in queries(6, 20):
        filters = {k: q[k] for k in ("bbox", "start", "end")}
        query.use_position_index = False
        plain_n = query.positions_count(**filters)
        plain = query.positions_frame(**filters)
        query.use_position_index = True
        assert query.positions_count(**filters) == plain_n
        assert query.positions_frame(**filters).equals(plain)


def test_nan_and_null_coordinates_follow_the_plain_predicate(indexed) -> None:
    _, query = indexed
    # NaN longitudes compare above every number in Polars: a box across the antimeridian
    # keeps them (lon >= min_lon), an ordinary box does not; null coordinates never match
    for bbox in ((179.0, -90.0, -179.0, 90.0), (-180.0, -90.0, 180.0, 90.0)):
        (a, na), (b, nb) = both(query, {"bbox": bbox, "start": None, "end": T0 + timedelta(
            days=9), "offset": 0, "limit": 10_000})
        assert na == nb and a.equals(b)
    wide, _ = both(query, {"bbox": (179.0, -90.0, -179.0, 90.0), "start": None,
                           "end": None, "offset": 0, "limit": 10_000})[1]
    assert wide["lon"].is_nan().any()
    assert wide["lat"].null_count() == 0


def test_queries_without_box_or_window_or_with_mmsi_scan_the_store(indexed) -> None:
    _, query = indexed
    assert query._indexes(None, None, None, None) is None
    assert query._indexes([200_000_001], T0, None, None) is None


def test_falls_back_until_built_and_follows_new_snapshots(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(root)
    ingest(store, random_positions(2, 20_000, hours=30), "a")
    query = StoreQuery(root, index_min_rows=0)
    q = {"bbox": (-90.0, -5.0, -80.0, 5.0), "start": T0, "end": T0 + timedelta(hours=20),
         "offset": 0, "limit": 1000}
    files = store.files("positions")
    # not built: answered by the plain scan, and a build starts in the background
    assert query.position_index.get(files) is None
    assert query.position_index.wait(120)
    first = {f.path for f in store.files("positions")}
    (a, na), (b, nb) = both(query, q)
    assert na == nb and a.equals(b)
    folders = {p.name for p in query.position_index.root.iterdir()}
    assert folders == {Path(p).stem for p in first}
    # an ingest rewrites the days it touches: their indexes are rebuilt, the others kept
    ingest(store, random_positions(3, 5_000, start=T0 + timedelta(hours=20), hours=2), "b")
    now = {f.path for f in store.files("positions")}
    assert now != first and now & first
    assert query._indexes(None, q["start"], q["end"], q["bbox"]) is None  # a new day file
    assert query.positions_page(0, 1000, **{k: q[k] for k in ("bbox", "start", "end")})[1] \
        == query.positions_count(**{k: q[k] for k in ("bbox", "start", "end")})
    assert query.position_index.wait(120)
    (a, na), (b, nb) = both(query, q)
    assert na == nb and a.equals(b)
    folders = {p.name for p in query.position_index.root.iterdir()}
    assert folders == {Path(p).stem for p in now}  # the replaced days' indexes are gone
    # and another process (a new StoreQuery) loads them from disk without building
    again = StoreQuery(root, index_min_rows=0)
    assert again.position_index.ready()
    assert again.positions_page(0, 1000, **{k: q[k] for k in ("bbox", "start", "end")})[0] \
        .equals(b)


def test_small_stores_are_not_indexed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(root)
    ingest(store, random_positions(4, 2_000), "a")
    query = StoreQuery(root)  # default threshold: a million positions
    frame, total = query.positions_page(0, 10, bbox=(-90.0, -5.0, -80.0, 5.0))
    assert total > 0 and frame.height == 10
    query.position_index.wait(30)
    assert not (root / posindex.INDEX_FOLDER).exists()


def test_unwritable_index_folder_disables_the_index(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store = Store(root)
    ingest(store, random_positions(5, 3_000), "a")
    (root / posindex.INDEX_FOLDER).write_text("not a folder")  # mkdir fails below it
    query = StoreQuery(root, index_min_rows=0)
    query.position_index.build_all()
    assert query.position_index.describe()["disabled"]
    frame, total = query.positions_page(0, 10, bbox=(-90.0, -5.0, -80.0, 5.0))
    assert total > 0 and frame.height == 10


def test_index_is_not_counted_in_the_store_size(indexed) -> None:
    root, _ = indexed
    assert (root / posindex.INDEX_FOLDER).is_dir()
    size = Store(root, create=False).info()["size_bytes"]
    data = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()
               and posindex.INDEX_FOLDER not in p.parts)
    assert size == data


def test_rest_and_export_answer_the_same_with_the_index(indexed) -> None:
    from seawatch.api import create_app
    from tests.api.conftest import local_client

    root, _ = indexed
    app = create_app(root, auth="local")
    query = app.state.query
    query.position_index.min_rows = 0
    query.position_index.build_all()
    params = {"bbox": "-90,-5,-82,3", "start": "2026-01-15T10:00:00Z",
              "end": "2026-01-16T03:30:00Z", "limit": 700, "offset": 50}
    with local_client(app) as client:
        urls = [("/api/v1/positions", params),
                ("/api/v1/positions", {**params, "format": "geojson"}),
                ("/api/v1/export/positions", {k: params[k] for k in ("bbox", "start", "end")}),
                ("/ogc/collections/positions/items", {"bbox": params["bbox"], "limit": 100,
                 "datetime": "2026-01-15T10:00:00Z/2026-01-16T03:30:00Z"})]
        for url, p in urls:
            query.use_position_index = True
            with_index = client.get(url, params=p)
            query.use_position_index = False
            plain = client.get(url, params=p)
            assert with_index.status_code == plain.status_code == 200, with_index.text[:300]
            if "export" in url:
                assert with_index.content == plain.content
            else:
                assert with_index.json() == plain.json()
    query.use_position_index = True


PARTNER_GRANTS = [
    {"bbox": [-88.0, -3.0, -84.0, 1.0]},
    {"bbox": [-88.0, -3.0, -84.0, 1.0], "data_start": T0 + timedelta(hours=5),
     "data_end": T0 + timedelta(hours=20)},
    {"zone": "Galápagos Marine Reserve"},
    {"bbox": [179.0, -30.0, -179.0, 30.0]},  # across the antimeridian
    {},  # everywhere
]


@pytest.mark.parametrize("grant", PARTNER_GRANTS, ids=lambda g: ",".join(g) or "all")
def test_a_partner_reads_the_same_positions_with_the_index(indexed, tmp_path, grant,
                                                          monkeypatch) -> None:
    """A partner's positions (one grant that releases them): the query limited to the
    grant's box, window or zone through the index gives what the plain scan gives."""
    import seawatch.api.query.scoped as query_module
    from seawatch.api import create_app
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.grants import create_grant
    from tests.api.conftest import HOST, PARTNER, setup_sharing

    root, _ = indexed
    sharing = setup_sharing(open_state(f"sqlite:///{tmp_path / 'state.db'}"))
    create_grant(sharing.state, grantor=HOST, grantee=PARTNER, include_positions=True,
                 expires_at=utcnow() + timedelta(hours=1), **grant)
    app = create_app(root, state=sharing.state)
    query = app.state.query
    query.position_index.min_rows = 0
    query.position_index.build_all()
    from fastapi.testclient import TestClient

    client = TestClient(app)
    headers = sharing.headers("partner_viewer")
    indexed_calls = []
    select = query_module.select_page
    monkeypatch.setattr(query_module, "select_page",
                        lambda *a, **k: indexed_calls.append(1) or select(*a, **k))
    seen = 0
    for q in queries(11, 12):
        params: dict = {"limit": q["limit"], "offset": q["offset"]}
        if q["bbox"] is not None:
            params["bbox"] = ",".join(str(v) for v in q["bbox"])
        if q["start"] is not None:
            params["start"] = q["start"].isoformat()
        if q["end"] is not None:
            params["end"] = q["end"].isoformat()
        answers = []
        for use in (True, False):
            query.use_position_index = use
            response = client.get("/api/v1/positions", params=params, headers=headers)
            assert response.status_code in (200, 400), response.text[:300]
            answers.append((response.status_code, response.json()))
        query.use_position_index = True
        assert answers[0] == answers[1], params
        if answers[0][0] == 200:
            seen += answers[0][1]["total"]
    antimeridian = grant == {"bbox": [179.0, -30.0, -179.0, 30.0]}
    assert seen > 0 or antimeridian
    assert indexed_calls  # the index answered (across 180° too)


def test_ranges_read_from_the_files_equal_the_mapped_columns(indexed) -> None:
    """read_ranges (pread, not the memory map) gives the mapped values, in the order asked,
    adjacent and empty ranges included."""
    _, query = indexed
    ix = query.position_index.get(query.store.files("positions"))[0]
    rng = np.random.default_rng(3)
    starts = rng.integers(0, ix.rows - 50, 40)
    counts = rng.integers(0, 50, 40)
    starts[5], counts[4] = starts[4] + counts[4], 7  # two adjacent ranges
    mapped = {"key": ix.key, "ts": ix.ts, "lat": ix.lat, "lon": ix.lon, "mmsi": ix.mmsi}
    pos = posindex.ranges(starts, counts)
    for name, values in mapped.items():
        got = ix.read_ranges(name, starts, counts)
        assert got.dtype == values.dtype and np.array_equal(got, values[pos], equal_nan=True)
    assert len(ix.read_ranges("ts", np.array([3]), np.array([0]))) == 0


def _resident_kb(address: int) -> int | None:
    """Resident kB of the mapping holding ``address`` (Linux ``/proc/self/smaps``)."""
    try:
        lines = Path("/proc/self/smaps").read_text().splitlines()
    except OSError:
        return None
    inside = False
    for line in lines:
        head = line.split()[0]
        if "-" in head and all(c in "0123456789abcdef-" for c in head):
            lo, hi = (int(v, 16) for v in head.split("-"))
            inside = lo <= address < hi
        elif inside and line.startswith("Rss:"):
            return int(line.split()[1])
    return None


def test_release_unmaps_the_pages_a_query_touched(indexed) -> None:
    """After release the index's pages no longer count in the process's resident memory,
    and the arrays read the same values again (mapped anew from the page cache)."""
    _, query = indexed
    ix = query.position_index.get(query.store.files("positions"))[0]
    before = ix.ts.copy()
    total = int(ix.ts.sum())  # touches every page of the column
    address = ix.columns["ts"].buffers()[1].address
    touched = _resident_kb(address)
    if touched is None:
        pytest.skip("no /proc/self/smaps here")
    assert touched > 0
    ix.release()
    assert _resident_kb(address) == 0
    assert int(ix.ts.sum()) == total and np.array_equal(ix.ts, before)
    # a page read through the index lets go of the pages it touched
    query.positions_page(10, 500, bbox=(-90.0, -5.0, -80.0, 5.0))
    assert _resident_kb(ix.columns["lat"].buffers()[1].address) == 0
    assert _resident_kb(ix.key.ctypes.data) == 0

"""A partner's positions through its scope (seawatch.api.query.scoped, seawatch.api.scope):
exactly the rows, order, totals, statistics, extents and per-vessel figures that filtering
every position with ``Access.filter_positions`` gives, for every shape a grant can have,
through the query index and through the plain scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from seawatch import schema
from seawatch.api.query import StoreQuery
from seawatch.api.query.scoped import (
    scoped_count,
    scoped_frame,
    scoped_page,
    scoped_summary,
    scoped_vessels,
)
from seawatch.api.query.vessels import CLASS_A_MSG_TYPES, CLASS_B_MSG_TYPES
from seawatch.api.scope import position_scope
from seawatch.store import Store
from seawatch.store.read import row_filters
from tests.api.api_store import positions_chunk
from tests.api.conftest import HOST, PARTNER, setup_sharing
from tests.store.test_posindex import T0, ingest, queries, random_positions

RESERVE = "Galápagos Marine Reserve"
BOX = [-88.0, -3.0, -84.0, 1.0]
EDGES = [  # on BOX's edges and corners, and at the windows' bounds below
    (200_000_900, "2026-01-15T11:00:00Z", -3.0, -88.0),
    (200_000_900, "2026-01-15T12:00:00Z", 1.0, -84.0),
    (200_000_900, "2026-01-16T02:00:00Z", -1.0, -88.0),
    (200_000_901, "2026-01-15T11:00:00Z", -3.0000001, -86.0),
    (200_000_901, "2026-01-16T02:00:00.000001Z", 0.0, -84.0),
]
GRANT_SETS: dict[str, list[dict[str, Any]]] = {
    "none": [],
    "bbox": [{"bbox": BOX}],
    "bbox_window": [{"bbox": BOX, "data_start": T0 + timedelta(hours=5),
                     "data_end": T0 + timedelta(hours=20)}],
    "zone": [{"zone": RESERVE}],
    "zone_window": [{"zone": RESERVE, "data_end": T0 + timedelta(hours=30)}],
    "antimeridian": [{"bbox": [179.0, -30.0, -179.0, 30.0]}],
    "everywhere": [{}],
    "window_only": [{"data_start": T0 + timedelta(hours=10),
                     "data_end": datetime(2026, 1, 16, 2, tzinfo=UTC)}],
    "union": [{"bbox": BOX}, {"zone": RESERVE, "data_start": T0 + timedelta(hours=3)},
              {"bbox": [179.0, -30.0, -179.0, 30.0], "data_end": T0 + timedelta(hours=8)}],
    "overlapping": [{"bbox": [-90.0, -5.0, -80.0, 5.0], "data_end": T0 + timedelta(hours=9)},
                    {"bbox": [-85.0, -4.0, -82.0, 0.0],
                     "data_start": T0 + timedelta(hours=6)}],
    "events_only": [{"bbox": BOX, "positions": False}],
    "marking_below_default": [{"bbox": BOX, "max": "GREEN"}],
    "other_grantor": [{"bbox": BOX, "grantor": "ECU-CG"}],
    "expired": [{"bbox": BOX, "expired": True}],
    "first_day": [{"bbox": BOX, "data_start": T0 + timedelta(hours=1),
                   "data_end": T0 + timedelta(hours=3)}],
}
"""The partner's grants in each case (all include positions unless said)."""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[StoreQuery, pl.DataFrame, Path]:
    root = tmp_path_factory.mktemp("scoped")
    store = Store(root / "store")
    ingest(store, random_positions(5, 40_000), "a")
    store.ingest_results([positions_chunk(EDGES)], name="edges", sha256="e" * 64, size=1)
    query = StoreQuery(root / "store", index_min_rows=0)
    query.position_index.build_all()
    assert query.position_index.ready()
    return query, store.positions().collect(), root


_STATES: dict[tuple[Path, str], Any] = {}


def access_of(root: Path, name: str):
    """The partner's Access with the grants of ``GRANT_SETS[name]`` (a state of its own)."""
    from seawatch.share.db import open_state, utcnow
    from seawatch.share.policy import Principal, access_for

    state = _STATES.get((root, name))
    if state is None:
        state = _STATES[(root, name)] = open_state(f"sqlite:///{root / f'state-{name}.db'}")
        setup_sharing(state)
        add_grants(state, name, utcnow())
    return access_for(state, Principal(1, "usaf-viewer", PARTNER, "partner_viewer"))


def add_grants(state: Any, name: str, now: datetime) -> None:
    from seawatch.share.grants import create_grant

    for spec in GRANT_SETS[name]:
        created = now - timedelta(days=2) if spec.get("expired") else now
        extra = {k: spec[k] for k in ("bbox", "zone", "data_start", "data_end") if k in spec}
        create_grant(state, grantor=spec.get("grantor", HOST), grantee=PARTNER,
                     expires_at=created + timedelta(days=1), now=created,
                     max_marking=spec.get("max", "AMBER"),
                     include_positions=spec.get("positions", True), **extra)


def request_filters(q: dict[str, Any], mmsi: list[int] | None) -> dict[str, Any]:
    return {"mmsi": mmsi, "start": q["start"], "end": q["end"], "bbox": q["bbox"]}


@pytest.mark.parametrize("name", list(GRANT_SETS))
@pytest.mark.parametrize("use_index", [True, False], ids=["index", "scan"])
def test_pages_and_counts_equal_filtering_every_position(world, name, use_index,
                                                         monkeypatch):
    from seawatch.store import posindex

    query, positions, root = world
    access = access_of(root, name)
    released = access.filter_positions(positions)  # what the policy releases, row by row
    if name in ("bbox", "zone", "union", "window_only", "everywhere"):
        assert released.height > 0
    if name in ("none", "events_only", "marking_below_default", "other_grantor", "expired"):
        assert released.height == 0
    scope = position_scope(access)
    assert scope is not None
    query.use_position_index = use_index
    try:
        cases = queries(21, 10)
        cases.append({"bbox": None, "start": None, "end": None, "offset": 0, "limit": 10**9})
        cases.append({"bbox": None, "start": None, "end": None, "offset": 5, "limit": 3})
        for i, q in enumerate(cases):
            mmsi = None
            if i % 4 == 3:  # a query naming vessels reads through the scan
                mmsi = [int(v) for v in positions["mmsi"].unique().sort().head(7)]
            filters = request_filters(q, mmsi)
            # pages found by the search on the row number, too, not only by gathering
            monkeypatch.setattr(posindex, "SIMPLE_PAGE_MAX", 0 if i % 2 else 100_000)
            want = released.filter(*row_filters(mmsi, q["start"], q["end"], q["bbox"]))
            page, total = scoped_page(query, scope, q["offset"], q["limit"], **filters)
            assert total == want.height, (name, q)
            assert page.equals(want.slice(q["offset"], q["limit"])), (name, q)
            assert scoped_count(query, scope, **filters) == want.height
            if i % 3 == 0:
                assert scoped_frame(query, scope, **filters).equals(want)
    finally:
        query.use_position_index = True


@pytest.mark.parametrize("name", ["none", "bbox_window", "zone", "window_only", "union",
                                  "antimeridian"])
@pytest.mark.parametrize("use_index", [True, False], ids=["index", "scan"])
def test_summaries_equal_the_statistics_of_every_released_position(world, name, use_index):
    query, positions, root = world
    access = access_of(root, name)
    released = access.filter_positions(positions)
    scope = position_scope(access)
    query.use_position_index = use_index
    query._scoped.clear()
    try:
        summary = scoped_summary(query, scope)
    finally:
        query.use_position_index = True
    days = released.group_by(pl.col("ts").dt.date().cast(pl.String).alias("d")).len()
    assert summary.positions == released.height
    assert summary.by_day == dict(sorted(zip(days["d"].to_list(), days["len"].to_list(),
                                             strict=True)))
    assert summary.mmsis == frozenset(released["mmsi"].unique().to_list())
    row = released.select(
        pl.col("lon").min(), pl.col("lat").min().alias("y0"), pl.col("lon").max().alias("x1"),
        pl.col("lat").max().alias("y1"), pl.col("ts").min(), pl.col("ts").max().alias("t1"),
    ).row(0)
    box = None if None in row[:4] else tuple(float(v) for v in row[:4])
    assert summary.extent == box and (summary.first, summary.last) == (row[4], row[5])


def oracle_vessels(released: pl.DataFrame) -> pl.DataFrame:
    """Per vessel: count and time span of the released rows, and the latest released row
    with a position (the first in store order among equal times), as ``build_latest``
    reads the store."""
    counts = released.group_by("mmsi").agg(
        pl.len().cast(pl.UInt32).alias("positions"), pl.col("ts").min().alias("first_ts"),
        pl.col("ts").max().alias("last_ts"))
    motion = ("ts", "lat", "lon", "sog", "cog", "heading", "msg_type")
    last = pl.col("ts").arg_max()
    latest = (
        released.filter(pl.col("ts").is_not_null() & pl.col("lat").is_not_null()
                        & pl.col("lon").is_not_null())
        .group_by("mmsi", maintain_order=True)
        .agg(*[pl.col(c).get(last) for c in motion],
             pl.col("msg_type").is_in(CLASS_A_MSG_TYPES).any().alias("_any_a"),
             pl.col("msg_type").is_in(CLASS_B_MSG_TYPES).any().alias("_any_b"))
    )
    return counts.join(latest, on="mmsi", how="left").sort("mmsi")


@pytest.mark.parametrize("name", ["bbox", "zone_window", "window_only", "union"])
@pytest.mark.parametrize("use_index", [True, False], ids=["index", "scan"])
def test_vessels_equal_the_latest_released_position(world, name, use_index):
    query, positions, root = world
    # ties: two rows of one vessel at its latest time, the first in store order wins
    access = access_of(root, name)
    released = access.filter_positions(positions)
    scope = position_scope(access)
    query.use_position_index = use_index
    query._scoped.clear()
    try:
        got = scoped_vessels(query, scope)
        one = int(released["mmsi"][0])
        single = scoped_vessels(query, scope, [one])
    finally:
        query.use_position_index = True
    want = oracle_vessels(released)
    columns = ["mmsi", "positions", "first_ts", "last_ts", "ts", "lat", "lon", "sog", "cog",
               "heading", "msg_type"]
    frame = got.frame.select(columns)
    assert frame.equals(want.select(columns)), name
    assert got.frame["_any_a"].to_list() == want["_any_a"].fill_null(False).to_list()
    assert single.frame.select(columns).equals(
        want.filter(pl.col("mmsi") == one).select(columns))
    # which part releases which vessel: each grant on its own
    masks = scope.part_masks(released["ts"].dt.epoch("us").to_numpy(),
                             released["lat"].fill_null(np.nan).to_numpy(),
                             released["lon"].fill_null(np.nan).to_numpy())
    assert len(masks) == len(got.members) == len(GRANT_SETS[name])
    for part_members, mask in zip(got.members, masks, strict=True):
        assert part_members == frozenset(released.filter(pl.Series(mask))["mmsi"].to_list())


def test_the_index_reads_no_row_of_groups_wholly_inside(world):
    """A window-only grant: the count comes from the groups' sizes, the few groups across
    the window's ends are tested row by row."""
    query, positions, root = world
    access = access_of(root, "window_only")
    scope = position_scope(access)
    from seawatch.store.posindex import Query

    files = query.store.files("positions")
    indexes = query.position_index.get(files)
    assert indexes
    selections = [ix.select(Query(None, None, None, scope.parts)) for ix in indexes]
    inside = sum(int(s.ins_count.sum()) for s in selections)
    edge = sum(len(s.edge_pos) for s in selections)
    assert inside > 10 * edge
    assert inside + edge == access.filter_positions(positions).height


def test_a_polygon_part_classifies_groups_exactly(world):
    """Zone parts: groups inside the polygon are counted whole, groups across its boundary
    tested row by row, and the total is what shapely.contains_xy gives."""
    query, positions, root = world
    access = access_of(root, "zone")
    scope = position_scope(access)
    from seawatch.store.posindex import Query

    indexes = query.position_index.get(query.store.files("positions"))
    selections = [ix.select(Query(None, None, None, scope.parts)) for ix in indexes]
    assert sum(len(s.ins_group) for s in selections) > 0
    assert sum(len(s.edge_pos) for s in selections) > 0
    assert sum(s.total for s in selections) == access.filter_positions(positions).height


def test_empty_scope_and_bad_box(world):
    from seawatch.errors import InvalidValue

    query, _, root = world
    scope = position_scope(access_of(root, "none"))
    assert scope.empty
    page, total = scoped_page(query, scope, 0, 10)
    assert total == 0 and page.columns == list(schema.POSITIONS)
    with pytest.raises(InvalidValue, match="min_lat"):
        scoped_page(query, scope, 0, 10, bbox=(0.0, 5.0, 1.0, 4.0))


def test_the_host_has_no_scope(world):
    from seawatch.share.policy import Principal, access_for

    _, _, root = world
    access = access_of(root, "bbox")
    host = access_for(access.state, Principal(2, "navy-admin", HOST, "admin"))
    assert position_scope(host) is None


def test_scans_open_only_the_day_files_of_the_window(world, monkeypatch):
    """Day files outside the scope's windows are never opened."""
    from seawatch.api.query import scoped

    query, positions, root = world
    access = access_of(root, "first_day")
    scope = position_scope(access)
    query.use_position_index = False
    read: list[str] = []
    groups = scoped.row_groups

    def spy(path: str):
        read.append(path)
        return groups(path)

    monkeypatch.setattr(scoped, "row_groups", spy)
    try:
        total = scoped_count(query, scope)
    finally:
        query.use_position_index = True
    assert total == access.filter_positions(positions).height > 0
    assert len(read) == 1 and len(query.store.files("positions")) == 2


def test_scans_read_one_row_group_at_a_time(tmp_path, monkeypatch):
    """A day file of several row groups is read one row group at a time (memory bounded by
    a row group), with the same answer."""
    from seawatch.api.query import scoped
    from seawatch.store.dedup import ROW_GROUP_SIZE

    store = Store(tmp_path / "store")
    ingest(store, random_positions(8, 2 * ROW_GROUP_SIZE + 5_000, hours=10), "big")
    query = StoreQuery(tmp_path / "store", position_index=False)
    _STATES.pop((tmp_path, "union"), None)
    access = access_of(tmp_path, "union")
    scope = position_scope(access)
    heights: list[int] = []
    released = scoped._released

    def spy(scope_, frame):
        heights.append(frame.height)
        return released(scope_, frame)

    monkeypatch.setattr(scoped, "_released", spy)
    page, total = scoped_page(query, scope, 10, 50)
    want = access.filter_positions(store.positions().collect())
    assert total == want.height and page.equals(want.slice(10, 50))
    assert len(heights) == 3 and max(heights) <= ROW_GROUP_SIZE

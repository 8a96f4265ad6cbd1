"""Helpers shared by the sharing tests: table resets, full-text dumps, agencies, frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import sqlalchemy as sa

from seawatch import schema
from seawatch.share.accounts import add_agency, add_user, init_state
from seawatch.share.db import State
from seawatch.share.models import GENESIS_HASH, Base
from seawatch.share.roles import Principal

ALL_TABLES = tuple(t.name for t in Base.metadata.sorted_tables)
"""Every state table."""

T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
"""A fixed 'now' for tests."""
HOST = "ECU-NAVY"
COAST_GUARD = "ECU-CG"
FISHERIES = "ECU-FISH"
PARTNER = "PARTNER-AF"

INSIDE_RESERVE = [(-0.75, -90.60), (-0.30, -91.20), (0.20, -90.40), (-1.20, -90.00)]
"""(lat, lon) inside the approximate Galápagos Marine Reserve (checked in the tests)."""
OUTSIDE_RESERVE = [(-0.95, -80.90), (-2.20, -81.50), (-0.50, -94.50), (2.50, -86.00)]
"""(lat, lon) outside it: off Manta, the Gulf of Guayaquil, far west, north."""


def reset_tables(state: State) -> None:
    """Empty every table and restore the audit head (faster than TRUNCATE on tiny tables)."""
    with state.write() as s:
        for table in reversed(Base.metadata.sorted_tables):
            s.execute(table.delete())
        s.execute(
            sa.text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :h)"),
            {"h": GENESIS_HASH},
        )


def all_text(state: State) -> str:
    """Every value of every table as one string (to look for leaked secrets)."""
    parts: list[str] = []
    with state.read() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(sa.select(table)):
                parts.extend(str(v) for v in row)
    return "\n".join(parts)


def setup_agencies(state: State) -> None:
    """Host ECU-NAVY plus ECU-CG, ECU-FISH and PARTNER-AF, one user per role."""
    init_state(state, HOST, description="Armada del Ecuador", now=T0 - timedelta(days=30))
    for name in (COAST_GUARD, FISHERIES, PARTNER):
        add_agency(state, name, now=T0 - timedelta(days=30))
    add_user(state, "navy-admin", agency=HOST, role="admin")
    add_user(state, "navy-analyst", agency=HOST, role="analyst")
    add_user(state, "navy-watch", agency=HOST, role="watch_officer")
    add_user(state, "cg-admin", agency=COAST_GUARD, role="admin")
    add_user(state, "cg-watch", agency=COAST_GUARD, role="watch_officer")
    add_user(state, "fish-analyst", agency=FISHERIES, role="analyst")
    add_user(state, "af-viewer", agency=PARTNER, role="partner_viewer")
    add_user(state, "af-admin", agency=PARTNER, role="admin")


def principal(state: State, username: str, method: str = "token") -> Principal:
    """The principal of an existing user."""
    from seawatch.share.accounts import get_user, host_agency

    return get_user(state, username).principal(method, host_agency(state).name)


def events_frame(
    rows: list[dict[str, object]], *, with_markings: bool = False
) -> pl.DataFrame:
    """An events frame (schema.EVENTS columns) from partial rows; defaults fill the rest."""
    full = []
    for k, r in enumerate(rows):
        start = r.get("start", T0 - timedelta(days=2))
        row = {
            "event_id": r.get("event_id", f"ev{k}"),
            "type": r.get("type", "encounter"),
            "mmsi": r.get("mmsi", 735000000 + k),
            "other_mmsi": r.get("other_mmsi"),
            "start": start,
            "end": r.get("end", start + timedelta(hours=3)),  # type: ignore[operator]
            "lat": r.get("lat"),
            "lon": r.get("lon"),
            "zone": r.get("zone"),
            "score": r.get("score", 0.5),
            "details": r.get("details", "{}"),
        }
        if with_markings:
            row["marking"] = r.get("marking", "AMBER")
            row["releasable_to"] = r.get("releasable_to", [])
            row["owner_agency"] = r.get("owner_agency", HOST)
        full.append(row)
    frame = pl.DataFrame(full, infer_schema_length=None)
    out = schema.conform(frame.with_columns(pl.lit(0).alias("ts")), schema.EVENTS)
    if with_markings:
        out = out.with_columns(
            frame.get_column("marking").cast(pl.String),
            frame.get_column("releasable_to").cast(pl.List(pl.String)),
            frame.get_column("owner_agency").cast(pl.String),
        )
    return out


def random_events(n: int, seed: int = 7) -> pl.DataFrame:
    """``n`` random events over the Ecuador region with random types, times, markings,
    releasable-to lists and owners (for leak checks against a reference)."""
    rng = np.random.default_rng(seed)
    levels = np.array(["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"])
    owners = np.array([HOST, HOST, HOST, COAST_GUARD, PARTNER])
    lists = [[], [], [PARTNER], [COAST_GUARD], [PARTNER, FISHERIES], [FISHERIES]]
    start = [T0 - timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 20, n)]
    lat = rng.uniform(-4.0, 3.0, n)
    lat[rng.random(n) < 0.02] = np.nan
    return pl.DataFrame(
        {
            "event_id": [f"r{k}" for k in range(n)],
            "type": rng.choice(np.array(schema.EVENT_TYPES), n).tolist(),
            "mmsi": (735000000 + np.arange(n)).tolist(),
            "other_mmsi": [None] * n,
            "start": start,
            "end": [s + timedelta(hours=float(h)) for s, h in zip(start, rng.uniform(0, 30, n),
                                                                  strict=True)],
            "lat": pl.Series(lat).fill_nan(None),
            "lon": rng.uniform(-95.0, -78.0, n),
            "zone": [None] * n,
            "score": rng.random(n),
            "details": ["{}"] * n,
            "marking": rng.choice(levels, n).tolist(),
            "releasable_to": [lists[i] for i in rng.integers(0, len(lists), n)],
            "owner_agency": rng.choice(owners, n).tolist(),
        },
        schema_overrides={"other_mmsi": pl.Int64, "zone": pl.String,
                          "releasable_to": pl.List(pl.String)},
    ).with_columns(pl.col("start", "end").dt.cast_time_unit("us"))

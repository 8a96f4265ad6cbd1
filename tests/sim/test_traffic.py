"""Tests of the background traffic: who is at sea, where, how fast, with which identity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from seawatch.sim import Scenario, simulate
from seawatch.sim import places as P
from seawatch.sim.fleet import CATEGORIES, category_counts


def _with_identity(s: Scenario) -> pl.DataFrame:
    types = (s.vessels.filter(pl.col("ship_type").is_not_null())
             .group_by("mmsi").agg(pl.col("ship_type").first(), pl.col("flag").first()))
    return s.positions.join(types, on="mmsi", how="left")


def test_noise_free_positions_keep_their_interface() -> None:
    positions = simulate(seed=2, hours=1.0, vessels=12, noise=False).positions
    assert positions["mmsi"].n_unique() == 12
    assert positions["ts"].min() >= datetime(2026, 1, 15, 12, tzinfo=UTC)
    other = simulate(seed=2, hours=1.0, vessels=5, start=datetime(2025, 3, 1, 6),
                     noise=False).positions
    assert other["ts"].min() >= datetime(2025, 3, 1, 6, tzinfo=UTC)
    assert other["ts"].max() < datetime(2025, 3, 1, 7, tzinfo=UTC)
    assert (other["ts"].dt.microsecond() == 0).all()  # whole seconds, as NMEA c: carries


def test_the_mix_of_categories() -> None:
    counts = category_counts(500)
    assert sum(counts.values()) == 500
    assert counts["cargo"] > counts["tanker"] > counts["reefer"] > 0
    assert {"coastal_fishing", "purse_seiner", "longliner", "squid_jigger", "pleasure",
            "galapagos_yacht", "anchored"} <= {k for k, v in counts.items() if v > 0}
    shares = sum(c.share for c in CATEGORIES.values())
    assert abs(shares - 1.0) < 1e-9


def test_flags_names_and_imo_numbers(quiet: Scenario) -> None:
    vessels = quiet.vessels
    flags = set(vessels["flag"].drop_nulls())
    assert {"ECU", "PAN", "CHN"} <= flags
    per = vessels.group_by("mmsi").agg(pl.col("name").drop_nulls().n_unique(),
                                       pl.col("callsign").drop_nulls().n_unique())
    assert (per["name"] <= 1).all() and (per["callsign"] <= 1).all()
    chinese = vessels.filter(pl.col("flag") == "CHN")
    assert (chinese["ship_type"].drop_nulls() == 30).all()
    imo = vessels["imo"].drop_nulls().unique().to_list()
    assert imo and all(_imo_ok(x) for x in imo)


def _imo_ok(imo: int) -> bool:
    d = [int(c) for c in str(imo)]
    return len(d) == 7 and sum(x * w for x, w in zip(d[:6], range(7, 1, -1), strict=True)) \
        % 10 == d[6]


def test_speeds_by_kind(quiet: Scenario) -> None:
    frame = _with_identity(quiet)
    merchant = frame.filter((pl.col("ship_type") // 10).is_in([7, 8]) & (pl.col("nav_status") == 0))
    assert 10.0 < merchant["sog"].median() < 18.0 and merchant["sog"].max() < 19.0
    coastal = frame.filter((pl.col("ship_type") == 30) & (pl.col("msg_type") == 18))
    assert coastal["sog"].max() < 10.0
    anchored = frame.filter(pl.col("nav_status") == 1)
    assert anchored.height > 0 and anchored["sog"].max() < 0.5
    fishing = frame.filter(pl.col("nav_status") == 7)
    assert fishing.height > 0 and fishing["sog"].median() < 6.0
    b = frame.filter(pl.col("msg_type") == 18)
    a = frame.filter(pl.col("msg_type") == 1)
    assert b["nav_status"].is_null().all() and b["heading"].is_null().all()
    assert a["nav_status"].is_not_null().all() and a["heading"].is_not_null().all()


def test_implied_speeds_are_plausible(quiet: Scenario) -> None:
    jumps = {int(quiet.plan.fleet.mmsi[it["tracks"][0]]) for it in quiet.plan.intents
             if it["type"] == "spoofing"}
    steps = quiet.positions.filter(~pl.col("mmsi").is_in(list(jumps))).sort("mmsi", "ts") \
        .with_columns(dt=pl.col("ts").diff().over("mmsi").dt.total_seconds(),
                      dlat=pl.col("lat").diff().over("mmsi"),
                      dlon=pl.col("lon").diff().over("mmsi") * pl.col("lat").radians().cos(),
                      ).drop_nulls("dt")
    km = (steps["dlat"] ** 2 + steps["dlon"] ** 2).sqrt() * 111.2
    knots = km / 1.852 / (steps["dt"] / 3600)
    assert knots.max() < 25.0  # what the segmenter would call a jump


def test_areas_are_covered(quiet: Scenario) -> None:
    lat, lon = quiet.positions["lat"], quiet.positions["lon"]
    assert ((lon < -89.0) & (lon > -92.0)).sum() > 0  # Galápagos
    assert (lon < -93.0).sum() > 0  # squid fleet and high seas
    assert ((lon > -81.5) & lat.is_between(-3.5, 1.5)).sum() > 0  # coast of Ecuador
    assert (lat > 7.0).sum() > 0  # Panama


def test_destinations_follow_the_voyage(quiet: Scenario) -> None:
    dest = set(quiet.vessels.filter(pl.col("msg_type") == 5)["destination"].drop_nulls())
    assert dest <= set(P.PORT_NAMES.values()) and len(dest) >= 3


def test_island_berths_keep_yachts_apart() -> None:
    from seawatch.sim.traffic import anchor_point, usable_berths

    rng = np.random.default_rng(0)
    for name in P.ANCHOR_RINGS:
        berths = usable_berths(name)
        assert berths.size >= 6
        pts = np.array([anchor_point(rng, name, int(k)) for k in range(berths.size)])
        d = np.hypot((pts[:, None, 0] - pts[None, :, 0]) * 111.2,
                     (pts[:, None, 1] - pts[None, :, 1]) * 111.2)
        assert d[~np.eye(len(pts), dtype=bool)].min() > 0.6


def test_background_has_no_unplanned_event(quiet: Scenario, scenario: Scenario) -> None:
    for s in (quiet, scenario):
        extra = [r for r in s.truth.to_dicts()
                 if r["type"] not in ("zone_entry", "zone_exit", "port_visit")
                 and '"planted": false' in r["details"]]
        assert extra == []


def test_positions_are_in_the_period(scenario: Scenario) -> None:
    start = datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert scenario.positions["ts"].min() >= start
    assert scenario.positions["ts"].max() < start + timedelta(hours=20)

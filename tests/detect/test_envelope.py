"""Gap envelopes, dark rendezvous and the dark chains on hand-made geometry (issue 16)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
import shapely

from seawatch.detect.chunks import TableChunks
from seawatch.detect.dark_near_encounter import DarkNearEncounterParams, detect_dark_near_encounter
from seawatch.detect.dark_rendezvous import DarkRendezvousParams, detect_dark_rendezvous
from seawatch.detect.detector import Context
from seawatch.detect.envelope import area_km2, ellipses
from seawatch.detect.events import details_of, to_events
from seawatch.detect.gap import GapParams, detect_gaps, with_envelopes
from seawatch.detect.loiter_gap_loiter import LoiterGapLoiterParams, detect_loiter_gap_loiter
from seawatch.detect.pipeline import run_pipeline
from seawatch.geo import Zone, zone_index
from seawatch.geo.geodesy import NM_KM, distance_km
from seawatch.tracks import segment
from tests.tracks.track_builders import OPEN_OCEAN, T0, hours, step, track

MMSI = 735000001


def _enveloped(pos: pl.DataFrame, context: Context, **kw: Any) -> pl.DataFrame:
    seg = segment(pos)
    p = GapParams(**kw)
    return with_envelopes(detect_gaps(seg, params=p), seg, context, p)


def test_envelope_area_is_the_ellipse_and_the_polygon_matches_it() -> None:
    # 8 kn east, dark from 6 h to 26 h: the envelope speed is the 10 kn floor (8 x 1.2 < 10)
    pos = track(MMSI, OPEN_OCEAN, hours(*range(7), *range(26, 29)), speed_kn=8.0)
    inside = shapely.box(*[c for c in reversed(step(*OPEN_OCEAN, 90.0, 150.0))] * 2).buffer(0.05)
    far = shapely.box(-80.0, -5.0, -79.0, -4.0)
    zones = zone_index([Zone("Near", "user", inside), Zone("Far", "user", far)])
    ev = _enveloped(pos, Context(zones=zones))
    assert ev.height == 1
    d = details_of(ev.row(0, named=True))
    assert d["envelope_speed_kn"] == pytest.approx(10.0)
    assert d["envelope_speed_from"] == "observed"
    reach = 10.0 * NM_KM * 20.0
    assert d["envelope_reach_km"] == pytest.approx(reach, rel=1e-6)
    a, c = reach / 2, d["distance_km"] / 2
    assert d["envelope_area_km2"] == pytest.approx(math.pi * a * math.sqrt(a * a - c * c),
                                                   rel=1e-3)
    poly = shapely.from_wkt(d["envelope_wkt"])
    # 32 vertices inscribed: the polygon's geodesic area is 99.4 % of the ellipse's
    assert area_km2(np.array([poly]))[0] / d["envelope_area_km2"] == pytest.approx(0.994,
                                                                                   abs=0.004)
    assert d["envelope_zones"] == ["Near"]
    assert d["envelope_port_count"] == 0  # 500 km from any shore
    assert len(d["envelope_wkt"]) < 1000


def test_envelope_speed_caps_by_type_and_never_below_the_gap_itself() -> None:
    pos = track(MMSI, OPEN_OCEAN, hours(*range(7), *range(26, 29)), speed_kn=14.0)
    fishing = pl.DataFrame({"mmsi": [MMSI], "ship_type": [30]})
    d = details_of(_enveloped(pos, Context(vessels=fishing)).row(0, named=True))
    assert d["envelope_speed_kn"] == pytest.approx(15.0)  # 14 x 1.2 capped at 15
    assert d["envelope_speed_from"] == "type_cap"
    d = details_of(_enveloped(pos, Context()).row(0, named=True))
    assert d["envelope_speed_kn"] == pytest.approx(16.8)  # 14 x 1.2 under the 22 kn cap
    d = details_of(_enveloped(pos, Context(vessels=fishing),
                              envelope_max_speed_fishing_kn=12.0).row(0, named=True))
    assert d["envelope_speed_from"] == "implied"
    assert d["envelope_speed_kn"] == pytest.approx(d["implied_speed_kn"])
    plain = _enveloped(pos, Context(), envelope=False)
    assert "envelope_wkt" not in details_of(plain.row(0, named=True))


def test_envelope_holds_the_ports_it_reaches() -> None:
    ports = pl.DataFrame({"name": ["Inside", "Outside", "Anch"], "lat": [-5.0, 5.0, -5.0],
                          "lon": [-94.0, -94.0, -94.1], "kind": ["port", "port", "anchorage"]})
    pos = track(MMSI, OPEN_OCEAN, hours(*range(7), *range(26, 29)), speed_kn=8.0)
    d = details_of(_enveloped(pos, Context(ports=ports)).row(0, named=True))
    assert d["envelope_ports"] == ["Inside"] and d["envelope_port_count"] == 1


def _gap(mmsi: int, off: tuple[float, float], on: tuple[float, float], start_h: float,
         end_h: float, speed_kn: float = 10.0, outage_h: int = 0) -> dict[str, object]:
    gap_h = end_h - start_h
    reach = speed_kn * NM_KM * gap_h
    return {
        "mmsi": mmsi, "start": T0 + timedelta(hours=start_h), "end": T0 + timedelta(hours=end_h),
        "lat": off[0], "lon": off[1], "score": 1.0,
        "details": json.dumps({
            "gap_hours": gap_h, "off_lat": off[0], "off_lon": off[1], "on_lat": on[0],
            "on_lon": on[1], "envelope_speed_kn": speed_kn, "envelope_reach_km": reach,
            "outage_h": outage_h,
        }),
    }


def _gaps(*rows: dict[str, object]) -> pl.DataFrame:
    return to_events(pl.DataFrame(list(rows)), "gap")


X = OPEN_OCEAN
Y = step(*X, 90.0, 300.0)  # 300 km east of X


def test_two_dark_vessels_that_could_meet_are_one_pair_event() -> None:
    gaps = _gaps(_gap(MMSI + 1, X, step(*X, 90.0, 100.0), 0, 20),
                 _gap(MMSI, step(*X, 0.0, 20.0), step(*X, 80.0, 100.0), 2, 22))
    ev = detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams())
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert row["type"] == "dark_rendezvous"
    assert (row["mmsi"], row["other_mmsi"]) == (MMSI, MMSI + 1)
    d = details_of(row)
    ids = dict(zip(gaps["mmsi"], gaps["event_id"], strict=True))
    assert d["gap_event_id"] == ids[MMSI] and d["other_gap_event_id"] == ids[MMSI + 1]
    assert d["gap_hours"] == 20 and d["feasible_hours"] > 10
    assert 0 <= d["min_meeting_area_km2"] < d["max_meeting_area_km2"]
    assert T0 + timedelta(hours=2) <= row["start"] < row["end"] <= T0 + timedelta(hours=20)


def test_envelopes_that_meet_at_no_common_time_are_no_rendezvous() -> None:
    # each vessel stays about its own point: 1 dark 0-20 h at X, 2 dark 15-35 h at Y, 300 km
    # away; the envelopes (discs of 185 km) intersect, but in the common hours 15-20 each
    # can be at most 55 km from its point and still stay 2 h with the other
    gaps = _gaps(_gap(MMSI, X, X, 0, 20), _gap(MMSI + 1, Y, Y, 15, 35))
    env, *_ = ellipses(np.array([X[0], Y[0]]), np.array([X[1], Y[1]]),
                       np.array([X[0], Y[0]]), np.array([X[1], Y[1]]),
                       np.array([10 * NM_KM * 20] * 2))
    assert shapely.intersects(env[0], env[1])
    inf = float("inf")
    alone = DarkRendezvousParams(max_apart_km=inf, max_apart_h=inf)  # the time test alone
    assert detect_dark_rendezvous(Context(gaps=gaps), alone).height == 0
    # with more overlap in time they could; but they went dark and came back 300 km apart
    gaps = _gaps(_gap(MMSI, X, X, 0, 30), _gap(MMSI + 1, Y, Y, 5, 35))
    assert detect_dark_rendezvous(Context(gaps=gaps), alone).height == 1
    assert detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams()).height == 0
    # going dark 300 km apart but coming back 30 km apart within 6 h is a candidate
    near_x = step(*X, 90.0, 30.0)
    gaps = _gaps(_gap(MMSI, X, X, 0, 30), _gap(MMSI + 1, Y, near_x, 5, 35))
    found = detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams())
    assert found.height == 1
    d = details_of(found.row(0, named=True))
    assert d["on_km_apart"] == pytest.approx(30.0, abs=0.1) and d["on_hours_apart"] == 5


def test_rendezvous_leaves_out_silences_a_receiver_outage_began() -> None:
    gaps = _gaps(_gap(MMSI + 1, X, step(*X, 90.0, 100.0), 0, 20, outage_h=4),
                 _gap(MMSI, step(*X, 0.0, 20.0), step(*X, 80.0, 100.0), 2, 22))
    assert detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams()).height == 0
    found = detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams(with_outages=True))
    assert details_of(found.row(0, named=True))["other_outage_h"] == 4


def test_rendezvous_needs_two_vessels_and_short_gaps() -> None:
    same = _gaps(_gap(MMSI, X, X, 0, 20), _gap(MMSI, X, X, 30, 50))
    assert detect_dark_rendezvous(Context(gaps=same), DarkRendezvousParams()).height == 0
    long = _gaps(_gap(MMSI, X, X, 0, 60), _gap(MMSI + 1, X, X, 0, 60))
    assert detect_dark_rendezvous(Context(gaps=long), DarkRendezvousParams()).height == 0
    p = DarkRendezvousParams(max_gap_h=72)
    assert detect_dark_rendezvous(Context(gaps=long), p).height == 1


def _events(kind: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    return to_events(pl.DataFrame(rows), kind)


def _at(h: float) -> datetime:
    return T0 + timedelta(hours=h)


def test_loiter_gap_loiter_chain_and_a_near_miss() -> None:
    off, on = X, step(*X, 90.0, 50.0)
    gaps = _gaps(_gap(MMSI, off, on, 10, 30))
    before = {"mmsi": MMSI, "start": _at(2), "end": _at(9), "lat": off[0], "lon": off[1]}
    after = {"mmsi": MMSI, "start": _at(31), "end": _at(36), "lat": on[0], "lon": on[1]}
    loit = _events("loitering", [before, after])
    ev = detect_loiter_gap_loiter(Context(gaps=gaps, loitering=loit), LoiterGapLoiterParams())
    assert ev.height == 1
    row = ev.row(0, named=True)
    assert (row["start"], row["end"]) == (_at(2), _at(36))
    d = details_of(row)
    assert d["gap_event_id"] == gaps["event_id"][0]
    assert {d["loitering_before_id"], d["loitering_after_id"]} == set(loit["event_id"])
    assert d["hours_loitering_to_gap"] == 1 and d["hours_gap_to_loitering"] == 1
    # the second loitering 20 h after the gap: no chain
    late = {**after, "start": _at(50), "end": _at(55)}
    loit = _events("loitering", [before, late])
    assert detect_loiter_gap_loiter(Context(gaps=gaps, loitering=loit),
                                    LoiterGapLoiterParams()).height == 0
    # a loitering place the envelope cannot reach (600 km off): no chain
    far = step(*on, 0.0, 600.0)
    loit = _events("loitering", [before, {**after, "lat": far[0], "lon": far[1]}])
    assert detect_loiter_gap_loiter(Context(gaps=gaps, loitering=loit),
                                    LoiterGapLoiterParams()).height == 0


def test_dark_after_an_encounter_and_a_near_miss() -> None:
    off = X
    gaps = _gaps(_gap(MMSI, off, step(*X, 90.0, 50.0), 10, 30))
    near = step(*off, 0.0, 5.0)
    enc = _events("encounter", [{"mmsi": MMSI + 5, "other_mmsi": MMSI, "start": _at(4),
                                 "end": _at(8), "lat": near[0], "lon": near[1]}])
    ev = detect_dark_near_encounter(Context(gaps=gaps, encounters=enc),
                                    DarkNearEncounterParams())
    assert ev.height == 1
    row = ev.row(0, named=True)
    d = details_of(row)
    assert row["mmsi"] == MMSI and row["other_mmsi"] is None
    assert d["side"] == "after_encounter" and d["partner_mmsi"] == MMSI + 5
    assert d["gap_event_id"] == gaps["event_id"][0]
    assert d["encounter_event_id"] == enc["event_id"][0]
    assert d["hours_between"] == 2 and d["km_between"] == pytest.approx(5.0, abs=0.05)
    assert (row["start"], row["end"]) == (_at(4), _at(30))
    # 40 km away: no event; 8 h before: no event
    far = step(*off, 0.0, 40.0)
    for moved in ({"lat": far[0], "lon": far[1]}, {"start": _at(0), "end": _at(2)}):
        enc2 = _events("encounter", [{**enc.row(0, named=True), **moved}])
        assert detect_dark_near_encounter(Context(gaps=gaps, encounters=enc2),
                                          DarkNearEncounterParams()).height == 0
    # reappearing 3 h before an encounter at the on position
    on = step(*X, 90.0, 50.0)
    enc3 = _events("encounter", [{"mmsi": MMSI, "other_mmsi": MMSI + 5, "start": _at(33),
                                  "end": _at(36), "lat": on[0], "lon": on[1]}])
    ev = detect_dark_near_encounter(Context(gaps=gaps, encounters=enc3),
                                    DarkNearEncounterParams())
    assert details_of(ev.row(0, named=True))["side"] == "before_encounter"
    assert distance_km(on[0], on[1], ev["lat"][0], ev["lon"][0]) < 0.01


class _ByVessel(TableChunks):
    """The table in chunks of one vessel each, as a store is read."""

    in_memory = False

    def __init__(self, positions: pl.DataFrame) -> None:
        super().__init__(positions)
        self.mmsi = sorted(set(self.positions["mmsi"]))

    def __len__(self) -> int:
        return len(self.mmsi)

    def read(self, k: int, columns: Sequence[str]) -> pl.DataFrame:
        return self.positions.filter(pl.col("mmsi") == self.mmsi[k])


def test_the_pipeline_pairs_gaps_of_vessels_in_different_chunks() -> None:
    # two vessels sailing side by side 10 km apart go dark 6 h -> 26 h; a third heard every
    # 10 min nearby shows that the feed kept hearing the area
    times = hours(*range(7), *range(26, 29))
    one = track(MMSI, OPEN_OCEAN, times, speed_kn=8.0)
    two = track(MMSI + 1, step(*OPEN_OCEAN, 0.0, 10.0), times, speed_kn=8.0)
    three = track(MMSI + 2, step(*OPEN_OCEAN, 180.0, 30.0),
                  [T0 + timedelta(minutes=10 * k) for k in range(6 * 30)], speed_kn=1.0)
    table = pl.concat([one, two, three])
    types = ["gap", "dark_rendezvous"]
    whole = run_pipeline(TableChunks(table), types=types).events
    split = run_pipeline(_ByVessel(table), types=types).events
    assert whole.equals(split)
    assert sorted(whole["type"]) == ["dark_rendezvous", "gap", "gap"]
    pair = whole.filter(pl.col("type") == "dark_rendezvous").row(0, named=True)
    assert (pair["mmsi"], pair["other_mmsi"]) == (MMSI, MMSI + 1)
    assert details_of(pair)["feasible_hours"] >= 16


def test_the_near_pairs_search_finds_what_the_envelope_tree_finds() -> None:
    rng = np.random.default_rng(16)
    rows = []
    for k in range(40):
        off = step(*X, float(rng.uniform(0, 360)), float(rng.uniform(0, 120)))
        on = step(*off, float(rng.uniform(0, 360)), float(rng.uniform(0, 150)))
        start = float(rng.uniform(0, 12))
        rows.append(_gap(MMSI + k % 25, off, on, start, start + float(rng.uniform(13, 30))))
    gaps = _gaps(*rows)
    near = detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams())
    inf = float("inf")
    every = detect_dark_rendezvous(Context(gaps=gaps), DarkRendezvousParams(max_apart_km=inf))
    d = every["details"].str.json_decode().struct.unnest()
    together = ((d["off_km_apart"] <= 50) & (d["off_hours_apart"] <= 6)) | (
        (d["on_km_apart"] <= 50) & (d["on_hours_apart"] <= 6))
    assert near.height > 3 and every.height > near.height
    assert near.equals(every.filter(together))

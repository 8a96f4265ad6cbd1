"""Encounters: hand-made edges of the definition, and GFW parity.

The GFW cases use ``../shared/data/reference/gfw-encounters`` (inputs and expected results
transcribed from GlobalFishingWatch/pipe-encounters' tests); see docs/parity-gfw-encounters.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl
import pytest
from pyproj import Geod

from seawatch import schema
from seawatch.detect.encounter import detect_encounters, encounters_from_samples
from seawatch.detect.events import details_of
from seawatch.tracks.resample import concat_samples, resample_samples
from tests.conftest import shared_data_path

GEOD = Geod(ellps="WGS84")
T0 = datetime(2026, 1, 15, tzinfo=UTC)
LAT, LON = -2.0, -86.0  # open sea west of Ecuador: 390 km from shore, far from any port
A, B = 735000001, 412000002


def track(mmsi, start_min, end_min, lat=LAT, lon=LON, every=10, sog=0.5, **extra):
    """A vessel reporting every ``every`` minutes from ``start_min`` to ``end_min`` (inclusive)."""
    minutes = np.arange(start_min, end_min + 1e-9, every)
    n = len(minutes)
    lats = np.broadcast_to(np.asarray(lat, dtype=float), (n,))
    lons = np.broadcast_to(np.asarray(lon, dtype=float), (n,))
    return pl.DataFrame(
        {
            "mmsi": [mmsi] * n,
            "ts": [T0 + timedelta(minutes=float(m)) for m in minutes],
            "lat": lats.copy(),
            "lon": lons.copy(),
            "sog": [sog] * n,
            **extra,
        }
    )


def offset(lat, lon, metres, azimuth=90.0):
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lat2, lon2


def pair(distance_m, start_min=0, end_min=120, **kw):
    lat2, lon2 = offset(LAT, LON, distance_m)
    return pl.concat(
        [track(A, start_min, end_min, **kw), track(B, start_min, end_min, lat2, lon2, **kw)]
    )


def spans(ev: pl.DataFrame) -> list[tuple[str, str]]:
    return ev.select(pl.col("start", "end").dt.strftime("%d %H:%M")).rows()


# --- thresholds -----------------------------------------------------------------------------


def test_exactly_500_m_is_counted_501_m_is_not():
    ev = detect_encounters(pair(500.0))
    assert ev.height == 1
    assert details_of(ev.row(0, named=True))["median_distance_m"] == pytest.approx(500.0)
    assert detect_encounters(pair(501.0)).height == 0


def test_exactly_2_h_is_counted_1_h_50_is_not():
    assert spans(detect_encounters(pair(200.0, 0, 120))) == [("15 00:00", "15 02:00")]
    assert detect_encounters(pair(200.0, 0, 110)).height == 0
    assert detect_encounters(pair(200.0, 0, 110), min_duration="1h50m").height == 1


def test_event_columns_and_details():
    ev = detect_encounters(pair(300.0, 0, 180))
    assert ev.columns == list(schema.EVENTS)
    row = ev.row(0, named=True)
    assert (row["type"], row["mmsi"], row["other_mmsi"]) == ("encounter", B, A)
    assert row["event_id"] == f"encounter:{B}:{A}:20260115T000000Z"
    assert row["lat"] == pytest.approx(LAT, abs=1e-6)
    assert row["lon"] == pytest.approx(LON + 0.00135, abs=1e-4)
    assert row["score"] == pytest.approx(0.75)
    d = details_of(row)
    assert d["median_distance_m"] == pytest.approx(300.0)
    assert d["duration_h"] == 3.0
    assert d["mmsi_median_speed_kn"] == d["other_median_speed_kn"] == 0.5
    assert d["distance_from_shore_km"] > 300
    assert d["distance_from_port_km"] > 300
    assert (d["close_samples"], d["pieces"]) == (19, 1)


def test_straddling_midnight_is_one_event():
    ev = detect_encounters(pair(150.0, 22 * 60, 26 * 60))  # 22:00 .. 02:00 next day
    assert spans(ev) == [("15 22:00", "16 02:00")]


def test_one_vessel_in_two_frames_concatenated():
    lat2, lon2 = offset(LAT, LON, 250.0)
    a = track(A, 23 * 60 + 3, 27 * 60, every=3, source="file-a")  # 23:03 .. 03:00
    day1 = a.filter(pl.col("ts") < datetime(2026, 1, 16, tzinfo=UTC))
    day2 = a.filter(pl.col("ts") >= datetime(2026, 1, 16, tzinfo=UTC))
    b = track(B, 23 * 60, 27 * 60, lat2, lon2, every=2, source="file-b")
    ev = detect_encounters(pl.concat([day2, b, day1]))
    assert spans(ev) == [("15 23:10", "16 03:00")]
    assert details_of(ev.row(0, named=True))["pieces"] == 1


def test_gap_in_the_middle_is_not_interpolated_and_pieces_merge():
    lat2, lon2 = offset(LAT, LON, 100.0)
    b = track(B, 0, 300, lat2, lon2)
    # A is silent for 70 minutes (01:30 -> 02:40): no grid samples between
    a = pl.concat([track(A, 0, 90), track(A, 160, 300)])
    ev = detect_encounters(pl.concat([a, b]))
    assert spans(ev) == [("15 00:00", "15 05:00")]
    d = details_of(ev.row(0, named=True))
    assert (d["pieces"], d["close_samples"]) == (2, 10 + 15)
    # the hole really is a hole: no sample of A between 01:30 and 02:40
    s = resample_samples(a)
    assert not np.any(
        (s.step * s.grid_us > 90 * 6e7 + T0.timestamp() * 1e6)
        & (s.step * s.grid_us < 160 * 6e7 + T0.timestamp() * 1e6)
    )


def test_pieces_4_h_apart_are_two_encounters_3_h_50_apart_one():
    lat2, lon2 = offset(LAT, LON, 100.0)
    b = track(B, 0, 600, lat2, lon2)
    a = pl.concat([track(A, 0, 120), track(A, 360, 480)])  # pieces 00:00-02:00, 06:00-08:00
    assert spans(detect_encounters(pl.concat([a, b]), episode_gap="0s")) == [
        ("15 00:00", "15 02:00"),
        ("15 06:00", "15 08:00"),
    ]
    # two encounters of one pair 4 h apart are one episode (episode_gap, 24 h): one event
    ev = detect_encounters(pl.concat([a, b]))
    assert spans(ev) == [("15 00:00", "15 08:00")]
    d = details_of(ev.row(0, named=True))
    assert (d["merged_encounters"], d["longest_gap_h"], d["pieces"]) == (2, 4.0, 2)
    assert (d["close_samples"], d["duration_h"]) == (26, 8.0)  # the close samples only
    a = pl.concat([track(A, 0, 120), track(A, 350, 470)])  # 3 h 50 min between the pieces
    ev = detect_encounters(pl.concat([a, b]), episode_gap="0s")
    assert spans(ev) == [("15 00:00", "15 07:50")]
    assert details_of(ev.row(0, named=True))["merged_encounters"] == 1  # one close run
    # shorter pieces merge into one encounter of at least 2 h
    a = pl.concat([track(A, 0, 60), track(A, 180, 240)])
    assert spans(detect_encounters(pl.concat([a, b]))) == [("15 00:00", "15 04:00")]


def test_antimeridian_encounter():
    # both drift eastwards across the date line, B 0.001 degrees (111 m) west of A
    unwrapped = np.linspace(179.999, 180.001, 19)
    a = track(A, 0, 180, lat=0.5, lon=(unwrapped + 180) % 360 - 180)
    b = track(B, 0, 180, lat=0.5, lon=(unwrapped - 0.001 + 180) % 360 - 180)
    assert (a["lon"] < 0).any() and (a["lon"] > 0).any()
    ev = detect_encounters(pl.concat([a, b]), ports=pl.DataFrame({"lat": [0.0], "lon": [0.0]}))
    assert spans(ev) == [("15 00:00", "15 03:00")]
    row = ev.row(0, named=True)
    assert abs(row["lon"]) > 179.99
    assert details_of(row)["median_distance_m"] == pytest.approx(111.3 * 1.0, rel=0.01)


def test_meeting_near_a_port_is_not_counted():
    ports = pl.DataFrame({"name": ["P"], "lat": [LAT], "lon": [LON - 0.09]})  # 10.0 km west
    ev = detect_encounters(pair(100.0, 0, 180), ports=ports)
    assert ev.height == 1
    assert details_of(ev.row(0, named=True))["distance_from_port_km"] == pytest.approx(
        10.0, abs=0.1
    )
    near = pl.DataFrame({"name": ["P"], "lat": [LAT], "lon": [LON - 0.08]})  # 8.9 km
    assert detect_encounters(pair(100.0, 0, 180), ports=near).height == 0
    assert detect_encounters(pair(100.0, 0, 180), ports=near, min_port_distance_km=5).height == 1


def test_default_ports_exclude_a_meeting_at_manta():
    ev = detect_encounters(
        pl.concat(
            [
                track(A, 0, 240, lat=-0.93, lon=-80.73),
                track(B, 0, 240, lat=-0.931, lon=-80.73),
            ]
        )
    )
    assert ev.height == 0
    ev = detect_encounters(
        pl.concat(
            [
                track(A, 0, 240, lat=-0.93, lon=-80.73),
                track(B, 0, 240, lat=-0.931, lon=-80.73),
            ]
        ),
        min_port_distance_km=0.0,
    )
    assert ev.height == 1


def test_fast_crossing_is_not_counted():
    # opposite courses at 12 kn: within 500 m for about 2.5 minutes
    lons = LON + np.linspace(-0.4, 0.4, 49)
    a = track(A, 0, 240, lon=lons, every=5, sog=12.0)
    b = track(B, 0, 240, lon=lons[::-1], every=5, sog=12.0)
    assert detect_encounters(pl.concat([a, b])).height == 0
    # they were close (one grid step), just not for long nor slowly
    ev = detect_encounters(pl.concat([a, b]), min_duration="0s", max_median_speed_kn=99)
    assert spans(ev) == [("15 02:00", "15 02:00")]


def test_convoy_too_fast_is_not_counted():
    # side by side for 4 h at 5 kn, 200 m apart: close, but not slow
    lons = LON + np.linspace(0.0, 0.3, 49)
    a = track(A, 0, 240, lon=lons, every=5, sog=5.0)
    b = track(B, 0, 240, lat=LAT + 0.0018, lon=lons, every=5, sog=5.0)
    assert detect_encounters(pl.concat([a, b])).height == 0
    assert detect_encounters(pl.concat([a, b]), max_median_speed_kn=5.5).height == 1


@pytest.mark.parametrize(("sog", "n"), [(1.9, 1), (2.0, 0), (2.1, 0)])
def test_median_speed_must_be_under_2_kn(sog, n):
    assert detect_encounters(pair(100.0, 0, 180, sog=sog)).height == n


# --- an encounter inside a longer close run (sailing in company) ------------------------------

KN_M_PER_MIN = 1852.0 / 60.0


def in_company(legs, apart_m=(300.0, 150.0), every=10):
    """Two vessels side by side on the same legs, ``(minutes, sog)`` each, eastwards from
    (LAT, LON): A on the line, B ``apart_m[0]`` m north of it while under way (sog >= 2 kn)
    and ``apart_m[1]`` m while slow. A sample at a leg boundary reports the new leg's sog."""
    t, along, rows = 0.0, 0.0, []
    for minutes, kn in legs:
        for m in np.arange(0.0, minutes, every):
            rows.append((t + m, along + kn * KN_M_PER_MIN * m, kn))
        t += minutes
        along += kn * KN_M_PER_MIN * minutes
    rows.append((t, along, legs[-1][1]))
    frames = []
    for mmsi in (A, B):
        pts = []
        for _, d, kn in rows:
            lat, lon = offset(LAT, LON, d) if d > 0 else (LAT, LON)
            if mmsi == B:
                lat, lon = offset(lat, lon, apart_m[0] if kn >= 2.0 else apart_m[1], 0.0)
            pts.append((lat, lon))
        frames.append(
            pl.DataFrame(
                {
                    "mmsi": [mmsi] * len(rows),
                    "ts": [T0 + timedelta(minutes=float(m)) for m, _, _ in rows],
                    "lat": [la for la, _ in pts],
                    "lon": [lo for _, lo in pts],
                    "sog": [kn for _, _, kn in rows],
                }
            )
        )
    return pl.concat(frames)


def test_issue_case_slow_meeting_inside_six_hours_in_company():
    """10 kn together for 2 h, drifting 2 h 40 min side by side at 0.1 kn, 10 kn together for
    2 h: within 500 m for six hours, median speed 10 kn over them. The drift is the encounter;
    the hours in company before and after are in its details."""
    p = in_company([(120, 10.0), (160, 0.1), (120, 10.0)])
    ev = detect_encounters(p)
    # the last slow sample is 04:30 (the one at 04:40 reports the new leg's 10 kn)
    assert spans(ev) == [("15 02:00", "15 04:30")]
    d = details_of(ev.row(0, named=True))
    # from its first close sample (00:00) and to its last (06:40)
    assert (d["sailed_in_company_before_h"], d["sailed_in_company_after_h"]) == (2.0, 2.167)
    assert d["mmsi_median_speed_kn"] == d["other_median_speed_kn"] == 0.1
    assert d["median_distance_m"] == pytest.approx(150.0, abs=0.5)
    assert (d["duration_h"], d["close_samples"], d["pieces"]) == (2.5, 16, 1)
    # the whole close run fails the definition: median speed 10 kn over 6 h 40 min
    ev = detect_encounters(p, max_median_speed_kn=99)
    assert spans(ev) == [("15 00:00", "15 06:40")]
    # without sog the implied speeds find the same drift (to a grid step at each end)
    ev = detect_encounters(p.drop("sog"))
    assert ev.height == 1
    d = details_of(ev.row(0, named=True))
    assert ev["start"][0] - T0 in (timedelta(hours=2), timedelta(hours=2, minutes=10))
    assert 1.8 <= d["sailed_in_company_before_h"] <= 2.2
    assert 1.8 <= d["sailed_in_company_after_h"] <= 2.2


def test_issue_case_carrier_is_in_an_encounter_not_loitering():
    """The pipeline: the drift is an encounter, so the carrier (not declared fishing) is not
    loitering alone; the fishing vessel never is."""
    from seawatch.detect.run import detect_all

    p = in_company([(120, 10.0), (160, 0.1), (120, 10.0)], every=5)
    vessels = pl.DataFrame({"mmsi": [A, B], "ship_type": [30, 70]})
    ev = detect_all(p, vessels, types=["encounter", "loitering"])
    assert ev["type"].to_list() == ["encounter"]
    assert spans(ev) == [("15 02:00", "15 04:30")]


def test_sailing_in_company_without_slowing_is_no_encounter():
    assert detect_encounters(in_company([(400, 10.0)])).height == 0
    assert detect_encounters(in_company([(400, 2.0)])).height == 0
    # slowing to 2 kn (not under it) is not slowing
    assert detect_encounters(in_company([(120, 10.0), (160, 2.0), (120, 10.0)])).height == 0


@pytest.mark.parametrize(("slow_min", "n"), [(120, 0), (130, 1)])
def test_slow_part_of_exactly_2_h_is_counted_1_h_50_is_not(slow_min, n):
    # samples at 02:00 .. 02:00 + slow_min - 10 min are slow: 1 h 50 min, or 2 h
    p = in_company([(120, 10.0), (slow_min, 0.5), (120, 10.0)])
    ev = detect_encounters(p)
    assert ev.height == n
    if n:
        assert details_of(ev.row(0, named=True))["duration_h"] == 2.0
    assert detect_encounters(p, min_duration="1h50m").height == 1


@pytest.mark.parametrize(("kn", "n"), [(1.9, 1), (2.0, 0), (2.1, 0)])
def test_slow_part_must_be_under_2_kn(kn, n):
    p = in_company([(120, 10.0), (160, kn), (120, 10.0)])
    assert detect_encounters(p).height == n
    assert detect_encounters(p, max_median_speed_kn=2.2).height == 1


@pytest.mark.parametrize(("fast_min", "parts"), [(50, 1), (60, 2)])
def test_an_hour_under_way_together_splits_the_slow_part(fast_min, parts):
    """Two drifts of 2 h 30 min; between them the pair steams together for 50 min (the slow
    part goes on: one encounter) or an hour (two encounters, one episode of the pair)."""
    p = in_company([(60, 10.0), (150, 0.3), (fast_min, 10.0), (150, 0.3), (60, 10.0)])
    episode = detect_encounters(p)
    assert episode.height == 1
    assert details_of(episode.row(0, named=True))["merged_encounters"] == parts
    ev = detect_encounters(p, episode_gap="0s")
    assert ev.height == parts
    d = [details_of(r) for r in ev.iter_rows(named=True)]
    assert d[0]["sailed_in_company_before_h"] == 1.0
    assert d[-1]["sailed_in_company_after_h"] == pytest.approx(1.167)  # 06:50 to 08:00
    if parts == 2:
        assert spans(ev) == [("15 01:00", "15 03:20"), ("15 04:30", "15 06:50")]
        assert d[0]["sailed_in_company_after_h"] == pytest.approx(4.667)  # to 08:00
    assert detect_encounters(p, max_fast_inside="2h").height == 1


def test_a_close_run_meeting_the_definition_stays_whole_when_no_slow_part_does():
    """Two drifts of 1 h 30 min with an hour steaming together between: neither is 2 h, but the
    whole run (median speed under 2 kn) meets the published definition, and is reported as
    before, from its first to its last close sample."""
    p = in_company([(90, 0.3), (60, 10.0), (100, 0.3)])
    ev = detect_encounters(p)
    assert spans(ev) == [("15 00:00", "15 04:10")]
    d = details_of(ev.row(0, named=True))
    assert (d["sailed_in_company_before_h"], d["sailed_in_company_after_h"]) == (0.0, 0.0)
    assert d["mmsi_median_speed_kn"] == 0.3


def test_a_long_passage_after_a_short_stop_does_not_hide_a_meeting():
    """Drift 2 h, steam together 3 h 30 min, drift 1 h: the whole run's median is 10 kn, but
    the first drift alone is an encounter; the second is too short."""
    p = in_company([(130, 0.3), (210, 10.0), (60, 0.3), (10, 10.0)])
    ev = detect_encounters(p)
    assert spans(ev) == [("15 00:00", "15 02:00")]
    d = details_of(ev.row(0, named=True))
    assert d["sailed_in_company_after_h"] == pytest.approx(4.833)


def test_implied_speed_is_used_without_sog():
    p = pair(100.0, 0, 180).drop("sog")
    ev = detect_encounters(p)
    assert ev.height == 1
    assert details_of(ev.row(0, named=True))["mmsi_median_speed_kn"] == 0.0


def test_two_segments_of_one_mmsi_are_not_an_encounter():
    lat2, lon2 = offset(LAT, LON, 100.0)
    p = pl.concat(
        [
            track(A, 0, 180, segment_id=[1] * 19),
            track(A, 0, 180, lat2, lon2, segment_id=[2] * 19),
        ]
    )
    assert detect_encounters(p).height == 0


def test_segments_of_the_same_vessels_merge_into_one_encounter():
    lat2, lon2 = offset(LAT, LON, 100.0)
    a = pl.concat([track(A, 0, 90, segment_id=[1] * 10), track(A, 100, 240, segment_id=[2] * 15)])
    b = track(B, 0, 240, lat2, lon2, segment_id=[7] * 25)
    assert spans(detect_encounters(pl.concat([a, b]))) == [("15 00:00", "15 04:00")]


def test_three_vessels_give_three_pairs():
    p = pl.concat(
        [
            track(A, 0, 180),
            track(B, 0, 180, *offset(LAT, LON, 100.0)),
            track(3, 0, 180, *offset(LAT, LON, 100.0, azimuth=0.0)),
        ]
    )
    ev = detect_encounters(p)
    assert sorted(ev.select("mmsi", "other_mmsi").rows()) == [(3, B), (3, A), (B, A)]


def test_no_positions_gives_no_events():
    ev = detect_encounters(schema.empty(schema.POSITIONS))
    assert ev.height == 0 and ev.columns == list(schema.EVENTS)


# --- port activity: moored side by side is not a meeting ----------------------------------

COVE = (-1.03, -80.92)  # 2.0 km from shore, 24.5 km from the nearest shipped port
OFF_COVE = (-1.0, -80.95)  # 6.7 km from shore, 26.5 km from that port


@pytest.mark.parametrize(
    ("where", "sog", "found"),
    [
        (COVE, 0.0, 0),  # moored side by side near shore: port activity
        (COVE, 0.4, 0),  # at anchor, swinging: still under 0.5 kn
        (COVE, 0.6, 1),  # drifting together: a meeting, however near shore
        (OFF_COVE, 0.0, 1),  # still, but 6.7 km out: beyond the roadstead
    ],
)
def test_two_vessels_moored_near_shore_are_not_an_encounter(where, sog, found):
    from seawatch.geo import distance_to_shore_km, port_index

    lat, lon = where
    d_port, _ = port_index().nearest([lat], [lon])
    assert d_port[0] > 20  # far from every shipped port: only the moored rule can say port
    lat2, lon2 = offset(lat, lon, 150.0)
    p = pl.concat([track(A, 0, 300, lat, lon, sog=sog), track(B, 0, 300, lat2, lon2, sog=sog)])
    ev = detect_encounters(p)
    assert ev.height == found
    if found:
        shore = details_of(ev.row(0, named=True))["distance_from_shore_km"]
        assert shore == pytest.approx(distance_to_shore_km([lat], [lon])[0], abs=0.2)
    # the rule off (moored_shore_km = 0), or a smaller roadstead, and the pair is a meeting
    assert detect_encounters(p, moored_shore_km=0).height == 1
    assert detect_encounters(p, moored_shore_km=1.5).height == 1


def test_a_moored_pair_that_leaves_together_is_not_a_meeting_either():
    """Moored 4 h near shore, then out together at 1.5 kn for 2 h: the whole close run is
    slow (one slow part), its medians are the mooring's: port activity, and the run is not
    judged again as a whole."""
    lat2, lon2 = offset(*COVE, 150.0)
    moored = [track(A, 0, 240, *COVE, sog=0.0), track(B, 0, 240, lat2, lon2, sog=0.0)]
    out = []
    for mmsi, (la, lo) in ((A, COVE), (B, (lat2, lon2))):
        minutes = np.arange(250, 361, 10)
        along = [offset(la, lo, 1.5 * 1852 / 60 * (m - 240), 270.0) for m in minutes]
        out.append(track(mmsi, 250, 360, [a for a, _ in along], [b for _, b in along], sog=1.5))
    p = pl.concat([*moored, *out])
    assert detect_encounters(p).height == 0
    assert detect_encounters(p, moored_shore_km=0).height == 1


def test_gfw_segment_fixture_moored_pairs_are_port_activity():
    """The GFW segment regression fixture (9 days of real satellite AIS, 56 vessels) gave 9
    encounters: two Taiwanese longliners moored side by side in Kaohsiung (7 times), a third
    beside them, and two ships in Suva harbour, all at 0 km from shore (inside harbour basins
    the 1:50m coast counts as land) and far from every port of the list shipped then, which
    held the Eastern Pacific only. Each of the two rules alone gives 0: the World Port Index
    now shipped (Kaohsiung's WPI point is 8.3 km away, Suva's 1.3 km), and the moored rule
    (both at 0 kn, 0 km from shore) with no port list at all."""
    from tests.tracks.gfw_segment_reference import load_regression

    pos = load_regression(shared_data_path("reference", "gfw-segment", "regression"))
    before = detect_encounters(pos, ports=pl.DataFrame({"lat": [0.0], "lon": [-120.0]}),
                               moored_shore_km=0, episode_gap="0s")
    assert before.height == 9
    assert set(before.select("mmsi", "other_mmsi").rows()) == {
        (416070900, 416241500), (416070900, 416239500), (520318000, 600014098)
    }
    assert (before["details"].str.json_path_match("$.distance_from_shore_km") == "0.0").all()
    assert detect_encounters(pos).height == 0
    assert detect_encounters(pos, moored_shore_km=0).height == 0  # the port list alone
    no_ports = pl.DataFrame({"lat": [0.0], "lon": [-120.0]})  # one point in the open ocean
    assert detect_encounters(pos, ports=no_ports).height == 0  # the moored rule alone
    # one pair, one episode: the 7 encounters of the Kaohsiung pair within 24 h of each other
    episodes = detect_encounters(pos, ports=no_ports, moored_shore_km=0, episode_gap="24h")
    assert episodes.height == 3
    kaohsiung = episodes.filter(pl.col("other_mmsi") == 416241500).row(0, named=True)
    assert details_of(kaohsiung)["merged_encounters"] == 7


# --- parity with GFW pipe-encounters' tests --------------------------------------------------

GFW_TEST = {
    "grid": "10m",
    "max_gap": "70m",  # resample max_gap_s = 4200
    "max_distance_m": 500.0,  # max_km_for_encounter = 0.5
    "min_duration": "30m",  # min_minutes_for_encounter = 30
    "max_median_speed_kn": float("inf"),  # GFW has no speed threshold
    "min_port_distance_km": 0.0,  # the test data are far from any port
}
"""seawatch parameters equal to the reference test's pipeline (adjacency 1 km is only the
candidate radius there; an encounter needs <= 0.5 km)."""


@pytest.fixture(scope="module")
def gfw():
    folder = shared_data_path("reference", "gfw-encounters")
    inputs = pl.read_csv(folder / "input_positions.csv").with_columns(
        pl.col("vessel_id").cast(pl.Int64).alias("mmsi"),
        pl.from_epoch(pl.col("epoch_s").cast(pl.Int64), "s")
        .dt.replace_time_zone("UTC")
        .alias("ts"),
    )
    expected = json.loads((folder / "expected_encounters.json").read_text())["cases"]
    return inputs, expected


def _gfw_undirected(encounters, start="start_time", end="end_time"):
    """GFW's directional raw encounters as {unordered pair: {(start, end), ...}}."""
    out: dict[tuple[int, int], set[tuple[str, str]]] = {}
    for e in encounters:
        a = int(e.get("vessel_1_seg_id", e.get("vessel_1_id")))
        b = int(e.get("vessel_2_seg_id", e.get("vessel_2_id")))
        s, t = e[start], e[end]
        if isinstance(s, float):
            s = datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            t = datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.setdefault((min(a, b), max(a, b)), set()).add((s, t))
    return out


def _seawatch(inputs, scenario, merge_gap, **kw):
    """seawatch's encounters with GFW's test parameters; GFW's merge step is both the merge
    of pieces into close runs (merge_gap) and of encounters into episodes (episode_gap)."""
    p = inputs.filter(pl.col("scenario") == scenario)
    ev = detect_encounters(p, merge_gap=merge_gap, episode_gap=merge_gap, **{**GFW_TEST, **kw})
    out: dict[tuple[int, int], set[tuple[str, str]]] = {}
    for r in ev.iter_rows(named=True):
        out.setdefault((r["mmsi"], r["other_mmsi"]), set()).add(
            (r["start"].strftime("%Y-%m-%dT%H:%M:%SZ"), r["end"].strftime("%Y-%m-%dT%H:%M:%SZ"))
        )
    return ev, out


@pytest.mark.parametrize("case", ["simple", "dateline", "multi", "fastsep"])
def test_gfw_raw_encounters_agree_exactly(gfw, case):
    """Raw (unmerged) encounters: every GFW encounter of a pair, in both directions, has the
    same start and end as seawatch's piece of that pair, and there are no others."""
    inputs, expected = gfw
    want = _gfw_undirected(expected[case].get("expected_raw_encounters", []))
    ev, got = _seawatch(inputs, expected[case]["input_scenario"], "0s")
    assert got == want
    assert all(len(v) == 1 for v in want.values())  # both directions agree in these cases
    # median distance: GFW's haversine on a 6371 km sphere vs WGS84, within 0.5 %
    gfw_median = {
        (
            min(int(e["vessel_1_seg_id"]), int(e["vessel_2_seg_id"])),
            max(int(e["vessel_1_seg_id"]), int(e["vessel_2_seg_id"])),
        ): e["median_distance_km"]
        for e in expected[case].get("expected_raw_encounters", [])
    }
    for r in ev.iter_rows(named=True):
        ours = details_of(r)["median_distance_m"]
        assert ours == pytest.approx(
            1000 * gfw_median[(r["mmsi"], r["other_mmsi"])], rel=0.005, abs=0.1
        )


def test_gfw_counts(gfw):
    inputs, expected = gfw
    counts = {
        case: len(expected[case].get("expected_raw_encounters", []))
        for case in ("simple", "dateline", "multi", "fastsep", "real")
    }
    assert counts == {"simple": 2, "dateline": 2, "multi": 6, "fastsep": 0, "real": 2}
    ours = {case: _seawatch(inputs, case, "0s")[0].height for case in counts}
    # GFW reports each pair once per direction; seawatch once per pair
    assert ours == {"simple": 1, "dateline": 1, "multi": 3, "fastsep": 0, "real": 1}


def test_gfw_real_raw_differs_only_where_gfw_bridges_vessel_1_gaps(gfw):
    """Real pair 441910000/563418000. GFW's 563418000->441910000 raw encounter is exactly
    seawatch's piece 07:40-10:10. GFW's 441910000->563418000 runs 07:40-20:10 because GFW
    follows vessel 1's own samples, and 441910000 has no samples 10:10-18:30 (no positions
    10:19-18:27): its run bridges that 8 h hole. seawatch needs both vessels at consecutive
    grid steps, so its raw pieces are 07:40-10:10 plus two single close samples (18:30,
    20:10) shorter than the 30 min minimum."""
    inputs, expected = gfw
    want = _gfw_undirected(expected["real"]["expected_raw_encounters"])
    _, got = _seawatch(inputs, "real", "0s")
    pair = (441910000, 563418000)
    assert got[pair] == {("2015-03-19T07:40:00Z", "2015-03-19T10:10:00Z")}
    assert got[pair] < want[pair]
    assert want[pair] - got[pair] == {("2015-03-19T07:40:00Z", "2015-03-19T20:10:00Z")}
    ev, _ = _seawatch(inputs, "real", "0s", min_duration="0s")
    assert spans(ev) == [
        ("19 07:40", "19 10:10"),
        ("19 18:30", "19 18:30"),
        ("19 20:10", "19 20:10"),
    ]


@pytest.mark.parametrize("case", ["real_merged", "dateline_merged"])
def test_gfw_merged_encounters_agree_exactly(gfw, case):
    inputs, expected = gfw
    want = _gfw_undirected(expected[case]["expected_merged_encounters"])
    ev, got = _seawatch(inputs, expected[case]["input_scenario"], "24h")
    assert got == want
    gfw_median = expected[case]["expected_merged_encounters"][0]["median_distance_km"]
    # GFW's merged median is the median of the raw medians; seawatch's is over all samples
    assert details_of(ev.row(0, named=True))["median_distance_m"] == pytest.approx(
        1000 * gfw_median, rel=0.03
    )


def test_gfw_data_with_production_defaults(gfw):
    """Production defaults (1 h max gap, 2 h minimum, 4 h merge, < 2 kn, 10 km from port):
    the real pair is one encounter 07:40-10:10 (the evening samples are 8 h later, more than
    4 h); the synthetic tracks are all shorter than 2 h except multi's, at 0 kn."""
    inputs, _ = gfw
    got = {}
    for case in ("simple", "dateline", "multi", "fastsep", "real"):
        ev = detect_encounters(inputs.filter(pl.col("scenario") == case))
        got[case] = spans(ev)
    assert got == {
        "simple": [],
        "dateline": [],
        "multi": [("01 15:20", "01 17:50"), ("01 15:40", "01 17:40"), ("01 15:40", "01 17:40")],
        "fastsep": [],
        "real": [("19 07:40", "19 10:10")],
    }
    # the real pair is slow at every close grid time of its run: nothing in company around it
    d = details_of(
        detect_encounters(inputs.filter(pl.col("scenario") == "real")).row(0, named=True)
    )
    assert (d["sailed_in_company_before_h"], d["sailed_in_company_after_h"]) == (0.0, 0.0)


def test_gfw_fastsep_merged_only_by_a_long_merge_gap_without_speed_limit(gfw):
    """fastsep: vessel 2 is back at vessel 1 every 20 minutes (jumping 10 degrees between).
    GFW needs each raw run to last 30 min, so nothing; seawatch's single-sample pieces merge
    when merging is on and there is no speed threshold, and the speed threshold (3,600 kn
    median) rejects them."""
    inputs, _ = gfw
    ev, _ = _seawatch(inputs, "fastsep", "24h")
    assert ev.height == 1
    assert details_of(ev.row(0, named=True))["other_median_speed_kn"] > 3000
    ev, _ = _seawatch(inputs, "fastsep", "24h", max_median_speed_kn=2.0)
    assert ev.height == 0


def test_gfw_real_pair_across_midnight_is_unchanged(gfw):
    """The real encounter moved 8 h 30 min earlier runs 23:10-01:40: still one event, same
    length and measurements. (GFW groups positions by UTC day before resampling and before
    building runs, so there the 40 minutes before midnight fall below its 60 min raw minimum
    and the 100 minutes after it below the 120 min merged minimum.)"""
    inputs, _ = gfw
    real = inputs.filter(pl.col("scenario") == "real")
    shifted = real.with_columns(pl.col("ts") - timedelta(hours=8, minutes=30))
    before, after = detect_encounters(real), detect_encounters(shifted)
    assert spans(after) == [("18 23:10", "19 01:40")]
    assert after["start"][0] == before["start"][0] - timedelta(hours=8, minutes=30)
    d0, d1 = details_of(before.row(0, named=True)), details_of(after.row(0, named=True))
    for key in ("median_distance_m", "duration_h", "close_samples", "pieces"):
        assert d0[key] == d1[key]


# --- resampling in parts --------------------------------------------------------------------


def test_encounters_of_samples_resampled_in_parts_equal_the_whole():
    """Vessels resampled in disjoint parts and paired at once give the same events."""
    p = pl.concat(
        [
            track(3, 0, 180),
            track(A, 20, 300, *offset(LAT, LON, 100.0)),
            track(B, 0, 180, *offset(LAT, LON, 100.0, azimuth=0.0)),
            track(B + 1, 60, 400, *offset(LAT, LON, 300.0, azimuth=45.0), every=7, sog=1.2),
        ]
    ).sample(fraction=1.0, shuffle=True, seed=1)
    whole = detect_encounters(p, min_duration="1h")
    assert whole.height == 6
    mmsis = sorted(p["mmsi"].unique().to_list())
    for cut in range(1, len(mmsis)):
        parts = [p.filter(pl.col("mmsi") < mmsis[cut]), p.filter(pl.col("mmsi") >= mmsis[cut])]
        joined = concat_samples([resample_samples(part) for part in parts])
        assert encounters_from_samples(joined, min_duration="1h").equals(whole)


def crowd(n: int, lat: float, lon: float, seed: int, drift_m: float = 0.0) -> pl.DataFrame:
    """``n`` vessels within 600 m of a point for 6 h; every third drifts ``drift_m`` away."""
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        lat0, lon0 = offset(lat, lon, float(rng.uniform(0, 600)), float(rng.uniform(0, 360)))
        moved = [
            offset(lat0, lon0, drift_m * m / 360.0 * (k % 3 == 0), 45.0) for m in range(0, 361, 10)
        ]
        frame = track(500_000_000 + seed * 1000 + k, 0, 360, sog=float(rng.choice([0.2, 1.5])))
        frames.append(
            frame.with_columns(
                lat=pl.Series([w[0] for w in moved]), lon=pl.Series([w[1] for w in moved])
            )
        )
    return pl.concat(frames)


MANTA = (-0.93, -80.73)  # a shipped port


def test_batching_spilling_and_moored_vessels_change_no_encounter(monkeypatch):
    """Pairs found a step at a time, filed in tiny buckets, spilled to disk and merged a few at
    a time, with or without the vessels moored in port: the same events."""
    import seawatch.detect.close_pairs as kernel
    import seawatch.detect.encounter as enc

    p = pl.concat(
        [
            crowd(25, LAT, LON, seed=1, drift_m=3000.0),  # at sea: encounters
            crowd(20, *MANTA, seed=2),  # moored at Manta all the time
            crowd(15, *offset(*MANTA, 4000.0, 270.0), seed=3, drift_m=40_000.0),  # put to sea
        ]
    )
    reference = detect_encounters(p)
    assert reference.height > 20
    samples = resample_samples(p)
    x, y, z = enc.ecef_m(samples.lat, samples.lon)
    from seawatch.geo import port_index

    moored = enc._moored(samples, x, y, z, port_index(None), 9.0)
    assert moored is not None
    vessels = np.unique(samples.mmsi[moored])
    # crowd 2, and the two thirds of crowd 3 that stay 4 km from Manta
    stay = [500_003_000 + k for k in range(15) if k % 3]
    assert vessels.tolist() == [500_002_000 + k for k in range(20)] + stay
    monkeypatch.setattr(enc, "_moored", lambda *a, **k: None)
    assert detect_encounters(p).equals(reference)
    spills = []
    real_spill = kernel._PairFile._spill
    monkeypatch.setattr(
        kernel._PairFile, "_spill", lambda self: (spills.append(1), real_spill(self))
    )
    for name, value in [("WINDOW_SAMPLES", 40), ("BUCKET_SAMPLES", 30), ("MERGE_PAIRS", 200)]:
        monkeypatch.setattr(kernel, name, value)
    monkeypatch.setattr(kernel, "MEMORY_PAIRS", 500)
    assert detect_encounters(p).equals(reference)
    assert len(spills) > 3

"""seawatch.detect.gap: hand-made edges and GFW pipe-gaps reference fixtures."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from seawatch import schema
from seawatch.detect.events import details_of
from seawatch.detect.gap import detect_gaps
from seawatch.geo.geodesy import distance_km
from seawatch.tracks import segment
from tests.conftest import shared_data_path
from tests.detect.gfw_gaps_reference import load_messages
from tests.tracks.track_builders import OPEN_OCEAN, T0, every, hours, positions, step, track

MMSI = 735000001
MANTA_COAST = (-1.0, -80.8)  # a few km off Manta


def _gaps(pos: pl.DataFrame, **kw: float) -> pl.DataFrame:
    return detect_gaps(segment(pos), **kw)  # type: ignore[arg-type]


def _silent(last_h: float, resume_h: float, start: tuple[float, float] = OPEN_OCEAN):
    """Hourly positions from 0 to ``last_h``, then from ``resume_h`` for three hours."""
    before = [float(h) for h in range(int(last_h) + 1)]
    if before[-1] != last_h:
        before.append(last_h)
    after = [resume_h + k for k in range(3)]
    return track(MMSI, start, hours(*before, *after), speed_kn=0.5)


def test_exactly_12_h_is_not_a_gap_and_one_second_more_is() -> None:
    assert _gaps(_silent(6, 18)).height == 0
    ev = _gaps(_silent(6, 18 + 1 / 3600))
    assert ev.height == 1
    assert ev["start"][0] == T0 + timedelta(hours=6)
    assert ev["end"][0] == T0 + timedelta(hours=18, seconds=1)
    assert details_of(ev.row(0, named=True))["gap_hours"] == pytest.approx(12 + 1 / 3600)


def test_threshold_is_a_parameter() -> None:
    pos = _silent(6, 13)  # 7 h
    assert _gaps(pos).height == 0
    assert _gaps(pos, min_gap_h=6.0).height == 1


def test_event_columns_and_details() -> None:
    ev = _gaps(_silent(8, 22))
    assert ev.columns == list(schema.EVENTS)
    row = ev.row(0, named=True)
    assert row["type"] == "gap" and row["mmsi"] == MMSI and row["other_mmsi"] is None
    assert row["event_id"] == f"gap:{MMSI}:20260115T080000Z"
    d = details_of(row)
    assert d["gap_hours"] == 14.0
    expected_km = distance_km([d["off_lat"]], [d["off_lon"]], [d["on_lat"]], [d["on_lon"]])[0]
    assert d["distance_km"] == pytest.approx(expected_km, abs=1e-3)
    assert d["distance_km"] == pytest.approx(0.5 * 1.852 * 14, rel=1e-3)
    assert d["implied_speed_kn"] == pytest.approx(0.5, rel=1e-3)
    assert (row["lat"], row["lon"]) == (d["off_lat"], d["off_lon"])
    assert d["positions_12h_before"] == 9  # 00:00 .. 08:00, off included
    assert d["off_distance_from_shore_km"] > 500
    # alone in the table: nothing tells its silence from the feed's, so the score is halved
    assert d["likely_intentional"] is True and row["score"] == 0.5
    assert d["coverage"] == "unknown" and "coverage unknown" in d["coverage_note"]


def test_likely_intentional_needs_open_sea_and_good_reception() -> None:
    near = details_of(_gaps(_silent(8, 22, start=MANTA_COAST)).row(0, named=True))
    assert near["off_distance_from_shore_km"] < 50 * 1.852
    assert near["likely_intentional"] is False
    sparse = track(MMSI, OPEN_OCEAN, hours(0, 4, 8, 22, 23), speed_kn=0.5)  # 3 before
    d = details_of(_gaps(sparse).row(0, named=True))
    assert d["positions_12h_before"] == 3 and d["likely_intentional"] is False
    d = details_of(_gaps(sparse, min_positions_before=3).row(0, named=True))
    assert d["likely_intentional"] is True


def test_gap_straddling_midnight_is_one_event() -> None:
    start = T0 + timedelta(hours=12)
    pos = track(MMSI, OPEN_OCEAN, hours(0, 1, 2, 8, 23, 24, start=start), speed_kn=0.5)
    ev = _gaps(pos)  # 20:00 -> 11:00 next day
    assert ev.height == 1
    assert ev["start"][0] == T0 + timedelta(hours=20)
    assert ev["end"][0] == T0 + timedelta(days=1, hours=11)


def test_vessel_in_two_input_chunks() -> None:
    pos = _silent(6, 20)
    a, b = (
        pos.filter(pl.col("ts") <= T0 + timedelta(hours=6)),
        pos.filter(pl.col("ts") > T0 + timedelta(hours=6)),
    )
    assert _gaps(pl.concat([b, a])).equals(_gaps(pos))
    assert _gaps(pos).height == 1


def test_silence_longer_than_a_segment_is_still_one_gap() -> None:
    # 30 h dark: the segment ends after 24 h of silence, the gap is still reported
    seg = segment(_silent(5, 35))
    assert seg["segment_id"].n_unique() == 2
    ev = detect_gaps(seg)
    assert ev.height == 1
    d = details_of(ev.row(0, named=True))
    assert d["gap_hours"] == 30.0 and d["off_segment_id"] != d["on_segment_id"]


def test_silence_longer_than_max_gap_h_is_between_captures_not_a_gap() -> None:
    """Two captures years apart once gave a 'gap' of ~27,000 h for every vessel in both; a
    silence longer than max_gap_h (two weeks) is data the store lacks, not dark activity."""
    years = _silent(5, 5 + 3 * 365 * 24)
    assert _gaps(years).height == 0
    assert _gaps(_silent(5, 5 + 336)).height == 1  # exactly two weeks: still a gap
    assert _gaps(_silent(5, 5 + 336 + 1 / 3600)).height == 0  # a second more: not
    assert _gaps(years, max_gap_h=4 * 365 * 24).height == 1  # continuous coverage: raise it
    three_days = _silent(5, 77)
    assert _gaps(three_days).height == 1  # days dark at sea are still reported


def test_max_gap_h_is_at_least_min_gap_h() -> None:
    from seawatch.params import ConfigError

    with pytest.raises(ConfigError, match=r"max_gap_h \(6\) must be at least min_gap_h \(12"):
        _gaps(_silent(5, 30), max_gap_h=6)


def test_lone_bad_position_inside_the_silence_does_not_hide_it() -> None:
    pos = _silent(5, 21)
    bad = positions([MMSI], [T0 + timedelta(hours=12)], [10.0], [-120.0])
    ev = _gaps(pl.concat([pos, bad]))
    assert ev.height == 1 and details_of(ev.row(0, named=True))["gap_hours"] == 16.0


def test_gap_open_at_the_end_of_the_data_is_not_an_event() -> None:
    assert _gaps(track(MMSI, OPEN_OCEAN, hours(0, 1, 2))).height == 0


def test_shared_mmsi_gaps_are_per_track() -> None:
    # vessel A reports every 30 min; vessel B with the same MMSI 300 km away goes dark for
    # 14 h: the MMSI never falls silent, but B's track has a gap
    a = track(MMSI, OPEN_OCEAN, every(30, 60), speed_kn=0.5)
    far = step(*OPEN_OCEAN, 180.0, 300.0)
    b = track(MMSI, far, hours(0.1, 1.1, 2.1, 16.1, 17.1, 18.1), speed_kn=0.5)
    ev = _gaps(pl.concat([a, b]))
    assert ev.height == 1
    assert ev["start"][0] == T0 + timedelta(hours=2.1)


def test_antimeridian_gap_distance() -> None:
    pos = positions([MMSI] * 4, hours(0, 1, 15, 16), [0.0] * 4, [179.85, 179.9, -179.9, -179.85])
    d = details_of(_gaps(pos).row(0, named=True))
    assert d["distance_km"] == pytest.approx(22.26, abs=0.01)


def test_requires_segment_id() -> None:
    with pytest.raises(schema.SchemaError, match="segment_id"):
        detect_gaps(track(MMSI, OPEN_OCEAN, every(10, 3)))


def test_empty() -> None:
    assert detect_gaps(segment(schema.empty(schema.POSITIONS))).columns == list(schema.EVENTS)


# --- GFW pipe-gaps fixtures (real messages) -----------------------------------------------


def test_gfw_real_sample_seven_gaps_at_1h20() -> None:
    folder = shared_data_path("reference", "gfw-gaps", "early_real")
    ev = _gaps(load_messages(folder / "sample_messages_226013750.json"), min_gap_h=4 / 3)
    expected = json.loads((folder / "expected_gaps_threshold_1h20m.json").read_text())
    want = [(g["start_timestamp"], g["end_timestamp"]) for g in expected["gaps"]]
    got = [(a.timestamp(), b.timestamp()) for a, b in ev.select("start", "end").rows()]
    assert len(want) == expected["reference_asserted"]["n_gaps"] == 7
    assert got == want
    hours_ = [details_of(r)["gap_hours"] for r in ev.iter_rows(named=True)]
    assert hours_ == pytest.approx([g["duration_h"] for g in expected["gaps"]], abs=1e-4)
    # at the production thresholds the file has no gap
    assert _gaps(load_messages(folder / "sample_messages_226013750.json")).height == 0


def test_gfw_ten_days_on_the_danube_have_no_gap_over_one_hour() -> None:
    path = shared_data_path(
        "reference", "gfw-gaps", "early_real", "sample_messages-ssvid-243042594-10-days.json.gz"
    )
    seg = segment(load_messages(path))
    assert seg.height == 4680
    assert detect_gaps(seg, min_gap_h=1.0).height == 0


def test_gfw_two_day_sample_intervals_5_13_12_h() -> None:
    path = shared_data_path(
        "reference", "gfw-gaps", "head_sample_data", "sample_messages-two-days.json"
    )
    pos = load_messages(path)
    ev = _gaps(pos)  # 12 h: only the 13 h interval (12 h exactly is not a gap)
    assert [details_of(r)["gap_hours"] for r in ev.iter_rows(named=True)] == [13.0]
    assert _gaps(pos, min_gap_h=4.0).height == 3


def test_gfw_anonymised_sample_message_without_position() -> None:
    # HEAD's anonymised copy has the same 84 timestamps, one without lat/lon. seawatch drops
    # a message without a position (it is not a position), which splits one interval:
    # 7 + 1 gaps, and the extra one spans the dropped message's time.
    path = shared_data_path("reference", "gfw-gaps", "head_sample_data", "sample_messages.json")
    pos = load_messages(path)
    no_position = pos.filter(pl.col("lat").is_null())["ts"]
    assert no_position.len() == 1
    ev = _gaps(pos, min_gap_h=4 / 3)
    assert ev.height == 8
    spanning = ev.filter((pl.col("start") < no_position[0]) & (pl.col("end") > no_position[0]))
    assert spanning.height == 1


def test_gfw_positions_hours_before_scenario() -> None:
    # pipe-gaps tests: messages at 12, 14, 16, 18, 21, 00, 01, 04 h; threshold 2 h ->
    # gaps 18->21, 21->00, 01->04 with 4, 5 and 6 positions in the 12 h before (off included)
    pos = track(MMSI, OPEN_OCEAN, hours(12, 14, 16, 18, 21, 24, 25, 28), speed_kn=0.0)
    ev = _gaps(pos, min_gap_h=2.0)
    counts = [details_of(r)["positions_12h_before"] for r in ev.iter_rows(named=True)]
    assert [s.hour for s in ev["start"]] == [18, 21, 1]
    assert counts == [4, 5, 6]


@pytest.mark.parametrize(
    ("times", "threshold", "n"),
    [
        # three messages a month apart, threshold 1 h: two gaps (each message is its own
        # segment after 24 h of silence; the MMSI's silence still counts)
        ([0.0, 24 * 334, 24 * 365], 1.0, 2),
        # 24 h exactly is not a gap at a 24 h threshold
        ([0.0, 24.0, 26.0], 24.0, 0),
        # +0, +1, +2, +12 h: one 10 h gap at 9 h, none at 12 h
        ([0.0, 1.0, 2.0, 12.0], 9.0, 1),
        ([0.0, 1.0, 2.0, 12.0], 12.0, 0),
        # duplicate reports at one time: one gap, not two
        ([1.0, 1.0, 5.0], 1.0, 1),
    ],
)
def test_gfw_synthetic_scenarios(times: list[float], threshold: float, n: int) -> None:
    # GFW pipe-gaps has no longest gap: max_gap_h is raised beyond a year to compare
    pos = positions([MMSI] * len(times), hours(*times), [0.5] * len(times), [0.5] * len(times))
    assert _gaps(pos, min_gap_h=threshold, max_gap_h=24 * 366).height == n


# --- coverage: the feeds that heard the vessel, and the other vessels they heard ------------

NEIGHBOUR = 735000002
OTHER = 735000003


def _fed(frame: pl.DataFrame, source: str) -> pl.DataFrame:
    return frame.with_columns(pl.lit(source).alias("source"))


def _neighbour(mmsi: int, source: str, *spans: tuple[float, float]) -> pl.DataFrame:
    """A vessel 20 km from the silent one, heard every 10 min by ``source`` over the spans
    (hours)."""
    times = [
        T0 + timedelta(minutes=m) for a, b in spans for m in range(int(a * 60), int(b * 60) + 1, 10)
    ]
    return _fed(track(mmsi, step(*OPEN_OCEAN, 0.0, 20.0), times, speed_kn=0.2), source)


def test_gap_confirmed_where_the_feed_kept_hearing_others_around() -> None:
    dark = _fed(_silent(8, 22), "st1")
    ev = _gaps(pl.concat([dark, _neighbour(NEIGHBOUR, "st1", (0, 30))]))
    assert ev["mmsi"].to_list() == [MMSI]
    d = details_of(ev.row(0, named=True))
    assert d["coverage"] == "heard" and d["feeds"] == ["st1"]
    assert d["watched_h"] == 13 and d["outage_h"] == 0  # 09:00 .. 21:00
    assert ev["score"][0] == 1.0  # likely intentional, coverage known: not lowered


def test_silence_every_vessel_shares_is_an_outage_not_a_gap() -> None:
    # the station hears both vessels, then nothing from 08:00 to 22:00: a receiver outage
    dark = _fed(_silent(8, 22), "st1")
    neighbour = _neighbour(NEIGHBOUR, "st1", (0, 8), (22, 30))
    assert _gaps(pl.concat([dark, neighbour])).height == 0
    # one station down, the vessel heard by it alone: another station hearing others around
    # does not confirm the silence (it never heard the vessel)
    other = _neighbour(OTHER, "st2", (0, 30))
    assert _gaps(pl.concat([dark, neighbour, other])).height == 0
    # ... nor does it when st2 heard the vessel hours before but st1 heard its last report
    # and its first after: the vessel may have been where only st1 hears (issue 12: a
    # vessel at the edge of a coastal station's reach heard again by the satellite feed
    # after the satellite's outage)
    early = dark.with_columns(  # its first three hours were heard by st2
        pl.when(pl.col("ts") < T0 + timedelta(hours=3))
        .then(pl.lit("st2"))
        .otherwise(pl.col("source"))
        .alias("source")
    )
    assert _gaps(pl.concat([early, neighbour, other])).height == 0
    # ... but it does once st2 heard the vessel last before the silence and first after
    both = dark.with_columns(
        pl.when(~pl.col("ts").is_between(T0 + timedelta(hours=3), T0 + timedelta(hours=8),
                                         closed="left"))
        .then(pl.lit("st2"))
        .otherwise(pl.col("source"))
        .alias("source")
    )
    ev = _gaps(pl.concat([both, neighbour, other]))
    assert ev.height == 1 and details_of(ev.row(0, named=True))["feeds"] == ["st1", "st2"]


def test_short_blind_stretches_are_sampling_and_long_ones_are_taken_off() -> None:
    dark = _fed(_silent(8, 30), "sat")  # 22 h silent
    passes = [(0, 8), (12, 12.2), (17, 17.2), (22, 22.2), (27, 27.2), (30, 32)]
    ev = _gaps(pl.concat([dark, _neighbour(NEIGHBOUR, "sat", *passes)]))
    assert ev.height == 1  # passes 5 h apart: the feed kept hearing the area
    d = details_of(ev.row(0, named=True))
    assert d["outage_h"] == 0 and d["watched_h"] == 4
    # a 14 h hole in the passes is an outage: 22 - 14 = 8 h left, not a gap
    holed = [(0, 8), (22, 22.2), (27, 27.2), (30, 32)]
    assert _gaps(pl.concat([dark, _neighbour(NEIGHBOUR, "sat", *holed)])).height == 0
    ev = _gaps(pl.concat([dark, _neighbour(NEIGHBOUR, "sat", *holed)]), max_blind_h=24)
    assert ev["mmsi"].to_list() == [MMSI, NEIGHBOUR]  # each silent while the other was heard


def test_hole_between_two_capture_files_is_no_gap() -> None:
    """Two captures of the same vessels, 3 days apart (within max_gap_h): every vessel is
    silent between them, and neither file delivered anything then."""
    first = pl.concat(
        [
            _fed(track(MMSI, OPEN_OCEAN, every(10, 30)), "a.nmea"),
            _neighbour(NEIGHBOUR, "a.nmea", (0, 5)),
        ]
    )
    later = T0 + timedelta(days=3)
    second = pl.concat(
        [
            _fed(track(MMSI, OPEN_OCEAN, every(10, 30, start=later)), "b.nmea"),
            _fed(track(NEIGHBOUR, OPEN_OCEAN, every(10, 30, start=later)), "b.nmea"),
        ]
    )
    assert _gaps(pl.concat([first, second])).height == 0
    # the same silence with the first feed still hearing the neighbour is a gap
    heard = _neighbour(NEIGHBOUR, "a.nmea", (0, 80))
    ev = _gaps(pl.concat([first, heard, second]))
    assert ev["mmsi"].to_list() == [MMSI]


def test_sparse_export_rows_are_its_sampling_not_gaps() -> None:
    """A one-row-per-vessel-per-day export (the aisdb 2021-07-01 CSV): two rows of one vessel
    15 h apart are the export's sampling; a vessel missing for four days is a gap."""
    rows = []
    for k in range(40):  # 40 vessels in one cell, one row a day each, at scattered hours
        for day in range(6):
            rows.append((736000000 + k, T0 + timedelta(days=day, hours=(k * 7 + day) % 24)))
    export = positions(
        [m for m, _ in rows], [t for _, t in rows], [-5.1] * len(rows), [-95.1] * len(rows)
    )
    twice = _fed(track(MMSI, OPEN_OCEAN, hours(2, 17)), "daily.csv")
    table = pl.concat([_fed(export, "daily.csv"), twice])
    assert _gaps(table).height == 0
    d = details_of(_gaps(table, min_interval_ratio=0.5).row(0, named=True))
    assert d["feed_interval_s"] > 20 * 3600  # about a day
    dark = _fed(track(MMSI, OPEN_OCEAN, hours(2, 26, 122, 146)), "daily.csv")  # 4 days
    ev = _gaps(pl.concat([_fed(export, "daily.csv"), dark]), max_gap_h=200)
    assert ev.height == 1 and details_of(ev.row(0, named=True))["gap_hours"] == 96.0


def test_coverage_of_a_store_is_passed_in() -> None:
    """A chunk of a store sees only its vessels; the coverage comes from the whole store."""
    from seawatch.store.coverage import coverage

    dark = _fed(_silent(8, 22), "st1")
    store = pl.concat([dark, _neighbour(NEIGHBOUR, "st1", (0, 30))])
    alone = _gaps(dark)
    assert details_of(alone.row(0, named=True))["coverage"] == "unknown"
    ev = detect_gaps(segment(dark), coverage=coverage(store))
    assert details_of(ev.row(0, named=True))["coverage"] == "heard"
    outage = pl.concat([dark, _neighbour(NEIGHBOUR, "st1", (0, 8), (22, 30))])
    assert detect_gaps(segment(dark), coverage=coverage(outage)).height == 0


def _far(mmsi: int, source: str, *spans: tuple[float, float]) -> pl.DataFrame:
    """A vessel 800 km east of the silent one (outside the cells around it), heard every
    10 min by ``source``: the feed keeps delivering, elsewhere."""
    return _neighbour(mmsi, source, *spans).with_columns(
        pl.col("lon") + 800 / 111.32  # 7.2 degrees of longitude near the equator
    )


def test_nobody_heard_in_an_empty_area_is_emptiness_not_an_outage() -> None:
    """One neighbour around, unheard for 7 h while the feed delivers elsewhere: at one
    vessel an hour, 7 were expected (fewer than min_expected_heard), so the silence stays a
    gap; with a dozen neighbours around, 7 h with none heard is an outage."""
    dark = _fed(_silent(8, 22), "st1")
    far = _far(OTHER, "st1", (0, 30))
    one = _neighbour(NEIGHBOUR, "st1", (0, 8), (15, 30))
    ev = _gaps(pl.concat([dark, far, one]))
    assert ev["mmsi"].to_list() == [MMSI]
    assert details_of(ev.row(0, named=True))["outage_h"] == 0
    busy = pl.concat([_neighbour(NEIGHBOUR + k, "st1", (0, 8), (15, 30)) for k in range(0, 24, 2)])
    assert _gaps(pl.concat([dark, far, busy])).height == 0
    assert _gaps(pl.concat([dark, far, busy]), min_expected_heard=1000).height == 1


def test_a_blind_stretch_no_longer_than_the_feeds_usual_revisit_is_sampling() -> None:
    """The feed hears the area with 7 h between passes before the silence: a 7 h stretch
    inside it is its revisit, an 8 h one an outage (the feed delivers nothing in both)."""
    dark = _fed(_silent(20, 36), "sat")  # 16 h silent, 04:00 .. 20:00 heard before
    passes = [(0, 0.2), (8, 8.2), (16, 16.2), (20, 20.2)]  # 7 h unheard between passes
    revisit = _neighbour(NEIGHBOUR, "sat", *passes, (28, 28.2), (36, 40))
    ev = _gaps(pl.concat([dark, revisit]))
    assert ev["mmsi"].to_list() == [MMSI] and details_of(ev.row(0, named=True))["outage_h"] == 0
    longer = _neighbour(NEIGHBOUR, "sat", *passes, (29, 29.2), (36, 40))
    assert _gaps(pl.concat([dark, longer])).height == 0  # 21:00 .. 28:00 is 8 h unheard


def test_a_hole_in_a_busy_store_is_an_outage_even_for_a_satellite_vessel() -> None:
    """issue 12 (the messy profile's file holes): a vessel heard by a satellite whose passes
    leave the area unheard 7 h at a time, silent 13 h across a 7 h hole in which no feed of
    the store heard anyone, while a coastal station hears others before and after: the hole
    is taken off, what is left (6 h) is no gap. Without the hole (the coast heard
    throughout) the same silence is judged by the satellite's revisit alone: a gap."""
    dark = _fed(_silent(16, 29), "sat")
    passes = _neighbour(NEIGHBOUR, "sat", (0, 0.2), (8, 8.2), (16, 16.2), (24, 24.2), (29, 32))
    coast_holed = _neighbour(OTHER, "coast", (0, 16.5), (25, 32))
    ev = _gaps(pl.concat([dark, passes, coast_holed]))
    assert ev.filter(pl.col("mmsi") == MMSI).height == 0
    coast_always = _neighbour(OTHER, "coast", (0, 32))
    ev = _gaps(pl.concat([dark, passes, coast_always]))
    assert ev["mmsi"].to_list() == [MMSI]
    # a daily export in the same store has rows at any hour, the hole's too: it says nothing
    daily = pl.concat(
        [_neighbour(OTHER + 1000 * k, "daily.csv", (k, k), (k + 24, k + 24))
         for k in range(17, 24, 2)]
    )
    ev = _gaps(pl.concat([dark, passes, coast_holed, daily]))
    assert ev.filter(pl.col("mmsi") == MMSI).height == 0


def _with_segments(*parts: tuple[pl.DataFrame, str]) -> pl.DataFrame:
    """Positions already segmented: each part is one segment (the ids given)."""
    return pl.concat(
        [frame.with_columns(pl.lit(seg).alias("segment_id")) for frame, seg in parts]
    ).sort("mmsi", "ts")


def test_a_track_split_off_a_vessel_heard_all_along_is_no_gap() -> None:
    """issue 12 (the messy profile's late copies and wrong clocks): two reports of a vessel
    heard all along end up in a track of their own, 17.5 h apart; the vessel was not silent.
    A second ship on the MMSI far away keeps its gaps (test_shared_mmsi_gaps_are_per_track)."""
    heard = _fed(track(MMSI, OPEN_OCEAN, every(10, 6 * 30), speed_kn=0.5), "st1")
    at = heard.filter(pl.col("ts").is_in(hours(2, 2.5, 20)))
    ghost = at.with_columns(pl.col("ts") + timedelta(minutes=2))  # relayed 2 min late
    segmented = _with_segments((heard, "a"), (ghost, "b"))
    assert detect_gaps(segmented).height == 0
    assert detect_gaps(segmented, heard_within_km=0.0).height == 1  # the rule off
    # two garbled reports far off the track (not within the km), joined into one track:
    # stray reports, not a vessel going silent
    stray = ghost.filter(pl.col("ts") != T0 + timedelta(hours=2.5, minutes=2)).with_columns(
        pl.col("lat") + 3.0
    )
    assert detect_gaps(_with_segments((heard, "a"), (stray, "b"))).height == 0


def test_a_hole_between_files_is_measured_to_the_second() -> None:
    """A hole of 8 h from 10:10 to 18:12 takes 7 whole hours: a 19.4 h silence across it
    leaves 11.4 h, no gap (whole hours alone would leave 12.4 h); 20.6 h leaves 12.6 h."""
    neighbour = _neighbour(NEIGHBOUR, "a.nmea", (0, 10.2), (18.2, 32))
    for resume, gaps in ((26.2, 0), (27.4, 1)):
        dark = _fed(_silent(6.8, resume), "a.nmea")
        ev = _gaps(pl.concat([dark, neighbour]))
        assert ev.filter(pl.col("mmsi") == MMSI).height == gaps, resume


def test_a_feed_down_that_heard_the_vessel_last_or_first_leaves_the_silence_unjudged() -> None:
    """issue 12 (the messy profile's satellite outage): a vessel at the edge of a coastal
    station's reach, last heard by it, first heard again by the satellite feed 250 km on,
    which delivered nothing in between; the station kept hearing others around the last
    position. Nothing watched the vessel where it went: no gap. With the satellite up (it
    hears others elsewhere) the silence is a gap."""
    coast = track(MMSI, OPEN_OCEAN, hours(*range(9)), speed_kn=0.5)
    far = step(*OPEN_OCEAN, 180.0, 250.0)
    again = track(MMSI, far, hours(22, 23, 24), speed_kn=0.5)
    dark = pl.concat([_fed(coast, "coast"), _fed(again, "sat")])
    around = _neighbour(NEIGHBOUR, "coast", (0, 30))
    elsewhere = step(*OPEN_OCEAN, 0.0, 400.0)
    down = [(0, 0.2), (3, 3.2), (6, 6.2), (22, 22.2), (25, 25.2)]
    up = [(k, k + 0.2) for k in range(0, 27, 3)]
    for passes, gaps in ((down, 0), (up, 1)):
        times = [T0 + timedelta(hours=a) for a, _ in passes]
        sat = _fed(track(OTHER, elsewhere, times, speed_kn=0.5), "sat")
        ev = _gaps(pl.concat([dark, around, sat]))
        assert ev.filter(pl.col("mmsi") == MMSI).height == gaps, passes


def test_a_feed_that_ended_is_not_down() -> None:
    """A vessel heard only by a feed that stopped for good (a temporary or tasked feed, one
    station's capture) and heard again 14 h later by another: its feed did not go down, it
    ended; the hours after are unknown, and the silence is a gap. When the feed delivers
    again after the vessel is back, it was down (an outage): no gap."""
    dark = pl.concat(
        [_fed(track(MMSI, OPEN_OCEAN, hours(*range(9)), speed_kn=0.5), "tasked"),
         _fed(track(MMSI, OPEN_OCEAN, hours(22, 23, 24), speed_kn=0.5), "sat")]
    )
    sat = _neighbour(OTHER, "sat", *[(k, k + 0.2) for k in range(0, 30, 3)])
    for spans, gaps in (([(0, 9)], 1), ([(0, 9), (26, 30)], 0)):
        tasked = _neighbour(NEIGHBOUR, "tasked", *spans)
        ev = _gaps(pl.concat([dark, tasked, sat]))
        assert ev.filter(pl.col("mmsi") == MMSI).height == gaps, spans
    # a daily export's row of the vessel before the silence does not make its feeds go on:
    # one row per vessel and day says nothing of an hour
    row = _fed(track(MMSI, OPEN_OCEAN, hours(5), speed_kn=0.5), "daily.csv")
    daily = pl.concat(
        [_fed(track(OTHER + k, step(*OPEN_OCEAN, 0.0, 400.0), hours(h), speed_kn=0.5),
              "daily.csv")
         for k, h in enumerate((1, 7, 12, 18, 26), start=1)]
    )
    tasked = _neighbour(NEIGHBOUR, "tasked", (0, 9))
    ev = _gaps(pl.concat([dark, row, daily, tasked, sat]))
    assert ev.filter(pl.col("mmsi") == MMSI).height == 1


def test_an_export_row_ending_the_silence_stands_for_the_feed_that_heard_the_vessel() -> None:
    """As the test above, with the silence ended by a row of a daily export (copies of
    reports, one row per vessel and day, which says nothing of an hour) just before the
    satellite's reports: the satellite is the feed of that end, down in between: no gap."""
    coast = track(MMSI, OPEN_OCEAN, hours(*range(9)), speed_kn=0.5)
    far = step(*OPEN_OCEAN, 180.0, 250.0)
    row = _fed(track(MMSI, far, hours(22), speed_kn=0.5), "daily.csv")
    again = _fed(track(MMSI, far, hours(22.01, 23, 24), speed_kn=0.5), "sat")
    daily = pl.concat(
        [_fed(track(OTHER + k, far, hours(h), speed_kn=0.5), "daily.csv")
         for k, h in enumerate((1, 5, 10, 15, 20))]
    )
    dark = pl.concat([_fed(coast, "coast"), row, again, daily])
    around = _neighbour(NEIGHBOUR, "coast", (0, 30))
    elsewhere = step(*OPEN_OCEAN, 0.0, 400.0)
    down = [(0, 0.2), (3, 3.2), (6, 6.2), (22, 22.2), (25, 25.2)]
    up = [(k, k + 0.2) for k in range(0, 27, 3)]
    for passes, gaps in ((down, 0), (up, 1)):
        times = [T0 + timedelta(hours=a) for a, _ in passes]
        sat = _fed(track(OTHER + 100, elsewhere, times, speed_kn=0.5), "sat")
        ev = _gaps(pl.concat([dark, around, sat]))
        assert ev.filter(pl.col("mmsi") == MMSI).height == gaps, passes

"""Loitering and encounters at fixed installations are dropped or lowered, saying why."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from seawatch.detect.chunks import TableChunks
from seawatch.detect.config import DetectConfig
from seawatch.detect.events import details_of
from seawatch.detect.installations import at_installations, installation_table
from seawatch.detect.pipeline import run_pipeline
from seawatch.detect.run import detect_all
from seawatch.geo.geodesy import flat_destination
from seawatch.geo.installations import INSTALLATION_COLUMNS
from tests.conftest import shared_data_path
from tests.detect.test_loitering import CARRIER, LAT, LON, OTHER, track

SUPPLY = 710000001


def installations(*rows):
    """Installations at (lat, lon[, radius_km[, extent_km]])."""
    full = [(*r, *(None, 0.0)[len(r) - 2:]) for r in rows]
    return pl.DataFrame(
        {
            "name": [f"P{k}" for k in range(len(rows))],
            "kind": "platform",
            "lat": [r[0] for r in full],
            "lon": [r[1] for r in full],
            "extent_km": [r[3] for r in full],
            "radius_km": [r[2] for r in full],
            "source": "test",
        },
        schema=INSTALLATION_COLUMNS,
    )


def events_at(*km_east):
    """One loitering, one encounter and one gap event at each distance east of (LAT, LON)."""
    rows = []
    for km in km_east:
        lat, lon = flat_destination(LAT, LON, km, 90.0)
        for kind in ("loitering", "encounter", "gap"):
            rows.append({"type": kind, "mmsi": CARRIER, "lat": lat, "lon": lon, "score": 0.8,
                         "details": json.dumps({"duration_h": 5.0})})
    return pl.DataFrame(rows)


@pytest.mark.parametrize(("km", "hit"), [(0.0, True), (1.9, True), (2.1, False)])
def test_loitering_and_encounters_within_2_km_are_dropped(km, hit):
    kept, counts = at_installations(events_at(km), installations((LAT, LON)))
    expected = ["gap"] if hit else ["loitering", "encounter", "gap"]
    assert kept["type"].to_list() == expected
    assert counts == ({"loitering": 1, "encounter": 1} if hit else {})


def test_lowered_with_the_reason_in_details():
    platforms = installations((0.0, 0.0), (LAT, LON))
    kept, counts = at_installations(events_at(1.0, 5.0), platforms, score_factor=0.25)
    assert counts == {"loitering": 1, "encounter": 1}
    assert kept["score"].to_list() == [0.2, 0.2, 0.8, 0.8, 0.8, 0.8]
    d = json.loads(kept["details"][0])
    assert d["duration_h"] == 5.0
    assert d["installation"] == {"name": "P1", "kind": "platform", "source": "test",
                                 "distance_km": pytest.approx(1.0, abs=0.01),
                                 "score_before": 0.8}
    assert "installation" not in json.loads(kept["details"][2])  # the gap is untouched
    assert "installation" not in json.loads(kept["details"][3])  # 5 km away


def test_an_installation_s_own_radius_and_a_polygon_s_extent():
    own = installations((LAT, LON, 6.0))
    assert at_installations(events_at(5.0), own)[1] == {"loitering": 1, "encounter": 1}
    farm = installations((LAT, LON, 0.5, 4.0))  # pens 4 km across, 0.5 km around them
    assert at_installations(events_at(4.4), farm)[1] == {"loitering": 1, "encounter": 1}
    assert at_installations(events_at(4.6), farm)[1] == {}
    # the nearest installation that reaches the event names it
    both = installations((LAT, LON, 10.0), flat_destination(LAT, LON, 3.0, 90.0))
    kept, _ = at_installations(events_at(2.5), both, score_factor=0.5)
    assert json.loads(kept["details"][0])["installation"]["name"] == "P1"


def test_no_installations_changes_nothing():
    ev = events_at(0.0)
    assert at_installations(ev, installations())[0].equals(ev)


def standing_by(mmsi, days=1, start_day=0, where=(LAT, LON)):
    """A vessel keeping station at 1 kn by a point for ``days`` days (hours 2 to 22 of
    each day: relieved for 4 h), in a small circle."""
    out = []
    for day in range(start_day, start_day + days):
        t = track(mmsi, day * 1440 + 120, day * 1440 + 1320, *where, sog=1.0)
        wobble = 0.001 * np.sin(np.arange(t.height))
        out.append(t.with_columns(pl.col("lon") + wobble))
    return pl.concat(out)


def test_a_vessel_standing_by_a_platform_is_not_loitering_there(tmp_path):
    p = standing_by(SUPPLY, days=2)
    # the two days' stand-bys, 4 h apart, are one episode (loitering's merge_gap)
    assert detect_all(p, types=["loitering"]).height == 1
    platform = installations(flat_destination(LAT, LON, 0.8, 0.0))
    assert detect_all(p, types=["loitering"], installations=platform).height == 0
    # from the config's files, and lowered instead of dropped
    path = tmp_path / "platforms.geojson"
    path.write_text(json.dumps({"type": "Feature", "properties": {"name": "Amistad"},
                                "geometry": {"type": "Point", "coordinates": [LON, LAT]}}))
    cfg = DetectConfig.from_dict({"installations": {"files": [str(path)],
                                                     "score_factor": 0.5}})
    ev = detect_all(p, types=["loitering"], config=cfg)
    assert ev.height == 1
    assert {details_of(r)["installation"]["name"] for r in ev.iter_rows(named=True)} == {
        "Amistad"}
    assert installation_table(cfg.installations).height == 1


def test_an_encounter_at_a_platform_is_dropped():
    lat2, lon2 = flat_destination(LAT, LON, 0.2, 90.0)
    p = pl.concat([track(CARRIER, 0, 300, sog=0.5), track(OTHER, 0, 300, lat2, lon2, sog=0.5)])
    assert detect_all(p, types=["encounter"]).height == 1
    assert detect_all(p, types=["encounter"], installations=installations((LAT, LON))).height == 0


def test_candidates_are_reported_and_used_only_when_asked():
    """Two supply vessels relieving each other by a platform over three days: their loitering
    recurs there, a candidate, reported; the loitering stays until use_inferred."""
    p = pl.concat([standing_by(SUPPLY, days=2), standing_by(SUPPLY + 1, start_day=2)])
    run = run_pipeline(TableChunks(p), types=["loitering"])
    # SUPPLY's two days are one episode (loitering's merge_gap): two events
    assert run.events.height == 2 and run.at_installations == {}
    assert run.candidates is not None and run.candidates.height == 1
    c = run.candidates.row(0, named=True)
    # loitering episodes of 44 h and 20 h, by two vessels, over three days
    assert c["n_vessels"] == 2 and c["standby_hours"] == pytest.approx(64.0)
    assert (c["lat"], c["lon"]) == pytest.approx((LAT, LON), abs=0.01)
    used = run_pipeline(TableChunks(p), types=["loitering"],
                        config=DetectConfig.from_dict({"installations": {"use_inferred": True}}))
    assert used.events.height == 0 and used.at_installations == {"loitering": 2}
    off = run_pipeline(TableChunks(p), types=["loitering"],
                       config=DetectConfig.from_dict({"installations": {"infer": False}}))
    assert off.candidates is None and off.events.height == 2
    # a run of other types does not search
    assert run_pipeline(TableChunks(p), types=["gap"]).candidates is None


def test_gfw_segment_supply_vessel_standing_by_a_platform():
    """The GFW segment fixture (real satellite AIS, 9 days) holds an offshore supply vessel
    (710030580) keeping station 190 km off Brazil, in the Santos basin: 12 loitering alerts
    before episodes were merged, 2 now (stops in one area within a day are one episode: its
    approach 4 km away, once an alert of its own, is the first stop of the first). With a
    platform declared at its stand-by place, both go; a candidate where one vessel stood by
    (infer_min_vessels = 1), used, the same."""
    from tests.tracks.gfw_segment_reference import load_regression

    pos = load_regression(shared_data_path("reference", "gfw-segment", "regression"))
    pos = pos.select("mmsi", "ts", "lat", "lon", "sog", "cog", "heading")
    before = detect_all(pos, types=["loitering"])
    assert before.filter(pl.col("mmsi") == 710030580).height == 2
    platform = installations((-24.6388, -42.4093))
    after = detect_all(pos, types=["loitering"], installations=platform)
    assert after.filter(pl.col("mmsi") == 710030580).height == 0
    assert after.height == before.height - 2
    cfg = DetectConfig.from_dict({"installations": {"infer_min_vessels": 1,
                                                     "use_inferred": True}})
    run = run_pipeline(TableChunks(pos), types=["loitering"], config=cfg)
    assert run.candidates is not None
    # and 224306000 "BAZ", a fishing vessel (no ship types are given here) drifting night
    # after night in one area: 51 h of stand-by, one episode since stops within a day merge
    assert run.candidates.select("n_vessels", pl.col("lat", "lon").round(2)).rows() == [
        (1, -24.64, -42.41), (1, -21.25, -24.33)]
    assert run.at_installations == {"loitering": 3}
    # one vessel standing by is no candidate at the default (two vessels)
    assert run_pipeline(TableChunks(pos), types=["loitering"]).candidates.height == 0


def test_a_bad_file_in_the_config_fails_before_detection(tmp_path):
    from seawatch.errors import InputError

    calls = []
    cfg = DetectConfig.from_dict({"installations": {"files": [str(tmp_path / "no.geojson")]}})
    with pytest.raises(InputError, match=r"no\.geojson"):
        detect_all(standing_by(SUPPLY), types=["loitering"], config=cfg,
                   progress=lambda *a: calls.append(a))
    assert calls == []  # nothing ran

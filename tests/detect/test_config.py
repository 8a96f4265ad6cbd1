"""The detector config: sections from the models, checked, documented from the models."""

from __future__ import annotations

import inspect
import json
import tomllib
from pathlib import Path

import polars as pl
import pytest

from seawatch.detect import (
    encounter,
    fishing_in_zone,
    gap,
    loitering,
    port_visit,
    route_anomaly,
    spoofing,
    zone_crossing,
)
from seawatch.detect.config import (
    SECTIONS,
    ConfigError,
    DetectConfig,
    example_toml,
    load_config,
    parameter_table,
)
from seawatch.detect.gap import GapParams
from seawatch.detect.registry import DETECTORS
from seawatch.geo.anchorages import (
    AnchorageParams,
    anchorages_from_periods,
    infer_anchorages,
    stationary_periods,
)
from seawatch.tracks.segment import SegmentParams, segment

DOCS = Path(__file__).resolve().parents[2] / "docs"

PUBLIC = [
    (spoofing.detect_spoofing, spoofing.SpoofingParams),
    (gap.detect_gaps, gap.GapParams),
    (encounter.detect_encounters, encounter.EncounterParams),
    (encounter.encounters_from_samples, encounter.EncounterParams),
    (loitering.detect_loitering, loitering.LoiteringParams),
    (zone_crossing.detect_zone_crossings, zone_crossing.ZoneParams),
    (fishing_in_zone.detect_fishing_in_zone, fishing_in_zone.FishingInZoneParams),
    (port_visit.detect_port_visits, port_visit.PortVisitParams),
    (route_anomaly.detect_route_anomalies, route_anomaly.RouteAnomalyParams),
]
"""Each detector's public function and its parameter model."""

DEFAULTS = {
    "ports": {
        "infer_anchorages": True,
        "cell_km": 0.5,
        "min_vessels": 3,
        "min_positions": 5,
        "max_speed_kn": 0.5,
        "max_distance_km": 0.5,
        "min_duration": "2h",
        "max_shore_km": 5.0,
        "known_port_km": 5.0,
    },
    "segment": {
        "max_speed_kn": 25.0,
        "noise_km": 1.0,
        "max_gap_h": 24.0,
        "max_open_segments": 20,
        "penalty_speed_kn": 5.0,
        "buffer_h": 0.25,
        "short_segment_positions": 10,
        "transponder_mismatch_weight": 0.1,
        "lookback": 5,
    },
    "spoofing": {
        "max_speed_kn": 25.0,
        "jump_km": 10.0,
        "merge_h": 48.0,  # issue 12: a shared MMSI unheard for a day is one episode
        "min_switches": 2,
        "min_track_positions": 2,  # issue 12: a single garbled report is not spoofing
        "min_track_duration": "30s",
        "lone_km": 10.0,  # issue 12: a lone report nothing of its track corroborates
        "replica_km": 1.0,  # issue 12: a track delayed in time is not a second transmitter
    },
    "gap": {
        "min_gap_h": 12.0,
        "max_gap_h": 336.0,  # added with issue 13: silences between captures are not gaps
        "intentional_shore_nm": 50.0,
        "min_positions_before": 6,
        "before_h": 12.0,
        "min_segment_positions": 1,
        # added with issue 12: a silence the feeds' coverage explains is not a gap
        "max_blind_h": 6,
        "coverage_cells": 1,
        "min_interval_ratio": 3.0,
        "revisit_h": 24.0,
        "min_expected_heard": 10.0,
        # added with issue 12's measurement: a track split off a vessel heard all along
        "heard_within_km": 5.0,
        "unknown_coverage_factor": 0.5,
        # added with issue 16: where a dark vessel could have gone
        "envelope": True,
        "envelope_speed_quantile": 0.95,
        "envelope_speed_margin": 1.2,
        "envelope_min_speed_kn": 10.0,
        "envelope_max_speed_fishing_kn": 15.0,
        "envelope_max_speed_kn": 22.0,
        "envelope_vertices": 32,
        "envelope_decimals": 3,
        "envelope_max_ports": 10,
    },
    "encounter": {
        "max_distance_m": 500.0,
        "min_duration": "2h",
        "max_median_speed_kn": 2.0,
        "min_port_distance_km": 10.0,
        "grid": "10m",
        "max_gap": "1h",
        "merge_gap": "4h",
        "max_fast_inside": "1h",
        "moored_speed_kn": 0.5,
        "moored_shore_km": 5.0,
        "episode_gap": "24h",
    },
    "loitering": {
        "max_mean_speed_kn": 2.0,
        "min_duration": "2h",
        "min_shore_nm": 20.0,
        "min_port_distance_km": 10.0,
        "max_inner_gap": "1h",
        "merge_gap": "24h",  # issue 12: one episode, one alert (was 6h)
    },
    "zone": {"kinds": None},
    "fishing_in_zone": {
        "min_speed_kn": 0.5,
        "max_speed_kn": 5.0,
        "min_duration": "1h",
        "max_pause": "1h",
        "fishing_ship_types": [30],
        "one_event_per_zone": False,
    },
    "port_visit": {"entry_km": 3.0, "exit_km": 4.0, "min_duration": "30m",
                   "min_unseen_ends_duration": "12h"},  # issue 12: moored, not a visit
    # issue 16: far from the lanes of its type
    "route_anomaly": {"resolution": 6, "groups": ["cargo", "tanker", "passenger"],
                      "max_other_vessels": 0, "min_duration": "6h", "min_distance_km": 50.0,
                      "max_step": "2h", "min_picture_duration": "24h", "min_group_vessels": 30},
    "identity": {"min_reports": 2, "min_edit": 2, "group_window": "6h",
                 "placeholder_mmsis": [123456789, 111111111, 222222222, 333333333, 444444444,
                                       555555555, 666666666, 777777777, 888888888, 999999999,
                                       987654321, 12345678, 1234567, 1193046],
                 "min_positions": 5, "ignore_gear": True},
    "type_mismatch": {"checked_types": list(range(60, 90)), "min_speed_kn": 1.5,
                      "max_speed_kn": 5.0, "min_positions": 3, "min_port_km": 10.0,
                      "max_straightness": 0.5, "min_duration": "3h"},
    "watchlist": {"max_name_edits": 1, "min_fuzzy_chars": 12, "min_reports": 2},
    # issue 16: the dark-vessel detectors
    "dark_rendezvous": {"min_meet_h": 2.0, "step_h": 0.25, "max_gap_h": 48.0,
                        "max_meeting_area_km2": float("inf"), "max_apart_km": 50.0,
                        "max_apart_h": 6.0, "with_outages": False, "vertices": 32},
    "loiter_gap_loiter": {"within_h": 12.0, "place_km": 5.0},
    "dark_near_encounter": {"within_h": 6.0, "within_km": 30.0},
    "installations": {
        "infer_min_shore_km": 5.0,
        "infer_cell_km": 2.0,
        "infer_min_vessels": 2,
        "infer_min_hours": 24.0,
        "infer_min_span": "2d",
        "files": None,
        "radius_km": 2.0,
        "score_factor": 0.0,
        "infer": True,
        "use_inferred": False,
    },
}
"""The parameters a run records with its events (``events_info()["config"]``) before the
models existed: the JSON the API and the store show must not change."""


def test_sections_are_the_port_list_segmentation_and_the_registry():
    assert list(SECTIONS) == [
        "ports", "segment", *(d.name for d in DETECTORS), "installations"
    ]
    assert list(SECTIONS) == list(DEFAULTS)


def test_the_recorded_config_serialises_as_before():
    recorded = json.dumps(DetectConfig().as_dict(), sort_keys=True)
    assert recorded == json.dumps(DEFAULTS, sort_keys=True)
    # values read back as written: an int stays an int, a duration stays its text
    cfg = DetectConfig.from_dict({"gap": {"min_gap_h": 6}, "encounter": {"min_duration": 3}})
    assert json.dumps(cfg.params("gap")["min_gap_h"]) == "6"
    assert cfg.params("encounter")["min_duration"] == 3


@pytest.mark.parametrize(("func", "model"), PUBLIC, ids=lambda x: getattr(x, "__name__", ""))
def test_detector_functions_keep_no_defaults_of_their_own(func, model):
    """Every threshold's default is written once, in the model: the functions take
    ``params=`` and keyword overrides, and their other arguments are inputs."""
    params = inspect.signature(func).parameters
    assert not set(params) & set(model.model_fields), func.__name__
    assert params["params"].default is None
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


BELOW = [
    (segment, SegmentParams),
    (infer_anchorages, AnchorageParams),
    (stationary_periods, AnchorageParams),
    (anchorages_from_periods, AnchorageParams),
]
"""The functions of seawatch.tracks and seawatch.geo that [segment] and [ports] feed."""


@pytest.mark.parametrize(("func", "model"), BELOW, ids=lambda x: getattr(x, "__name__", ""))
def test_segment_and_anchorage_defaults_are_their_functions_models(func, model):
    """[segment] and [ports] feed functions of seawatch.tracks and seawatch.geo, whose
    defaults are written once, in the models the sections are."""
    params = inspect.signature(func).parameters
    assert not set(params) & set(model.model_fields), func.__name__
    assert params["params"].default is None
    assert any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    assert SECTIONS["segment"] is SegmentParams
    assert issubclass(SECTIONS["ports"], AnchorageParams)
    ports = set(SECTIONS["ports"].model_fields)
    assert ports == {*AnchorageParams.model_fields, "infer_anchorages", "known_port_km"}


def test_keyword_overrides_are_checked_against_the_model():
    frame = pl.DataFrame(
        {"mmsi": [1], "ts": [0], "lat": [0.0], "lon": [0.0], "segment_id": [1]}
    ).with_columns(pl.col("ts").cast(pl.Datetime("us", "UTC")))
    with pytest.raises(ConfigError, match=r"detect_gaps\(\): unknown parameter 'min_gap'"):
        gap.detect_gaps(frame, min_gap=6)
    with pytest.raises(ConfigError, match="min_gap_h must be a number, got 'six'"):
        gap.detect_gaps(frame, min_gap_h="six")
    with pytest.raises(ConfigError, match="min_duration must be a duration: cannot read"):
        port_visit.detect_port_visits(frame, min_duration="soon")
    with pytest.raises(ConfigError, match="kinds must be a list"):
        zone_crossing.detect_zone_crossings(frame, kinds="mpa")
    # a model and overrides together: the overrides win
    assert gap.detect_gaps(frame, params=GapParams(min_gap_h=1), min_gap_h=2).height == 0


def test_config_from_toml(tmp_path):
    path = tmp_path / "detect.toml"
    path.write_text(
        "[gap]\nmin_gap_h = 6\n\n[port_visit]\nentry_km = 2.5\nmin_duration = '45min'\n"
        "[fishing_in_zone]\nfishing_ship_types = [30, 31]\n[zone]\nkinds = ['mpa']\n"
        "[ports]\ninfer_anchorages = false\n"
    )
    cfg = load_config(path)
    assert cfg.gap.min_gap_h == 6 and cfg.port_visit.entry_km == 2.5
    assert cfg.port_visit.min_duration == "45min" and cfg.port_visit.exit_km == 4.0
    assert cfg.fishing_in_zone.fishing_ship_types == [30, 31]
    assert cfg.zone.kinds == ["mpa"] and cfg.ports.infer_anchorages is False
    assert cfg.explicit("port_visit") == {"entry_km": 2.5, "min_duration": "45min"}
    assert load_config(None) == DetectConfig()
    assert set(SECTIONS) == set(DetectConfig().as_dict())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gap]\nmin_gap = 6\n", "unknown key 'min_gap' in [gap]; valid keys: min_gap_h"),
        ("[gaps]\nmin_gap_h = 6\n", "unknown section [gaps]; valid sections: ports, segment"),
        ("[gap]\nmin_gap_h = 'six'\n", "[gap] min_gap_h must be a number"),
        ("[gap]\nmin_positions_before = 2.5\n", "must be a whole number"),
        ("[gap]\nmin_gap_h = -1\n", "must not be negative"),
        ("[port_visit]\nmin_duration = 'soon'\n", "cannot read duration 'soon'"),
        ("[ports]\ninfer_anchorages = 1\n", "must be true or false"),
        ("[zone]\nkinds = 'mpa'\n", "must be a list"),
        ("gap = 6\n", "[gap] must be a table"),
        ("[gap\n", "is not valid TOML"),
    ],
)
def test_config_errors_say_what_is_wrong(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_config_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_the_example_config_is_generated_from_the_models_and_gives_the_defaults():
    shipped = DOCS / "detect-config.toml"
    assert shipped.read_text(encoding="utf-8") == example_toml(), (
        "docs/detect-config.toml is stale: write seawatch.detect.config.example_toml() to it"
    )
    assert load_config(shipped) == DetectConfig()
    text = shipped.read_text(encoding="utf-8")
    for section, model in SECTIONS.items():
        assert f"[{section}]" in text
        for key, field in model.model_fields.items():
            assert key in text and str(field.description)[:40] in text, (section, key)
    assert tomllib.loads(text).keys() == SECTIONS.keys()


def test_the_parameter_tables_of_detectors_md_are_the_models():
    text = (DOCS / "detectors.md").read_text(encoding="utf-8")
    for section, model in SECTIONS.items():
        table = parameter_table(section)
        assert table in text, f"docs/detectors.md lacks or has a stale table of [{section}]"
        for key in model.model_fields:
            assert f"| `{key}` |" in table

"""Payload values that cannot be true: a course or heading in the range ITU-R M.1371 leaves
unused is nulled, like "not available", but counted, so a corrupt message does not pass
unseen; the position beside it is kept."""

from __future__ import annotations

from pyais import encode_dict

from seawatch.io.nmea import decode_lines

DEFAULT = "2024-05-01T00:00:00Z"


def _report(**fields: object) -> str:
    (line,) = encode_dict({"type": 1, "mmsi": 735057000, "lat": -0.95, "lon": -80.7, **fields},
                          talker_id="AI")
    return line


def test_unused_course_and_heading_codes_are_nulled_and_counted() -> None:
    lines = [
        _report(course=12.5, heading=12),
        _report(course=360.0, heading=511),  # "not available": nulled, not counted
        _report(course=370.0, heading=400),  # unused codes (3700, 400)
        _report(course=409.5, heading=359),
    ]
    r = decode_lines(lines, default_time=DEFAULT)
    assert r.positions.select("cog", "heading").rows() == [
        (12.5, 12), (None, None), (None, None), (None, 359)]
    assert r.stats["implausible_cog"] == 2
    assert r.stats["implausible_heading"] == 1
    assert r.positions["lat"].to_list() == [-0.95] * 4
    assert r.quarantine_counts == {}


def test_an_unused_course_of_a_long_range_report_is_counted() -> None:
    (line,) = encode_dict({"type": 27, "mmsi": 735057000, "lat": -3.0, "lon": -85.0,
                           "speed": 10, "course": 400}, talker_id="AI")
    r = decode_lines([line], default_time=DEFAULT)
    assert r.positions["cog"].to_list() == [None]
    assert r.stats["implausible_cog"] == 1

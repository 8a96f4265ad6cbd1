"""Parameter models: value types, defaults written once, messages naming what is wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from seawatch.errors import InvalidValue
from seawatch.params import (
    Codes,
    ConfigError,
    Count,
    Duration,
    Flag,
    Names,
    Number,
    OptionalNumber,
    Params,
    build_params,
    param,
    reference_of,
    resolve,
)


class Example(Params):
    speed_kn: Number = param(2.0, "Speed (knots).", "GFW")
    positions: Count = param(6, "Positions.", "DESIGN.md")
    open: Flag = param(False, "Open.", "docs")
    window: Duration = param("2h", "Window.", "GFW pipe-gaps")
    kinds: Names = param(None, "Kinds.", "docs", example=["mpa"])
    limit_kn: OptionalNumber = param(0.5, "Limit (knots), or None.", "GFW")
    types: Codes = param([30], "Ship types.", "ITU-R M.1371")


def build(**values):
    return build_params(Example, values, origin="f.toml", section="example")


def test_values_read_back_as_written():
    p = build(speed_kn=3, window=1.5, kinds=("mpa", "eez"), positions=4.0)
    assert p.model_dump() == {
        "speed_kn": 3,  # an int stays an int
        "positions": 4,  # a whole float is a count
        "open": False,
        "window": 1.5,  # hours, as written
        "kinds": ["mpa", "eez"],
        "limit_kn": 0.5,
        "types": [30],
    }
    assert build(limit_kn=None).limit_kn is None and build(limit_kn=2).limit_kn == 2
    assert build(window=timedelta(minutes=5)).window == timedelta(minutes=5)
    assert build(speed_kn=float("inf")).speed_kn == float("inf")
    assert reference_of(Example.model_fields["window"]) == "GFW pipe-gaps"


def test_list_defaults_are_not_shared():
    a, b = Example(), Example()
    a.types.append(31)
    assert b.types == [30] and Example().types == [30]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"speed": 1}, "f.toml: unknown key 'speed' in [example]; valid keys: speed_kn, "),
        ({"speed_kn": "fast"}, "f.toml: [example] speed_kn must be a number, got 'fast'"),
        ({"speed_kn": True}, "[example] speed_kn must be a number, got True"),
        ({"speed_kn": -1}, "[example] speed_kn must not be negative, got -1"),
        ({"positions": 2.5}, "[example] positions must be a whole number, got 2.5"),
        ({"open": 1}, "[example] open must be true or false, got 1"),
        ({"window": "soon"}, "[example] window must be a duration: cannot read duration 'soon'"),
        ({"window": -1}, "[example] window must be a duration: duration '-1' is negative"),
        ({"kinds": "mpa"}, "[example] kinds must be a list, got 'mpa'"),
        ({"kinds": ["mpa", 3]}, "[example] kinds must hold text only, got 3"),
        ({"types": [30, "31"]}, "[example] types must be a number, got '31'"),
        ({"limit_kn": "slow"}, "[example] limit_kn must be a number, got 'slow'"),
        ({"limit_kn": -0.5}, "[example] limit_kn must not be negative, got -0.5"),
    ],
)
def test_wrong_values_are_named_with_what_is_valid(values, message):
    with pytest.raises(ConfigError) as info:
        build(**values)
    assert message in str(info.value)
    assert isinstance(info.value, InvalidValue)


def test_keyword_overrides_of_a_function():
    assert resolve(Example, None, {}, "f()") == Example()
    base = Example(speed_kn=5.0)
    assert resolve(Example, base, {}, "f()") is base
    changed = resolve(Example, base, {"positions": 2}, "f()")
    assert (changed.speed_kn, changed.positions) == (5.0, 2)
    with pytest.raises(ConfigError, match=r"^f\(\): unknown parameter 'speed'; valid: speed_kn"):
        resolve(Example, None, {"speed": 1}, "f()")
    with pytest.raises(ConfigError, match=r"^f\(\): positions must be a whole number"):
        resolve(Example, None, {"positions": 0.5}, "f()")


def test_models_are_frozen():
    with pytest.raises(ValueError, match="frozen"):
        Example().speed_kn = 3.0  # type: ignore[misc]

"""Parameter models: the base every set of thresholds builds on, their value types, errors.

Every threshold of seawatch's analyses is a field of a pydantic model (:class:`Params`),
written once, with its default, what it means (units in its name or its description) and the
reference it follows (:func:`param`): one model per detector (``seawatch.detect``), and the
models of the functions the detectors build on, track segmentation
(:class:`seawatch.tracks.segment.SegmentParams`) and anchorage inference
(:class:`seawatch.geo.anchorages.AnchorageParams`). The detector config file
(:mod:`seawatch.detect.config`) and the keyword arguments of the public functions
(``detect_gaps(segmented, min_gap_h=6)``, ``segment(positions, max_gap_h=12)``) are both
checked against the model by :func:`build_params`, so both refuse the same values with the
same message, a :class:`ConfigError` naming the key and what is valid.

Value types: :data:`Number` (a number, not negative; an ``int`` stays an ``int``, so a
config reads back as written), :data:`OptionalNumber` (the same, or None), :data:`Count` (a
whole number, not negative), :data:`Flag` (``true``/``false`` only), :data:`Duration` (text
such as ``"2h"`` or ``"90min"``, a number of hours, or a ``timedelta``; checked with
:func:`seawatch.units.parse_duration` and kept as written), :data:`Names` and :data:`Codes`
(lists of text and of whole numbers).

Examples
--------
>>> class Example(Params):
...     min_gap_h: Number = param(12.0, "Hours of silence.", "GFW pipe-gaps")
...     window: Duration = param("2h", "Window.", "DESIGN.md")
>>> build_params(Example, {"min_gap_h": 6}, origin="f.toml", section="gap").min_gap_h
6
>>> build_params(Example, {"window": "soon"}, origin="f.toml", section="gap")
... # doctest: +ELLIPSIS
Traceback (most recent call last):
...
seawatch.params.ConfigError: f.toml: [gap] window must be a duration: cannot read ...
>>> reference_of(Example.model_fields["min_gap_h"])
'GFW pipe-gaps'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Annotated, Any, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from seawatch.errors import InvalidValue
from seawatch.units import parse_duration


class ConfigError(InvalidValue):
    """Parameters are not valid: a section of a config file, or keyword arguments of a
    function (an unknown name, a value of the wrong type)."""


def _invalid(message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError("seawatch", message + ", got {got}", {"got": repr(value)})


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid("must be a number", value)
    if value < 0:
        raise _invalid("must not be negative", value)
    return value


def _optional(check: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def maybe(value: Any) -> Any:
        return None if value is None else check(value)

    return maybe


def _count(value: Any) -> int:
    number = _number(value)
    if not float(number).is_integer():
        raise _invalid("must be a whole number", value)
    return int(number)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid("must be true or false", value)
    return value


def _duration(value: Any) -> Any:
    try:
        parse_duration(value)
    except InvalidValue as exc:
        raise PydanticCustomError(
            "seawatch", "must be a duration: {error}", {"error": str(exc)}
        ) from None
    return value  # as written: text, a number of hours or a timedelta


def _listed(item: Callable[[Any], Any]) -> Callable[[Any], list[Any] | None]:
    def check(value: Any) -> list[Any] | None:
        if value is None:
            return None
        if isinstance(value, str | bytes) or not isinstance(value, list | tuple):
            raise _invalid("must be a list", value)
        return [item(v) for v in value]

    return check


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid("must hold text only", value)
    return value


Number = Annotated[float, PlainValidator(_number)]
"""A number, not negative (``float("inf")`` allowed); an ``int`` is kept as given."""
OptionalNumber = Annotated[float | None, PlainValidator(_optional(_number))]
"""A :data:`Number`, or None (which a config file cannot write: a keyword argument can)."""
Count = Annotated[int, PlainValidator(_count)]
"""A whole number, not negative (``2.0`` reads as ``2``)."""
Flag = Annotated[bool, PlainValidator(_flag)]
"""``true`` or ``false`` (not 1 or "yes")."""
Duration = Annotated[str | int | float | timedelta, PlainValidator(_duration)]
"""A duration as :func:`seawatch.units.parse_duration` reads it (``"2h"``, ``"90min"``, a
number of hours, a ``timedelta``), kept as written so the config reads back unchanged."""
Names = Annotated[list[str] | None, PlainValidator(_listed(_text))]
"""A list of text, or None."""
Codes = Annotated[list[int], PlainValidator(_listed(_count))]
"""A list of whole numbers."""


class Params(BaseModel):
    """Base of every parameter model: unknown keys are refused, values cannot be reassigned."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def merged(self, overrides: Mapping[str, Any], origin: str) -> Self:
        """These parameters with ``overrides`` (checked as :func:`build_params` does)."""
        if not overrides:
            return self
        return build_params(type(self), {**self.model_dump(), **overrides}, origin=origin)


P = TypeVar("P", bound=Params)


def param(default: Any, description: str, reference: str, example: Any = None) -> Any:
    """A model field: its default (written here only), meaning and reference.

    ``example`` shows a value in the generated example config where the default is None.
    A list default is copied for every instance.
    """
    extra: dict[str, Any] = {"reference": reference}
    if isinstance(default, list):
        items = list(default)
        return Field(
            default_factory=lambda: list(items),
            description=description,
            json_schema_extra=extra,
        )
    if example is not None:
        extra["example"] = example
    return Field(default, description=description, json_schema_extra=extra)


def reference_of(field: FieldInfo) -> str:
    """The reference a field's default follows (see :func:`param`)."""
    extra = field.json_schema_extra
    return str(extra.get("reference", "")) if isinstance(extra, dict) else ""


def example_of(field: FieldInfo) -> Any:
    """The example value of a field whose default is None (see :func:`param`), or None."""
    extra = field.json_schema_extra
    return extra.get("example") if isinstance(extra, dict) else None


def build_params(
    model: type[P], values: Mapping[str, Any], *, origin: str, section: str | None = None
) -> P:
    """``model`` from ``values``, or a :class:`ConfigError` naming what is wrong.

    Parameters
    ----------
    model
        The parameter model.
    values
        Parameter values by name; the others keep their defaults.
    origin
        Where the values come from, first in the message: a file, or ``detect_gaps()``.
    section
        The config section, named in the message (``[gap]``) when given.

    Raises
    ------
    ConfigError
        An unknown key (the valid ones are listed), or a value of the wrong type.
    """
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(_message(model, exc, origin, section)) from None


def _message(model: type[Params], exc: ValidationError, origin: str, section: str | None) -> str:
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    key = loc[0] if loc else ""
    if error["type"] == "extra_forbidden":
        valid = ", ".join(model.model_fields)
        if section is None:
            return f"{origin}: unknown parameter {key!r}; valid: {valid}"
        return f"{origin}: unknown key {key!r} in [{section}]; valid keys: {valid}"
    name = "".join([key, *(f"[{part}]" for part in loc[1:])])
    subject = " ".join(
        part for part in (f"[{section}]" if section is not None else "", name) if part
    )
    if error["type"] == "seawatch":  # our own message: "must be ...", or a whole sentence
        return f"{origin}: {subject} {error['msg']}" if subject else f"{origin}: {error['msg']}"
    return f"{origin}: {subject}: {error['msg']}, got {error['input']!r}"


def resolve(model: type[P], params: P | None, overrides: Mapping[str, Any], origin: str) -> P:
    """``params`` (default: the model's defaults) with keyword ``overrides``, checked.

    What a public function with a parameter model does with its ``params=`` and
    ``**overrides``.

    >>> class Example(Params):
    ...     jump_km: Number = param(10.0, "Least jump (km).", "docs/detectors.md")
    >>> resolve(Example, None, {"jump_km": 5}, "f()").jump_km
    5
    >>> resolve(Example, None, {"jump": 5}, "f()")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    seawatch.params.ConfigError: f(): unknown parameter 'jump'; valid: jump_km
    """
    return (model() if params is None else params).merged(overrides, origin)

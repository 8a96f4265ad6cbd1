"""What a detector is to the pipeline: its :class:`Detector` entry and the :class:`Context`.

Each detector module (``seawatch/detect/gap.py``, ``encounter.py``, ...) declares one
``DETECTOR``: its name (the config section of its parameters), the event types it produces,
its parameter model (:class:`seawatch.params.Params`), what it needs from the pipeline
besides the positions (:data:`Need`) and one ``detect(table, params, context)`` function. The
registry (:mod:`seawatch.detect.registry`) lists them in the order they run, and the pipeline
(:mod:`seawatch.detect.pipeline`) runs whatever it holds.

A detector that pairs vessels (encounters), or needs what such a detector found (loitering
needs the encounters), also declares a :class:`Split`: how it runs when the positions come
in chunks of whole vessels (a store): a ``part`` of each chunk, and a ``combine`` of all the
parts once every chunk is read. ``combine([part(table)])`` gives the events of
``detect(table)``.

Examples
--------
>>> from seawatch.detect.registry import detector
>>> gap = detector("gap")
>>> gap.event_types, sorted(gap.needs), gap.provides
(('gap',), ['coverage', 'vessels', 'zones'], 'gaps')
>>> sorted(detector("loitering").needs)
['encounters', 'ports', 'vessels']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from seawatch.params import P

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from seawatch.geo.zones import ZoneIndex
    from seawatch.traffic.density import Picture

Need = Literal["vessels", "identities", "ports", "zones", "encounters", "coverage",
               "watchlists", "gaps", "loitering", "traffic"]
"""What a detector may need from the pipeline besides the positions (see :class:`Context`)."""

FOUND: frozenset[Need] = frozenset({"encounters", "gaps", "loitering"})
"""The needs that are another detector's events (its :attr:`Detector.provides`)."""

T = TypeVar("T")


@dataclass(frozen=True)
class Context:
    """What the pipeline gives a detector besides the positions.

    Attributes
    ----------
    vessels
        Identities, one or more rows per MMSI with ``ship_type`` and ``flag``
        (``Store.latest_identity()``), or None when none are known.
    identities
        Every identity report (the store's ``vessels`` table, :data:`seawatch.schema.VESSELS`:
        one row per distinct report per MMSI and UTC day), or None when not known; the
        identity detectors read the history from it.
    ports
        The port and anchorage points (:func:`seawatch.detect.ports.port_table`), or None
        for the shipped list.
    zones
        An index over the zones (:func:`seawatch.geo.zone_index`), or None for the default
        zones.
    encounters
        The encounter events found, or None when they are not known.
    coverage
        What each feed heard per hour and grid cell (:data:`seawatch.schema.COVERAGE`) over
        all the positions (the store's, not a chunk's), or None when not built.
    watchlists
        The entries of the watchlists to match (:data:`seawatch.watchlists.ENTRY_COLUMNS`),
        or None when there are none.
    gaps, loitering
        The gap and loitering events found, or None when they are not known.
    traffic
        The traffic picture of all the positions (:class:`seawatch.traffic.density.Picture`),
        or None when not built.
    """

    vessels: pl.DataFrame | None = None
    ports: pl.DataFrame | None = None
    zones: ZoneIndex | None = None
    encounters: pl.DataFrame | None = None
    coverage: pl.DataFrame | None = None
    identities: pl.DataFrame | None = None
    watchlists: pl.DataFrame | None = None
    gaps: pl.DataFrame | None = None
    loitering: pl.DataFrame | None = None
    traffic: Picture | None = None


@dataclass(frozen=True)
class Split(Generic[P, T]):
    """How a detector runs on positions held in chunks of whole vessels.

    Attributes
    ----------
    part
        ``part(chunk, params, context)``: what the detector keeps of one chunk (the
        context's ``encounters`` are not known yet).
    combine
        ``combine(parts, params, context)``: the events, from the parts of every chunk, with
        the context complete.
    """

    part: Callable[[pl.DataFrame, P, Context], T]
    combine: Callable[[Sequence[T], P, Context], pl.DataFrame]


@dataclass(frozen=True)
class Detector(Generic[P]):
    """One detector, as the registry lists it.

    Attributes
    ----------
    name
        Its name: the step of the pipeline and the config section of its parameters.
    event_types
        The event types it produces (``seawatch.schema.EVENT_TYPES``).
    params
        Its parameter model; ``params()`` is the defaults.
    detect
        ``detect(table, params, context)``: the events of a segmented positions table.
    needs
        What it reads from the :class:`Context`; the pipeline builds only what the detectors
        it runs need (the port list, the zone index) and runs the detector that
        :attr:`provides` a need before the one that needs it.
    provides
        The context entry its events are (``"encounters"``), or None.
    split
        How it runs on chunks of vessels, when it pairs vessels or needs a detector that
        does; None when its events of a chunk are final. A detector that provides a need,
        or needs one of :data:`FOUND`, must have one: its events are complete only once
        every chunk is read.
    """

    name: str
    event_types: tuple[str, ...]
    params: type[P]
    detect: Callable[[pl.DataFrame, P, Context], pl.DataFrame]
    needs: frozenset[Need] = frozenset()
    provides: Need | None = None
    split: Split[P, Any] | None = None

    def __post_init__(self) -> None:
        if self.split is None and (self.provides is not None or self.needs & FOUND):
            raise ValueError(
                f"detector {self.name} provides or needs events of other vessels' chunks "
                "and so needs a Split"
            )

"""Explainable risk: a score per event and per vessel from named signals, with its breakdown.

Each event type is a *signal* with a weight (:class:`RiskParams`, every weight documented
with its reasoning; a ``[risk]`` table of a TOML file overrides them). An event contributes
``c = min(1, weight(type) x score)`` (its detector's ``score``, 1 when it has none) to each of
its vessels (both vessels of a pair event). A signal's contribution to a vessel is
``1 - prod(1 - c)`` over its ``max_events_per_signal`` strongest events of that type (repeated
evidence of one kind is correlated: a vessel in a poorly covered area gaps again and again,
which is not several independent reasons); the vessel's risk is ``1 - prod(1 - contribution)``
over its signals, a noisy-OR: each signal alone gives at most its weight, and independent
signals add up towards 1 without passing it. The breakdown ("why this vessel") lists each
signal with its contribution and the ids of its evidence events, strongest first.

Everything is a pure function of the events table (and optionally the vessels' identities
for names), so a partner computes its risk from the events it may see.

Examples
--------
>>> from datetime import datetime, UTC
>>> t = datetime(2026, 1, 15, tzinfo=UTC)
>>> ev = pl.DataFrame({"event_id": ["g1", "e1", "z1"], "type": ["gap", "encounter", "zone_entry"],
...                    "mmsi": [1, 1, 2], "other_mmsi": [None, 3, None],
...                    "start": [t, t, t], "end": [t, t, t], "score": [1.0, 0.5, 1.0]})
>>> risk = vessel_risk(ev)
>>> risk.select("mmsi", "risk").rows()
[(1, 0.545), (3, 0.3)]
>>> [(b["signal"], b["contribution"], b["events"]) for b in risk["breakdown"][0]]
[('gap', 0.35, ['g1']), ('encounter', 0.3, ['e1'])]
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from seawatch import schema
from seawatch.params import ConfigError, Count, Number, Params, build_params, param, reference_of

__all__ = [
    "RiskParams",
    "by_risk",
    "event_risk",
    "load_risk_params",
    "parameter_table",
    "vessel_risk",
    "watch_list",
    "with_names",
]


class RiskParams(Params):
    """Weights of the risk signals (one per event type, 0 to 1) and how they combine.

    A weight is the risk one event of that type with score 1 gives on its own; 0 leaves the
    type out of the risk (it is still an event, shown on the map and in the API).
    """

    watchlist_hit: Number = param(
        0.9, "Weight of a watch-list hit: an agency already named this vessel.",
        "seawatch: a listed vessel is the strongest prior an analyst has")
    dark_rendezvous: Number = param(
        0.8, "Weight of a dark rendezvous (two vessels dark at once, able to meet).",
        "seawatch, after GFW's dark transshipment studies: two simultaneous gaps that can "
        "meet is the pattern of a hidden transshipment")
    loiter_gap_loiter: Number = param(
        0.7, "Weight of loitering, a gap, then loitering again where it went dark.",
        "seawatch: a carrier waiting, going dark and resuming is a hidden meeting")
    dark_near_encounter: Number = param(
        0.7, "Weight of a gap starting or ending next to an encounter.",
        "seawatch: going dark around a meeting at sea hides its extent")
    fishing_in_zone: Number = param(
        0.7, "Weight of fishing inside a marine protected area or a foreign state's zone.",
        "seawatch: IUU fishing is the offence itself, not a precursor")
    encounter: Number = param(
        0.6, "Weight of an encounter at sea (two vessels slow and close, away from port).",
        "GFW encounters: the signature of at-sea transshipment")
    spoofing: Number = param(
        0.5, "Weight of spoofing (one MMSI at two places at once).",
        "seawatch: a shared or forged identity hides who is there")
    gap: Number = param(
        0.35, "Weight of an AIS gap (the gap's score is 1 when likely intentional, 0.5 "
        "otherwise, halved when coverage is unknown).",
        "GFW AIS disabling: most gaps are reception; the intentional ones, far from shore "
        "after good reception, are the signal")
    loitering: Number = param(
        0.4, "Weight of loitering alone, far from shore and port.",
        "DESIGN.md: carriers loitering alone wait for a meeting")
    identity_change: Number = param(
        0.4, "Weight of an identity change (name, call sign, IMO of one MMSI).",
        "seawatch: re-flagging and renaming hide a history, yet are also routine sales")
    type_mismatch: Number = param(
        0.4, "Weight of a ship type the vessel's movement contradicts.",
        "seawatch: a fishing pattern under a cargo type hides fishing")
    invalid_identity: Number = param(
        0.3, "Weight of an invalid identity (placeholder MMSI, name, IMO).",
        "seawatch: careless set-ups are common, so it weighs less than a change")
    route_anomaly: Number = param(
        0.3, "Weight of a route anomaly.", "seawatch: weak on its own")
    fishing: Number = param(
        0.0, "Weight of fishing (lawful where it is not fishing_in_zone).",
        "seawatch: fishing is the fleet's work")
    port_visit: Number = param(
        0.0, "Weight of a port visit.", "seawatch: a port visit is ordinary traffic")
    zone_entry: Number = param(
        0.0, "Weight of a zone entry (EEZ, territorial sea, any zone).",
        "seawatch: crossing a boundary is ordinary traffic; what the vessel does there counts")
    zone_exit: Number = param(
        0.0, "Weight of a zone exit.", "seawatch: as zone_entry")
    max_events_per_signal: Count = param(
        3, "Events of one type counted per vessel (the strongest): repeated evidence of one "
        "kind is correlated, not independent.",
        "seawatch: a vessel gapping again and again in a poorly covered area is one cause, "
        "not several; three still lets a repeated behaviour rank above a single one")

    def weights(self) -> dict[str, float]:
        """Event type -> weight, clipped to [0, 1]."""
        return {t: min(1.0, float(getattr(self, t))) for t in schema.EVENT_TYPES}


def load_risk_params(path: str | Path | None, **overrides: Any) -> RiskParams:
    """The ``[risk]`` table of a TOML file (absent: the defaults), with ``overrides``."""
    data: dict[str, Any] = {}
    if path is not None:
        with open(path, "rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        data = dict(doc.get("risk", {}))
    return build_params(RiskParams, {**data, **overrides}, origin=str(path or "risk"),
                        section="risk")


def event_risk(events: pl.DataFrame, params: RiskParams | None = None) -> pl.DataFrame:
    """One row per (event, vessel): ``event_id``, ``type``, ``mmsi``, ``start``, ``risk``.

    A pair event (encounter, dark_rendezvous) gives a row for each of its vessels; an event
    whose type weighs 0 gives none.
    """
    p = params or RiskParams()
    weights = pl.DataFrame(
        {"type": list(p.weights()), "weight": list(p.weights().values())},
        schema={"type": pl.String, "weight": pl.Float64},
    )
    base = events.select("event_id", "type", "mmsi", "other_mmsi", "start", "score")
    both = pl.concat([
        base.drop("other_mmsi"),
        base.filter(pl.col("other_mmsi").is_not_null())
        .select("event_id", "type", pl.col("other_mmsi").alias("mmsi"), "start", "score"),
    ])
    risk = (pl.col("weight") * pl.col("score").fill_null(1.0).clip(0.0, 1.0)).clip(0.0, 1.0)
    return (
        both.join(weights, on="type", how="inner")
        .with_columns(risk.alias("risk"))
        .filter(pl.col("risk") > 0)
        .select("event_id", "type", "mmsi", "start", "risk")
    )


BREAKDOWN = pl.Struct({"signal": pl.String, "contribution": pl.Float64, "count": pl.UInt32,
                       "events": pl.List(pl.String)})


def vessel_risk(events: pl.DataFrame, params: RiskParams | None = None,
                vessels: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per vessel: ``mmsi``, ``risk`` and ``breakdown`` (highest risk first).

    ``breakdown`` is a list of ``{signal, contribution, count, events}``, strongest first:
    ``count`` events of that type, ``events`` the ids of those counted (the strongest
    ``max_events_per_signal``). With ``vessels`` (``mmsi``, ``name``, or identity reports
    with ``ts``: the latest name) the name is added.
    """
    p = params or RiskParams()
    per_event = event_risk(events, p)
    k = max(1, p.max_events_per_signal)
    signals = (
        per_event.sort(["risk", "start", "event_id"], descending=[True, True, False])
        .group_by("mmsi", "type")
        .agg(
            (1.0 - (1.0 - pl.col("risk").head(k)).product()).alias("contribution"),
            pl.len().alias("count"),
            pl.col("event_id").head(k).alias("events"),
        )
        .sort(["contribution", "type"], descending=[True, False])
    )
    out = (
        signals.group_by("mmsi", maintain_order=True)
        .agg(
            (1.0 - (1.0 - pl.col("contribution")).product()).round(6).alias("risk"),
            pl.struct(pl.col("type").alias("signal"), pl.col("contribution").round(6),
                      "count", "events")
            .alias("breakdown"),
        )
        .with_columns(pl.col("breakdown").cast(pl.List(BREAKDOWN)))
        .sort(["risk", "mmsi"], descending=[True, False])
    )
    if out.height == 0:
        out = pl.DataFrame(schema={"mmsi": pl.Int64, "risk": pl.Float64,
                                   "breakdown": pl.List(BREAKDOWN)})
    return out if vessels is None else with_names(out, vessels)


def with_names(ranked: pl.DataFrame, vessels: pl.DataFrame) -> pl.DataFrame:
    """``ranked`` (:func:`vessel_risk`) with a ``name`` column after ``mmsi``: from
    ``vessels`` (``mmsi``, ``name``; identity reports with ``ts`` give the latest name)."""
    names = vessels.filter(pl.col("name").is_not_null())
    if "ts" in names.columns:
        names = names.sort("ts")
    names = names.select("mmsi", "name").unique("mmsi", keep="last")
    columns = ["mmsi", "name", *[c for c in ranked.columns if c not in ("mmsi", "name")]]
    return ranked.drop("name", strict=False).join(names, on="mmsi", how="left").select(columns)


def day_events(events: pl.DataFrame, day: date | None = None) -> tuple[pl.DataFrame, date | None]:
    """The events overlapping the UTC ``day`` (default: the day of the latest event start)."""
    if events.height == 0:
        return events, day
    if day is None:
        latest = events["start"].max()
        assert isinstance(latest, datetime)
        day = latest.date()
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    hi = lo + timedelta(days=1)
    return events.filter((pl.col("start") < hi) & (pl.col("end") >= lo)), day


def watch_list(events: pl.DataFrame, day: date | None = None, top: int | None = 20,
               params: RiskParams | None = None,
               vessels: pl.DataFrame | None = None) -> tuple[pl.DataFrame, date | None]:
    """Today's watch list: :func:`vessel_risk` of the events overlapping ``day`` (default the
    day of the latest event), the ``top`` highest; returns it and the day."""
    chosen, day = day_events(events, day)
    ranked = vessel_risk(chosen, params, vessels)
    return (ranked.head(top) if top else ranked), day


def parameter_table() -> str:
    """The Markdown table of :class:`RiskParams` as docs/risk.md shows it (a test keeps the
    page equal to it).

    >>> print(parameter_table().splitlines()[2])  # doctest: +ELLIPSIS
    | `watchlist_hit` | 0.9 | Weight of a watch-list hit...
    """
    rows = ["| parameter | default | meaning | reference |", "|---|---|---|---|"]
    for key, field in RiskParams.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append(f"| `{key}` | {default!r} | {field.description} | {reference_of(field)} |")
    return "\n".join(rows)


def by_risk(events: pl.DataFrame, params: RiskParams | None = None) -> pl.DataFrame:
    """``events`` ordered by their risk (``weight(type) x score``, as :func:`event_risk`),
    highest first, then newest first: the order of an analyst's list, where plain zone
    crossings and port visits (weight 0) come last."""
    weights = (params or RiskParams()).weights()
    risk = (pl.col("type").replace_strict(weights, default=0.0, return_dtype=pl.Float64)
            * pl.col("score").fill_null(1.0).clip(0.0, 1.0)).clip(0.0, 1.0)
    return events.sort([risk, pl.col("start"), pl.col("event_id")],
                       descending=[True, True, False], nulls_last=True)

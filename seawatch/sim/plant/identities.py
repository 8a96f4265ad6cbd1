"""The ``identity`` artefact: identities that change, that are on a watchlist, that cannot be
a ship's, declarations the movement contradicts, and their benign look-alikes.

:func:`plant_identities` decides, with the artefacts' generator, after everything else (so
the clean plan and the other artefacts are untouched), ``n`` (the artefact's strength) of
each of these:

=======================  =================================================================
case                     what happens (truth or negative)
=======================  =================================================================
identity changer         a vessel of the traffic takes a new name and call sign at a time
                         1-10 h before a UTC midnight of the period (so that the new identity
                         is heard on two days): ``identity_change`` from its first static
                         report with the new identity, when that identity reaches the data
                         in two stored reports (two days, or two distinct reports)
garbled static           one static report of another vessel carries its name with one
                         character wrong (a valid checksum): negative ``identity_change``
listed by MMSI / IMO /   a vessel of the traffic is on the generated watchlist by its MMSI
name                     (with its name and flag), by its IMO number (with another name: a
                         renamed vessel), or by a variant of its name (``F/V`` prefix,
                         punctuation, case, joined words) and its flag: ``watchlist_hit``
                         over its positions (for IMO and name, when a static report with it
                         reaches the data)
look-alike               a vessel of the traffic whose name is like a listed one (the list
                         holds its numbered sister ship, or its name with ``II`` added):
                         negative ``watchlist_hit``
garbled listed name      one static report of another vessel carries the name of a listed
                         vessel that is not at sea: negative ``watchlist_hit`` (and
                         ``identity_change``)
invalid MMSI             a cargo ship crossing the high seas under 123456789, a 7-digit
                         MMSI or an unallocated MID (watched: its positions are heard):
                         ``invalid_identity`` over its positions
type liar                a "cargo ship" (type 70-79) works an area far offshore at 2-4 kn for
                         4-6 h, watched: ``type_mismatch``
slow steamer             a cargo ship steams straight at 3.5-4.5 kn across the high seas,
                         watched: negative ``type_mismatch``
=======================  =================================================================

The static reports of the changers and the garbled ones are rewritten as they are emitted
(:func:`apply_to_statics`); the watchlist is written beside the scenario
(``watchlist.csv``, :func:`watchlist_frame`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from seawatch.sim.plant.base import H, Planter, PlantError, all_zones

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from seawatch.sim.artefacts import ArtefactPlan

DAY = 86_400
CHANGE_BEFORE_MIDNIGHT_H = (1.0, 10.0)
"""An identity changes this long before a UTC midnight of the period."""
LIST_NAME = "sim-watchlist"
"""Name of the generated watchlist."""
LIAR_KN = (2.0, 4.0)
"""A type liar works its area at these speeds ..."""
LIAR_H = (4.0, 6.0)
"""... for this long ..."""
LIAR_RADIUS_KM = 4.0
"""... within this radius."""
SLOW_KN = (3.5, 4.5)
"""A slow steamer's speed (inside the fishing band, but going somewhere)."""
INVALID_MMSIS: tuple[str, ...] = ("placeholder", "short", "unallocated_mid")
"""The invalid MMSIs planted, in turn."""
CANDIDATES = ("coastal_fishing", "purse_seiner", "cargo", "tanker", "galapagos_yacht")
"""Categories of the traffic whose vessels are picked (they sail within the receivers'
reach often enough for their static reports to be heard)."""


@dataclass
class IdentityPlan:
    """What the ``identity`` artefact decided (times in seconds from the start)."""

    changes: list[dict[str, Any]] = field(default_factory=list)  # track, t, name, callsign
    garbles: list[dict[str, Any]] = field(default_factory=list)  # track, t0, t1, name
    entries: list[dict[str, Any]] = field(default_factory=list)  # watchlist rows (+ track)
    listed: list[dict[str, Any]] = field(default_factory=list)  # track, by
    invalid: list[dict[str, Any]] = field(default_factory=list)  # track, kind
    liars: list[int] = field(default_factory=list)


def _rows(p: Planter) -> dict[str, list[Any]]:
    return p.fleet._rows  # the fleet being built (plan_artefacts runs before build())


def _pick(p: Planter, used: set[int]) -> int:
    """A vessel of the traffic (role ``background``, of :data:`CANDIDATES`) not used yet."""
    r = _rows(p)
    pool = [k for k in range(p.fleet.n) if r["role"][k] == "background"
            and r["category"][k] in CANDIDATES and k not in used and r["name"][k]]
    if not pool:
        raise PlantError("no vessel of the traffic left to pick")
    k = int(pool[int(p.rng.integers(len(pool)))])
    used.add(k)
    return k


def _garble(p: Planter, name: str) -> str:
    """``name`` with one character replaced (what one wrong six-bit character gives)."""
    spots = [i for i, c in enumerate(name) if c.isalnum()]
    i = spots[int(p.rng.integers(len(spots)))]
    letters = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c != name[i]]
    return name[:i] + letters[int(p.rng.integers(len(letters)))] + name[i + 1:]


def _variant(name: str) -> str:
    """How another list writes a name: ``F/V`` prefix, lower case, the first space a
    hyphen (or joined, for one-word names nothing more)."""
    body = name.lower().replace(" ", "-", 1)
    return f"F/V {body}"


def _sister(p: Planter, name: str) -> str:
    """A name like ``name`` that is another vessel's: its number changed, or ``II`` added."""
    import re

    numbers = list(re.finditer(r"\d+", name))
    if numbers:
        m = numbers[-1]
        value = int(m.group()) + int(p.rng.integers(1, 9))
        return name[:m.start()] + str(value) + name[m.end():]
    return f"{name} II"


def _midnights(p: Planter) -> list[float]:
    """Seconds from the start of each UTC midnight inside the period."""
    first = (-p.start_s) % DAY
    return [float(t) for t in range(first, p.duration, DAY) if t > 0]


def _changer(p: Planter, ident: IdentityPlan, used: set[int]) -> None:
    from seawatch.sim.fleet import _callsign, _unique, _vessel_name

    lo, hi = CHANGE_BEFORE_MIDNIGHT_H
    times = [m - p.uniform(lo, hi) * H for m in _midnights(p)
             if m - hi * H >= H and m + 2 * H <= p.duration]
    if not times:
        raise PlantError("no UTC midnight with hours of the period on both sides")
    t = times[int(p.rng.integers(len(times)))]
    k = _pick(p, used)
    r = _rows(p)
    from seawatch.sim.fleet import CATEGORIES

    style = CATEGORIES[r["category"][k]].names
    new_name = _unique(_vessel_name(p.rng, style), p.fleet._used_names)
    mid = int(r["mmsi"][k]) // 1_000_000
    ident.changes.append({"track": k, "t": t, "name": new_name,
                          "callsign": _callsign(p.rng, mid)})
    p.intent("identity_change", "identity_changer", [k], t, float(p.duration),
             old_name=r["name"][k], new_name=new_name)


def _garbled(p: Planter, ident: IdentityPlan, used: set[int], listed_name: str | None) -> None:
    k = _pick(p, used)
    name = _rows(p)["name"][k]
    t0 = p.uniform(H, p.duration - 2 * H)
    value = listed_name or _garble(p, name)
    ident.garbles.append({"track": k, "t0": t0, "t1": t0 + 360.0, "name": value})
    kinds = ["identity_change"] + (["watchlist_hit"] if listed_name else [])
    for kind in kinds:
        p.negative(kind, "garbled_static", [k], t0, t0 + 360.0, 0.0, 0.0,
                   reason="garbled_static", garbled_name=value)


def _listed(p: Planter, ident: IdentityPlan, used: set[int], by: str) -> None:
    from seawatch.sim.fleet import _unique, _vessel_name

    k = _pick(p, used)
    r = _rows(p)
    if by == "imo" and (r["cls"][k] != "A" or r["imo"][k] < 0):
        raise PlantError("no IMO number to list")
    mmsi = int(r["mmsi"][k])
    flag = _flag(mmsi)
    entry: dict[str, Any] = {"list": LIST_NAME, "source": "seawatch sim",
                             "reason": f"planted: listed by {by}"}
    if by == "mmsi":
        entry.update(mmsi=mmsi, name=r["name"][k], flag=flag)
    elif by == "imo":
        entry.update(imo=int(r["imo"][k]),
                     name=_unique(_vessel_name(p.rng, "merchant"), p.fleet._used_names))
    else:
        entry.update(name=_variant(r["name"][k]), flag=flag)
    ident.entries.append({**entry, "track": k})
    ident.listed.append({"track": k, "by": by})
    p.intent("watchlist_hit", f"listed_by_{by}", [k], 0.0, float(p.duration), by=by)


def _lookalike(p: Planter, ident: IdentityPlan, used: set[int]) -> None:
    k = _pick(p, used)
    r = _rows(p)
    name = _sister(p, r["name"][k])
    if name in p.fleet._used_names:
        raise PlantError("the look-alike's name is a vessel of the scenario")
    ident.entries.append({"list": LIST_NAME, "source": "seawatch sim", "name": name,
                          "flag": _flag(int(r["mmsi"][k])),
                          "reason": "planted: a look-alike of a vessel at sea",
                          "track": None})
    p.negative("watchlist_hit", "lookalike", [k], 0.0, float(p.duration), 0.0, 0.0,
               reason="lookalike", listed=name, vessel_name=r["name"][k])


def _absent(p: Planter, ident: IdentityPlan) -> str:
    """A listed vessel that is not at sea; its name."""
    from seawatch.sim.fleet import _unique, _vessel_name

    name = _unique(_vessel_name(p.rng, "longliner"), p.fleet._used_names)
    ident.entries.append({"list": LIST_NAME, "source": "seawatch sim", "name": name,
                          "flag": "PAN", "reason": "planted: not at sea", "track": None})
    return name


def _flag(mmsi: int) -> str | None:
    from seawatch.io.identity import mid_table

    return mid_table().get(mmsi // 1_000_000)


def _crossing(p: Planter, role: str, kn: tuple[float, float], mmsi: int | None = None) -> int:
    """A cargo ship crossing the high seas outside every zone, watched (heard) throughout."""
    v, _, pts = p.high_seas_crossing(kn)
    track = p.new_track("cargo", role, mmsi=mmsi, speed=v)
    cur = p.legs.cursor(track, -H, *pts[0])
    p.follow(cur, pts[1:], p.duration + H)
    p.force(track, 0.0, float(p.duration))
    return track


def _unallocated_mid() -> int:
    from seawatch.io.identity import mid_table

    return next(m for m in range(200, 800) if m not in mid_table())


def _invalid(p: Planter, ident: IdentityPlan, kind: str, k: int) -> None:
    if kind == "placeholder":
        mmsi = (123456789, 111111111, 999999999)[(k // 3) % 3]
    elif kind == "short":
        mmsi = 7_350_000 + int(p.rng.integers(1, 9999))
    else:
        mmsi = _unallocated_mid() * 1_000_000 + int(p.rng.integers(1, 999_999))
    track = _crossing(p, "invalid_mmsi", (10.0, 14.0), mmsi=mmsi)
    ident.invalid.append({"track": track, "kind": kind})
    p.intent("invalid_identity", f"invalid_mmsi_{kind}", [track], 0.0, float(p.duration),
             kind=kind)


def _liar(p: Planter, ident: IdentityPlan) -> None:
    length = p.draw_length(*LIAR_H, 2.0 * H)
    t_a = p.window_start(length, margin=1.5 * H)
    lat, lon = p.site(("high_seas_south", "high_seas_west", "corridor"), t0=t_a,
                      t1=t_a + length, mask=0, clear_km=10.0)
    track = p.new_track("cargo", "type_liar")
    cur = p.arrive(track, (lat, lon), t_a, p.cruise_speed(track), outside=all_zones(p.world))
    p.wander(cur, (lat, lon), LIAR_RADIUS_KM, t_a + length, LIAR_KN)
    p.depart(cur, p.cruise_speed(track), outside=all_zones(p.world))
    p.force(track, t_a - H, t_a + length + H)
    ident.liars.append(track)
    p.intent("type_mismatch", "type_liar", [track], t_a, t_a + length, hours=length / H)


def _slow_steamer(p: Planter) -> None:
    track = _crossing(p, "slow_steamer", SLOW_KN)
    p.negative("type_mismatch", "slow_steamer", [track], 0.0, float(p.duration), 0.0, 0.0,
               reason="slow_steamer")


def plant_identities(p: Planter, plan: ArtefactPlan, n: int) -> None:
    """Plant ``n`` of each case of the module docstring into ``p``; a case that finds no
    place is listed in the plan's ``skipped``."""
    ident = IdentityPlan()
    plan.identity = ident
    used: set[int] = set()
    steps: list[tuple[str, Any]] = []
    for k in range(n):
        steps += [
            ("identity_changer", lambda: _changer(p, ident, used)),
            ("garbled_static", lambda: _garbled(p, ident, used, None)),
            ("listed_by_mmsi", lambda: _listed(p, ident, used, "mmsi")),
            ("listed_by_imo", lambda: _listed(p, ident, used, "imo")),
            ("listed_by_name", lambda: _listed(p, ident, used, "name")),
            ("lookalike", lambda: _lookalike(p, ident, used)),
            ("garbled_listed_name", lambda: _garbled(p, ident, used, _absent(p, ident))),
            (f"invalid_mmsi_{INVALID_MMSIS[k % 3]}",
             lambda k=k: _invalid(p, ident, INVALID_MMSIS[k % 3], k)),
            ("type_liar", lambda: _liar(p, ident)),
            ("slow_steamer", lambda: _slow_steamer(p)),
        ]
    for name, run in steps:
        before = (p.fleet.n, p.legs.n, len(p.overrides))
        n_neg, n_int = len(p.negatives), len(p.intents)
        sizes = {k: len(v) for k, v in ident.__dict__.items()}
        try:
            run()
        except PlantError as exc:
            p.rollback(before)
            del p.negatives[n_neg:]
            del p.intents[n_int:]
            for key, size in sizes.items():
                del getattr(ident, key)[size:]
            plan.skipped.append(f"{name}: {exc}")


def apply_to_statics(frame: pl.DataFrame, ident: IdentityPlan) -> pl.DataFrame:
    """Static report rows (``track``, ``t`` and the VESSELS columns) as the changers and
    the garbled reports make them: a changer's name and call sign from its change on (where
    the row carries them), a garbled report's name in its window."""
    import polars as pl

    if frame.height == 0 or not (ident.changes or ident.garbles):
        return frame
    name, callsign = pl.col("name"), pl.col("callsign")
    for c in ident.changes:
        after = (pl.col("track") == c["track"]) & (pl.col("t") >= c["t"])
        name = pl.when(after & pl.col("name").is_not_null()).then(pl.lit(c["name"])) \
            .otherwise(name)
        callsign = pl.when(after & pl.col("callsign").is_not_null()) \
            .then(pl.lit(c["callsign"])).otherwise(callsign)
    for g in ident.garbles:
        inside = ((pl.col("track") == g["track"]) & (pl.col("t") >= g["t0"])
                  & (pl.col("t") < g["t1"]) & pl.col("name").is_not_null())
        name = pl.when(inside).then(pl.lit(g["name"])).otherwise(name)
    return frame.with_columns(name.alias("name"), callsign.alias("callsign"))


def watchlist_frame(ident: IdentityPlan) -> pl.DataFrame:
    """The generated watchlist (``watchlist.csv``): ``name``, ``imo``, ``callsign``,
    ``mmsi``, ``flag``, ``list``, ``source``, ``reason``, in the order planted."""
    import polars as pl

    cols = ("name", "imo", "callsign", "mmsi", "flag", "list", "source", "reason")
    schema = {"name": pl.String, "imo": pl.Int64, "callsign": pl.String, "mmsi": pl.Int64,
              "flag": pl.String, "list": pl.String, "source": pl.String, "reason": pl.String}
    return pl.DataFrame([{c: e.get(c) for c in cols} for e in ident.entries],
                        schema=schema, orient="row")

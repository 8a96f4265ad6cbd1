"""Benchmark: raising alerts for a large events table and listing them.

``--events N`` random events (default 100,000: types, vessels, times, positions and scores
drawn with ``--seed``) are matched against two rules, one with no criterion (every event)
and one of gaps scoring at least 0.3, in a fresh SQLite state (``--state URL`` for another
database, e.g. PostgreSQL). Timed:

- ``first``: :func:`seawatch.share.alerts.raise_alerts` on a state without alerts (all new);
- ``again``: the same events again (nothing new, nothing changed: the idempotent re-raise
  a re-run of ``seawatch detect`` makes);
- ``grown``: every event ending an hour later (every alert's copy updated);
- ``page host`` / ``page partner``: one page of 100 alerts
  (:func:`seawatch.share.alerts.alert_page`) for the host (paged in SQL) and for a partner
  agency without grants (the events' policy over every candidate alert first);
- ``live whole`` / ``live changed``: a live detection run's raise
  (:func:`seawatch.share.alerts.raise_for_store` on a store holding the events, its state
  in the store, the events table read from the store each time) after a run that grew
  ``--changed`` events and found as many new ones: over the whole events table (as the live
  service raised before), and only the new or changed events (:class:`Raised`, primed by a
  first, full raise), each on its own fresh change.

Run: ``PYTHONPATH=. .venv/bin/python bench/alerts.py --events 100000``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl


def random_events(n: int, seed: int) -> pl.DataFrame:
    """``n`` events of :data:`seawatch.schema.EVENTS` over the Ecuador region."""
    from seawatch import schema

    rng = np.random.default_rng(seed)
    t0 = datetime(2026, 1, 15, tzinfo=UTC)
    start = [t0 - timedelta(hours=float(h)) for h in rng.uniform(0, 24 * 20, n)]
    frame = pl.DataFrame({
        "event_id": [f"r{k}" for k in range(n)],
        "type": rng.choice(np.array(schema.EVENT_TYPES), n).tolist(),
        "mmsi": (735000000 + rng.integers(0, 5000, n)).tolist(),
        "start": start,
        "end": [s + timedelta(hours=float(h)) for s, h in
                zip(start, rng.uniform(0, 30, n), strict=True)],
        "lat": rng.uniform(-4.0, 3.0, n),
        "lon": rng.uniform(-95.0, -78.0, n),
        "score": rng.random(n),
    })
    return schema.conform(frame, schema.EVENTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--changed", type=int, default=10, help="Events grown, and events "
                        "new, in a live run (the live phases).")
    parser.add_argument("--state", default=None, help="State database URL (default: a "
                        "fresh SQLite file).")
    args = parser.parse_args()

    from seawatch.share.accounts import add_agency, init_state
    from seawatch.share.alerts import add_rule, alert_page, raise_alerts
    from seawatch.share.db import open_state
    from seawatch.share.policy import access_for
    from seawatch.share.roles import Principal

    events = random_events(args.events, args.seed)
    state = open_state(args.state or f"sqlite:///{tempfile.mkdtemp()}/state.db")
    init_state(state, "HOST")
    add_agency(state, "PARTNER")
    add_rule(state, "every event")
    add_rule(state, "gaps", event_types=["gap"], min_score=0.3)
    grown = events.with_columns(pl.col("end") + timedelta(hours=1))
    for label, frame in (("first", events), ("again", events), ("grown", grown)):
        started = time.perf_counter()
        result = raise_alerts(state, frame)
        print(f"{label:14} {time.perf_counter() - started:7.2f} s  {result.as_json()}")
    partner = access_for(state, Principal(0, "p", "PARTNER", "partner_viewer"))
    for label, access in (("page host", None), ("page partner", partner)):
        started = time.perf_counter()
        total, page = alert_page(state, access, limit=100)
        print(f"{label:14} {time.perf_counter() - started:7.2f} s  total {total:,}, "
              f"{len(page)} on the page")
    state.close()
    live(events, args.changed)


def live(events: pl.DataFrame, changed: int) -> None:
    """The ``live`` phases (module docstring)."""
    from pathlib import Path

    from seawatch.share.accounts import init_state
    from seawatch.share.alerts import Raised, add_rule, raise_for_store
    from seawatch.share.db import open_state
    from seawatch.store import Store

    path = Path(tempfile.mkdtemp()) / "store"
    st = Store(path)
    state = open_state(path)
    init_state(state, "HOST")
    add_rule(state, "every event")
    add_rule(state, "gaps", event_types=["gap"], min_score=0.3)
    state.close()

    def record(*_: object) -> None:  # the audit entry costs the same either way
        pass

    raised = Raised()
    st.write_events(events)
    started = time.perf_counter()
    raise_for_store(path, st, st.events().collect(), record, raised)
    print(f"{'live first':14} {time.perf_counter() - started:7.2f} s  (all new, {raised.count:,}"
          " events)")
    for round_, label in enumerate(("live changed", "live whole")):
        grow = pl.int_range(pl.len()).is_between(round_ * changed, (round_ + 1) * changed - 1)
        current = st.events().collect()
        fresh = current.head(changed).with_columns(
            (pl.col("event_id") + f"-new{round_}").alias("event_id"))
        current = pl.concat([current.with_columns(
            pl.when(grow).then(pl.col("end") + timedelta(hours=1)).otherwise(pl.col("end"))
            .alias("end")), fresh])
        st.write_events(current)
        started = time.perf_counter()
        result = raise_for_store(path, st, st.events().collect(), record,
                                 raised if label == "live changed" else None)
        assert result is not None
        print(f"{label:14} {time.perf_counter() - started:7.2f} s  {result.as_json()}")


if __name__ == "__main__":
    main()

"""What every reader returns: the canonical tables of one input plus what went wrong."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import polars as pl

from seawatch import schema
from seawatch.io.quarantine import QuarantineLog


@dataclass
class ReadResult:
    """Tables decoded from one or more inputs, with quarantine counts and statistics.

    ``quarantine`` holds a bounded sample of bad lines (see ``QuarantineLog``); the exact
    number per reason is in ``quarantine_counts``. ``stats`` counts what was read:
    ``lines``, ``sentences``, ``messages``, ``msg_type_N`` for each AIS message type, ...
    """

    positions: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.POSITIONS))
    vessels: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.VESSELS))
    stations: pl.DataFrame = field(default_factory=lambda: schema.empty(schema.STATIONS))
    other_messages: pl.DataFrame = field(
        default_factory=lambda: schema.empty(schema.OTHER_MESSAGES)
    )
    quarantine_log: QuarantineLog = field(default_factory=QuarantineLog)
    stats: Counter[str] = field(default_factory=Counter)
    sources: list[str] = field(default_factory=list)

    @property
    def quarantine(self) -> pl.DataFrame:
        return self.quarantine_log.frame()

    @property
    def quarantine_counts(self) -> Counter[str]:
        return self.quarantine_log.counts

    def tables(self) -> dict[str, pl.DataFrame]:
        return {
            "positions": self.positions,
            "vessels": self.vessels,
            "stations": self.stations,
            "other_messages": self.other_messages,
        }

    @classmethod
    def concat(cls, results: list[ReadResult]) -> ReadResult:
        """Join results of several inputs into one."""
        if not results:
            return cls()
        sample = max(r.quarantine_log.sample_per_reason for r in results)
        out = cls(quarantine_log=QuarantineLog(sample))
        for name in ("positions", "vessels", "stations", "other_messages"):
            frames = [getattr(r, name) for r in results if getattr(r, name).height]
            if len(frames) == 1:
                setattr(out, name, frames[0])
            elif frames:
                setattr(out, name, pl.concat(frames, how="vertical"))
            else:
                setattr(out, name, getattr(results[0], name))
        for r in results:
            out.quarantine_log.merge(r.quarantine_log)
            out.stats.update(r.stats)
            out.sources.extend(r.sources)
        return out

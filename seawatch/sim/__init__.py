"""Simulated maritime traffic for demos, tests and benchmarks.

``simulate_traffic`` builds the canonical tables directly; ``write_scenario`` writes them as
the NMEA capture a receiver would log, ready for ``seawatch ingest``.

>>> from seawatch.sim import simulate_traffic
>>> positions, vessels = simulate_traffic(seed=3, hours=0.25, vessels=4)
>>> positions.height > 0 and vessels.height > 0
True
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from seawatch.sim.traffic import DEFAULT_START, SOURCE, simulate_traffic

__all__ = ["simulate_traffic", "write_scenario"]


def write_scenario(
    out_dir: str | Path,
    seed: int,
    hours: float,
    vessels: int,
    *,
    start: datetime = DEFAULT_START,
) -> dict[str, Path]:
    """Simulate traffic and write it as an NMEA capture with tag blocks.

    Parameters
    ----------
    out_dir
        Directory to write into (created if missing).
    seed, hours, vessels, start
        As for :func:`simulate_traffic`.

    Returns
    -------
    dict[str, Path]
        ``{"nmea": out_dir / "traffic.nmea"}``: every position and identity report as
        ``\\s:seawatch-sim,c:<unix seconds>*hh\\!AIVDM,...`` lines in time order.

    Examples
    --------
    >>> import tempfile
    >>> from seawatch.io.nmea import read_nmea
    >>> paths = write_scenario(tempfile.mkdtemp(), seed=3, hours=0.25, vessels=4)
    >>> positions, _ = simulate_traffic(seed=3, hours=0.25, vessels=4)
    >>> read_nmea(paths["nmea"]).positions.equals(positions)
    True
    """
    from seawatch.io.nmea.encode import write_nmea

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    positions, identities = simulate_traffic(seed, hours, vessels, start=start)
    path = out / "traffic.nmea"
    write_nmea(path, positions, identities, tag_blocks=True, source=SOURCE)
    return {"nmea": path}

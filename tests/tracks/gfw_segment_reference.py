"""Load GFW gpsdio-segment regression fixtures and compare partitions of position messages.

Used by ``test_segment_parity.py`` and to write ``docs/parity-gfw-segment-gaps.md``
(``python -m tests.tracks.gfw_segment_reference`` prints the per-file table).

The reference gives every message it emits a segment id (field ``expected``); messages it
filtered (duplicates) have ``null``. We compare the partitions of the *position* messages the
reference kept (types 1, 2, 3, 18, 19, 27 with a position), treating ids as opaque labels.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import polars as pl

POSITION_TYPES = {"AIS.1": 1, "AIS.2": 2, "AIS.3": 3, "AIS.18": 18, "AIS.19": 19, "AIS.27": 27}


def _num(v: object) -> float | None:
    if v is None:
        return None
    f = float(v)  # type: ignore[arg-type]
    return None if math.isnan(f) else f


def load_regression(folder: Path) -> pl.DataFrame:
    """Position messages the reference kept, as a positions table plus ``file``,
    ``expected`` (reference segment label), ``reported_speed`` (the raw speed field) and
    ``row`` (input order)."""
    rows = []
    for path in sorted(folder.glob("regr_*.json.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d["type"] not in POSITION_TYPES or d["expected"] is None:
                    continue
                lat, lon = _num(d["lat"]), _num(d["lon"])
                if lat is None or lon is None:
                    continue
                heading = _num(d["heading"])
                speed, course = _num(d["speed"]), _num(d["course"])
                rows.append(
                    {
                        "file": path.name,
                        "mmsi": int(d["ssvid"]),
                        "ts": d["timestamp"],
                        "lat": lat,
                        "lon": lon,
                        # as seawatch.io decodes them: 102.3 kn and 360 deg are "not available"
                        "sog": None if speed is None or speed > 102.25 else speed,
                        "cog": None if course is None or course >= 360 else course,
                        "reported_speed": speed,
                        "heading": None if heading is None or heading >= 511 else heading,
                        "msg_type": POSITION_TYPES[d["type"]],
                        "source": d.get("receiver_type"),
                        "expected": d["expected"],
                    }
                )
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(
        pl.col("ts").str.to_datetime(time_zone="UTC", time_unit="us"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("row"),
    )


def adjusted_rand_index(a: np.ndarray, b: np.ndarray) -> float:
    """Adjusted Rand index of two labelings of the same items (Hubert & Arabie 1985)."""
    frame = pl.DataFrame({"a": a, "b": b})

    def pairs(counts: pl.Series) -> float:
        c = counts.cast(pl.Float64).to_numpy()
        return float((c * (c - 1) / 2).sum())

    n = frame.height
    total = n * (n - 1) / 2
    both = pairs(frame.group_by("a", "b").len()["len"])
    sa = pairs(frame.group_by("a").len()["len"])
    sb = pairs(frame.group_by("b").len()["len"])
    if total == 0:
        return 1.0
    expected = sa * sb / total
    top = 0.5 * (sa + sb)
    if top == expected:
        return 1.0
    return (both - expected) / (top - expected)


def compare(ref: pl.DataFrame, ours: pl.DataFrame) -> dict[str, float]:
    """Agreement of two partitions of the same messages.

    ``ref`` and ``ours`` have ``row``, ``ts`` and a label column (``expected`` /
    ``segment_id``). Returns the adjusted Rand index, and over consecutive messages (in time
    order): the fraction whose same/different-segment status agrees, and the precision and
    recall of seawatch's "same segment" against the reference's.
    """
    joined = (
        ref.select("row", "mmsi", "ts", "expected")
        .join(ours.select("row", "segment_id"), on="row", how="inner")
        .sort("mmsi", "ts", "row")
    )
    a = joined["expected"].to_numpy()
    b = joined["segment_id"].to_numpy()
    same_ref = a[1:] == a[:-1]
    same_ours = b[1:] == b[:-1]
    both = int((same_ref & same_ours).sum())
    return {
        "n": float(joined.height),
        "ari": adjusted_rand_index(a, b),
        "consecutive_agree": float((same_ref == same_ours).mean()) if len(a) > 1 else 1.0,
        "same_precision": both / max(int(same_ours.sum()), 1),
        "same_recall": both / max(int(same_ref.sum()), 1),
    }


def per_file(positions: pl.DataFrame, segmented: pl.DataFrame) -> pl.DataFrame:
    """:func:`compare` per fixture file, plus the reference's segment counts."""
    rows = []
    for (name,), ref in positions.group_by("file", maintain_order=True):
        ours = segmented.filter(pl.col("file") == name)
        stats = compare(ref, ours)
        sizes = ref.group_by("expected").len()["len"]
        ours_sizes = ours.group_by("segment_id").len()["len"]
        rows.append(
            {
                "file": name,
                **stats,
                "ref_segments_2plus": int((sizes >= 2).sum()),
                "ref_singletons": int((sizes == 1).sum()),
                "ours_segments_2plus": int((ours_sizes >= 2).sum()),
                "ours_singletons": int((ours_sizes == 1).sum()),
            }
        )
    return pl.DataFrame(rows)


if __name__ == "__main__":  # pragma: no cover - report helper
    import time

    from seawatch.tracks import segment
    from tests.conftest import SHARED_DATA

    pos = load_regression(SHARED_DATA / "reference" / "gfw-segment" / "regression")
    t = time.perf_counter()
    seg = segment(pos)
    print(f"{pos.height} positions segmented in {time.perf_counter() - t:.2f} s")
    table = per_file(pos, seg)
    with pl.Config(tbl_rows=100, tbl_cols=20, tbl_width_chars=200):
        print(table.sort("ari"))
    print("overall", compare(pos, seg))
    big = pos.join(pos.group_by("expected").len(), on="expected").filter(pl.col("len") >= 2)
    print("excluding reference singletons", compare(big, seg))

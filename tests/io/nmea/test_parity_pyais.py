"""Parity of ``read_nmea`` with pyais 3.3.1 on every NMEA file of shared/data.

For each file, pyais (through :mod:`tests.io.nmea.pyais_oracle`) and seawatch decode the same
bytes. Messages are aligned on (line of the first fragment, message type, MMSI, order) and
every field seawatch outputs is compared. Where the two differ, the difference must be one of
the documented exceptions of ``docs/nmea.md``, each checked precisely:

- coordinates: seawatch keeps raw/600000 (raw/600 in message 27) exactly; pyais rounds to
  1e-6. So ``round(ours, 6) == pyais`` and ``ours * 600000`` is an integer.
- "not available" codes are null in seawatch (latitude 91, longitude 181, speed 102.3
  (63 in message 27), course 360 and above, heading 360-511, IMO 0, dimensions 0,
  draught 0); speeds and courses are float32 (``ours == float32(pyais)``).
- ship type: seawatch keeps the raw ITU code; pyais maps codes it has no name for to 0 or to
  a category (38 -> 0, 57 -> 56): ``ours`` equals the payload's bits and pyais's enum of it.
- text: seawatch strips the padding at the end of a text field whatever its mix of '@' and
  spaces; pyais strips '@' only where it ends the field, so it keeps ``"@@@@@@@@@@@@"`` of a
  destination padded ``"@@@@@@@@@@@@        "``.
- name of an aid to navigation (message 21): seawatch follows ITU-R M.1371-5 table 74 (the
  extension continues a full 20-character name, up to its first '@'); pyais strips both
  parts and joins them (``LB`` + `` 6`` -> ``LB6``, ``NORTH@@`` + ``>S+>N`` -> ``NORTH>S+>NG``).
- seawatch quarantines what pyais decodes anyway: sentences with a wrong or missing checksum,
  messages shorter than their type (the bit count is asserted below the type's length),
  positions no report can carry (|lat| > 90, |lon| > 180), message types 0 and 28-63.

The set of messages is compared too: every sentence, message, orphan fragment and incomplete
group pyais sees is either a row of seawatch's tables or a quarantine entry with the expected
reason and line, and nothing else is.

Run ``python -m tests.io.nmea.test_parity_pyais`` to print the summary table of docs/nmea.md.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pyais.constants import ShipType

from seawatch.io.nmea import read_nmea
from tests.conftest import SHARED_DATA, shared_data_path
from tests.io.nmea import pyais_oracle as oracle
from tests.io.nmea.pyais_oracle import DEFAULT_TIME, NMEA_FILES

KEY = ["line_no", "msg_type", "mmsi", "k"]


def _keyed(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``k``, the order of a row among rows with the same line, type and MMSI."""
    frame = frame.with_columns(pl.col("msg_type").cast(pl.Int64), pl.col("mmsi").cast(pl.Int64))
    return frame.with_columns(k=pl.int_range(pl.len()).over(["line_no", "msg_type", "mmsi"]))


def _align(theirs: pl.DataFrame, ours: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rows of both sides joined on KEY; asserts that each side has exactly the other's rows."""
    if theirs.is_empty():
        assert ours.is_empty(), f"{table}: seawatch has {ours.height} rows pyais does not"
        return pl.DataFrame()
    theirs, ours = _keyed(theirs), _keyed(ours)
    only_theirs = theirs.join(ours, on=KEY, how="anti")
    only_ours = ours.join(theirs, on=KEY, how="anti")
    assert only_theirs.is_empty(), f"{table}: pyais rows missing in seawatch:\n{only_theirs}"
    assert only_ours.is_empty(), f"{table}: seawatch rows pyais lacks:\n{only_ours}"
    assert theirs.height == ours.height
    return theirs.join(ours, on=KEY, suffix="_sw")


def _eq(ours: str, expected: pl.Expr) -> pl.Expr:
    """ours == expected, with null == null."""
    return pl.col(ours).eq_missing(expected)


def _null_if(col: str, condition: pl.Expr) -> pl.Expr:
    return pl.when(condition).then(None).otherwise(pl.col(col))


def _check(frame: pl.DataFrame, checks: dict[str, pl.Expr], table: str) -> None:
    """Assert every check holds on every row; show the failing rows otherwise."""
    result = frame.with_columns(**{f"ok_{k}": v for k, v in checks.items()})
    for name in checks:
        bad = result.filter(~pl.col(f"ok_{name}"))
        assert bad.is_empty(), f"{table}.{name} differs from pyais beyond the exceptions:\n{bad}"


def _coords(frame: pl.DataFrame, table: str, counts: Counter[str]) -> None:
    """Latitude/longitude: null for 91/181; else exact raw/600000 that pyais rounds to 1e-6."""
    checks = {}
    for c, na in (("lat", 91.0), ("lon", 181.0)):
        ours = pl.col(f"{c}_sw")
        checks[c] = pl.when(pl.col(c) == na).then(ours.is_null()).otherwise(
            ours.round(6) == pl.col(c)
        )
        # and exactly raw / scale for an integer raw value (numpy: IEEE division)
        values = frame[f"{c}_sw"].drop_nulls().to_numpy()
        scale = np.where(frame.filter(pl.col(f"{c}_sw").is_not_null())["msg_type"] == 27,
                         600.0, 600_000.0)
        exact = np.round(values * scale) / scale == values
        assert exact.all(), f"{table}.{c} not raw/600000: {values[~exact][:5]}"
    _check(frame, checks, table)
    counts["coords_not_rounded"] += frame.filter(
        (pl.col("lat_sw") != pl.col("lat")) | (pl.col("lon_sw") != pl.col("lon"))
    ).height
    na = (pl.col("lat") == 91) | (pl.col("lon") == 181)
    counts["na_position_null"] += frame.filter(na).height


def compare_positions(theirs: pl.DataFrame, ours: pl.DataFrame, counts: Counter[str]) -> None:
    m = _align(theirs, ours, "positions")
    if m.is_empty():
        return
    _coords(m, "positions", counts)
    t27 = pl.col("msg_type") == 27
    sog_na = pl.when(t27).then(pl.col("sog") == 63).otherwise(pl.col("sog") == 102.3)
    cog_na = pl.col("cog") >= 360  # raw 3600-4095 (message 27: raw 360-511)
    hdg_na = pl.col("heading") >= 360  # 511 "not available", 360-510 out of range
    _check(m, {
        "sog": _eq("sog_sw", _null_if("sog", sog_na).cast(pl.Float32)),
        "cog": _eq("cog_sw", _null_if("cog", cog_na).cast(pl.Float32)),
        "heading": _eq("heading_sw", _null_if("heading", hdg_na).cast(pl.Int16)),
        "nav_status": _eq("nav_status_sw", pl.col("nav_status").cast(pl.Int8)),
        "accuracy": _eq("accuracy_sw", pl.col("accuracy")),
        "second": _eq("second_sw", pl.col("second").cast(pl.Int8)),
    }, "positions")
    assert m.schema["sog_sw"] == pl.Float32 and m.schema["cog_sw"] == pl.Float32
    counts["na_sog_null"] += m.filter(sog_na).height
    counts["na_cog_null"] += m.filter(cog_na).height
    counts["na_heading_null"] += m.filter(hdg_na.fill_null(False)).height
    counts["matched"] += m.height


def compare_vessels(theirs: pl.DataFrame, ours: pl.DataFrame, counts: Counter[str]) -> None:
    m = _align(theirs, ours, "vessels")
    if m.is_empty():
        return
    length = pl.col("to_bow") + pl.col("to_stern")
    width = pl.col("to_port") + pl.col("to_starboard")

    def text(c: str) -> pl.Expr:
        """pyais's text without the padding it leaves at the end ('@' after spaces)."""
        clean = pl.col(c).str.strip_chars_end("@ ").str.strip_chars_start(" ")
        return pl.when(clean != "").then(clean)

    ship_enum = pl.col("ship_type_sw").map_elements(
        lambda v: int(ShipType.from_value(v)), return_dtype=pl.Int64
    )
    _check(m, {
        "imo": _eq("imo_sw", _null_if("imo", pl.col("imo") == 0)),
        "callsign": _eq("callsign_sw", text("callsign")),
        "name": _eq("name_sw", text("name")),
        "destination": _eq("destination_sw", text("destination")),
        "ship_type": _eq("ship_type_sw", pl.col("ship_type_bits").cast(pl.Int16))
        & pl.when(pl.col("msg_type") == 24).then(_eq("ship_type_sw", pl.col("ship_type")))
        .otherwise(ship_enum.eq_missing(pl.col("ship_type"))),
        "length": _eq("length", pl.when(length > 0).then(length).cast(pl.Float32)),
        "width": _eq("width", pl.when(width > 0).then(width).cast(pl.Float32)),
        "draught": _eq("draught_sw", _null_if("draught", pl.col("draught") == 0)
                       .cast(pl.Float32)),
    }, "vessels")
    counts["ship_type_raw"] += m.filter(pl.col("ship_type_sw") != pl.col("ship_type")).height
    counts["text_padding"] += m.filter(pl.any_horizontal(
        ~pl.col(f"{c}_sw").eq_missing(_null_if(c, pl.col(c) == ""))
        for c in ("callsign", "name", "destination")
    )).height
    counts["na_imo_null"] += m.filter(pl.col("imo") == 0).height
    counts["na_dims_null"] += m.filter((length == 0) | (width == 0)).height
    counts["na_draught_null"] += m.filter(pl.col("draught") == 0).height
    counts["matched"] += m.filter(pl.col("msg_type") != 19).height  # 19 counted in positions


def compare_stations(theirs: pl.DataFrame, ours: pl.DataFrame, counts: Counter[str]) -> None:
    m = _align(theirs, ours, "stations")
    if m.is_empty():
        return
    _coords(m, "stations", counts)
    spec_name = pl.struct("name20", "name_ext_raw").map_elements(
        lambda r: oracle.aton_name(r["name20"], r["name_ext_raw"]) if r["name20"] else None,
        return_dtype=pl.String,
    )
    _check(m, {
        "name": _eq("name_sw", spec_name),
        "aid_type": _eq("aid_type_sw", pl.col("aid_type").cast(pl.Int8)),
        "station_time": _eq("station_time_sw", pl.col("station_time")),
    }, "stations")
    pyais_name = _null_if("name", pl.col("name") == "")
    counts["aton_name_spec"] += m.filter(~pl.col("name_sw").eq_missing(pyais_name)).height
    counts["matched"] += m.height


def compare_others(theirs: pl.DataFrame, ours: pl.DataFrame, counts: Counter[str]) -> None:
    cols = ["line_no", "msg_type", "mmsi", "payload", "fill_bits"]
    if theirs.is_empty():
        assert ours.is_empty(), f"other_messages: seawatch has {ours.height} rows pyais lacks"
        return
    a = Counter(theirs.select(cols).cast({"msg_type": pl.Int64, "fill_bits": pl.Int64}).rows())
    b = Counter(ours.select(cols).cast({"msg_type": pl.Int64, "fill_bits": pl.Int64}).rows())
    assert a == b, f"other_messages differ: pyais only {a - b}, seawatch only {b - a}"
    counts["matched"] += ours.height


def parity(path: Path) -> Counter[str]:
    """Compare seawatch with pyais on one file (asserting); the counts of the summary."""
    o = oracle.run(oracle.read_bytes(path))
    r = read_nmea(path, line_numbers=True, default_time=DEFAULT_TIME, quarantine_sample=10**7)
    counts: Counter[str] = Counter()

    # every line, sentence and message is accounted for, with the same reason
    assert r.stats["sentences"] == len(o.sentences)
    n_empty = sum(m.error == "MissingPayloadException" for m in o.messages)
    assert r.stats["messages"] == len(o.messages) - n_empty
    quarantined = Counter(zip(r.quarantine["line_no"], r.quarantine["reason"], strict=True))
    expected = oracle.expected_quarantine(o)
    assert quarantined == expected, (
        f"quarantine differs: seawatch only {quarantined - expected}, "
        f"expected only {expected - quarantined}"
    )
    assert sum(r.quarantine_counts.values()) == sum(expected.values())

    # the fields of every message both decode
    theirs = oracle.frames(o)
    compare_positions(theirs["positions"], r.positions, counts)
    compare_vessels(theirs["vessels"], r.vessels, counts)
    compare_stations(theirs["stations"], r.stations, counts)
    compare_others(theirs["other_messages"], r.other_messages, counts)

    # what pyais decodes and seawatch quarantines, each with its reason checked
    for m in o.messages:
        verdict = oracle.verdict(m)
        if verdict == "wrong_length":
            assert m.nbits < oracle.min_bits(m)
        elif verdict == "impossible_value" and m.error is None:
            assert m.msg_type == 0 or m.msg_type > 27 or not oracle.lat_lon_range_ok(m)
        counts[verdict if m.error is None else "pyais_error"] += 1
    counts["sentences"] = len(o.sentences)
    counts["bad_checksum"] = sum(oracle.sentence_reason(s) == "bad_checksum"
                                 for s in o.sentences)
    counts["no_checksum"] = sum(s.parsed is not None and oracle.sentence_reason(s) == "malformed"
                                for s in o.sentences)
    counts["pyais_rejected"] = len(o.rejected)
    counts["pyais_decoded"] = len(o.decoded)
    counts["orphan_fragment"] = len(o.orphans)
    counts["incomplete_group"] = len(o.incomplete)
    return counts


@pytest.mark.parametrize("name", NMEA_FILES)
def test_parity_with_pyais(name: str) -> None:
    counts = parity(shared_data_path(*name.split("/")))
    assert counts["matched"] == counts["decoded"] + counts["other_messages"]
    assert counts["pyais_decoded"] == (counts["matched"] + counts["wrong_length"]
                                       + counts["impossible_value"])


WRONG_LENGTH = {  # file -> (line, type, bits pyais decodes, shortest seawatch decodes)
    "ais-nmea/dma-aislib/small_example.txt": [(1, 24, 158, 160)],  # part A
    "ais-edge-cases/gfw-ais-tools/bad-type5.nmea": [(2, 5, 400, 420)],
    "ais-edge-cases/libais/test.aivdm": [
        (311, 27, 88, 94), (312, 27, 56, 94), (314, 27, 48, 94), (315, 27, 80, 94),
        (319, 27, 64, 94), (322, 27, 80, 94), (324, 27, 48, 94),
    ],
}


@pytest.mark.parametrize("name", sorted(WRONG_LENGTH))
def test_wrong_length_messages_are_short(name: str) -> None:
    """Every message seawatch quarantines as wrong_length, with its bit count."""
    path = shared_data_path(*name.split("/"))
    o = oracle.run(oracle.read_bytes(path))
    short = [(m.line_no, m.msg_type, m.nbits, oracle.min_bits(m)) for m in o.messages
             if oracle.verdict(m) == "wrong_length"]
    assert short == WRONG_LENGTH[name]
    assert all(bits < needed for _, _, bits, needed in short)
    r = read_nmea(path, line_numbers=True, default_time=DEFAULT_TIME)
    q = r.quarantine.filter(pl.col("reason") == "wrong_length")
    assert q["line_no"].to_list() == [line for line, *_ in short]


def test_every_nmea_file_is_listed() -> None:
    """New NMEA files in shared/data must be added to the parity list."""
    root = shared_data_path()
    suffixes = {".nmea", ".ais", ".txt", ".aivdm", ".log", ".raw", ".nm4", ".gz"}
    found = {
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and p.suffix in suffixes and not p.name.startswith(("LICENSE", "NOTICE"))
        and p.parts[len(root.parts)] in ("ais-nmea", "ais-edge-cases", "ais-csv", "reference")
        and (p.parts[len(root.parts)] != "reference" or "dma-aisabnormal" in p.parts)
    } | {"ais-edge-cases/pyais/ais_test_messages"}
    assert found == set(NMEA_FILES)


def summary_table() -> str:
    """The per-file table of docs/nmea.md (markdown)."""
    head = (
        "| file | sentences | pyais decodes | seawatch rows = pyais | both reject "
        "| only seawatch rejects: wrong_length / impossible_value / bad or no checksum "
        "| n/a code → null | ship type raw | AtoN name | text padding | coords unrounded |\n"
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n"
    )
    rows = []
    for name in NMEA_FILES:
        c = parity(SHARED_DATA / name)
        both = c["pyais_rejected"] + c["pyais_error"] + c["orphan_fragment"] + c["incomplete_group"]
        na = sum(v for k, v in c.items() if k.startswith("na_"))
        rows.append(
            f"| {name} | {c['sentences']} | {c['pyais_decoded']} | {c['matched']} | {both} "
            f"| {c['wrong_length']} / {c['impossible_value']} / "
            f"{c['bad_checksum']} / {c['no_checksum']} | {na} | {c['ship_type_raw']} "
            f"| {c['aton_name_spec']} | {c['text_padding']} | {c['coords_not_rounded']} |"
        )
    return head + "\n".join(rows)


if __name__ == "__main__":
    print(summary_table())

"""Several inputs in one ``Store.ingest`` call: staged together, each day merged once."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

import seawatch.io
import seawatch.store.ingest
from seawatch import schema
from seawatch.store import Store
from seawatch.store.dedup import ROW_GROUP_SIZE
from tests.store.store_synth import positions, result, ts


class Unreadable(ValueError):
    pass


@pytest.fixture
def reader(monkeypatch):
    """``seawatch.io.iter_input`` over tiny text files of 'mmsi,seconds,second' lines, one
    chunk per 3 lines; a file whose first line is 'bad' raises after its first chunk."""
    calls: list[str] = []

    def iter_input(path, *, format=None, default_time=None):
        calls.append(Path(path).name)
        lines = Path(path).read_text().split()
        for start in range(0, len(lines), 3):
            if lines[0] == "bad" and start:
                raise Unreadable(f"{Path(path).name}: cannot read line {start}")
            rows = []
            for line in lines[start : start + 3]:
                if line == "bad":
                    continue
                mmsi, secs, second = line.split(",")
                rows.append({"mmsi": int(mmsi), "ts": ts(float(secs)), "second": int(second),
                             "lat": -1.0, "lon": -81.0, "msg_type": 1, "source": path.name})
            yield result(positions=positions(rows), input_bytes=1)

    monkeypatch.setattr(seawatch.io, "iter_input", iter_input, raising=False)
    return calls


def write(folder: Path, name: str, lines: list[str]) -> Path:
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def rows_of(store: Store) -> pl.DataFrame:
    return store.positions().collect().drop("source").sort(pl.all())


def random_inputs(folder: Path, seed: int, files: int = 6) -> list[Path]:
    """Inputs over two UTC days with copies of one report heard in other files up to 30 s
    later (earlier copies often arriving in later files), exact repeats, and the same vessel
    and `second` a minute or more apart (a new report, never a copy). Chains of identical
    reports longer than the window are left out: there the order inputs arrive in can
    matter, one input at a time or not (docs/store.md, known limits)."""
    rng = random.Random(seed)
    reports = [(rng.randrange(1, 6), rng.uniform(0, 2 * 86_400)) for _ in range(120)]
    contents: list[list[str]] = [[] for _ in range(files)]
    for mmsi, secs in reports:
        second = int(secs) % 60
        for _ in range(rng.choice([1, 1, 2, 3])):
            delay = rng.choice([0.0, 0.0, rng.uniform(0, 29.9), 60.0 * rng.randrange(1, 4)])
            contents[rng.randrange(files)].append(f"{mmsi},{secs + delay:.3f},{second}")
    return [write(folder, f"in{i}.txt", lines or ["1,5,5"]) for i, lines in enumerate(contents)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_call_stores_what_one_input_at_a_time_stores(tmp_path, reader, seed):
    paths = random_inputs(tmp_path, seed)
    one_by_one = Store(tmp_path / "a")
    for path in paths:
        one_by_one.ingest(path)
    together = Store(tmp_path / "b")
    reports = together.ingest(paths)

    assert rows_of(together).equals(rows_of(one_by_one))
    assert together.snapshot_id == 1 and one_by_one.snapshot_id == len(paths)
    assert [r.snapshot for r in reports] == [1] * len(paths)
    assert {r.batch_inputs for r in reports} == {len(paths)}
    # each input keeps its own counts; they add up to what the store holds
    added = sum(r.rows_added["positions"] for r in reports)
    assert added == together.positions().collect().height
    for r in reports:
        assert r.rows_added["positions"] + r.duplicates["positions"] == r.rows_read["positions"]
    assert together.inputs()["name"].to_list() == [p.name for p in paths]


def test_the_earliest_copy_is_credited_to_its_input(tmp_path, reader):
    store = Store(tmp_path / "s")
    write(tmp_path, "live.txt", ["1,100,40"])
    store.ingest(tmp_path / "live.txt")
    later = write(tmp_path, "later.txt", ["1,110,40", "2,0,0"])  # a copy of the live row
    earlier = write(tmp_path, "earlier.txt", ["1,95,40", "2,20,0"])  # replaces the live row
    first, second = store.ingest([later, earlier])
    assert (first.rows_added["positions"], first.duplicates["positions"]) == (1, 1)
    # 2,20 is a copy of 2,0 (20 s later); 1,95 is kept but replaces a stored row: net 0
    assert (second.rows_added["positions"], second.duplicates["positions"]) == (0, 2)
    frame = store.positions().collect().sort("mmsi")
    assert [(t - ts(0)).total_seconds() for t in frame["ts"]] == [95.0, 0.0]


@pytest.mark.parametrize("merge_rows", [None, 1])
def test_a_replaced_stored_row_is_credited_to_the_input_whose_copy_is_kept(
    tmp_path, reader, merge_rows
):
    """As if committed one after another: the input holding the earliest copy gains it and
    loses the stored copy it replaces (net 0); inputs with other copies gain nothing."""
    store = Store(tmp_path / "s", merge_rows=merge_rows)
    store.ingest(write(tmp_path, "live.txt", ["1,103,40", "2,203,20", "3,0,0"]))
    paths = [
        write(tmp_path, "a.txt", ["1,101,40", "2,200,20"]),  # earlier than the stored copies
        write(tmp_path, "b.txt", ["1,100,40", "2,200,20"]),  # 1: earliest; 2: the same as a
        write(tmp_path, "c.txt", ["1,100,40", "2,200,20", "4,0,0"]),  # lines of a and b, one new
    ]
    a, b, c = store.ingest(paths)
    assert [r.rows_added["positions"] for r in (a, b, c)] == [0, 0, 1]
    assert [r.duplicates["positions"] for r in (a, b, c)] == [2, 2, 2]
    frame = store.positions().collect().sort("mmsi")
    assert [(t - ts(0)).total_seconds() for t in frame["ts"]] == [100.0, 200.0, 0.0, 0.0]


@pytest.mark.parametrize("merge_rows", [None, 1])
def test_an_input_bridging_two_stored_rows_is_charged_for_the_one_it_removes(
    tmp_path, reader, merge_rows
):
    """The chain case (docs/store.md, known limits): stored rows 40 s apart, an input's copy
    between them makes the later one a duplicate. As committed alone, that input shrinks the
    store by one; the other input of the call is not charged for it."""
    store = Store(tmp_path / "s", merge_rows=merge_rows)
    store.ingest(write(tmp_path, "live.txt", ["1,0,0", "1,40,0"]))
    other = write(tmp_path, "other.txt", ["2,0,0"])
    bridge = write(tmp_path, "bridge.txt", ["1,20,0"])
    first, second = store.ingest([other, bridge])
    assert first.rows_added["positions"] == 1
    assert second.rows_added["positions"] == -1
    assert store.positions().collect().height == 2


def test_batch_rows_splits_the_commits(tmp_path, reader):
    paths = [write(tmp_path, f"f{i}.txt", [f"{i},{60 * j},{j}" for j in range(4)])
             for i in range(5)]
    store = Store(tmp_path / "s", batch_rows=8)
    reports = store.ingest(paths)
    # a commit as soon as 8 rows are staged: inputs 0-1, 2-3, then 4
    assert [r.snapshot for r in reports] == [1, 1, 2, 2, 3]
    assert store.positions().collect().height == 20
    with pytest.raises(ValueError, match="batch_rows"):
        Store(tmp_path / "t", batch_rows=0)


def test_same_bytes_twice_in_one_call_is_read_once(tmp_path, reader):
    a = write(tmp_path, "a.txt", ["1,0,0"])
    b = write(tmp_path, "b.txt", ["1,0,0"])
    reports = Store(tmp_path / "s").ingest([a, b])
    assert [r.skipped for r in reports] == [False, True]
    assert reader == ["a.txt"]


def test_an_unreadable_input_is_left_out_and_reported(tmp_path, reader):
    good = write(tmp_path, "good.txt", ["1,0,0"])
    bad = write(tmp_path, "bad.txt", ["bad", "2,0,0", "2,60,1", "2,120,2"])
    last = write(tmp_path, "last.txt", ["3,0,0"])
    store = Store(tmp_path / "s")
    errors: list[tuple[str, str]] = []
    reports = store.ingest([good, bad, last], on_error=lambda p, e: errors.append((p.name, str(e))))
    assert [r.name for r in reports] == ["good.txt", "last.txt"]
    assert errors == [("bad.txt", "bad.txt: cannot read line 3")]
    assert sorted(store.positions().collect()["mmsi"]) == [1, 3]
    assert store.inputs()["name"].to_list() == ["good.txt", "last.txt"]
    assert not any((store.path / "staging").iterdir())
    # read again: the bad input is tried again (it never made it in), the others skipped
    errors.clear()
    again = store.ingest([good, bad, last], on_error=lambda p, e: errors.append((p.name, "")))
    assert [r.skipped for r in again] == [True, True]
    assert errors == [("bad.txt", "")]


def test_without_on_error_the_inputs_before_the_failure_are_committed(tmp_path, reader):
    good = write(tmp_path, "good.txt", ["1,0,0"])
    bad = write(tmp_path, "bad.txt", ["bad", "2,0,0", "2,60,1", "2,120,2"])
    last = write(tmp_path, "last.txt", ["3,0,0"])
    store = Store(tmp_path / "s")
    with pytest.raises(Unreadable):
        store.ingest([good, bad, last])
    assert store.positions().collect()["mmsi"].to_list() == [1]
    assert reader == ["good.txt", "bad.txt"]


def test_a_missing_input_is_refused_before_anything_is_read(tmp_path, reader):
    good = write(tmp_path, "good.txt", ["1,0,0"])
    store = Store(tmp_path / "s")
    with pytest.raises(FileNotFoundError, match="nope"):
        store.ingest([good, tmp_path / "nope.txt"])
    assert reader == [] and store.snapshot_id == 0


def test_a_failed_batch_commit_leaves_the_store_as_it_was(tmp_path, reader, monkeypatch):
    store = Store(tmp_path / "s")
    store.ingest(write(tmp_path, "live.txt", ["1,0,0", "1,86400,0"]))
    before = rows_of(store)
    paths = [write(tmp_path, f"f{i}.txt", [f"{i},{86_400 * i},0"]) for i in range(3)]
    merges = []

    def failing(*args, **kwargs):
        merges.append(1)
        if len(merges) == 2:
            raise OSError("disk full")
        return merge(*args, **kwargs)

    merge = seawatch.store.ingest.merge_day
    with monkeypatch.context() as m, pytest.raises(OSError, match="disk full"):
        m.setattr(seawatch.store.ingest, "merge_day", failing)
        store.ingest(paths)
    assert rows_of(store).equals(before) and store.snapshot_id == 1
    assert not any((store.path / "staging").iterdir())
    assert [r.snapshot for r in Store(tmp_path / "s").ingest(paths)] == [2, 2, 2]


def test_merge_progress_counts_table_days(tmp_path, reader):
    paths = [write(tmp_path, f"f{i}.txt", [f"{i},{86_400 * i},0"]) for i in range(3)]
    seen: list[tuple[int, int]] = []
    Store(tmp_path / "s").ingest(paths, on_merge=lambda done, total: seen.append((done, total)))
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]


# --------------------------------------------------------------------------------------------
# One file or many, one merge or many MMSI ranges: the same store


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    """Two UTC days of NMEA from 40 vessels (about a tenth of the reports heard again by a
    second receiver 0-5 s later) dealt at random into six files, and the same lines
    concatenated into one file."""
    from seawatch.io.nmea.encode import write_nmea
    from tests.store import store_synth

    folder = tmp_path_factory.mktemp("captures")
    frame = store_synth.random_input(6_000, seed=11, hours=40)
    vessels = store_synth.vessels_frame(200, seed=11, hours=40)
    part = pl.Series(random.Random(11).choices(range(6), k=frame.height))
    vessel_part = pl.Series(random.Random(12).choices(range(6), k=vessels.height))
    parts = []
    for i in range(6):
        path = folder / f"rx{i}.nmea"
        write_nmea(path, frame.filter(part == i), vessels.filter(vessel_part == i),
                   source_column="source")
        parts.append(path)
    whole = folder / "all.nmea"
    whole.write_bytes(b"".join(p.read_bytes() for p in parts))
    return whole, parts


def ranges_seen(monkeypatch) -> list[int]:
    """Number of MMSI ranges of each day merge (the real ``day_ranges``, recorded)."""
    seen: list[int] = []
    real = seawatch.store.ingest.day_ranges

    def recording(*args, **kwargs):
        ranges = real(*args, **kwargs)
        seen.append(len(ranges))
        return ranges

    monkeypatch.setattr(seawatch.store.ingest, "day_ranges", recording)
    return seen


def tables_of(store: Store) -> dict[str, pl.DataFrame]:
    return {
        name: getattr(store, name)().collect().sort(pl.all(), nulls_last=True)
        for name in ("positions", "vessels", "stations", "other_messages")
    }


def counts_of(reports) -> list[tuple]:
    return [(r.name, r.rows_read, r.rows_added, r.duplicates, r.quarantine) for r in reports]


def test_one_file_and_many_files_make_the_same_store(tmp_path, captures, monkeypatch):
    whole, parts = captures
    one = Store(tmp_path / "one")
    (report,) = one.ingest(whole)
    many = Store(tmp_path / "many")
    reports = many.ingest(parts)
    seen = ranges_seen(monkeypatch)
    bounded = Store(tmp_path / "bounded", merge_rows=300, memory_limit="256MB", threads=1)
    bounded_reports = bounded.ingest(parts)

    assert max(seen) > 5  # each day was merged in several MMSI ranges
    expected = tables_of(one)
    assert expected["positions"].height > 5_000 and expected["vessels"].height > 0
    for store in (many, bounded):
        got = tables_of(store)
        for name, frame in expected.items():
            assert got[name].equals(frame), name
    # the copies heard by the second receiver are duplicates, in one file as across files
    assert report.duplicates["positions"] == sum(r.duplicates["positions"] for r in reports) > 0
    for r in reports:
        for table in ("positions", "vessels"):
            assert r.rows_added[table] + r.duplicates[table] == r.rows_read[table]
    # merging in ranges credits each input exactly as one merge of the whole day does
    assert counts_of(bounded_reports) == counts_of(reports)


def test_day_files_merged_in_ranges_are_one_sorted_file_per_day(tmp_path, captures):
    import pyarrow.parquet as pq

    _, parts = captures
    store = Store(tmp_path / "s", merge_rows=250)
    store.ingest(parts)
    files = store.files("positions")
    assert len(files) == len({f.day for f in files}) == 2
    for f in files:
        path = store.path / f.path
        frame = pl.read_parquet(path)
        assert frame.equals(frame.sort("mmsi", "ts", maintain_order=True))
        assert frame.schema == pl.Schema(schema.POSITIONS)
        meta = pq.read_metadata(path)
        sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        assert sum(sizes) == f.rows and all(n == ROW_GROUP_SIZE for n in sizes[:-1])


def test_later_inputs_merged_in_ranges_into_stored_days(tmp_path, captures, monkeypatch):
    """Live rows and new inputs merged range by range: the same store and counts as in one
    merge, including inputs whose earlier copies replace stored rows."""
    whole, parts = captures
    states = []
    for merge_rows in (None, 400):
        store = Store(tmp_path / f"s{merge_rows}", merge_rows=merge_rows)
        first = store.ingest(parts[:3])
        second = store.ingest([*parts[3:], whole])
        states.append((tables_of(store), counts_of(first + second)))
        assert sum(r.rows_added["positions"] for r in first + second) == (
            store.positions().collect().height
        )
        # every line of the last input was in an earlier one: it adds nothing, and the
        # inputs whose earlier copies replaced stored rows add nothing net for them
        assert second[-1].rows_added["positions"] == 0
        assert all(r.rows_added["positions"] >= 0 for r in first + second)
    (default, default_counts), (ranged, ranged_counts) = states
    assert all(ranged[name].equals(frame) for name, frame in default.items())
    assert ranged_counts == default_counts


def test_day_file_writer_cuts_even_row_groups_across_batches(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from seawatch.store.ingest import DayFileWriter

    writer = DayFileWriter(tmp_path / "day.parquet", row_group_rows=4)
    stamp = pa.array([0, 1, 2], pa.timestamp("us", "America/Guayaquil"))
    for n in (3, 5, 0, 2, 1):
        writer.write(pa.record_batch({"mmsi": pa.array(range(n), pa.int64()),
                                      "ts": pa.concat_arrays([stamp] * 2)[:n]}))
    writer.close()
    meta = pq.read_metadata(tmp_path / "day.parquet")
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [4, 4, 3]
    frame = pl.read_parquet(tmp_path / "day.parquet")
    assert frame["mmsi"].to_list() == [0, 1, 2, 0, 1, 2, 3, 4, 0, 1, 0]
    assert frame.schema["ts"] == pl.Datetime("us", "UTC")


@pytest.mark.parametrize("merge_rows", [None, 1])
def test_rows_without_an_mmsi_are_kept_and_sorted_last(tmp_path, merge_rows):
    frame = positions([{"mmsi": m, "ts": ts(s), "second": s % 60, "lat": 1.0}
                       for m, s in [(None, 5), (3, 1), (None, 5), (1, 2), (None, 9), (2, 0)]])
    store = Store(tmp_path / "s", merge_rows=merge_rows)
    report = store.ingest_results([result(positions=frame)], name="a", sha256="a" * 64, size=0)
    stored = store.positions().collect()
    assert stored["mmsi"].to_list() == [1, 2, 3, None, None]
    assert (report.rows_added["positions"], report.duplicates["positions"]) == (5, 1)


def test_an_ingest_imports_no_pandas(tmp_path):
    """pyarrow converts its statistics and arrays to Python and NumPy objects through pandas,
    which costs every ingest a third of a second to import: the commit reads the footer's raw
    integers and the merge counts rows through Polars, so an ingest never loads pandas."""
    import subprocess
    import sys

    from tests.io.nmea import nmea_text as nt

    nmea = tmp_path / "two.nmea"
    nmea.write_text("".join(nt.tag_block(s="rx", c=1700000000 + 60 * k)
                            + nt.sentence("13HOI:0P0000VOHLCnHQKwvL05Ip", 0) + "\n"
                            for k in range(2)))
    probe = (
        "import sys; from seawatch.store import Store; "
        f"reports = Store({str(tmp_path / 'store')!r}).ingest([{str(nmea)!r}]); "
        "print(reports[0].rows_added['positions'], 'pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == ["2", "False"], done.stdout + done.stderr

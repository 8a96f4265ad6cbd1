"""Atomicity: an ingest that fails or is killed at any moment leaves the store as it was
before or as it is after, never half-written; opening a store removes what a crash left."""

from __future__ import annotations

import os
import pathlib
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import seawatch.store.ingest
import seawatch.store.layout
from seawatch.store import Store, StoreBusyError, layout
from tests.store import store_synth
from tests.store.store_checks import same_state, state, stray_files
from tests.store.store_synth import small_first, small_second

HERE = Path(__file__).parent
REPO = HERE.parent.parent


# ---------------------------------------------------------------- small inputs


def ingest_second(store: Store):
    return store.ingest_results(small_second(), name="second.nmea", sha256="2" * 64, size=10)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A store holding the first input, and the states before and after the second."""
    base = tmp_path_factory.mktemp("small")
    template = base / "template"
    store = Store(template)
    store.ingest_results(small_first(), name="first.nmea", sha256="1" * 64, size=10)
    before = state(store)
    shutil.copytree(template, base / "after")
    after_store = Store(base / "after")
    report = ingest_second(after_store)
    assert report.duplicates["positions"] == 5 and report.duplicates["stations"] == 1
    after = state(after_store)
    assert not same_state(before, after)
    return template, before, after


class Injected(OSError):
    """The failure the tests inject."""


TARGETS = {
    "write_parquet": (pl.DataFrame, "write_parquet"),
    "merge_day": (seawatch.store.ingest, "merge_day"),
    "describe": (seawatch.store.ingest, "describe"),
    "fsync_file": (seawatch.store.layout, "fsync_file"),
    "fsync_dir": (seawatch.store.layout, "fsync_dir"),
    "write_json": (seawatch.store.layout, "write_json"),
    "atomic_write": (seawatch.store.layout, "atomic_write"),
    "os.replace": (os, "replace"),
    "os.fsync": (os, "fsync"),
    "Path.unlink": (pathlib.Path, "unlink"),
}


def counting(original, counter: list[int], fail_at: int | None):
    def wrapper(*args, **kwargs):
        counter[0] += 1
        if fail_at is not None and counter[0] == fail_at:
            raise Injected(f"injected failure at call {fail_at}")
        return original(*args, **kwargs)

    return wrapper


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_failure_at_each_commit_step(small, tmp_path, monkeypatch, target):
    template, before, after = small
    owner, attr = TARGETS[target]
    original = getattr(owner, attr)

    # how often the ingest calls the target
    calls = [0]
    shutil.copytree(template, tmp_path / "count")
    store = Store(tmp_path / "count")
    with monkeypatch.context() as m:
        m.setattr(owner, attr, counting(original, calls, None))
        ingest_second(store)
    total = calls[0]
    assert total > 0, f"{target} is never called by an ingest"

    seen = set()
    for fail_at in sorted({1, (total + 1) // 2, total}):
        path = tmp_path / f"at{fail_at}"
        shutil.copytree(template, path)
        store = Store(path)
        raised = False
        with monkeypatch.context() as m:
            m.setattr(owner, attr, counting(original, [0], fail_at))
            try:
                ingest_second(store)
            except Injected:
                raised = True
        reopened = Store(path)
        now = state(reopened)
        outcome = (
            "before" if same_state(now, before) else "after" if same_state(now, after) else None
        )
        assert outcome, f"{target} failing at call {fail_at}/{total}: store is half-written"
        assert stray_files(path) == [], f"{target} at call {fail_at}: stray files after open"
        if not raised:
            assert outcome == "after"
        if outcome == "before" and outcome not in seen:  # usable: run the ingest again
            ingest_second(reopened)
            assert same_state(state(reopened), after)
        seen.add(outcome)
    assert seen


def test_failed_ingest_keeps_the_store_object_usable(small, tmp_path, monkeypatch):
    template, before, after = small
    shutil.copytree(template, tmp_path / "s")
    store = Store(tmp_path / "s")
    with monkeypatch.context() as m:
        m.setattr(
            seawatch.store.ingest, "merge_day", counting(seawatch.store.ingest.merge_day, [0], 3)
        )
        with pytest.raises(Injected):
            ingest_second(store)
    assert same_state(state(store), before)
    assert stray_files(store.path) == []  # rolled back in-process, not only at next open
    ingest_second(store)
    assert same_state(state(store), after)


# ---------------------------------------------------------------- crash recovery


def test_open_deletes_what_a_crash_left(small, tmp_path):
    template, before, _after = small
    path = tmp_path / "s"
    shutil.copytree(template, path)
    live = next(iter(Store(path).snapshot().table_files("positions")))
    strays = {
        "positions/day=2024-03-01/deadbeef.parquet": b"half a parquet",
        "positions/day=2031-01-01/cafe.parquet": b"PAR1",
        "vessels/day=2024-03-01/x.parquet.tmp": b"",
        "quarantine/0123.parquet": b"PAR1",
        "staging/run1/positions/2024-03-01/00000000.parquet": b"PAR1",
        "staging/.CURRENT.abc.tmp": b"00000002.json",
        "snapshots/00000002.json": b"{}",  # written, never made current
        "snapshots/00000000.json": b"{}",  # superseded
    }
    for rel, data in strays.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_bytes(data)
    store = Store(path)
    assert set(strays) - {
        "staging/run1/positions/2024-03-01/00000000.parquet",
        "staging/.CURRENT.abc.tmp",
    } < set(store.recovered)
    assert "staging/run1" in store.recovered
    assert stray_files(path) == []
    assert not (path / "positions" / "day=2031-01-01").exists()
    assert (path / live.path).is_file()
    assert same_state(state(store), before)


def test_a_writer_blocks_other_writers_and_recovery(small, tmp_path):
    template, before, _after = small
    path = tmp_path / "s"
    shutil.copytree(template, path)
    store = Store(path)
    stray = path / "staging" / "in-use" / "chunk.parquet"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"PAR1")
    with layout.write_lock(path) as held:  # as another process's ingest would
        assert held
        with pytest.raises(StoreBusyError, match="another process"):
            ingest_second(store)
        Store(path)  # opening while a writer works must not delete its files
        assert stray.exists()
    assert same_state(state(Store(path)), before)
    assert not stray.exists()


# ---------------------------------------------------------------- SIGKILL at random moments

KILL_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[2])
from tests.store import store_synth
import seawatch.store.ingest as ingest
from seawatch.store import Store

commit = ingest.commit


def announced_commit(*args, **kwargs):  # tells the test when the commit starts
    print("commit", flush=True)
    started = time.perf_counter()
    out = commit(*args, **kwargs)
    print("committed", time.perf_counter() - started, flush=True)
    return out


ingest.commit = announced_commit
store = Store(sys.argv[1])
chunks = store_synth.second_input()
import duckdb, pyarrow.parquet  # imported before 'ready' so the kill window is the ingest
print("ready", flush=True)
started = time.perf_counter()
store.ingest_results(chunks, name="second.nmea", sha256=store_synth.SHA_SECOND, size=1)
print("done", time.perf_counter() - started, flush=True)
"""


def start_ingest(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(path), str(REPO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def wait_for(proc: subprocess.Popen[str], word: str) -> None:
    """Block until the subprocess prints ``word`` (``ready``: about to ingest; ``commit``:
    staging done, commit starting)."""
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.split()[:1] != [word]:
        proc.kill()
        _out, err = proc.communicate()
        raise AssertionError(f"ingest subprocess: expected {word!r}, got {line!r}\n{err}")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_at_random_moments_never_half_writes(tmp_path):
    """SIGKILL ingests at seeded random moments; every store must reopen either exactly as
    before or exactly as after the ingest, with no stray files. A third of the kills land
    anywhere in the ingest, two thirds in the commit (staging alone changes nothing live)."""
    budget_s, max_tries, min_tries = 12.0, 40, 4  # bounded: ~20 s in all
    template = tmp_path / "template"
    store = Store(template)
    store.ingest_results(
        store_synth.first_input(), name="first.nmea", sha256=store_synth.SHA_FIRST, size=1
    )
    before = state(store)

    # one uninterrupted run in a subprocess: the after-state and how long the steps take
    shutil.copytree(template, tmp_path / "full")
    proc = start_ingest(tmp_path / "full")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    words = out.split()
    commit_s, total_s = float(words[words.index("committed") + 1]), float(words[-1])
    after = state(Store(tmp_path / "full"))
    assert not same_state(before, after)

    rng = random.Random(20240301)
    outcomes: list[tuple[str, float, str]] = []
    started = time.monotonic()
    tries = 0
    while tries < max_tries and (tries < min_tries or time.monotonic() - started < budget_s):
        path = tmp_path / f"try{tries}"
        shutil.copytree(template, path)
        if tries == 0:
            phase, delay = "ready", 0.0
        elif tries % 3 == 1:
            phase, delay = "ready", rng.uniform(0.0, total_s * 1.2)
        else:
            phase, delay = "commit", rng.uniform(0.0, commit_s * 1.2)
        proc = start_ingest(path)
        wait_for(proc, "ready")
        if phase == "commit":
            wait_for(proc, "commit")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        where = f"killed {delay:.3f}s after {phase!r}"
        now = state(Store(path))
        if same_state(now, before):
            outcome = "before"
        elif same_state(now, after):
            outcome = "after"
        else:
            raise AssertionError(f"{where}: the store is neither as before nor as after")
        assert stray_files(path) == [], f"{where}: stray files after open"
        outcomes.append((phase, delay, outcome))
        shutil.rmtree(path)
        tries += 1
    print("kill outcomes (phase, delay s, state):", sorted(outcomes))
    assert len(outcomes) >= min_tries
    assert outcomes[0][2] == "before"


KILL_AT_SCRIPT = """
import importlib, os, signal, sys
sys.path.insert(0, sys.argv[2])
from tests.store import store_synth
from seawatch.store import Store

module, dotted = sys.argv[3].split(":")
owner = importlib.import_module(module)
*parents, attr = dotted.split(".")
for name in parents:
    owner = getattr(owner, name)
original, nth, calls = getattr(owner, attr), int(sys.argv[4]), [0]


def wrapper(*args, **kwargs):
    calls[0] += 1
    if calls[0] == nth:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)


store = Store(sys.argv[1])
setattr(owner, attr, wrapper)
store.ingest_results(store_synth.small_second(), name="second.nmea", sha256="2" * 64, size=10)
"""

KILL_POINTS = [
    ("seawatch.store.ingest:Staging.add", 2, "before"),  # while staging
    ("seawatch.store.ingest:merge_day", 3, "before"),  # between two day merges
    ("seawatch.store.layout:fsync_dir", 1, "before"),  # data written, not yet flushed
    ("seawatch.store.layout:write_json", 1, "before"),  # writing the new snapshot
    ("os:replace", 2, "before"),  # about to swap CURRENT
    ("seawatch.store.commit:Transaction.clean_up", 1, "after"),  # just after the swap
    ("pathlib:Path.unlink", 1, "after"),  # deleting superseded files
]


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize(("target", "nth", "expected"), KILL_POINTS)
def test_sigkill_inside_each_commit_step(small, tmp_path, target, nth, expected):
    """A process killed (no except/finally runs) at a chosen step of the commit."""
    template, before, after = small
    path = tmp_path / "s"
    shutil.copytree(template, path)
    proc = subprocess.run(
        [sys.executable, "-c", KILL_AT_SCRIPT, str(path), str(REPO), target, str(nth)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, f"{target} #{nth} never reached: {proc.stderr}"
    store = Store(path)
    assert same_state(state(store), before if expected == "before" else after)
    assert stray_files(path) == []


def test_a_files_time_range_is_read_from_its_footer_without_pandas(tmp_path):
    """describe() reads ``ts`` bounds from the Parquet statistics as raw integers (pyarrow's
    own conversion imports pandas, a third of a second on every ingest); the bounds equal the
    column's own min and max, in every time unit a writer may use."""
    import subprocess
    import sys
    from datetime import UTC, datetime

    import polars as pl

    from seawatch.store.commit import describe

    times = [datetime(2026, 1, 15, 3, 4, 5, 123456, tzinfo=UTC),
             datetime(2026, 1, 15, 23, 59, 59, 999999, tzinfo=UTC)]
    for unit in ("ms", "us", "ns"):
        frame = pl.DataFrame({"ts": times}).with_columns(pl.col("ts").dt.cast_time_unit(unit))
        frame.write_parquet(tmp_path / f"{unit}.parquet")
        entry = describe(tmp_path, f"{unit}.parquet", frame.height, "2026-01-15")
        lo, hi = frame["ts"].min(), frame["ts"].max()
        assert (entry.ts_min, entry.ts_max) == (
            lo.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), hi.strftime("%Y-%m-%dT%H:%M:%S.%fZ")), unit
    probe = (f"from pathlib import Path; from seawatch.store.commit import describe; "
             f"describe(Path({str(tmp_path)!r}), 'us.parquet', 2, '2026-01-15'); import sys; "
             "print('pandas' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"

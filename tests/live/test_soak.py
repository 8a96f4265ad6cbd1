"""A short soak of ``seawatch live`` (``bench/live.py``, marked slow: about a minute and a
half): 10,000 messages a second over UDP for 50 s, none lost, memory bounded after warm-up.

The service runs without incremental detection (``--no-detect``): the receiving and
compaction path, whose memory should not grow with the day. (Detection reads a window of
the store that grows with it up to twice its horizon, 96 h by default: docs/live.md.)

The issue's targets are a 10-minute run and a 1-hour soak with memory growth under 5 %.
Since compactions add a part instead of rewriting the day, the floor grew 8.4 % from 200 s
to 600 s (docs/benchmarks.md); over this short run it is still in the warm-up of the first
compactions (one run: 423.2 -> 423.4 MiB, +0.1 %). The bound (:data:`GROWTH_BOUND`, 10 %,
was 30 % while each compaction rewrote the day) catches a leak in the receiving path of 200
bytes a line (2 MiB a second at 10,000 lines a second: +12 % of the ~420 MiB floor over the
25 s measured), not the 5 % of the long soak.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RATE = 10_000
SECONDS = 50
GROWTH_BOUND = 0.1


def bench_live():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("bench_live", ROOT / "bench" / "live.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_short_soak_at_10k_messages_a_second_loses_nothing_and_memory_stays_flat():
    bench = bench_live()
    settings = list(bench.DEFAULT_SETTINGS)
    warmup = bench.default_warmup(SECONDS, settings)
    out = bench.run(RATE, SECONDS, [], 0, settings, warmup, quiet=True, detect=False)
    print(bench.report(out))
    main = out["main"]
    assert main["sent"] == RATE * SECONDS
    assert main["lost"] == 0, bench.report(out)
    assert out["store_rows"] == main["sent"]
    assert main["logged"]["p99_s"] < bench.TARGET_P99_S
    assert out["rss"]["growth"] < GROWTH_BOUND, bench.report(out)

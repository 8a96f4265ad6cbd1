"""The decoder's and encoder's numba kernels compile once each, and say so on a first run.

numba compiles a kernel again for every new combination of argument types, and a constant
argument counts as a type of its own: a field reader called with 52 different constant bit
positions was compiled 52 times, which made the first run of seawatch minutes long. Here a
fresh process with an empty numba cache puts every kind of input through the decoder and the
encoder, counting numba's compile events per kernel; each kernel must compile once, and the
compile notices (:mod:`seawatch.io.jit`) must be logged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
from pyais import encode_dict

from seawatch.io.nmea import decode_lines, encode
from tests.io.nmea import nmea_text as nt

ROOT = Path(__file__).resolve().parents[3]

MESSAGES = [
    {"type": 1, "mmsi": 227006760, "lat": 49.47, "lon": 0.13, "speed": 12.3, "course": 201.5},
    {"type": 4, "mmsi": 2190047, "year": 2024, "month": 5, "day": 1, "hour": 1, "minute": 2,
     "second": 3, "lat": 55.6, "lon": 12.6},
    {"type": 5, "mmsi": 735057000, "imo": 9307839, "callsign": "HC1234", "shipname": "SAN JOSE",
     "ship_type": 30, "to_bow": 20, "to_stern": 5, "to_port": 3, "to_starboard": 4,
     "draught": 3.5, "destination": "MANTA"},
    {"type": 8, "mmsi": 2655651, "dac": 1, "fid": 31, "data": b"\x12\x34\x56"},
    {"type": 18, "mmsi": 735000002, "lat": -1.0, "lon": -81.0, "speed": 1.0, "course": 3.0},
    {"type": 19, "mmsi": 735000003, "lat": -1.5, "lon": -81.5, "shipname": "PESCADOR",
     "ship_type": 30},
    {"type": 21, "mmsi": 993672001, "aid_type": 1, "name": "BOYA NORTE", "lat": -2.2,
     "lon": -80.9},
    {"type": 24, "mmsi": 735000004, "partno": 0, "shipname": "LANCHA"},
    {"type": 24, "mmsi": 735000004, "partno": 1, "ship_type": 37, "callsign": "HC99",
     "to_bow": 5, "to_stern": 2, "to_port": 1, "to_starboard": 1},
    {"type": 27, "mmsi": 735000005, "lat": -3.0, "lon": -85.0, "speed": 10, "course": 90},
]


def exercise() -> None:
    """Decode and encode every kind of input the kernels take."""
    lines = [s for m in MESSAGES for s in encode_dict(m, talker_id="AI", seq_id=1)]
    timed = [nt.tag_block(s="rx1", c=1714525200 + i) + s for i, s in enumerate(lines)]
    result = decode_lines([*timed, "2024-05-01T01:00:00Z " + lines[0], "garbage",
                           "!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*00"])
    assert {1, 18, 19, 27} <= set(result.positions["msg_type"])
    assert {5, 19, 24} <= set(result.vessels["msg_type"])
    assert set(result.stations["msg_type"]) == {4, 21}
    assert result.other_messages["msg_type"].to_list() == [8]
    decode_lines("\n".join(lines).encode(), default_time="2024-05-01T00:00:00Z",
                 line_numbers=True)
    encode.encode_lines(result.positions, result.vessels)
    encode.encode_lines(result.positions.with_columns(pl.lit(None).alias("second")),
                        tag_blocks=False)


CHILD = """
import collections, json, logging
from numba.core import event

compiles = collections.Counter()

class Count(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        f = ev.data["dispatcher"].py_func
        compiles[f.__module__ + "." + f.__qualname__] += 1

event.register("numba:compile", Count())
notices = []

class Keep(logging.Handler):
    def emit(self, record):
        notices.append(record.getMessage())

logging.getLogger("seawatch.jit").addHandler(Keep())
logging.getLogger("seawatch.jit").setLevel(logging.INFO)
from tests.io.nmea.test_kernels import exercise

exercise()
print(json.dumps({"compiles": compiles, "notices": notices}))
"""


CALLERS_OF_BITS = 3
"""The decoder's kernels that read fields (``decode_positions``, ``decode_static``,
``decode_stations``): the most times a field reader may compile."""


def _is_kernel(name: str) -> bool:
    """Whether the function ``name`` (module.qualname) is a numba dispatcher of its own, as
    opposed to a helper compiled into its callers (``register_jitable``)."""
    import importlib

    from numba.core.dispatcher import Dispatcher

    module, _, function = name.rpartition(".")
    return isinstance(getattr(importlib.import_module(module), function, None), Dispatcher)


def _run(cache: Path) -> dict[str, Any]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True, timeout=1200)
    out: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return out


def test_each_kernel_compiles_once_says_so_and_then_loads_from_the_cache(tmp_path: Path) -> None:
    first = _run(tmp_path)
    ours = {k: n for k, n in first["compiles"].items() if k.startswith("seawatch.io.nmea.")}
    for kernel in ("framing.frame", "assembly.assemble", "payload.decode_positions",
                   "payload.decode_static", "payload.decode_stations", "encode._put",
                   "encode._encode_positions"):
        assert ours.get(f"seawatch.io.nmea.{kernel}") == 1, kernel
    # the helpers compiled into their callers (register_jitable: no cache entry of their own,
    # nothing loaded at import) compile with each kernel that calls them, never once per
    # constant argument (payload.bits, called with 52 constant bit positions, once did)
    helpers = {k for k in ours if not _is_kernel(k)}
    assert "seawatch.io.nmea.payload.bits" in helpers
    assert 1 <= ours["seawatch.io.nmea.payload.bits"] <= CALLERS_OF_BITS
    assert {k: n for k, n in ours.items() if n > 1 and k not in helpers} == {}
    assert max(ours.values()) <= CALLERS_OF_BITS
    notices = first["notices"]
    assert "compiling the NMEA decoder: first run only, cached for later runs" in notices
    assert "compiling the NMEA encoder: first run only, cached for later runs" in notices
    assert len(notices) == len(set(notices))

    second = _run(tmp_path)  # the same cache: everything loads, nothing compiles
    assert not any(k.startswith("seawatch.") for k in second["compiles"])
    assert second["notices"] == []

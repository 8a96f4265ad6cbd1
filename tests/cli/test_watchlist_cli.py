"""``seawatch watchlist``: import, list, show, delete; ``seawatch detect`` matches the stored
lists and ``--watchlist`` files, and an alert rule's ``--watchlist`` alerts on the listed
vessels' events; each change in the audit log."""

from __future__ import annotations

import json

import polars as pl
from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.share.alerts import list_alerts
from seawatch.share.audit import verify
from seawatch.share.db import open_state
from seawatch.store import Store
from tests.detect.test_run import CARGO, CHN, chunk, scenario


def invoke(*args: object, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"SEAWATCH_DB": ""})
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_watchlist_round_trip(tmp_path) -> None:
    frame, vessels = scenario()
    vessels = vessels.with_columns(name=pl.Series(["HAI FENG 8", "MANTA TRADER"]))
    path = tmp_path / "store"
    Store(path).ingest_results([chunk(frame, vessels)], name="one", sha256="c" * 64, size=1)
    s = ("--store", path)
    invoke("init-state", "--host-agency", "ECU-NAVY", *s)
    listed = tmp_path / "iuu.csv"
    listed.write_text("Vessel Name,Flag,Reason\nF/V Hai-Feng 8,Panama,IUU 2024\n"
                      "OTHER SHIP 9,,\n")
    made = invoke("watchlist", "import", listed, "--name", "IUU", "--marking", "green", *s)
    assert "watchlist 1 'IUU': 2 entries, TLP:GREEN" in made.output
    invoke("watchlist", "import", listed, "--name", "IUU", *s, code=2)  # name taken
    assert "IUU" in invoke("watchlist", "list", *s).output
    assert "OTHER SHIP 9" in invoke("watchlist", "show", "IUU", *s).output
    added = invoke("alerts", "rule", "add", "listed", "--watchlist", "IUU", *s).output
    assert "watchlist 1" in added
    invoke("detect", *s)
    events = Store(path).events().collect()
    hits = events.filter(pl.col("type") == "watchlist_hit")
    assert hits["mmsi"].to_list() == [CHN]
    hit = json.loads(hits["details"][0])["hits"][0]
    assert hit["list_name"] == "IUU" and hit["flag_mismatch"] is True
    state = open_state(path)
    alerted = {a.mmsi for a in list_alerts(state)}
    assert alerted == {CHN} and len(list_alerts(state)) == events.filter(
        (pl.col("mmsi") == CHN) | (pl.col("other_mmsi") == CHN)).height
    assert verify(state).ok
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps([{"mmsi": CARGO, "reason": "watched"}]))
    invoke("detect", *s, "--watchlist", extra)
    hits = Store(path).events(type="watchlist_hit").collect()
    assert sorted(hits["mmsi"].to_list()) == sorted([CHN, CARGO])
    assert "deleted" in invoke("watchlist", "delete", "IUU", *s).output
    invoke("watchlist", "show", "IUU", *s, code=2)

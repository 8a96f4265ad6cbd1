"""``seawatch watch``: today's watch list from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from seawatch.cli import app
from seawatch.risk import load_risk_params, watch_list
from seawatch.store import Store


def invoke(*args: object, code: int = 0):
    result = CliRunner().invoke(app, [str(a) for a in args], env={"SEAWATCH_DB": "",
                                                                   "COLUMNS": "200"})
    assert result.exit_code == code, (args, result.output, result.exception)
    assert "Traceback" not in result.output
    return result


def test_watch_lists_the_days_vessels_by_risk_with_their_reasons(store_dir, tmp_path):
    events = Store(store_dir).events().collect()
    expected, day = watch_list(events, top=5)
    assert expected.height > 0
    shown = invoke("watch", "--store", store_dir, "--top", 5).output
    assert f"Watch list {day}" in shown
    top = expected.row(0, named=True)
    assert str(top["mmsi"]) in shown and f"{top['risk']:.3f}" in shown
    assert top["breakdown"][0]["signal"] in shown
    positions = [shown.index(str(m)) for m in expected["mmsi"]]
    assert positions == sorted(positions)  # highest risk first

    config = tmp_path / "risk.toml"
    signals = {b["signal"] for r in expected["breakdown"] for b in r}
    config.write_text("[risk]\n" + "".join(f"{s} = 0\n" for s in sorted(signals)))
    silenced = invoke("watch", "--store", store_dir, "--top", 5, "--config", config).output
    quiet, _ = watch_list(events, top=5, params=load_risk_params(config))
    assert top["mmsi"] not in quiet["mmsi"].to_list()
    if quiet.height:
        assert f"{quiet['risk'][0]:.3f}" in silenced and str(quiet["mmsi"][0]) in silenced
    else:
        assert "no vessel at risk" in silenced

    assert "no vessel at risk on 1990-01-01" in invoke(
        "watch", "--store", store_dir, "--day", "1990-01-01").output
    assert "--day must be a date" in invoke("watch", "--store", store_dir, "--day", "soon",
                                            code=2).output
    config.write_text("[risk]\ngapp = 1\n")
    assert "gapp" in invoke("watch", "--store", store_dir, "--config", config, code=2).output


def test_serve_refuses_a_bad_risk_config_before_starting(store_dir, tmp_path):
    config = tmp_path / "risk.toml"
    config.write_text("[risk]\nencounter = -1\n")
    shown = invoke("serve", "--store", store_dir, "--port", 1, "--risk-config", config,
                   code=2).output
    assert "encounter" in shown

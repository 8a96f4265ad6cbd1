"""``GET /api/v1/installations``: the installations and candidates the detection run
recorded, as GeoJSON for the map."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest

from seawatch.api.query.installations import build_installations


@pytest.fixture(scope="module")
def at_platform(store_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The API test store detected again with a platform declared where one of its loitering
    events lies, kept at a quarter of its score: (store directory, that event)."""
    from seawatch.detect.config import DetectConfig
    from seawatch.detect.run import detect_store
    from seawatch.store import Store

    root = tmp_path_factory.mktemp("installations") / "store"
    shutil.copytree(store_dir, root, ignore=shutil.ignore_patterns("state.db*"))  # no users
    store = Store(root, create=False)
    loitering = store.events(type="loitering").collect()
    assert loitering.height >= 1, "the test scenario plants loitering"
    where = loitering.row(0, named=True)
    platform = pl.DataFrame({"name": ["Amistad"], "kind": ["platform"], "lat": [where["lat"]],
                             "lon": [where["lon"]], "extent_km": [0.0], "radius_km": [None],
                             "source": ["platforms.geojson"]},
                            schema_overrides={"radius_km": pl.Float64})
    cfg = DetectConfig.from_dict({"installations": {"score_factor": 0.25}})
    detect_store(store, config=cfg, installations=platform)
    return root, where


def test_the_users_installation_with_the_events_at_it(at_platform):
    from seawatch.api import create_app
    from tests.api.conftest import local_client

    root, where = at_platform
    with local_client(create_app(root, auth="local")) as client:
        response = client.get("/api/v1/installations")
        assert response.headers["content-type"].startswith("application/geo+json")
        fc = response.json()
        assert fc["detected"] and fc["score_factor"] == 0.25 and fc["radius_km"] == 2.0
        (feature,) = [f for f in fc["features"] if not f["properties"]["candidate"]]
        assert feature["geometry"] == {"type": "Point",
                                       "coordinates": [where["lon"], where["lat"]]}
        props = feature["properties"]
        assert props["name"] == "Amistad" and props["kind"] == "platform"
        assert props["used"] and props["reach_km"] == 2.0 and props["source"] == "platforms.geojson"
        assert fc["at_installations"].get("loitering", 0) >= 1
        # the event it lowered says so in its details, with the score before
        lowered = client.get("/api/v1/events?type=loitering&limit=1000").json()["items"]
        at = [e for e in lowered if "installation" in (e["details"] or {})]
        assert at and at[0]["details"]["installation"]["name"] == "Amistad"
        assert at[0]["score"] == pytest.approx(0.25 * at[0]["details"]["installation"][
            "score_before"], abs=1e-6)


def test_without_a_run_or_installations(client, empty_client):
    # the API test store ran with no installation file: no user's installation listed
    fc = client.get("/api/v1/installations").json()
    assert fc["detected"] and not [f for f in fc["features"] if not f["properties"]["candidate"]]
    nothing = empty_client.get("/api/v1/installations").json()
    assert nothing["detected"] is False and nothing["features"] == []


def test_a_partner_gets_none(at_platform, tmp_path):
    from seawatch.api import create_app
    from seawatch.share.db import open_state
    from tests.api.conftest import make_client, setup_sharing

    root, _ = at_platform
    sharing = setup_sharing(open_state(root))
    app = create_app(root)
    with make_client(app, headers=sharing.headers("partner_viewer")) as partner:
        fc = partner.get("/api/v1/installations").json()
        assert fc["features"] == [] and fc["at_installations"] == {}
    with make_client(app, headers=sharing.headers("admin")) as host:
        assert host.get("/api/v1/installations").json()["features"]


def test_candidates_and_an_older_run():
    def query(info):
        return SimpleNamespace(store=SimpleNamespace(events_info=lambda: info))

    run: dict[str, Any] = {
        "config": {"installations": {"radius_km": 3.0, "score_factor": 0.0,
                                     "use_inferred": True}},
        "installations": {
            "given": 1,
            "table": [{"name": "Farm", "kind": "fish_farm", "lat": -1.0, "lon": -80.0,
                       "extent_km": 0.5, "radius_km": None, "source": "farms.geojson"}],
            "candidates": [{"name": "inferred installation -24.64,-42.41", "lat": -24.64,
                            "lon": -42.41, "n_vessels": 2, "standby_hours": 150.5,
                            "first": "2026-01-01T00:00:00Z", "last": "2026-01-05T00:00:00Z"}],
            "at_installations": {"loitering": 3},
        },
    }
    fc = build_installations(query(run))
    farm, found = (f["properties"] for f in fc["features"])
    assert farm["reach_km"] == 3.5 and farm["used"] and not farm["candidate"]
    assert found["candidate"] and found["used"] and found["kind"] == "candidate"
    assert found["n_vessels"] == 2 and found["standby_hours"] == 150.5
    assert found["source"] == "inferred" and found["reach_km"] == 3.0
    assert fc["at_installations"] == {"loitering": 3} and json.dumps(fc)
    # a run recorded before the table was: the candidates still, no user's installation
    del run["installations"]["table"]
    run["config"]["installations"]["use_inferred"] = False
    (only,) = build_installations(query(run))["features"]
    assert only["properties"]["candidate"] and not only["properties"]["used"]

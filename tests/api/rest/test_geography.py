"""``GET /api/v1/zones`` and ``/basemap/land``."""

from __future__ import annotations


def test_zones_default(client):
    doc = client.get("/api/v1/zones").json()
    names = [f["properties"]["name"] for f in doc["features"]]
    assert names == ["Galápagos Marine Reserve", "Ecuador territorial sea", "Ecuador EEZ"]
    assert doc["source"] == "default"
    assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}
    assert doc["features"][0]["id"] == "galapagos-marine-reserve"


def test_land_basemap_is_small_and_covers_manta(client):
    import shapely

    response = client.get("/api/v1/basemap/land")
    assert len(response.content) < 3_000_000
    doc = response.json()
    land = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    assert land.contains(shapely.Point(-80.68, -0.97))  # Manta, on land
    assert not land.contains(shapely.Point(-81.5, -1.2))  # at sea off Manta
    assert client.get("/api/v1/basemap/land").content == response.content  # cached

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


def test_land_basemap_has_no_seam_at_the_box(client):
    """The fine box's land and the world's are one layer: its outline is coast only (no edge
    of the box drawn across Colombia or Peru), and land goes on beyond the data."""
    import shapely

    from seawatch.geo import coverage_box

    doc = client.get("/api/v1/basemap/land").json()
    land = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])
    # both sides of each box edge that crosses land: Colombia at lon -70, Peru at lat -10
    for lon, lat in [(-70.01, 4.0), (-69.99, 4.0), (-76.0, -9.99), (-76.0, -10.01)]:
        assert land.contains(shapely.Point(lon, lat)), (lon, lat)
    assert land.contains(shapely.Point(-50.0, -10.0))  # Brazil, far from the data
    assert land.contains(shapely.Point(20.0, 10.0))  # Africa
    x0, y0, x1, y1 = coverage_box()
    edges = shapely.box(x0, y0, x1, y1).exterior.buffer(1e-4)
    # what is left on the box's edges is where the 1:10m and 1:50m coasts differ
    assert shapely.length(shapely.intersection(land.boundary, edges)) < 0.2

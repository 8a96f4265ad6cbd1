"""Derive the reference geography shipped in ``seawatch/geo/data/``.

Run from the repository root::

    python scripts/build_geo_data.py [SHARED_DATA_DIR] [--world-atlas DIR] [--ports-only]

Inputs
------
- ``SHARED_DATA_DIR/geo`` (default ``../shared/data/geo``): Natural Earth 1:10m land, coastline
  and countries clipped to the Eastern Pacific box (via the npm package ``world-atlas@2.0.2``),
  and the Global Fishing Watch port lists (``ports/``).
- ``--world-atlas DIR``: an unpacked ``world-atlas@2.0.2`` npm package (the folder holding
  ``land-50m.json``). Without it the script runs ``npm pack world-atlas@2.0.2`` in a temporary
  folder. Its 1:50m land becomes the coarse global layer used outside the box.
- ``--ports-only``: rewrite ``ports.csv``, ``world_ports.csv`` (and the pipe-anchorages
  licence) only, from the shared data alone (no npm package needed).

Outputs (see ``seawatch/geo/data/README.md``)
-------
- ``eastern_pacific_10m.npz``: land polygons, coastline lines and admin-0 country polygons of
  the box, as ragged arrays of int32 micro-degrees (the sources are rounded to 1e-6 degree, so
  nothing is lost).
- ``world_50m.npz``: global land polygons, same encoding.
- ``ports.csv``: named ports and anchorages inside the box (GFW anchorages, World Port Index
  ports, curated harbours).
- ``world_ports.csv``: every World Port Index port of the rest of the world.
- the licence texts of world-atlas and pipe-anchorages.

``README.md`` and ``LICENSE-natural-earth-public-domain.txt`` in that folder are written by
hand and left alone. The outputs are byte-for-byte reproducible.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import shapely
import shapely.affinity
from shapely.geometry import shape

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "seawatch" / "geo" / "data"
BOX = (-100.0, -10.0, -70.0, 12.0)  # lon_min, lat_min, lon_max, lat_max
SCALE = 1e6  # coordinates are stored as int32 micro-degrees
WPI_DEDUP_KM = 2.0  # a WPI port this close to a GFW anchorage is the same place


def pack(prefix: str, geoms: list, arrays: dict[str, np.ndarray]) -> None:
    """Add ``geoms`` (all polygons or all lines) to ``arrays`` as ragged int32 arrays."""
    geom_type, coords, offsets = shapely.to_ragged_array(geoms)
    arrays[f"{prefix}_type"] = np.array(int(geom_type))
    arrays[f"{prefix}_coords"] = np.round(coords * SCALE).astype(np.int32)
    for i, off in enumerate(offsets):
        arrays[f"{prefix}_offsets{i}"] = off.astype(np.int32)


def read_features(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["features"]


def as_multipolygons(geoms: list) -> list:
    out = []
    for g in geoms:
        if g.geom_type == "Polygon":
            g = shapely.MultiPolygon([g])
        out.append(g)
    return out


def build_eastern_pacific(geo: Path, arrays: dict[str, np.ndarray]) -> dict[str, int]:
    land = [shape(f["geometry"]) for f in read_features(geo / "land-eastern-pacific.geojson")]
    coast = [shape(f["geometry"]) for f in read_features(geo / "coastline-eastern-pacific.geojson")]
    countries = read_features(geo / "countries-eastern-pacific.geojson")
    land_mp = as_multipolygons([shapely.MultiPolygon(land)])
    coast_ml = [shapely.MultiLineString(coast)]
    pack("land", land_mp, arrays)
    pack("coast", coast_ml, arrays)
    pack("countries", as_multipolygons([shape(f["geometry"]) for f in countries]), arrays)
    arrays["countries_iso3"] = np.array([f["properties"]["iso_a3"] for f in countries])
    arrays["countries_name"] = np.array([f["properties"]["name"] for f in countries])
    arrays["box"] = np.array(BOX)
    return {
        "land polygons": len(land),
        "coastline lines": len(coast),
        "countries": len(countries),
    }


def decode_topojson(topo: dict, name: str) -> list:
    """Decode one TopoJSON object (polygons) into shapely geometries."""
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        q = np.cumsum(np.asarray(arc, dtype=np.int64), axis=0)
        arcs.append(np.column_stack([q[:, 0] * sx + tx, q[:, 1] * sy + ty]))

    def ring(indices: list[int]) -> np.ndarray:
        parts = []
        for k, i in enumerate(indices):
            a = arcs[i] if i >= 0 else arcs[~i][::-1]
            parts.append(a if k == 0 else a[1:])
        return np.concatenate(parts)

    def polygon(rings: list[list[int]]):
        return shapely.Polygon(ring(rings[0]), [ring(r) for r in rings[1:]])

    def unwrap(rings: list[list[int]]):
        # rings that cross the antimeridian jump by 360 degrees: unwrap, then cut at +-180
        coords = [ring(r) for r in rings]
        for c in coords:
            c[:, 0] = np.unwrap(c[:, 0], period=360.0)
        shell = coords[0]
        if abs(shell[-1, 0] - shell[0, 0]) > 359.0:  # circumpolar (Antarctica): close at the pole
            pole = [[shell[-1, 0], -90.0], [shell[0, 0], -90.0], shell[0]]
            coords[0] = np.vstack([shell, pole])
        # put the shell's bulk in [-180, 180] and every hole on the same turn as the shell
        mid = np.median(coords[0][:, 0])
        coords[0][:, 0] -= 360.0 * np.round(mid / 360.0)
        mid = np.median(coords[0][:, 0])
        for c in coords[1:]:
            c[:, 0] -= 360.0 * np.round((np.median(c[:, 0]) - mid) / 360.0)
        p = shapely.make_valid(shapely.Polygon(coords[0], coords[1:]))
        x0, _, x1, _ = p.bounds
        if x0 >= -180 and x1 <= 180:
            return [p]
        out = []
        for shift in (-360.0, 0.0, 360.0):
            piece = shapely.intersection(p, shapely.box(-180 - shift, -90, 180 - shift, 90))
            if not piece.is_empty:
                out.append(shapely.affinity.translate(piece, xoff=shift))
        return out

    out = []
    for g in topo["objects"][name]["geometries"]:
        polys = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"]
        for rings in polys:
            p = polygon(rings)
            x = np.concatenate([ring(r)[:, 0] for r in rings])
            out.extend(unwrap(rings) if np.abs(np.diff(x)).max() > 180 else [p])
    return out


def fetch_world_atlas(dest: Path) -> Path:
    subprocess.run(
        ["npm", "pack", "world-atlas@2.0.2", "--silent"],
        cwd=dest,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(["tar", "xzf", "world-atlas-2.0.2.tgz"], cwd=dest, check=True)
    return dest / "package"


def build_world(atlas: Path, arrays: dict[str, np.ndarray]) -> dict[str, int]:
    topo = json.loads((atlas / "land-50m.json").read_text(encoding="utf-8"))
    polys = [shapely.make_valid(p) for p in decode_topojson(topo, "land")]
    polys = [q for p in polys for q in getattr(p, "geoms", [p]) if q.geom_type == "Polygon"]
    polys = [shapely.set_precision(p, 1 / SCALE) for p in polys]
    polys = [p for p in polys if not p.is_empty]
    pack("land", as_multipolygons([shapely.MultiPolygon(polys)]), arrays)
    return {"land polygons": len(polys)}


def haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(h))


def in_box(lat: float, lon: float) -> bool:
    return BOX[1] <= lat <= BOX[3] and BOX[0] <= lon <= BOX[2]


# Harbours that neither list places where vessels actually berth or anchor (GFW's "PTO AYORA"
# anchorages lie 38 km north of the town) or that lie outside the box but are the ends of
# the area's routes. Coordinates of the harbour basins, from public nautical sources.
CURATED_PORTS = (
    ("PUERTO AYORA", -0.7485, -90.3120, "ECU"),
    ("PUERTO BAQUERIZO MORENO", -0.8990, -89.6130, "ECU"),
    ("PUERTO VILLAMIL", -0.9620, -90.9640, "ECU"),
    ("BALTRA (SEYMOUR)", -0.4380, -90.2830, "ECU"),
    ("PUERTO BOLIVAR", -3.2640, -80.0100, "ECU"),
    ("LA LIBERTAD", -2.2180, -80.9100, "ECU"),
    ("GUAYAQUIL", -2.2830, -79.9100, "ECU"),
    ("TUMACO", 1.8200, -78.7300, "COL"),
    ("BUENAVENTURA", 3.8900, -77.0800, "COL"),
    ("CALLAO", -12.0500, -77.1500, "PER"),
)


# WPI rows with an empty iso3 in the source: Namibia's code "NA" read as missing, and
# territories without their own code there (ISO 3166: SJM Svalbard, UMI US minor outlying
# islands).
WPI_ISO3_FIXES = {
    "LUDERITZ BAY": "NAM",
    "WALVIS BAY": "NAM",
    "BARENTSBURG": "SJM",
    "LONGYEARBYEN": "SJM",
    "NY ALESUND": "SJM",
    "JOHNSTON ATOLL": "UMI",
    "MIDWAY ISLAND": "UMI",
    "WAKE ISLAND": "UMI",
}


def build_ports(geo: Path) -> dict[str, int]:
    """Write ``ports.csv``: inside the box the GFW anchorages, the WPI ports with no anchorage
    within ``WPI_DEDUP_KM`` and the curated harbours no list places; and ``world_ports.csv``:
    every WPI port outside the box (the World Port Index is global; GFW's anchorages are
    shipped for the box only, where their detail matters, and would weigh 3.5 MB for the
    world). Two files, so that the Eastern Pacific list stays what the simulator's world is
    built on."""
    rows = []
    with (geo / "ports" / "anchorages-eastern-pacific.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            lat, lon = float(r["latitude"].strip()), float(r["longitude"].strip())
            if not in_box(lat, lon):
                continue
            name = r["label"].strip()
            if r["sublabel"].strip():
                name = f"{name} ({r['sublabel'].strip()})"
            rows.append((name, lat, lon, r["iso3"].strip(), "anchorage", "gfw_anchorages"))
    n_anch = len(rows)
    alat = np.array([r[1] for r in rows])
    alon = np.array([r[2] for r in rows])
    wpi_kept = wpi_dup = 0
    world = []
    with (geo / "ports" / "WPI_ports.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            lat, lon = float(r["latitude"].strip()), float(r["longitude"].strip())
            boxed = in_box(lat, lon)
            if boxed and haversine_km(lat, lon, alat, alon).min() <= WPI_DEDUP_KM:
                wpi_dup += 1
                continue
            name = r["label"].strip()
            if r["sublabel"].strip():
                name = f"{name} ({r['sublabel'].strip()})"
            iso3 = r["iso3"].strip() or WPI_ISO3_FIXES.get(name, "")
            if boxed:
                rows.append((name, lat, lon, iso3, "port", "wpi"))
                wpi_kept += 1
            else:
                world.append((name, lat, lon, iso3, "port", "wpi"))
    plat = np.array([r[1] for r in rows])
    plon = np.array([r[2] for r in rows])
    curated = 0
    for name, lat, lon, iso3 in CURATED_PORTS:
        if haversine_km(lat, lon, plat, plon).min() > WPI_DEDUP_KM:
            rows.append((name, lat, lon, iso3, "port", "seawatch_curated"))
            curated += 1
    for file, table in (("ports.csv", rows), ("world_ports.csv", world)):
        table.sort(key=lambda r: (r[3], r[0], r[1], r[2]))
        with (OUT / file).open("w", encoding="utf-8", newline="") as out:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["name", "lat", "lon", "iso3", "kind", "source"])
            for name, lat, lon, iso3, kind, source in table:
                w.writerow([name, f"{lat:.6f}", f"{lon:.6f}", iso3, kind, source])
    return {"anchorages": n_anch, "wpi ports kept in the box": wpi_kept,
            "wpi duplicates in the box": wpi_dup, "wpi ports outside the box": len(world),
            "curated": curated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("shared", nargs="?", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--world-atlas", help="unpacked world-atlas@2.0.2 npm package folder")
    parser.add_argument("--ports-only", action="store_true",
                        help="rewrite ports.csv and world_ports.csv only (from the shared "
                        "data, no npm package)")
    args = parser.parse_args()
    geo = Path(args.shared) / "geo"
    if not geo.is_dir():
        sys.exit(f"shared geo data not found at {geo}; pass the shared data folder")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.ports_only:
        print("ports:", build_ports(geo))
        shutil.copyfile(geo / "ports" / "LICENSE", OUT / "LICENSE-pipe-anchorages-Apache-2.0")
        return

    arrays: dict[str, np.ndarray] = {}
    print("eastern pacific:", build_eastern_pacific(geo, arrays))
    np.savez_compressed(OUT / "eastern_pacific_10m.npz", **arrays)

    with tempfile.TemporaryDirectory() as tmp:
        atlas = Path(args.world_atlas) if args.world_atlas else fetch_world_atlas(Path(tmp))
        world: dict[str, np.ndarray] = {}
        print("world:", build_world(atlas, world))
        np.savez_compressed(OUT / "world_50m.npz", **world)
        shutil.copyfile(atlas / "LICENSE", OUT / "LICENSE-world-atlas-ISC")

    print("ports:", build_ports(geo))
    shutil.copyfile(geo / "ports" / "LICENSE", OUT / "LICENSE-pipe-anchorages-Apache-2.0")
    for p in sorted(OUT.iterdir()):
        print(f"  {p.name:40s} {p.stat().st_size / 1024:8.1f} KiB")


if __name__ == "__main__":
    main()

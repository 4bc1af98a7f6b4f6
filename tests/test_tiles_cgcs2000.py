"""Vector tiles in the geographic CGCS2000Quad tile matrix set, and out-of-range tiles in both sets.

Every test runs on SQLite (numpy encoder, lon/lat grid) and PostGIS (ST_AsMVTGeom on EPSG:4490 with a
lon/lat envelope) with the same assertions.
"""

from __future__ import annotations

import math

import pytest

from citybase.domains.access import SYSTEM
from citybase.domains.objects import ObjectChanges
from citybase.platform import Platform
from citybase.standards.mvt import MIME_TYPE, decode_tile, tile_bounds, tile_pixels
from citybase.store import TileLayerSpec, render_mvt
from citybase.store.schema import city_object
from tests.helpers import ORIGIN, Api, add_building, add_department, add_lamp, building_footprint

CGCS = "CGCS2000Quad"
Z = 15  # CGCS2000Quad level 15 draws like WebMercatorQuad 16: full detail, every basemap layer


def geo_frac(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional column and row of a lon/lat point in CGCS2000Quad (tiles of 180/2^z degrees)."""
    size = 180.0 / (1 << z)
    return (lon + 180.0) / size, (90.0 - lat) / size


def geo_tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    fx, fy = geo_frac(lon, lat, z)
    return z, int(fx), int(fy)


def geo_pixel(lon: float, lat: float, tile: tuple[int, int, int]) -> tuple[float, float]:
    z, x, y = tile
    fx, fy = geo_frac(lon, lat, z)
    return (fx - x) * 4096, (fy - y) * 4096


TILE = geo_tile(ORIGIN[0] + 0.00015, ORIGIN[1] + 0.00007, Z)


def ogc(collection: str, tile: tuple[int, int, int], tms: str = CGCS) -> str:
    z, x, y = tile
    return f"/ogc/collections/{collection}/tiles/{tms}/{z}/{y}/{x}"  # OGC order: matrix/row/col


def features(data: bytes, layer: str) -> dict[int, dict]:
    return {f["id"]: f for f in decode_tile(data).get(layer, {"features": []})["features"]}


def test_geographic_grid_of_the_encoder() -> None:
    # level 0: two tiles, west and east of the antimeridian-to-Greenwich split
    assert tile_bounds(0, 0, 0, crs="EPSG:4490", tms=CGCS) == pytest.approx((-180, -90, 0, 90))
    assert tile_bounds(0, 1, 0, crs="EPSG:4490", tms=CGCS) == pytest.approx((0, -90, 180, 90))
    assert tile_bounds(1, 3, 1, crs="EPSG:4490", tms=CGCS) == pytest.approx((90, -90, 180, 0))
    px, inside = tile_pixels([[45.0, 45.0], [90.0, 0.0]], 1, 2, 0, crs="EPSG:4490", tms=CGCS, extent=4096)
    assert px.tolist() == [[2048, 2048], [4096, 4096]] and inside.all()
    from citybase.kernel.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        tile_bounds(1, 4, 0, crs="EPSG:4490", tms=CGCS)  # columns 0..3 at level 1
    with pytest.raises(InvalidInputError):
        tile_bounds(1, 0, 2, crs="EPSG:4490", tms=CGCS)  # rows 0..1
    with pytest.raises(InvalidInputError):
        tile_bounds(1, 0, 0, crs="EPSG:3857", tms=CGCS)  # the geographic grid takes lon/lat only


def test_building_lands_at_the_right_pixel_in_cgcs2000quad(platform: Platform, api: Api) -> None:
    a = add_building(platform, "1号楼", floors=6, height_m=18.5, use="住宅")
    far = add_building(platform, "远楼", dx=0.05)
    r = api.get(ogc("050101", TILE))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MIME_TYPE and r.headers["etag"]
    got = features(r.content, "050101")
    assert set(got) == {a.id} and far.id not in got
    assert got[a.id]["type"] == "Polygon"
    assert got[a.id]["properties"] == {
        "id": a.id,
        "name": "1号楼",
        "class_code": "050101",
        "floors": 6,
        "height_m": 18.5,
        "use": "住宅",
    }
    ring = got[a.id]["geometry"][0]
    for lon, lat in building_footprint().exterior.coords:
        px, py = geo_pixel(lon, lat, TILE)
        assert 0 < px < 4096 and 0 < py < 4096
        assert min(math.hypot(px - vx, py - vy) for vx, vy in ring) <= 1.0, (lon, lat, ring)
    # a lon/lat tile is twice as wide in longitude as in latitude per degree: the 0.0003° x 0.00015°
    # footprint is twice as wide as it is high in pixels (in Web Mercator it would be ~1.7:1)
    xs, ys = [v[0] for v in ring], [v[1] for v in ring]
    assert (max(xs) - min(xs)) / (max(ys) - min(ys)) == pytest.approx(2.0, abs=0.05)


def test_point_and_layers_through_render_mvt(platform: Platform) -> None:
    lamp = add_lamp(platform, dx=0.0001, dy=0.0001)
    spec = TileLayerSpec("all", None, columns=("id",))
    with platform.store.read() as conn:
        data = render_mvt(conn, TILE, [spec], tms=CGCS)
    (vx, vy), *_ = features(data, "all")[lamp.id]["geometry"]
    px, py = geo_pixel(ORIGIN[0] + 0.0001, ORIGIN[1] + 0.0001, TILE)
    assert math.hypot(px - vx, py - vy) <= 1.0
    specs = [TileLayerSpec("b", city_object.c.class_code == "050101"), spec]
    with platform.store.read() as conn:
        assert render_mvt(conn, (Z, TILE[1] + 5, TILE[2]), specs, tms=CGCS) == b""


def test_cgcs2000quad_zoom_and_cache_invalidation(platform: Platform, api: Api) -> None:
    a = add_building(platform, "A", floors=5)
    lon, lat = ORIGIN[0] + 0.0001, ORIGIN[1] + 0.0001
    # buildings start at Web Mercator 14 = CGCS2000Quad 13: below it the tile is empty (204)
    assert api.get(ogc("050101", geo_tile(lon, lat, 12))).status_code == 204
    assert a.id in features(api.get(ogc("050101", geo_tile(lon, lat, 13))).content, "050101")
    basemap = platform.tiles.tile("basemap", *TILE, tms=CGCS)
    assert basemap.data and platform.tiles.tile("basemap", *TILE, tms=CGCS) == basemap  # cached
    first = api.get(ogc("050101", TILE))
    platform.objects.update(SYSTEM, a.id, a.version, ObjectChanges(attributes={"floors": 9}))
    changed = api.get(ogc("050101", TILE))
    assert changed.headers["etag"] != first.headers["etag"]
    assert features(changed.content, "050101")[a.id]["properties"]["floors"] == 9
    assert features(platform.tiles.tile("basemap", *TILE, tms=CGCS).data, "050101")[a.id]["properties"]["floors"] == 9


def test_ogc_metadata_for_both_tile_matrix_sets(platform: Platform, api: Api) -> None:
    tilesets = api.get("/ogc/collections/050101/tiles").json()["tilesets"]
    assert [t["title"].split()[-1] for t in tilesets] == ["(WebMercatorQuad)", "(CGCS2000Quad)"]
    assert tilesets[1]["crs"].endswith("/EPSG/0/4490")
    assert tilesets[1]["tileMatrixSetDefinition"].endswith("/ogc/tileMatrixSets/CGCS2000Quad")
    meta = api.get("/ogc/collections/050101/tiles/CGCS2000Quad").json()
    limits = {m["tileMatrix"]: m for m in meta["tileMatrixSetLimits"]}
    assert min(map(int, limits)) == 13 and limits["13"]["maxTileCol"] == (2 << 13) - 1
    assert limits["13"]["maxTileRow"] == (1 << 13) - 1
    assert meta["layers"][0]["minTileMatrix"] == "13"
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["href"].endswith("/ogc/collections/050101/tiles/CGCS2000Quad/{tileMatrix}/{tileRow}/{tileCol}")


@pytest.mark.parametrize(
    "path, status",
    [
        # CGCS2000Quad: 2^(z+1) columns, 2^z rows
        ("/ogc/collections/050101/tiles/CGCS2000Quad/1/0/3", 204),  # column 3 exists at level 1
        ("/ogc/collections/050101/tiles/CGCS2000Quad/1/0/4", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/1/2/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/0/0/1", 204),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/0/1/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/23/0/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/-1/0/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/3/-1/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/99999999999999999999/0/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/2/99999999999999999999999/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/a/0/0", 400),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/1/0/0.5", 400),
        ("/ogc/collections/050101/tiles/CGCS2000Quad", 200),
        # WebMercatorQuad: 2^z × 2^z
        ("/ogc/collections/050101/tiles/WebMercatorQuad/1/0/2", 404),
        ("/ogc/collections/050101/tiles/WebMercatorQuad/1/0/1", 204),
        ("/ogc/collections/050101/tiles/WebMercatorQuad/-3/0/0", 404),
        ("/ogc/collections/050101/tiles/WebMercatorQuad/1000000/0/0", 404),
        ("/ogc/collections/050101/tiles/WebMercatorQuad/2/0/99999999999999999999999", 404),
        ("/api/tiles/basemap/-1/0/0.mvt", 404),
        ("/api/tiles/basemap/0/1/0.mvt", 404),
        ("/api/tiles/basemap/22/4194304/0.mvt", 404),
        ("/api/tiles/basemap/22/4194303/4194303.mvt", 204),
        ("/api/tiles/basemap/1e3/0/0.mvt", 400),
        # unknown tile matrix sets
        ("/ogc/collections/050101/tiles/WorldCRS84Quad/1/0/0", 404),
        ("/ogc/collections/050101/tiles/Nope", 404),
    ],
)
def test_out_of_range_tiles_in_both_tile_matrix_sets(api: Api, path: str, status: int) -> None:
    r = api.get(path)
    assert r.status_code == status, r.text
    if status >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["status"] == status


def test_tile_calls_are_metered_per_caller_also_when_cached(admin_api: Api, platform: Platform) -> None:
    """The tile routes answer cache hits on the event loop; every call must still be metered per key."""
    add_building(platform, "A")
    dept = add_department(platform, "zjj", "住建局")
    secret = admin_api.post("/api/admin/api-keys", json={"department": "zjj", "name": "map"}).json()["secret"]
    admin_headers = dict(admin_api.headers)
    admin_api.as_key(secret)
    for _ in range(3):  # the first renders, the next two are memory-cache hits
        assert admin_api.get(ogc("050101", TILE)).status_code == 200
    for _ in range(2):
        assert admin_api.get("/api/tiles/basemap/1/1/0.mvt").status_code in (200, 204)
    admin_api.headers = {}
    assert admin_api.get("/api/tiles/basemap/0/0/0.mvt").status_code in (200, 204)  # anonymous read
    assert admin_api.as_key("wrong-secret").get(ogc("050101", TILE)).status_code == 401
    admin_api.headers = admin_headers
    platform.meter.flush()
    rows = admin_api.get("/api/metering/daily", params={"department_id": dept.id}).json()["items"]
    by_route = {r["route"]: r["calls"] for r in rows}
    assert by_route["/ogc/collections/{collection_id}/tiles/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}"] == 3
    assert by_route["/api/tiles/{tileset}/{z}/{x}/{y}.mvt"] == 2

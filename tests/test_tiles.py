"""Vector tiles: store render_mvt, tilesets, zoom ranges, errors, ETag/304, cache invalidation, TileJSON, OGC.

Every test runs on SQLite (numpy encoder) and PostGIS (ST_AsMVT) with the same assertions.
"""

from __future__ import annotations

import math

import pytest
from shapely.geometry import box

from citybase.domains.access import SYSTEM
from citybase.domains.objects import NewObject, ObjectChanges
from citybase.domains.tiles import TileService
from citybase.platform import Platform
from citybase.standards.mvt import MIME_TYPE, decode_tile
from citybase.store import TileLayerSpec, render_mvt
from citybase.store.schema import city_object
from tests.helpers import ORIGIN, Api, add_building, add_lamp, building_footprint

Z = 16


def frac_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    n = 1 << z
    return (lon + 180) / 360 * n, (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n


def tile_at(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    fx, fy = frac_tile(lon, lat, z)
    return z, int(fx), int(fy)


def pixel(lon: float, lat: float, tile: tuple[int, int, int]) -> tuple[float, float]:
    z, x, y = tile
    fx, fy = frac_tile(lon, lat, z)
    return (fx - x) * 4096, (fy - y) * 4096


# The building at ORIGIN lies inside one z16 tile (checked below), away from its edges.
TILE = tile_at(ORIGIN[0] + 0.00015, ORIGIN[1] + 0.00007, Z)
FAR = 0.05  # degrees east: another tile at every zoom >= 8


def url(tileset: str, tile: tuple[int, int, int]) -> str:
    z, x, y = tile
    return f"/api/tiles/{tileset}/{z}/{x}/{y}.mvt"


def features(data: bytes, layer: str) -> dict[int, dict]:
    return {f["id"]: f for f in decode_tile(data).get(layer, {"features": []})["features"]}


def test_tile_holds_buildings_with_properties_at_the_right_pixels(platform: Platform) -> None:
    a = add_building(platform, "1号楼", floors=6, height_m=18.5, use="住宅")
    b = add_building(platform, "2号楼", dx=0.0004, floors=3)
    far = add_building(platform, "远楼", dx=FAR)
    tile = platform.tiles.tile("050101", *TILE)
    got = features(tile.data, "050101")
    assert set(got) == {a.id, b.id} and far.id not in got
    assert got[a.id]["type"] == "Polygon"
    assert got[a.id]["properties"] == {
        "id": a.id,
        "name": "1号楼",
        "class_code": "050101",
        "floors": 6,
        "height_m": 18.5,
        "use": "住宅",
    }
    assert got[b.id]["properties"]["floors"] == 3 and "height_m" not in got[b.id]["properties"]
    # every corner of the footprint is within 1 px of a vertex of the decoded ring
    for obj, dx in ((a, 0.0), (b, 0.0004)):
        ring = got[obj.id]["geometry"][0]
        for lon, lat in building_footprint(dx).exterior.coords:
            px, py = pixel(lon, lat, TILE)
            assert 0 < px < 4096 and 0 < py < 4096
            assert min(math.hypot(px - vx, py - vy) for vx, vy in ring) <= 1.0, (lon, lat, ring)


def test_store_render_mvt_layers_where_and_attributes(platform: Platform) -> None:
    a = add_building(platform, "A", floors=6, height_m=20.0)
    lamp = add_lamp(platform, dx=0.0001, dy=0.0001)
    specs = [
        TileLayerSpec("b", city_object.c.class_code == "050101", columns=("id", "name"), attributes=("height_m",)),
        TileLayerSpec("all", None, columns=(), attributes=()),
    ]
    with platform.store.read() as conn:
        data = render_mvt(conn, TILE, specs)
    tile = decode_tile(data)
    assert list(tile) == ["b", "all"]
    assert features(data, "b")[a.id]["properties"] == {"id": a.id, "name": "A", "height_m": 20}
    assert set(features(data, "all")) == {a.id, lamp.id}
    assert features(data, "all")[lamp.id]["type"] == "Point"
    assert features(data, "all")[lamp.id]["properties"] == {}
    px, py = pixel(ORIGIN[0] + 0.0001, ORIGIN[1] + 0.0001, TILE)
    (vx, vy), *_ = features(data, "all")[lamp.id]["geometry"]
    assert math.hypot(px - vx, py - vy) <= 1.0
    with platform.store.read() as conn:
        assert render_mvt(conn, (Z, TILE[1] + 5, TILE[2]), specs) == b""


def test_all_attributes_layers_keep_only_the_class_attributes(platform: Platform) -> None:
    """A class tileset selects every attribute of its class (``all_attributes``): validated documents go
    into the tile as they are on PostGIS, and a document with a key the class does not have (written
    before the class changed, or by SQL) is still cut down to the class's attributes."""
    a = add_building(platform, "A", floors=6, height_m=18.5, use="住宅")
    b = add_building(platform, "B", dx=0.0004, floors=3)
    with platform.store.write() as conn:
        conn.execute(
            city_object.update()
            .where(city_object.c.id == b.id)
            .values(attributes={"floors": 3, "secret_note": "不应出图", "height_m": None})
        )
    platform.tiles.bump({"050101"})
    got = features(platform.tiles.tile("050101", *TILE).data, "050101")
    assert got[a.id]["properties"] == {
        "id": a.id,
        "name": "A",
        "class_code": "050101",
        "floors": 6,
        "height_m": 18.5,
        "use": "住宅",
    }
    assert got[b.id]["properties"] == {"id": b.id, "name": "B", "class_code": "050101", "floors": 3}
    everything = [TileLayerSpec("b", city_object.c.class_code == "050101", attributes=("floors",), all_attributes=True)]
    with platform.store.read() as conn:  # a selection marked complete that is not: other keys are still cut
        props = features(render_mvt(conn, TILE, everything), "b")[a.id]["properties"]
    assert props == {"id": a.id, "name": "A", "class_code": "050101", "floors": 6}


def test_a_layer_of_several_classes_by_in(platform: Platform) -> None:
    """``class_code IN (…)`` (an expanding parameter) works on both paths, past layer versions too, and
    gives the same features as the OR of its classes."""
    a = add_building(platform, "A")
    lamp = add_lamp(platform, dx=0.0001, dy=0.0001)
    c = city_object.c
    by_in = [TileLayerSpec("x", c.class_code.in_(["050101", "010301"]))]
    by_or = [TileLayerSpec("x", (c.class_code == "050101") | (c.class_code == "010301"))]
    only = [TileLayerSpec("x", c.class_code.in_(["010301"]) & (c.state != "retired"))]
    with platform.store.read() as conn:
        got = {name: features(render_mvt(conn, TILE, specs), "x") for name, specs in (("in", by_in), ("or", by_or))}
        lamps = features(render_mvt(conn, TILE, only), "x")
    assert set(got["in"]) == {a.id, lamp.id} and got["in"] == got["or"]
    assert set(lamps) == {lamp.id}


def test_retired_objects_are_not_drawn(platform: Platform) -> None:
    a = add_building(platform, "A")
    platform.objects.retire(SYSTEM, a.id, a.version)
    assert platform.tiles.tile("050101", *TILE).data == b""


def test_basemap_zoom_ranges(platform: Platform, api: Api) -> None:
    add_building(platform, "A", floors=5)
    add_lamp(platform, dx=0.0001)
    lon, lat = ORIGIN[0] + 0.0001, ORIGIN[1] + 0.0001
    at = {z: decode_tile(platform.tiles.tile("basemap", *tile_at(lon, lat, z)).data) for z in (13, 14, 15)}
    assert "050101" not in at[13] and "010301" not in at[13]
    assert "050101" in at[14] and "010301" not in at[14]
    assert "050101" in at[15] and "010301" in at[15]
    building = at[15]["050101"]["features"][0]["properties"]
    assert building["floors"] == 5 and building["class_code"] == "050101"
    # the class's own tileset is empty below its minzoom (14 for buildings): 204
    r = api.get(url("050101", tile_at(lon, lat, 13)))
    assert r.status_code == 204 and r.content == b""
    r = api.get(url("050101", tile_at(lon, lat, 14)))
    assert r.status_code == 200 and r.headers["content-type"] == MIME_TYPE


@pytest.mark.parametrize(
    "path, status",
    [
        ("/api/tiles/basemap/23/0/0.mvt", 404),
        ("/api/tiles/basemap/3/8/0.mvt", 404),
        ("/api/tiles/basemap/3/0/8.mvt", 404),
        ("/api/tiles/basemap/3/-1/0.mvt", 404),
        ("/api/tiles/basemap/99999999999999999999/0/0.mvt", 404),
        ("/api/tiles/basemap/a/0/0.mvt", 400),
        ("/api/tiles/basemap/1/0/0.5.mvt", 400),
        ("/api/tiles/nosuch/1/0/0.mvt", 404),
        ("/api/tiles/999999/1/0/0.mvt", 404),
        ("/api/tiles/nosuch.json", 404),
        ("/ogc/collections/050101/tiles/WebMercatorQuad/23/0/0", 404),
        ("/ogc/collections/050101/tiles/CGCS2000Quad/1/0/4", 404),
        ("/ogc/collections/999999/tiles/WebMercatorQuad/1/0/0", 404),
        ("/ogc/tileMatrixSets/Nope", 404),
    ],
)
def test_out_of_range_and_unknown_tiles_are_problems(api: Api, path: str, status: int) -> None:
    r = api.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == status


def test_etag_and_304(platform: Platform, api: Api) -> None:
    add_building(platform, "A")
    r = api.get(url("basemap", TILE))
    assert r.status_code == 200 and r.headers["content-type"] == MIME_TYPE
    etag = r.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = api.get(url("basemap", TILE), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert api.get(url("basemap", TILE), headers={"If-None-Match": '"other"'}).status_code == 200
    assert api.get(url("basemap", TILE), headers={"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    decoded = decode_tile(r.content)
    assert "050101" in decoded


def test_cache_invalidation_after_update(platform: Platform, api: Api) -> None:
    a = add_building(platform, "A", floors=6)
    far = add_building(platform, "远楼", dx=FAR)
    far_tile = tile_at(ORIGIN[0] + FAR + 0.0001, ORIGIN[1] + 0.0001, Z)
    first = api.get(url("basemap", TILE))
    far_first = api.get(url("basemap", far_tile))
    assert far.id in features(far_first.content, "050101")
    cache = platform.tiles.cache
    hits, misses = cache.hits, cache.misses
    assert api.get(url("basemap", TILE)).headers["etag"] == first.headers["etag"]
    assert (cache.hits, cache.misses) == (hits + 1, misses)

    platform.objects.update(SYSTEM, a.id, a.version, ObjectChanges(name="A改", attributes={"floors": 9}))
    changed = api.get(url("basemap", TILE))
    assert changed.headers["etag"] != first.headers["etag"]
    props = features(changed.content, "050101")[a.id]["properties"]
    assert props["name"] == "A改" and props["floors"] == 9
    hits, misses = cache.hits, cache.misses
    unaffected = api.get(url("basemap", far_tile))
    assert unaffected.headers["etag"] == far_first.headers["etag"]
    assert (cache.hits, cache.misses) == (hits + 1, misses)  # still cached

    # moving the building: its old tile loses it, its new tile gains it
    moved = box(ORIGIN[0] + FAR, ORIGIN[1] + 0.0002, ORIGIN[0] + FAR + 0.0002, ORIGIN[1] + 0.0003)
    current = platform.objects.get(a.id)
    platform.objects.update(SYSTEM, a.id, current.version, ObjectChanges(geometry=moved))
    assert a.id not in features(api.get(url("basemap", TILE)).content, "050101")
    assert a.id in features(api.get(url("basemap", far_tile)).content, "050101")


def test_bulk_load_bumps_the_generation(platform: Platform) -> None:
    add_building(platform, "A")
    before = platform.tiles.tile("050101", *TILE)
    news = [
        NewObject(
            class_code="050101", name=f"楼{i}", geometry=building_footprint(0.0004 * (i % 3)), attributes={"floors": 2}
        )
        for i in range(300)
    ]
    platform.objects.create_many(SYSTEM, news)
    after = platform.tiles.tile("050101", *TILE)
    assert after.etag != before.etag
    assert len(features(after.data, "050101")) == 301


def test_disk_cache_survives_a_new_service(platform: Platform) -> None:
    add_building(platform, "A")
    tile = platform.tiles.tile("basemap", *TILE)
    files = list((platform.settings.data_dir / "tiles").rglob("*.mvt"))
    assert files
    fresh = TileService(platform.store, platform.classes, platform.settings.data_dir / "tiles")
    again = fresh.tile("basemap", *TILE)
    assert again == tile and fresh.cache.hits == 1 and fresh.cache.misses == 0


def test_tilejson(platform: Platform, api: Api) -> None:
    r = api.get("/api/tiles/basemap.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://citybase.test/api/tiles/basemap/{z}/{x}/{y}.mvt"]
    assert 0 <= doc["minzoom"] <= doc["maxzoom"] <= 22
    layers = {v["id"]: v for v in doc["vector_layers"]}
    assert {"050101", "020101", "090101", "070101", "010301"} <= set(layers)
    assert layers["050101"]["minzoom"] == 14 and layers["010301"]["minzoom"] == 15
    assert layers["050101"]["fields"]["height_m"] == "Number"
    assert layers["050101"]["fields"]["use"] == "String"
    one = api.get("/api/tiles/050101.json").json()
    assert [v["id"] for v in one["vector_layers"]] == ["050101"]
    names = {t["name"] for t in api.get("/api/tiles").json()["tilesets"]}
    assert {"basemap", "050101", "010301"} <= names


def test_ogc_tiles(platform: Platform, api: Api) -> None:
    add_building(platform, "A")
    sets = api.get("/ogc/tileMatrixSets").json()["tileMatrixSets"]
    assert {s["id"] for s in sets} == {"WebMercatorQuad", "CGCS2000Quad"}
    wm = api.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert len(wm["tileMatrices"]) == 23 and wm["tileMatrices"][3]["matrixWidth"] == 8
    cg = api.get("/ogc/tileMatrixSets/CGCS2000Quad").json()
    assert cg["crs"].endswith("/EPSG/0/4490")
    m0 = cg["tileMatrices"][0]
    assert (m0["matrixWidth"], m0["matrixHeight"]) == (2, 1)
    assert cg["tileMatrices"][5]["matrixWidth"] == 64
    tilesets = api.get("/ogc/collections/050101/tiles").json()["tilesets"]
    assert tilesets[0]["dataType"] == "vector"
    meta = api.get("/ogc/collections/050101/tiles/WebMercatorQuad").json()
    assert any(link.get("templated") for link in meta["links"])
    z, x, y = TILE
    ogc = api.get(f"/ogc/collections/050101/tiles/WebMercatorQuad/{z}/{y}/{x}")  # OGC order: row, col
    xyz = api.get(url("050101", TILE))
    assert ogc.status_code == 200 and ogc.content == xyz.content
    assert api.get(f"/ogc/collections/050101/tiles/WebMercatorQuad/{z}/{x}/{y}").status_code == 204

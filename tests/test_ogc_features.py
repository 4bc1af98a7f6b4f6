"""OGC API – Features at /ogc, in-process on both databases: documents, paging, filters, CRS, HTML, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer
from shapely.geometry import shape

from citybase.domains.access import SYSTEM
from citybase.domains.layers import NewLayer
from citybase.domains.objects import ObjectQuery
from citybase.platform import Platform
from tests.helpers import ORIGIN, Api, add_building, add_lamp
from tests.test_api import assert_problem
from tests.test_tiles_datasets import buildings, first_import, import_api

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4490 = "http://www.opengis.net/def/crs/EPSG/0/4490"
EPSG3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
ITEMS = "/ogc/collections/buildings/items"


def rels(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lk["rel"]: lk for lk in doc["links"]}


@pytest.fixture
def city(platform: Platform) -> list[int]:
    ids = [add_building(platform, f"{i}号楼", dx=i * 0.001, floors=3 + i).id for i in range(7)]
    add_lamp(platform)
    return ids


def test_landing_conformance_collections_and_openapi(api: Api) -> None:
    r = api.get("/ogc/")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    links = rels(r.json())
    assert {"self", "alternate", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert all("type" in lk for lk in r.json()["links"])
    conf = api.get("/ogc/conformance").json()["conformsTo"]
    assert CORE in conf and "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conf
    cols = api.get("/ogc/collections").json()
    one = next(c for c in cols["collections"] if c["id"] == "buildings")
    assert one["crs"][0] == CRS84 and EPSG3857 in one["crs"] and one["storageCrs"] == EPSG4490
    assert api.get("/ogc/collections/buildings").json() == one
    doc = api.get(links["service-desc"]["href"]).json()
    assert doc["openapi"] == "3.0.3" and doc["servers"][0]["url"].endswith("/ogc")
    bbox = next(p for p in doc["paths"]["/collections/buildings/items"]["get"]["parameters"] if "$ref" in p)
    assert bbox["$ref"].startswith("#/components/parameters/")
    assert doc["components"]["parameters"]["bbox"]["schema"]["minItems"] == 4
    assert_problem(api.get("/ogc/collections/nothing"), 404)
    assert_problem(api.get("/ogc/conformance", params={"x": "1"}), 400, "x")


def test_items_page_with_next_and_prev_links_and_counts(api: Api, city: list[int]) -> None:
    r = api.get(ITEMS, params={"limit": 3})
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    assert r.headers["content-crs"] == f"<{CRS84}>"
    body = r.json()
    assert [f["id"] for f in body["features"]] == city[:3]
    assert body["numberReturned"] == 3 and body["numberMatched"] == 7 and body["timeStamp"].endswith("Z")
    seen = [f["id"] for f in body["features"]]
    while "next" in rels(body):
        body = api.get(rels(body)["next"]["href"]).json()
        seen += [f["id"] for f in body["features"]]
        assert "prev" in rels(body)
    assert seen == city
    feature = api.get(ITEMS, params={"limit": 1}).json()["features"][0]
    assert feature["properties"]["name"] == "0号楼" and feature["properties"]["floors"] == 3
    assert feature["geometry"]["type"] == "Polygon"


def test_filters_bbox_datetime_and_properties(api: Api, city: list[int]) -> None:
    x, y = ORIGIN
    box = f"{x + 0.0045},{y - 0.001},{x + 0.0065},{y + 0.001}"
    ids = [f["id"] for f in api.get(ITEMS, params={"bbox": box}).json()["features"]]
    assert ids == city[5:7]
    six = f"{x + 0.0045},{y - 0.001},0,{x + 0.0065},{y + 0.001},100"
    assert [f["id"] for f in api.get(ITEMS, params={"bbox": six}).json()["features"]] == ids
    lat_first = f"{y - 0.001},{x + 0.0045},{y + 0.001},{x + 0.0065}"
    r = api.get(ITEMS, params={"bbox": lat_first, "bbox-crs": EPSG4490})
    assert [f["id"] for f in r.json()["features"]] == ids
    to_merc = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)
    (mx1, mx2), (my1, my2) = to_merc.transform([x + 0.0045, x + 0.0065], [y - 0.001, y + 0.001])
    r = api.get(ITEMS, params={"bbox": f"{mx1},{my1},{mx2},{my2}", "bbox-crs": EPSG3857})
    assert [f["id"] for f in r.json()["features"]] == ids
    assert api.get(ITEMS, params={"floors": "5"}).json()["numberMatched"] == 1
    assert api.get(ITEMS, params={"name": "6号楼"}).json()["features"][0]["id"] == city[6]
    assert api.get(ITEMS, params={"datetime": "2000-01-01T00:00:00Z/2001-01-01T00:00:00Z"}).json()["numberMatched"] == 0
    assert api.get(ITEMS, params={"datetime": "2000-01-01/.."}).json()["numberMatched"] == 7
    assert api.get(ITEMS, params={"datetime": "../2001-01-01"}).json()["numberMatched"] == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "unlimited"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "10001"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"ooga": "booga"}, "ooga"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "3,2,1,0"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox-crs": EPSG4490}, "bbox-crs"),
        ({"crs": "EPSG:2385"}, "crs"),
        ({"datetime": "yesterday"}, "datetime"),
        ({"datetime": "../.."}, "datetime"),
        ({"datetime": "2024-01-02/2024-01-01"}, "datetime"),
        ({"floors": "many"}, "floors"),
        ({"f": "xml"}, "f"),
    ],
)
def test_invalid_or_unknown_parameters_are_400(api: Api, params: dict[str, str], field: str) -> None:
    assert_problem(api.get(ITEMS, params=params), 400, field)


def test_output_crs(api: Api, city: list[int]) -> None:
    base = shape(api.get(f"{ITEMS}/{city[0]}").json()["geometry"])
    r = api.get(f"{ITEMS}/{city[0]}", params={"crs": EPSG4490})
    assert r.headers["content-crs"] == f"<{EPSG4490}>"
    swapped = shape(r.json()["geometry"])
    assert swapped.bounds[0] == pytest.approx(base.bounds[1]) and swapped.bounds[1] == pytest.approx(base.bounds[0])
    merc = shape(api.get(ITEMS, params={"crs": EPSG3857, "limit": 1}).json()["features"][0]["geometry"])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True).transform(base.bounds[0], base.bounds[1])
    assert merc.bounds[0] == pytest.approx(x, abs=0.01) and merc.bounds[1] == pytest.approx(y, abs=0.01)


def test_one_feature_with_links_and_404s(api: Api, platform: Platform, city: list[int]) -> None:
    r = api.get(f"{ITEMS}/{city[1]}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["id"] == city[1] and {"self", "alternate", "collection"} <= set(rels(body))
    lamp = platform.objects.search(ObjectQuery(class_code="010301")).items[0]
    assert_problem(api.get(f"{ITEMS}/{lamp.id}"), 404)
    assert_problem(api.get(f"{ITEMS}/abc"), 404)
    assert_problem(api.get(f"{ITEMS}/{city[1]}", params={"limit": "1"}), 400, "limit")
    platform.objects.retire(SYSTEM, city[1], 1)
    assert_problem(api.get(f"{ITEMS}/{city[1]}"), 404)


def test_html_pages_by_f_and_accept(api: Api, city: list[int]) -> None:
    for url in (
        "/ogc/",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/buildings",
        ITEMS,
        f"{ITEMS}/{city[0]}",
        "/ogc/openapi",
    ):
        r = api.get(url, params={"f": "html"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
        assert "<script" not in r.text and "http" not in r.text.split("<body>")[0].replace("http-equiv", "")
    r = api.get(ITEMS, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.headers["content-type"].startswith("text/html") and "0号楼" in r.text
    assert api.get(ITEMS, headers={"Accept": "application/geo+json"}).headers["content-type"] == "application/geo+json"


def test_only_visible_layers_are_collections_and_calls_are_metered(api: Api, platform: Platform) -> None:
    platform.layers.create(SYSTEM, NewLayer("staff-lamps", "内部路灯", "010301", access="internal"))
    ids = {c["id"] for c in api.get("/ogc/collections").json()["collections"]}
    assert "staff-lamps" not in ids and "buildings" in ids
    assert_problem(api.get("/ogc/collections/staff-lamps/items"), 404)
    platform.meter.flush()
    stats = platform.meter.daily(SYSTEM, route="/ogc/collections/{collection_id}/items")
    assert sum(s.calls for s in stats) == 1


def ids_of(api: Api, **params: str) -> list[int]:
    r = api.get(ITEMS, params=params)
    assert r.status_code == 200, r.text
    return [f["id"] for f in r.json()["features"]]


def test_cql2_text_filters(api: Api, city: list[int]) -> None:
    x, y = ORIGIN
    assert ids_of(api, filter="floors > 7") == city[5:]
    assert ids_of(api, filter="floors >= 4 AND floors < 6") == city[1:3]
    assert ids_of(api, filter="floors = 3 OR name = '6号楼'") == [city[0], city[6]]
    assert ids_of(api, filter="NOT (floors <= 8)") == city[6:]
    assert ids_of(api, filter="name LIKE '1%'") == [city[1]]
    assert ids_of(api, filter="floors BETWEEN 4 AND 5") == city[1:3]
    assert ids_of(api, filter="name IN ('2号楼', '4号楼')") == [city[2], city[4]]
    assert ids_of(api, filter="code IS NULL", limit="100") == city
    box = f"BBOX({x + 0.0045},{y - 0.001},{x + 0.0065},{y + 0.001})"
    assert ids_of(api, filter=f"S_INTERSECTS(geometry, {box})") == city[5:7]
    point = f"POINT({x + 0.0051} {y + 0.0001})"
    assert ids_of(api, filter=f"S_INTERSECTS(geometry, {point})") == [city[5]]
    x0, x1, y0, y1 = x - 0.001, x + 0.0025, y - 0.001, y + 0.01
    square = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
    assert ids_of(api, filter=f"S_WITHIN(geometry, {square})") == city[:3]
    assert ids_of(api, filter=f"S_INTERSECTS(geometry, {square}) AND floors > 3") == city[1:3]
    lat_first = f"BBOX({y - 0.001},{x + 0.0045},{y + 0.001},{x + 0.0065})"
    assert ids_of(api, **{"filter": f"S_INTERSECTS(geometry, {lat_first})", "filter-crs": EPSG4490}) == city[5:7]
    assert api.get(ITEMS, params={"filter": "floors > 7"}).json()["numberMatched"] == 2


def test_cql2_json_filters_and_queryables(api: Api, city: list[int]) -> None:
    x, y = ORIGIN
    expr = {
        "op": "and",
        "args": [
            {"op": ">", "args": [{"property": "floors"}, 4]},
            {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [x - 1, y - 1, x + 0.0035, y + 1]}]},
        ],
    }
    assert ids_of(api, **{"filter": json.dumps(expr), "filter-lang": "cql2-json"}) == city[2:4]
    q = api.get("/ogc/collections/buildings/queryables")
    assert q.headers["content-type"] == "application/schema+json"
    assert {"geometry", "name", "floors"} <= set(q.json()["properties"])
    assert q.json()["properties"]["floors"]["type"] == "integer"


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "floors >"},
        {"filter": "colour = 'red'"},
        {"filter": "floors = 1; DROP TABLE city_object"},
        {"filter": "name = 'x' OR 1=1"},
        {"filter": "S_INTERSECTS(name, POINT(1 2))"},
        {"filter": "S_CROSSES(geometry, POINT(1 2))"},
        {"filter": "{not json", "filter-lang": "cql2-json"},
        {"filter": "floors = 1", "filter-lang": "sql"},
        {"filter-lang": "cql2-text"},
    ],
)
def test_bad_filters_are_400_and_never_reach_sql(api: Api, city: list[int], params: dict[str, str]) -> None:
    field = "filter" if "filter" in params and params.get("filter-lang") != "sql" else "filter-lang"
    assert_problem(api.get(ITEMS, params=params), 400, field)
    assert len(ids_of(api, limit="100")) == 7


def test_filter_literals_are_bound_not_spliced(api: Api, city: list[int]) -> None:
    for op, text in (("=", "0号楼' OR '1'='1"), ("like", "%' OR 1=1 --")):
        expr = {"op": op, "args": [{"property": "name"}, text]}
        assert ids_of(api, **{"filter": json.dumps(expr), "filter-lang": "cql2-json"}) == []
    assert len(ids_of(api, limit="100")) == 7


# --- ?version=N on a dataset layer (an imported layer's past versions) --------------------------------


def _import_two_versions(platform: Platform, api: Api, tmp_path: Path) -> None:
    """zjj v1: 甲 (5 floors, footprint 0), 乙, 丙; v2: 甲 moved to footprint 4 with 9 floors, 乙, 丁 (丙 left)."""
    first_import(platform, api, tmp_path)
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 4), ("B", "乙楼", 6, 1), ("D", "丁楼", 3, 3)])
    assert import_api(platform, api, v2) == 2


def _names(api: Api, url: str, **params: str) -> dict[str, dict[str, Any]]:
    r = api.get(url, params=params)
    assert r.status_code == 200, r.text
    return {f["properties"]["name"]: f for f in r.json()["features"]}


def _box_of(i: int) -> str:
    """A bbox around footprint ``i`` of imports_helpers.footprints only."""
    x = ORIGIN[0] + i * 0.001
    return f"{x + 0.0001},{ORIGIN[1] + 0.00005},{x + 0.0002},{ORIGIN[1] + 0.00015}"


def test_items_of_a_layer_version(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    _import_two_versions(platform, admin_api, tmp_path)
    zjj = "/ogc/collections/zjj/items"
    now, one, two = _names(admin_api, zjj), _names(admin_api, zjj, version="1"), _names(admin_api, zjj, version="2")
    assert sorted(one) == ["丙楼", "乙楼", "甲楼"] and sorted(two) == sorted(now) == ["丁楼", "乙楼", "甲楼"]
    assert one["甲楼"]["id"] == now["甲楼"]["id"]  # the same object, at its version of then
    assert one["甲楼"]["properties"]["floors"] == 5 and two["甲楼"]["properties"]["floors"] == 9
    assert one["甲楼"]["properties"]["version"] < now["甲楼"]["properties"]["version"]
    assert shape(one["甲楼"]["geometry"]).centroid.x < shape(now["甲楼"]["geometry"]).centroid.x  # it moved
    # Filters see the version's rows: its geometry (甲 stood on footprint 0 in v1) and attributes.
    assert list(_names(admin_api, zjj, version="1", bbox=_box_of(0))) == ["甲楼"]
    assert list(_names(admin_api, zjj, bbox=_box_of(0))) == []
    assert list(_names(admin_api, zjj, version="1", bbox=_box_of(2))) == ["丙楼"]
    assert sorted(_names(admin_api, zjj, version="1", filter="floors >= 6")) == ["丙楼", "乙楼"]
    assert sorted(_names(admin_api, zjj, version="2", filter="floors >= 6")) == ["乙楼", "甲楼"]
    assert list(_names(admin_api, zjj, version="1", floors="7")) == ["丙楼"]
    intersects = f"S_INTERSECTS(geometry, POINT({ORIGIN[0] + 0.00015} {ORIGIN[1] + 0.0001}))"
    assert list(_names(admin_api, zjj, version="1", filter=intersects)) == ["甲楼"]
    # Paging keeps the version in its links; counts are of the version.
    page = admin_api.get(zjj, params={"version": "1", "limit": "2"}).json()
    assert page["numberMatched"] == 3 and page["numberReturned"] == 2
    nxt = rels(page)["next"]["href"]
    assert "version=1" in nxt
    rest = admin_api.get(nxt).json()
    assert [f["properties"]["name"] for f in rest["features"]] == ["丙楼"] and "version=1" in rels(rest)["prev"]["href"]
    # One feature as it was; its own links keep the version.
    one_a = admin_api.get(f"{zjj}/{now['甲楼']['id']}", params={"version": "1"}).json()
    assert one_a["properties"]["floors"] == 5 and rels(one_a)["self"]["href"].endswith("version=1")
    assert admin_api.get(f"{zjj}/{now['甲楼']['id']}").json()["properties"]["floors"] == 9
    assert "version=1" in admin_api.get(zjj, params={"version": "1", "f": "html"}).text
    # The OpenAPI document lists version for the imported layer only.
    doc = admin_api.get("/ogc/openapi", params={"f": "json"}).json()
    refs = [p.get("$ref", "") for p in doc["paths"]["/collections/zjj/items"]["get"]["parameters"]]
    assert "#/components/parameters/version" in refs
    assert "#/components/parameters/version" in str(doc["paths"]["/collections/zjj/items/{featureId}"])
    assert "#/components/parameters/version" not in str(doc["paths"]["/collections/buildings/items"])
    assert doc["components"]["parameters"]["version"]["schema"] == {"type": "integer", "minimum": 1}


def test_bad_versions_of_items_are_clear_errors(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    _import_two_versions(platform, admin_api, tmp_path)
    zjj = "/ogc/collections/zjj/items"
    gone = _names(admin_api, zjj, version="1")["丙楼"]["id"]
    body = assert_problem(admin_api.get(zjj, params={"version": "3"}), 404, "version")
    assert "no version 3" in body["detail"] and "1..2" in body["detail"]
    assert_problem(admin_api.get(f"{zjj}/{gone}", params={"version": "3"}), 404, "version")
    assert_problem(admin_api.get(f"{zjj}/{gone}", params={"version": "2"}), 404)  # not in version 2
    assert admin_api.get(f"{zjj}/{gone}", params={"version": "1"}).status_code == 200
    for bad in ("0", "-1", "abc", "1.5"):
        assert_problem(admin_api.get(zjj, params={"version": bad}), 400, "version")
        assert_problem(admin_api.get(f"{zjj}/{gone}", params={"version": bad}), 400, "version")
    assert_problem(admin_api.get(ITEMS, params={"version": "1"}), 400, "version", "class layer")
    assert_problem(admin_api.get(zjj, params=[("version", "1"), ("version", "2")]), 400, "version")


@pytest.mark.parametrize("crs", [None, CRS84, EPSG4490, EPSG3857])
def test_items_page_features_equal_the_features_one_by_one(api: Api, platform: Platform, crs: str | None) -> None:
    """Items pages write geometries with GEOS (shapely.to_geojson) and the body with orjson; each feature
    must be what the one-feature endpoint (shapely mapping, json) gives, in every output CRS, with odd
    coordinates, a hole, Chinese text, quotes and backslashes."""
    ring = [(ORIGIN[0] + 0.0001234567891, ORIGIN[1] + 0.0000987654321), (ORIGIN[0] + 0.0021, ORIGIN[1] + 0.00013)]
    ring += [(ORIGIN[0] + 0.0019999, ORIGIN[1] + 0.0017777), (ORIGIN[0] - 0.0003, ORIGIN[1] + 0.0011)]
    hole = [(ORIGIN[0] + 0.0005, ORIGIN[1] + 0.0005), (ORIGIN[0] + 0.0007, ORIGIN[1] + 0.0005)]
    hole += [(ORIGIN[0] + 0.0006, ORIGIN[1] + 0.0007)]
    from shapely.geometry import Polygon

    from citybase.domains.objects import NewObject

    platform.objects.create(
        SYSTEM,
        NewObject(
            class_code="050101",
            name="带“引号”的楼\\",
            geometry=Polygon(ring, [hole]),
            attributes={"floors": 7, "use": "住宅", "permit_no": '建[2020]"7"号\\', "height_m": 21.123456789},
        ),
    )
    for i in range(3):
        add_building(platform, f"{i}号楼", dx=i * 0.0013, floors=i + 1)
    params = {"limit": 10} | ({} if crs is None else {"crs": crs})
    page = api.get(ITEMS, params=params)
    assert page.status_code == 200 and page.headers["content-type"] == "application/geo+json"
    features = page.json()["features"]
    assert len(features) == 4
    for f in features:
        one = api.get(f"{ITEMS}/{f['id']}", params={} if crs is None else {"crs": crs}).json()
        assert f["geometry"] == one["geometry"] and f["properties"] == one["properties"], f["id"]
    assert any(len(f["geometry"]["coordinates"]) == 2 for f in features)  # the hole survived


def test_items_page_with_an_integer_beyond_64_bits_falls_back_to_the_plain_encoder(
    api: Api, platform: Platform
) -> None:
    from sqlalchemy import update

    from citybase.store.schema import city_object

    b = add_building(platform, "大数楼")
    with platform.store.write() as conn:  # validation caps attributes; data written before or beside it may not be
        conn.execute(update(city_object).where(city_object.c.id == b.id).values(attributes={"units": 2**70}))
    body = api.get(ITEMS).json()
    assert body["features"][0]["properties"]["units"] == 2**70 and body["features"][0]["geometry"]["type"] == "Polygon"

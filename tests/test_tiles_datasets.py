"""Tiles of dataset layers: only the layer's members, changes seen at once, tiles of a layer version.

Every test runs on SQLite (R*Tree + numpy encoder; version tiles read the version's rows) and PostGIS
(ST_AsMVT over the membership join) with the same assertions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from citybase.domains.access import SYSTEM
from citybase.domains.objects import ObjectChanges
from citybase.platform import Platform
from citybase.standards.mvt import decode_tile
from tests.helpers import ORIGIN, Api, add_building
from tests.imports_helpers import footprints, layer_objects, write_file
from tests.test_tiles import tile_at

MAPPING = {"编号": "key", "名称": "name", "层数": "floors"}
# Footprints 0..4 of imports_helpers.footprints (0.001° apart) all lie in this z14 tile.
TILE = tile_at(ORIGIN[0] + 0.002, ORIGIN[1] + 0.0001, 14)


def buildings(path: Path, rows: list[tuple[str, str, int, int]]) -> Path:
    """A GeoPackage of buildings: (key, name, floors, footprint index) per row."""
    shapes = footprints(5)
    return write_file(
        path,
        [shapes[i] for *_, i in rows],
        {"编号": [r[0] for r in rows], "名称": [r[1] for r in rows], "层数": [r[2] for r in rows]},
    )


def members(platform: Platform, layer: str) -> dict[str, Any]:
    return {o.name: o for o in layer_objects(platform, layer)}


def xyz(layer: str, version: int | None = None, tile: tuple[int, int, int] = TILE) -> str:
    z, x, y = tile
    return f"/api/tiles/{layer}/{z}/{x}/{y}.mvt" + ("" if version is None else f"?version={version}")


def ogc(layer: str, tms: str, version: int | None = None) -> str:
    z, x, y = TILE
    if tms == "CGCS2000Quad":  # level z - 1 has about the scale of Web Mercator z; the tile holding ORIGIN
        z -= 1
        size = 180.0 / (1 << z)
        x, y = int((ORIGIN[0] + 0.002 + 180) / size), int((90 - ORIGIN[1] - 0.0001) / size)
    return f"/ogc/collections/{layer}/tiles/{tms}/{z}/{y}/{x}" + ("" if version is None else f"?version={version}")


def drawn(api: Api, url: str) -> dict[str, dict[str, Any]]:
    """Features of the building layer of a tile, by name."""
    r = api.get(url)
    assert r.status_code in (200, 204), (url, r.status_code, r.text)
    if r.status_code == 204:
        return {}
    feats = decode_tile(r.content).get("050101", {"features": []})["features"]
    return {f["properties"]["name"]: f for f in feats}


def import_api(platform: Platform, api: Api, path: Path, **form: str) -> int:
    r = api.post("/api/imports", data={"layer": "zjj", **form}, files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 202, r.text
    platform.jobs.run_pending()
    done = api.get(f"/api/imports/{r.json()['id']}").json()
    assert done["state"] == "succeeded", done
    return int(done["layer_version"])


def first_import(platform: Platform, api: Api, tmp_path: Path) -> None:
    v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1), ("C", "丙楼", 7, 2)])
    mapping = json.dumps(MAPPING, ensure_ascii=False)
    assert import_api(platform, api, v1, class_code="050101", mapping=mapping) == 1


def test_dataset_layer_tiles_hold_only_its_members(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    add_building(platform, "别人的楼", dx=0.0035, floors=2)  # same class, same tile, not in the layer
    first_import(platform, admin_api, tmp_path)
    assert sorted(drawn(admin_api, xyz("050101"))) == ["丙楼", "乙楼", "别人的楼", "甲楼"]  # the class: all
    got = drawn(admin_api, xyz("zjj"))
    assert sorted(got) == ["丙楼", "乙楼", "甲楼"]
    ids = {o.name: o.id for o in members(platform, "zjj").values()}
    assert {n: f["id"] for n, f in got.items()} == ids
    assert got["甲楼"]["properties"]["floors"] == 5
    for tms in ("WebMercatorQuad", "CGCS2000Quad"):
        assert sorted(drawn(admin_api, ogc("zjj", tms))) == ["丙楼", "乙楼", "甲楼"], tms
    # The class layer keeps its class tiles (all buildings).
    assert "别人的楼" in drawn(admin_api, ogc("buildings", "WebMercatorQuad"))
    doc = admin_api.get("/api/tiles/zjj.json").json()
    assert doc["name"] == "zjj" and doc["tiles"][0].endswith("/api/tiles/zjj/{z}/{x}/{y}.mvt")
    assert [v["id"] for v in doc["vector_layers"]] == ["050101"]
    meta = admin_api.get("/ogc/collections/zjj/tiles/WebMercatorQuad?version=1").json()
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["href"].endswith(
        "/ogc/collections/zjj/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}?version=1"
    )
    # An imported layer is internal: anonymous callers do not learn it exists.
    assert admin_api.anonymous().get(xyz("zjj")).status_code == 404


def test_reimport_rollback_and_edits_change_the_tiles_at_once(
    platform: Platform, admin_api: Api, tmp_path: Path
) -> None:
    first_import(platform, admin_api, tmp_path)
    before = admin_api.get(xyz("zjj"))
    assert admin_api.get(xyz("zjj"), headers={"If-None-Match": before.headers["etag"]}).status_code == 304  # cached
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0), ("B", "乙楼", 6, 1), ("D", "丁楼", 3, 3)])
    assert import_api(platform, admin_api, v2) == 2
    got = drawn(admin_api, xyz("zjj"))
    assert sorted(got) == ["丁楼", "乙楼", "甲楼"] and got["甲楼"]["properties"]["floors"] == 9
    for tms in ("WebMercatorQuad", "CGCS2000Quad"):
        assert sorted(drawn(admin_api, ogc("zjj", tms))) == ["丁楼", "乙楼", "甲楼"], tms
    # Rollback to 1: 丙楼 is back (it never changed: only its membership does), 丁楼 leaves, 甲楼 has 5 floors.
    assert admin_api.post("/api/layers/zjj/rollback", json={"version": 1}).status_code == 200
    got = drawn(admin_api, xyz("zjj"))
    assert sorted(got) == ["丙楼", "乙楼", "甲楼"] and got["甲楼"]["properties"]["floors"] == 5
    assert sorted(drawn(admin_api, ogc("zjj", "CGCS2000Quad"))) == ["丙楼", "乙楼", "甲楼"]
    # An edit of a member through the objects API shows at once too.
    b = members(platform, "zjj")["乙楼"]
    platform.objects.update(SYSTEM, b.id, b.version, ObjectChanges(attributes={**b.attributes, "floors": 11}))
    assert drawn(admin_api, xyz("zjj"))["乙楼"]["properties"]["floors"] == 11


def test_membership_only_rollback_changes_the_tiles(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    """A rollback that only brings an unchanged object back into the layer (no object write, so no
    objects.changed event): the layer's new version alone must change its tiles."""
    first_import(platform, admin_api, tmp_path)
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1)])
    assert import_api(platform, admin_api, v2) == 2
    assert sorted(drawn(admin_api, xyz("zjj"))) == ["乙楼", "甲楼"]
    events: list[dict[str, Any]] = []
    platform.subscribe("objects.changed", lambda name, payload: events.append(payload))
    assert admin_api.post("/api/layers/zjj/rollback", json={"version": 1}).status_code == 200
    assert sorted(drawn(admin_api, xyz("zjj"))) == ["丙楼", "乙楼", "甲楼"]
    # Other subscribers hear of it too: the returning object's box is in an objects.changed event.
    back = members(platform, "zjj")["丙楼"].geometry.bounds
    assert any(tuple(box) == tuple(back) for e in events for box in e["bboxes"]), events


def test_version_tiles_show_the_layer_as_it_was(platform: Platform, admin_api: Api, tmp_path: Path) -> None:
    first_import(platform, admin_api, tmp_path)
    v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0), ("B", "乙楼", 6, 1), ("D", "丁楼", 3, 3)])
    assert import_api(platform, admin_api, v2) == 2
    one, two = drawn(admin_api, xyz("zjj", 1)), drawn(admin_api, xyz("zjj", 2))
    assert sorted(one) == ["丙楼", "乙楼", "甲楼"] and one["甲楼"]["properties"]["floors"] == 5  # object version 1
    assert sorted(two) == ["丁楼", "乙楼", "甲楼"] and two["甲楼"]["properties"]["floors"] == 9
    assert one["甲楼"]["id"] == two["甲楼"]["id"]  # the same object, two versions of it
    for tms in ("WebMercatorQuad", "CGCS2000Quad"):
        assert sorted(drawn(admin_api, ogc("zjj", tms, 1))) == ["丙楼", "乙楼", "甲楼"], tms
    # A later edit of the object changes the current tiles, not the tiles of a version.
    a = members(platform, "zjj")["甲楼"]
    platform.objects.update(SYSTEM, a.id, a.version, ObjectChanges(attributes={**a.attributes, "floors": 20}))
    assert drawn(admin_api, xyz("zjj"))["甲楼"]["properties"]["floors"] == 20
    assert drawn(admin_api, xyz("zjj", 2))["甲楼"]["properties"]["floors"] == 9
    assert drawn(admin_api, xyz("zjj", 1))["甲楼"]["properties"]["floors"] == 5
    # Both databases agree on the geometry of a version tile: the footprint's pixels match the current one.
    assert drawn(admin_api, xyz("zjj", 1))["乙楼"]["geometry"] == drawn(admin_api, xyz("zjj"))["乙楼"]["geometry"]
    doc = admin_api.get("/api/tiles/zjj.json?version=1").json()
    assert doc["tiles"][0].endswith("/api/tiles/zjj/{z}/{x}/{y}.mvt?version=1")


@pytest.mark.parametrize(
    ("url", "status"),
    [
        (xyz("zjj", 9), 404),  # no such version
        ("/api/tiles/zjj.json?version=9", 404),
        (ogc("zjj", "WebMercatorQuad", 9), 404),
        ("/ogc/collections/zjj/tiles/CGCS2000Quad?version=9", 404),
        (xyz("zjj").replace(".mvt", ".mvt?version=abc"), 400),
        (xyz("zjj", 0), 400),
        (xyz("zjj").replace(".mvt", ".mvt?version=-1"), 400),
        (ogc("zjj", "WebMercatorQuad") + "?version=1.5", 400),
        (xyz("buildings", 1), 400),  # a class layer has no versions
        (xyz("basemap", 1), 400),
        (xyz("050101", 1), 400),
        (xyz("no-such-layer"), 404),
        ("/api/tiles/zjj/23/0/0.mvt", 404),  # outside the tile matrix
    ],
)
def test_bad_versions_and_tiles_are_clear_errors(
    platform: Platform, admin_api: Api, tmp_path: Path, url: str, status: int
) -> None:
    first_import(platform, admin_api, tmp_path)
    r = admin_api.get(url)
    assert r.status_code == status, (url, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    if status == 400 and "version" in url:
        assert "version" in r.text

"""3D Tiles 1.1 white models of building layers: tileset.json, .glb content, export, bad input.

Every .glb is read back with pygltflib (an independent reader), and every building's mesh is checked:
closed (each edge in exactly two triangles, once each way), outward (positive volume = footprint area
× height, stored normals agree with the winding), at the right height, inside its tile's region.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pygltflib
import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient
from typer.testing import CliRunner

from citybase.cli import common
from citybase.cli.main import app
from citybase.domains.access import SYSTEM
from citybase.domains.layers import LayerChanges
from citybase.domains.objects import NewObject, ObjectChanges
from citybase.domains.tiles3d import Tiles3DService, building_height
from citybase.domains.tiles3d.frame import ecef_to_geodetic
from citybase.domains.tiles3d.tree import build_tree, building_sizes
from citybase.platform import Platform
from tests.helpers import ORIGIN, Api, add_building, add_lamp

SCHEMA = json.loads((Path(__file__).parent / "data" / "3dtiles" / "tileset-1.1.schema.json").read_text())
GEOD = Geod(ellps="GRS80")
BASE = "/api/layers/buildings/3dtiles"
X, Y = ORIGIN


# --- test data -----------------------------------------------------------------------------------


def _new(name: str, geom: Any, **attrs: Any) -> NewObject:
    return NewObject(class_code="050101", name=name, geometry=geom, attributes=attrs)


def city(platform: Platform) -> dict[str, float]:
    """Buildings of every shape and height rule; returns expected height by name."""
    courtyard = Polygon(
        [(X, Y), (X + 0.0006, Y), (X + 0.0006, Y + 0.0004), (X + 0.0003, Y + 0.0004), (X, Y + 0.0004)],
        [[(X + 0.0001, Y + 0.0001), (X + 0.0001, Y + 0.0002), (X + 0.0002, Y + 0.0002), (X + 0.0002, Y + 0.0001)]],
    )
    ell = Polygon([(X + 0.002, Y), (X + 0.0025, Y), (X + 0.0025, Y + 0.0001), (X + 0.0021, Y + 0.0001),
                   (X + 0.0021, Y + 0.0004), (X + 0.002, Y + 0.0004)])  # fmt: skip
    twin = MultiPolygon([box(X, Y + 0.002, X + 0.0002, Y + 0.0022), box(X + 0.0003, Y + 0.002, X + 0.0005, Y + 0.0022)])
    objs = [
        _new("院楼", courtyard, floors=6, height_m=19.5),
        _new("L楼", ell, floors=4, floor_height_m=3.6),
        _new("双子楼", twin, floors=30),
    ]
    objs += [_new(f"{i}号楼", box(X + 0.003 + i * 0.0004, Y + 0.003, X + 0.0032 + i * 0.0004, Y + 0.0032),
                  floors=2 + i) for i in range(5)]  # fmt: skip
    platform.objects.create_many(SYSTEM, objs)
    # Legacy rows that bypass validation, as an old department import could leave them.
    legacy = [
        _new("无层数", box(X + 0.001, Y + 0.001, X + 0.0012, Y + 0.0012)),
        _new("坏轮廓", Polygon([(X, Y + 0.004), (X + 0.0002, Y + 0.0042), (X + 0.0002, Y + 0.004), (X, Y + 0.0042)])),
    ]
    platform.objects.create_many(SYSTEM, legacy, validate=False)
    expected = {"院楼": 19.5, "L楼": 14.4, "双子楼": 90.0, "无层数": 3.0}
    expected |= {f"{i}号楼": 3.0 * (2 + i) for i in range(5)}
    return expected


# --- a strict reading of the files ---------------------------------------------------------------


def read_glb(data: bytes) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    magic, version, length = struct.unpack_from("<4sII", data)
    assert (magic, version, length) == (b"glTF", 2, len(data))
    gltf = pygltflib.GLTF2.load_from_bytes(data)
    blob = gltf.binary_blob()
    assert blob is not None and gltf.buffers[0].byteLength <= len(blob)

    def accessor(i: int, dtype: str, width: int) -> np.ndarray:
        acc = gltf.accessors[i]
        view = gltf.bufferViews[acc.bufferView]
        start = view.byteOffset + (acc.byteOffset or 0)
        assert start % np.dtype(dtype).itemsize == 0
        return np.frombuffer(blob, dtype=dtype, count=acc.count * width, offset=start).reshape(acc.count, width)

    prim = gltf.meshes[0].primitives[0]
    assert prim.mode == 4 and gltf.materials[prim.material].pbrMetallicRoughness.baseColorFactor[:3] >= [0.9] * 3
    arrays = {
        "positions": accessor(prim.attributes.POSITION, "<f4", 3),
        "normals": accessor(prim.attributes.NORMAL, "<f4", 3),
        "features": accessor(2, "<f4", 1)[:, 0],
        "indices": accessor(prim.indices, "<u4", 1)[:, 0],
    }
    pos_acc = gltf.accessors[prim.attributes.POSITION]
    assert np.allclose(pos_acc.min, arrays["positions"].min(axis=0)) and np.allclose(
        pos_acc.max, arrays["positions"].max(axis=0)
    )
    ext = prim.extensions["EXT_mesh_features"]["featureIds"][0]
    table_doc = gltf.extensions["EXT_structural_metadata"]["propertyTables"][ext["propertyTable"]]
    assert table_doc["count"] == ext["featureCount"]
    table: dict[str, Any] = {}
    for key, prop in table_doc["properties"].items():
        values = gltf.bufferViews[prop["values"]]
        raw = blob[values.byteOffset : values.byteOffset + values.byteLength]
        assert values.byteOffset % 8 == 0
        if "stringOffsets" in prop:
            ov = gltf.bufferViews[prop["stringOffsets"]]
            offsets = np.frombuffer(blob, "<u4", table_doc["count"] + 1, ov.byteOffset)
            table[key] = [raw[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets)]
        else:
            kind = gltf.extensions["EXT_structural_metadata"]["schema"]["classes"]["building"]["properties"][key]
            dtype = {"INT64": "<i8", "FLOAT32": "<f4", "INT32": "<i4"}[kind["componentType"]]
            table[key] = np.frombuffer(raw, dtype).tolist()
    return arrays, table


def to_geodetic(positions: np.ndarray, transform: list[float]) -> np.ndarray:
    """glTF y-up local -> z-up (as 3D Tiles runtimes do) -> tile transform -> ECEF -> lon, lat, h."""
    zup = np.column_stack([positions[:, 0], -positions[:, 2], positions[:, 1]]).astype(np.float64)
    m = np.array(transform).reshape(4, 4).T
    ecef = zup @ m[:3, :3].T + m[:3, 3]
    return ecef_to_geodetic(ecef)


def check_building(
    pos: np.ndarray, nrm: np.ndarray, tris: np.ndarray, lonlatz: np.ndarray, height: float, *, manifold: bool = True
) -> None:
    """Closed and consistently oriented: every directed edge appears once, and its reverse once. Parts that
    touch at a corner share a vertical edge among four triangles (``manifold=False``): then each directed
    edge is matched by as many reverse ones."""
    keys = {tuple(p): i for i, p in enumerate(map(tuple, pos))}
    vid = np.array([keys[tuple(p)] for p in map(tuple, pos)])
    t = vid[tris]
    directed = [(a, b) for tri in t for a, b in ((tri[0], tri[1]), (tri[1], tri[2]), (tri[2], tri[0]))]
    counts: dict[tuple[int, int], int] = {}
    for e in directed:
        counts[e] = counts.get(e, 0) + 1
    if manifold:
        assert all(c == 1 for c in counts.values()), "an edge is used twice in the same direction"
    assert all(counts.get((b, a)) == c for (a, b), c in counts.items()), "an open edge: the mesh is not watertight"
    # Outward: positive volume; stored normals agree with the winding.
    p = pos.astype(np.float64)[tris]
    cross = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    volume = float(np.einsum("ij,ij->i", p[:, 0], cross).sum() / 6)
    assert volume > 0
    unit = cross / np.linalg.norm(cross, axis=1, keepdims=True)
    for k in range(3):
        assert np.all(np.einsum("ij,ij->i", unit, nrm[tris[:, k]]) > 0.999)
    # Heights: every vertex on the ground or on the roof.
    h = lonlatz[:, 2]
    assert np.all((np.abs(h) < 0.01) | (np.abs(h - height) < 0.01)) and abs(h.max() - height) < 0.01
    return None


def check_tileset(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Schema, regions nested, errors decreasing; returns the tiles with content, with the transform that
    takes their content to ECEF (the product of the transforms from the root) and their parent's error."""
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    assert doc["asset"]["version"] == "1.1" and doc["geometricError"] >= doc["root"]["geometricError"]
    found: list[dict[str, Any]] = []

    def walk(tile: dict[str, Any], parent: dict[str, Any] | None, computed: np.ndarray) -> None:
        w, s, e, n, lo, hi = tile["boundingVolume"]["region"]
        assert -math.pi <= w <= e <= math.pi and -math.pi / 2 <= s <= n <= math.pi / 2 and lo <= hi
        if parent is not None:
            pw, ps, pe, pn, plo, phi = parent["boundingVolume"]["region"]
            assert pw <= w and ps <= s and e <= pe and n <= pn and plo <= lo and hi <= phi
            assert tile["geometricError"] < parent["geometricError"]
        if "transform" in tile:
            computed = computed @ np.array(tile["transform"]).reshape(4, 4).T
        if "content" in tile:
            found.append(
                {
                    "uri": tile["content"]["uri"],
                    "region": tile["boundingVolume"]["region"],
                    "transform": computed.T.reshape(-1).tolist(),
                    "parent_error": parent["geometricError"] if parent else doc["geometricError"],
                }
            )
        if "children" not in tile:
            assert tile["geometricError"] == 0 and "content" in tile
        for child in tile.get("children", []):
            walk(child, tile, computed)

    walk(doc["root"], None, np.eye(4))
    return found


def check_content(tile: dict[str, Any], data: bytes, expected: dict[str, float]) -> list[str]:
    """Every building of one content tile; returns their names."""
    arrays, table = read_glb(data)
    lonlatz = to_geodetic(arrays["positions"], tile["transform"])
    w, s, e, n, lo, hi = tile["region"]
    assert max(table["height_m"]) <= tile["parent_error"]  # level of detail: the parent tile answers for it
    lon, lat = np.radians(lonlatz[:, 0]), np.radians(lonlatz[:, 1])
    assert lon.min() >= w and lon.max() <= e and lat.min() >= s and lat.max() <= n
    assert lonlatz[:, 2].min() >= lo and lonlatz[:, 2].max() <= hi
    tris = arrays["indices"].reshape(-1, 3)
    tri_feature = arrays["features"][tris[:, 0]]
    assert np.all(arrays["features"][tris] == tri_feature[:, None])  # a triangle belongs to one building
    for fid, name in enumerate(table["name"]):
        assert table["height_m"][fid] == pytest.approx(expected[name], abs=1e-4)
        mine = tris[tri_feature == fid]
        used = np.unique(mine)
        remap = np.full(len(arrays["positions"]), -1)
        remap[used] = np.arange(len(used))
        check_building(arrays["positions"][used], arrays["normals"][used], remap[mine], lonlatz[used], expected[name])
    return list(table["name"])


# --- served on the fly -----------------------------------------------------------------------------


def test_tileset_and_every_content_tile(platform: Platform, api: Api) -> None:
    expected = city(platform)
    platform.tiles3d.max_features = 3  # a small limit gives a tree of several levels
    r = api.get(f"{BASE}/tileset.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    tiles = check_tileset(doc)
    assert len(tiles) >= 4 and all(t["uri"].endswith(".glb") for t in tiles)
    assert "content" in doc["root"] and "children" in doc["root"]  # the 90 m towers show from afar
    report = doc["extras"]["citybase"]
    assert (report["buildings"], report["defaulted_heights"], report["skipped_footprints"]) == (9, 1, 1)
    reasons = {i["field"]: i["reason"] for i in report["issues"]}
    assert "drawn 3 m high" in reasons["height_m"] and "Self-intersection" in reasons["geometry"]
    names: list[str] = []
    for tile in tiles:
        c = api.get(f"{BASE}/{tile['uri']}")
        assert c.status_code == 200 and c.headers["content-type"] == "model/gltf-binary"
        names += check_content(tile, c.content, expected)
        assert api.get(f"{BASE}/{tile['uri']}", headers={"If-None-Match": c.headers["etag"]}).status_code == 304
    assert sorted(names) == sorted(expected)
    # The cache keeps the files on disk: a new process serves them without building them again.
    assert len(list((platform.settings.data_dir / "3dtiles").rglob("*.glb"))) == len(tiles)
    fresh = Tiles3DService(platform.store, platform.classes, platform.layers, platform.settings.data_dir / "3dtiles")
    token, level, x, y = tiles[-1]["uri"].removesuffix(".glb").split("/")[1:]
    assert fresh.content(SYSTEM, "buildings", token, int(level), int(x), int(y)).data == c.content
    assert (fresh.cache.hits, fresh.cache.misses) == (1, 0)


def test_volume_is_footprint_area_times_height(platform: Platform, api: Api) -> None:
    footprint = Polygon([(X, Y), (X + 0.0004, Y), (X + 0.0004, Y + 0.0003), (X, Y + 0.0003)],
                        [[(X + 0.0001, Y + 0.0001), (X + 0.0002, Y + 0.0001), (X + 0.0002, Y + 0.0002)]])  # fmt: skip
    platform.objects.create(SYSTEM, _new("量楼", footprint, floors=10, height_m=33.0))
    tile = check_tileset(api.get(f"{BASE}/tileset.json").json())[0]
    arrays, _ = read_glb(api.get(f"{BASE}/{tile['uri']}").content)
    p = arrays["positions"].astype(np.float64)[arrays["indices"].reshape(-1, 3)]
    volume = np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6
    area = GEOD.geometry_area_perimeter(orient(footprint))[0]  # pyproj needs holes clockwise
    assert volume == pytest.approx(area * 33.0, rel=2e-3)


def test_changes_show_at_once_and_old_content_is_gone(platform: Platform, api: Api) -> None:
    b = add_building(platform, "变楼", floors=5)
    doc = api.get(f"{BASE}/tileset.json").json()
    old_uri = check_tileset(doc)[0]["uri"]
    assert api.get(f"{BASE}/{old_uri}").status_code == 200
    platform.objects.update(SYSTEM, b.id, b.version, ObjectChanges(attributes={"floors": 5, "height_m": 42.0}))
    new = api.get(f"{BASE}/tileset.json").json()
    assert new["asset"]["tilesetVersion"] != doc["asset"]["tilesetVersion"]
    assert new["root"]["boundingVolume"]["region"][5] == pytest.approx(42.05)
    _, table = read_glb(api.get(f"{BASE}/{check_tileset(new)[0]['uri']}").content)
    assert table["height_m"] == [42.0] and table["height_source"] == ["height_m"]
    # A never-served tile of the old version answers 404 (reload), not a mesh that misfits the tree.
    stale = old_uri.replace("/0/0/0.glb", "/1/0/0.glb")
    assert api.get(f"{BASE}/{stale}").status_code == 404


def test_access_level_of_the_layer_applies(platform: Platform, api: Api, admin_api: Api) -> None:
    add_building(platform)
    doc = api.get(f"{BASE}/tileset.json").json()
    uri = check_tileset(doc)[0]["uri"]
    platform.layers.update(SYSTEM, "buildings", LayerChanges(access="internal"))
    assert admin_api.get(f"{BASE}/tileset.json").status_code == 200
    api.anonymous()
    assert api.get(f"{BASE}/tileset.json").status_code == 404
    assert api.get(f"{BASE}/{uri}").status_code == 404  # also when the tile is in the cache


# --- bad input -------------------------------------------------------------------------------------


def test_a_layer_that_is_not_buildings(platform: Platform, api: Api) -> None:
    add_lamp(platform)
    r = api.get("/api/layers/street-lamps/3dtiles/tileset.json")
    assert r.status_code == 400
    issue = r.json()["issues"][0]
    assert issue["field"] == "class_code" and issue["record"] == "street-lamps" and "Point" in issue["reason"]
    assert api.get("/api/layers/no-such-layer/3dtiles/tileset.json").status_code == 404


def test_an_empty_layer_and_one_with_only_broken_footprints(platform: Platform, api: Api) -> None:
    r = api.get(f"{BASE}/tileset.json")
    assert r.status_code == 400 and "no buildings" in r.json()["detail"]
    line = _new("线", box(X, Y, X + 0.001, Y + 0.001).exterior, floors=3)
    platform.objects.create_many(SYSTEM, [line], validate=False)
    r = api.get(f"{BASE}/tileset.json")
    assert r.status_code == 400
    assert any("LineString is not a footprint" in i["reason"] for i in r.json()["issues"])


def test_unknown_tiles_are_404(platform: Platform, api: Api) -> None:
    add_building(platform)
    token = api.get(f"{BASE}/tileset.json").json()["asset"]["tilesetVersion"]
    assert api.get(f"{BASE}/content/{token}/5/0/0.glb").status_code == 404
    assert api.get(f"{BASE}/content/{token}/x/0/0.glb").status_code == 400


# --- export ------------------------------------------------------------------------------------------


def test_export_with_the_cli_as_a_job(
    platform: Platform, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = city(platform)
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("CITYBASE_DATABASE_URL", database_url)
    monkeypatch.setattr(common.state, "_platform", None)
    out = tmp_path / "export" / "buildings"
    result = CliRunner().invoke(app, ["layers", "export-3dtiles", "buildings", str(out)])
    common.state._platform = None
    assert result.exit_code == 0, result.output
    assert "9 building(s)" in result.output and "1 height(s) defaulted" in result.output
    doc = json.loads((out / "tileset.json").read_text(encoding="utf-8"))
    tiles = check_tileset(doc)
    names = [n for t in tiles for n in check_content(t, (out / t["uri"]).read_bytes(), expected)]
    assert sorted(names) == sorted(expected)
    assert not list(out.parent.glob(".*partial*"))
    job = platform.jobs.list(kind="layers.export_3dtiles")[0]
    assert job.state == "succeeded" and job.done == job.total == len(tiles)
    # Bad input: an existing directory is never overwritten; a lamp layer is refused before any job.
    again = CliRunner().invoke(app, ["layers", "export-3dtiles", "buildings", str(out)])
    common.state._platform = None
    assert again.exit_code == 1 and "not an empty directory" in again.output
    lamps = CliRunner().invoke(app, ["layers", "export-3dtiles", "street-lamps", str(tmp_path / "l")])
    common.state._platform = None
    assert lamps.exit_code == 1 and "not a layer of buildings" in lamps.output


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attrs", "height", "source"),
    [
        ({"height_m": 25.5, "floors": 3}, 25.5, "height_m"),
        ({"floors": 10, "floor_height_m": 2.8}, 28.0, "floors*floor_height_m"),
        ({"floors": 7}, 21.0, "floors*3m"),
        ({}, 3.0, "default"),
        ({"height_m": -4, "floors": "十"}, 3.0, "default"),
        ({"height_m": True, "floors": 2}, 6.0, "floors*3m"),
        ({"height_m": float("nan"), "floors": 1e9}, 3.0, "default"),
    ],
)
def test_height_rule(attrs: dict[str, Any], height: float, source: str) -> None:
    assert building_height(attrs.get("height_m"), attrs.get("floors"), attrs.get("floor_height_m")) == (height, source)


def test_tree_places_every_building_once_by_size_and_bounds_it() -> None:
    rng = np.random.default_rng(7)
    lo = rng.uniform([112.0, 31.9], [112.2, 32.1], size=(700, 2))
    bounds = np.column_stack([lo, lo + rng.uniform(0.0001, 0.001, size=(700, 2))])
    heights = rng.uniform(3, 150, 700)
    heights[:5] = 2000.0  # towers that must show from afar: in the root tile
    root = build_tree(bounds, heights, max_features=40)
    assert root.members is not None and set(root.members.tolist()) == set(range(5))
    sizes = building_sizes(bounds, heights)

    def walk(node: Any, parent_error: float) -> list[int]:
        placed = [] if node.members is None else node.members.tolist()
        assert len(placed) <= 40
        if placed:
            w, s, e, n, _, hi = node.content_region
            b = np.radians(bounds[placed])
            assert w <= b[:, 0].min() and s <= b[:, 1].min() and b[:, 2].max() <= e and b[:, 3].max() <= n
            assert heights[placed].max() <= hi
            assert sizes[placed].min() > node.geometric_error  # bigger than what this tile may leave out
            assert sizes[placed].max() <= parent_error or node.level == 0
        if not node.children:
            assert node.geometric_error == 0
        for child in node.children:
            assert child.geometric_error < node.geometric_error
            placed += walk(child, node.geometric_error)
        return placed

    assert sorted(walk(root, math.inf)) == list(range(700))
    assert root.depth() >= 3


def test_random_unions_of_boxes_extrude_to_closed_outward_solids() -> None:
    """Unions of random boxes: holes, collinear vertices, parts touching at corners, multipolygons."""
    from shapely import union_all

    from citybase.domains.tiles3d.frame import LocalFrame
    from citybase.domains.tiles3d.mesh import extrude

    rng = np.random.default_rng(11)
    step = 0.00002
    shapes = []
    for _ in range(25):
        cells = rng.integers(0, 8, size=(int(rng.integers(3, 20)), 2))
        shapes.append(
            union_all([box(X + i * step, Y + j * step, X + (i + 1) * step, Y + (j + 1) * step) for i, j in cells])
        )
    heights = rng.uniform(3, 200, len(shapes)).tolist()
    frame = LocalFrame(X + 0.0001, Y + 0.0001)
    mesh = extrude(shapes, heights, frame)
    lonlatz = to_geodetic(mesh.positions, frame.transform())
    tris = mesh.indices.reshape(-1, 3)
    tri_feature = mesh.feature_ids[tris[:, 0]]
    for fid, shape in enumerate(shapes):
        mine = tris[tri_feature == fid]
        used = np.unique(mine)
        remap = np.full(len(mesh.positions), -1)
        remap[used] = np.arange(len(used))
        args = (mesh.positions[used], mesh.normals[used], remap[mine], lonlatz[used], heights[fid])
        check_building(*args, manifold=shape.geom_type == "Polygon" and not shape.interiors)
        p = mesh.positions.astype(np.float64)[mine]
        volume = np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6
        assert volume == pytest.approx(GEOD.geometry_area_perimeter(orient(shape))[0] * heights[fid], rel=2e-3)


def test_an_interrupted_export_leaves_nothing(platform: Platform, tmp_path: Path) -> None:
    city(platform)
    platform.tiles3d.max_features = 3

    def cancel(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt  # as a cancelled job or Ctrl-C stops it half-way

    out = tmp_path / "exports" / "buildings"
    with pytest.raises(KeyboardInterrupt):
        platform.tiles3d.export(SYSTEM, "buildings", out, progress=cancel)
    assert not list(out.parent.iterdir())  # neither the directory nor the hidden partial one
    report = platform.tiles3d.export(SYSTEM, "buildings", out)
    assert (out / "tileset.json").exists() and report.tiles == len(list(out.rglob("*.glb"))) >= 4
    assert (report.buildings, report.defaulted_heights, report.skipped_footprints) == (9, 1, 1)

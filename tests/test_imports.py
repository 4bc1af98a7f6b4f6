"""Imports of every format and coordinate system, with validation reports (both databases)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely

from citybase.domains.access import SYSTEM
from citybase.kernel.crs import from_cgcs2000
from citybase.platform import Platform
from citybase.store.import_tables import layer_item, layer_version
from citybase.store.schema import city_object
from tests.helpers import ORIGIN
from tests.imports_helpers import footprints, import_file, layer_objects, write_file

DATA = Path(__file__).parent / "data" / "imports"


def count_objects(platform: Platform) -> int:
    with platform.store.read() as conn:
        return len(conn.execute(city_object.select()).all())


def lamps_csv(path: Path, xs: list[float], ys: list[float], encoding: str = "utf-8", header: str = "经度,纬度") -> Path:
    lines = [f"编号,名称,{header},功率"] + [
        f"L{i},路灯{i}号,{float(x)!r},{float(y)!r},{100 + i}" for i, (x, y) in enumerate(zip(xs, ys, strict=True))
    ]
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


def test_geojson_loads_into_a_new_dataset_layer_with_a_report(platform: Platform, tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "b.geojson",
        footprints(3),
        {"id": ["a", "b", "c"], "name": ["一号楼", "二号楼", "三号楼"], "floors": [6, 7, 8]},
        crs="EPSG:4326",
    )
    run = import_file(platform, path, layer="zjj-buildings", class_code="050101", title="住建楼栋")
    assert run.state == "succeeded", run.report
    r = run.report or {}
    assert (r["format"], r["rows_read"], r["loaded"], r["rejected"], r["crs"], r["crs_source"]) == (
        "geojson",
        3,
        3,
        0,
        "EPSG:4326",
        "from the file",
    )
    assert (r["layer_version"], r["added"]) == (1, 3)
    objs = layer_objects(platform, "zjj-buildings")
    assert sorted(o.name for o in objs) == ["一号楼", "三号楼", "二号楼"]
    assert {o.attributes["floors"] for o in objs} == {6, 7, 8}
    lyr = platform.layers.get(SYSTEM, "zjj-buildings")
    assert (lyr.kind, lyr.title, lyr.access) == ("dataset", "住建楼栋", "internal")


def test_geopackage_in_gauss_kruger_uses_its_srs(platform: Platform, tmp_path: Path) -> None:
    truth = footprints(2)
    gk = [shapely.transform(g, lambda c: np.column_stack(from_cgcs2000(c[:, 0], c[:, 1], "EPSG:4547"))) for g in truth]
    path = write_file(tmp_path / "b.gpkg", gk, {"name": ["甲", "乙"], "floors": [3, 4]}, crs="EPSG:4547")
    run = import_file(platform, path, layer="gk-buildings", class_code="050101")
    assert run.state == "succeeded", run.report
    assert (run.report or {})["crs"] == "EPSG:4547"
    got = {o.name: o.geometry for o in layer_objects(platform, "gk-buildings")}
    assert got["甲"].equals_exact(truth[0], 1e-8) and got["乙"].equals_exact(truth[1], 1e-8)


@pytest.mark.parametrize("cpg", [True, False])
def test_gbk_shapefile_with_or_without_cpg(platform: Platform, tmp_path: Path, cpg: bool) -> None:
    path = write_file(
        tmp_path / "b.shp", footprints(2), {"名称": ["襄阳一号楼", "樊城二号楼"], "floors": [5, 6]}, encoding="GBK"
    )
    if not cpg:
        (tmp_path / "b.cpg").unlink()
    run = import_file(platform, path, layer="shp", class_code="050101", mapping={"名称": "name"})
    assert run.state == "succeeded", run.report
    notes = " ".join((run.report or {})["notes"])
    assert ("from the .cpg file" in notes) if cpg else ("not UTF-8 but decode as GBK" in notes)
    assert sorted(o.name for o in layer_objects(platform, "shp")) == ["樊城二号楼", "襄阳一号楼"]


def test_zipped_utf8_shapefile(platform: Platform, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    folder.mkdir()
    write_file(
        folder / "lamps.shp", [shapely.Point(ORIGIN)], {"名称": ["路灯"], "lamp_type": ["LED"]}, encoding="UTF-8"
    )
    (folder / "lamps.cpg").unlink()
    archive = tmp_path / "lamps.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for p in folder.iterdir():
            z.write(p, f"data/{p.name}")
    run = import_file(platform, archive, layer="lamps", class_code="010301", mapping={"名称": "name"})
    assert run.state == "succeeded", run.report
    assert "UTF-8 (no .cpg file; the bytes are valid UTF-8)" in (run.report or {})["notes"][0]
    assert [o.name for o in layer_objects(platform, "lamps")] == ["路灯"]


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_csv_with_coordinate_columns(platform: Platform, tmp_path: Path, encoding: str) -> None:
    path = lamps_csv(tmp_path / "lamps.csv", [112.14, 112.15], [32.01, 32.02], encoding)
    run = import_file(platform, path, layer="lamps", class_code="010301", crs="cgcs2000", mapping={"功率": "power_w"})
    assert run.state == "succeeded", run.report
    objs = sorted(layer_objects(platform, "lamps"), key=lambda o: o.name)
    assert [(o.name, o.attributes["power_w"], o.geometry.x) for o in objs] == [
        ("路灯0号", 100, 112.14),
        ("路灯1号", 101, 112.15),
    ]
    assert (run.report or {})["key_column"] == "编号"


def test_xlsx_with_named_coordinate_columns(platform: Platform, tmp_path: Path) -> None:
    path = write_file(
        tmp_path / "t.xlsx", None, {"名称": ["银杏", "樟树"], "E": [112.14, 112.141], "N": [32.01, 32.011]}
    )
    run = import_file(
        platform,
        path,
        layer="trees",
        class_code="040101",
        crs="EPSG:4490",
        lon_column="E",
        lat_column="N",
        mapping={"名称": "name"},
    )
    assert run.state == "succeeded", run.report
    assert sorted(o.name for o in layer_objects(platform, "trees")) == ["樟树", "银杏"]


def test_address_only_csv_keeps_the_raw_address(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "orgs.csv"
    path.write_text(
        "名称,地址\n襄阳市图书馆,湖北省襄阳市樊城区长虹北路1号\n襄阳四中,襄城区荆州街1号\n", encoding="utf-8"
    )
    run = import_file(platform, path, layer="orgs", class_code="080101")
    assert run.state == "succeeded", run.report
    assert (run.report or {})["crs_source"] == "no geometry"
    assert all(o.geometry is None for o in layer_objects(platform, "orgs"))
    with platform.store.read() as conn:
        addresses = sorted(conn.execute(layer_item.select().with_only_columns(layer_item.c.raw_address)).scalars())
    assert addresses == ["湖北省襄阳市樊城区长虹北路1号", "襄城区荆州街1号"]


def test_osm_buildings_with_levels_mapped_to_floors(platform: Platform) -> None:
    run = import_file(
        platform,
        DATA / "qinghe.osm",
        layer="osm-buildings",
        class_code="050101",
        where="building IS NOT NULL",
        mapping={"building:levels": "floors"},
    )
    assert run.state == "succeeded", run.report
    r = run.report or {}
    assert (r["source_layer"], r["rows_read"], r["loaded"], r["rejected"]) == ("multipolygons", 5, 3, 2)
    assert {i["field"] for i in r["issues"]} == {"attributes.floors"}  # buildings without levels
    assert sorted(o.attributes["floors"] for o in layer_objects(platform, "osm-buildings")) == [3, 5, 14]


def test_osm_points_of_interest(platform: Platform) -> None:
    run = import_file(platform, DATA / "qinghe.osm", layer="osm-pois", class_code="080101", unknown="drop")
    assert run.state == "succeeded", run.report
    assert "星巴克" in {o.name for o in layer_objects(platform, "osm-pois")}


def test_osm_pbf_outside_china_is_rejected_row_by_row(platform: Platform) -> None:
    pbf = Path(__file__).parents[2] / "shared" / "data" / "osm" / "helsinki.osm.pbf"
    if not pbf.exists():
        pytest.skip("the shared OSM extracts are not here")
    run = import_file(platform, pbf, layer="helsinki", class_code="080101", unknown="drop")
    assert run.state == "failed"
    assert "no coordinate of the file lies in China" in json.dumps(run.report, ensure_ascii=False)


# --- coordinate systems ------------------------------------------------------------------------------

TRUE_XS = [112.14, 112.2, 111.5]
TRUE_YS = [32.01, 32.05, 31.9]
CRS_CASES = [
    ("cgcs2000", "EPSG:4490"),
    ("wgs84", "EPSG:4326"),
    ("webmercator", "EPSG:3857"),
    ("gk3:37", "EPSG:4525"),  # zone number, eastings prefixed with 37
    ("gk3:111", "EPSG:4546"),  # central meridian, eastings without prefix
    ("EPSG:4546", "EPSG:4546"),
    ("gcj02", "GCJ-02"),
    ("bd09", "BD-09"),
]


def test_every_crs_converts_to_cgcs2000(platform: Platform, tmp_path: Path) -> None:
    for i, (name, canonical) in enumerate(CRS_CASES):
        xs, ys = from_cgcs2000(TRUE_XS, TRUE_YS, canonical)
        path = lamps_csv(tmp_path / f"c{i}.csv", list(xs), list(ys), header="x,y")
        run = import_file(platform, path, layer=f"crs-{i}", class_code="010301", crs=name, unknown="drop")
        assert run.state == "succeeded", (name, run.report)
        assert (run.report or {})["crs"] == canonical
        got = sorted((o.geometry.x, o.geometry.y) for o in layer_objects(platform, f"crs-{i}"))
        # 1e-9° is 0.1 mm: GCJ-02 / BD-09 inverses are iterative, the projections exact.
        assert np.allclose(got, sorted(zip(TRUE_XS, TRUE_YS, strict=True)), atol=1e-9, rtol=0), name


def test_gk_prefixed_coordinates_are_taken_from_a_gk3_zone_without_guessing(platform: Platform, tmp_path: Path) -> None:
    xs, ys = from_cgcs2000(TRUE_XS, TRUE_YS, "EPSG:4525")
    path = lamps_csv(tmp_path / "gk.csv", list(xs), list(ys), header="x,y")
    run = import_file(platform, path, layer="gk", class_code="010301", unknown="drop")
    assert run.state == "failed"
    reason = (run.report or {})["issues"][0]["reason"]
    assert "declares no coordinate system" in reason and "--crs EPSG:4525 or gk3:37" in reason
    wrong = import_file(platform, path, layer="gk2", class_code="010301", crs="gk3:38", unknown="drop")
    assert "--crs names zone 38 but the eastings carry zone prefix 37" in json.dumps(wrong.report)


@pytest.mark.parametrize(
    ("crs", "xs", "ys", "expected"),
    [
        (None, TRUE_XS, TRUE_YS, "could be CGCS2000, WGS 84, GCJ-02"),
        (None, [512_000.0, 520_000.0], [3_543_000.0, 3_544_000.0], "name the zone, e.g. --crs EPSG:"),
        ("cgcs2000", [512_000.0, 520_000.0], [3_543_000.0, 3_544_000.0], "no coordinate of the file lies in China"),
        ("beijing54", TRUE_XS, TRUE_YS, "which citybase will not guess"),
        ("no-such-crs", TRUE_XS, TRUE_YS, "unknown coordinate system"),
        ("EPSG:4214", TRUE_XS, TRUE_YS, "converting it needs the transformation parameters"),
    ],
)
def test_missing_ambiguous_or_wrong_crs_is_a_clear_error(
    platform: Platform, tmp_path: Path, crs: str | None, xs: list[float], ys: list[float], expected: str
) -> None:
    path = lamps_csv(tmp_path / "l.csv", xs, ys, header="x,y")
    run = import_file(platform, path, layer="lamps", class_code="010301", crs=crs, unknown="drop")
    assert run.state == "failed"
    assert expected in json.dumps(run.report, ensure_ascii=False)
    assert count_objects(platform) == 0


# --- bad input -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.geojson", b"", "the file is empty (0 bytes)"),
        ("corrupt.gpkg", b"SQLite format 3\x00" + b"\x07" * 3000, "GDAL cannot"),
        ("broken.geojson", b'{"type": "FeatureCollection", "features": [', "GDAL cannot"),
        ("none.geojson", b'{"type": "FeatureCollection", "features": []}', "has no features"),
        ("data.dwg", b"AC1027", "unknown file type"),
        ("bad.zip", b"PK\x03\x04 not really", "not a valid zip file"),
    ],
    ids=["empty", "corrupt-gpkg", "truncated-geojson", "no-features", "unknown-type", "bad-zip"],
)
def test_corrupt_and_empty_files_fail_clearly_and_write_nothing(
    platform: Platform, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    run = import_file(platform, path, layer="bad", class_code="050101")
    assert run.state == "failed"
    assert expected in json.dumps(run.report, ensure_ascii=False)
    with platform.store.read() as conn:
        assert conn.execute(layer_version.select()).first() is None
    assert count_objects(platform) == 0


def test_rejected_rows_are_reported_with_row_field_and_reason(platform: Platform, tmp_path: Path) -> None:
    geoms = footprints(5)
    geoms[3] = shapely.Point(ORIGIN)  # mixed geometry types: a point among buildings
    bowtie = shapely.Polygon([(112.14, 32.01), (112.141, 32.011), (112.141, 32.01), (112.14, 32.011), (112.14, 32.01)])
    geoms[4] = bowtie
    fields = {
        "id": ["a", "b", "c", "d", "e"],
        "floors": ["6", "many", "7", "8", "9"],
        "use": ["住宅", "住宅", "x" * 20_000, "住宅", "住宅"],
    }
    path = write_file(tmp_path / "b.gpkg", geoms, fields)
    run = import_file(platform, path, layer="b", class_code="050101")
    assert run.state == "succeeded", run.report
    r = run.report or {}
    assert (r["rows_read"], r["loaded"], r["rejected"]) == (5, 1, 4)
    by_row = {i["row"]: i for i in r["issues"]}
    assert by_row[2]["field"] == "floors" and "'many'" in by_row[2]["reason"]
    assert by_row[3]["field"] == "use" and "20000 characters" in by_row[3]["reason"]
    assert "takes Polygon or MultiPolygon, not Point" in by_row[4]["reason"]
    assert "Self-intersection" in by_row[5]["reason"] and "not repaired" in by_row[5]["reason"]
    assert r["geometry_types"] == {"Polygon": 4, "Point": 1}
    assert [o.name for o in layer_objects(platform, "b")] == ["a"]


def test_all_or_nothing_rejects_the_whole_file(platform: Platform, tmp_path: Path) -> None:
    path = write_file(tmp_path / "b.gpkg", footprints(2), {"floors": [3, -1]})
    run = import_file(platform, path, layer="b", class_code="050101", all_or_nothing=True)
    assert run.state == "failed" and "nothing was written" in (run.report or {})["error"]
    assert count_objects(platform) == 0


def test_safe_repairs_are_applied_and_recorded(platform: Platform, tmp_path: Path) -> None:
    x, y = ORIGIN
    dup = shapely.Polygon([(x, y), (x + 0.001, y), (x + 0.001, y), (x + 0.001, y + 0.001), (x, y + 0.001), (x, y)])
    # A shell that touches itself in one point, enclosing a hole: valid after make_valid, same area.
    d = 0.001
    touching = shapely.Polygon(
        [
            (x, y),
            (x + 4 * d, y),
            (x + 4 * d, y + 4 * d),
            (x + 2 * d, y + 4 * d),
            (x + 3 * d, y + 2 * d),
            (x + d, y + 2 * d),
            (x + 2 * d, y + 4 * d),
            (x, y + 4 * d),
            (x, y),
        ]
    )
    path = write_file(tmp_path / "b.gpkg", [dup, touching], {"floors": [3, 4]})
    run = import_file(platform, path, layer="b", class_code="050101")
    assert run.state == "succeeded", run.report
    r = run.report or {}
    assert (r["loaded"], r["repaired"]) == (2, 2)
    repairs = {x["row"]: " ".join(x["repairs"]) for x in r["repairs"]}
    assert "dropped 1 duplicate vertices" in repairs[1]
    assert "make_valid (Ring Self-intersection" in repairs[2] and "area kept" in repairs[2]
    objs = sorted(layer_objects(platform, "b"), key=lambda o: o.id)
    assert objs[1].geometry.is_valid and abs(objs[1].geometry.area - touching.area) < 1e-15


def test_unclosed_ring_is_closed_and_recorded(platform: Platform, tmp_path: Path) -> None:
    x, y = ORIGIN
    ring = [[x, y], [x + 0.001, y], [x + 0.001, y + 0.001], [x, y + 0.001]]  # not closed
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"floors": 2}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        ],
    }
    path = tmp_path / "open.geojson"
    path.write_text(json.dumps(doc))
    run = import_file(platform, path, layer="b", class_code="050101")
    assert run.state == "succeeded", run.report
    objs = layer_objects(platform, "b")
    assert len(objs) == 1 and objs[0].geometry.is_valid
    assert abs(objs[0].geometry.area - 1e-6) < 1e-12
    # GDAL's GeoJSON reader closes the ring itself; its warning is the record of the repair.
    assert any("Non closed ring detected" in n for n in (run.report or {})["notes"])


def test_unclosed_ring_in_wkb_is_closed_by_the_reader_repair() -> None:
    import struct

    from citybase.domains.imports.geometry import parse_wkb

    ring = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    wkb = struct.pack("<BII I", 1, 3, 1, len(ring)) + b"".join(struct.pack("<dd", *c) for c in ring)
    geom, repairs = parse_wkb(wkb)
    assert geom is not None and geom.is_valid and geom.area == 1.0
    assert repairs == ["closed an unclosed ring"]


def test_csv_with_a_wkt_column(platform: Platform, tmp_path: Path) -> None:
    path = tmp_path / "green.csv"
    wkt = footprints(1)[0].wkt
    path.write_text(f'WKT,名称\n"{wkt}",滨江绿地\n', encoding="utf-8")
    run = import_file(platform, path, layer="green", class_code="040201", crs="EPSG:4490", mapping={"名称": "name"})
    assert run.state == "succeeded", run.report
    (obj,) = layer_objects(platform, "green")
    assert obj.name == "滨江绿地" and obj.geometry.equals_exact(footprints(1)[0], 1e-12)

"""The codes API on both databases: resolution and its errors, labels, assignment, lineage, crosswalk, Beidou."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any
from xml.etree import ElementTree

import segno
from shapely.geometry import mapping

from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from citybase.standards import beidou
from citybase.standards.unified_code import make_code
from tests.helpers import ORIGIN, Api, add_building, add_department, add_lamp, building_footprint

URL = "http://127.0.0.1:8000/portal/code.html?code="


def coded_building(platform: Platform, name: str = "1号楼", dx: float = 0.0) -> str:
    return platform.codes.assign(SYSTEM, add_building(platform, name, dx=dx).id).code


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


# --- resolution ------------------------------------------------------------------------------------


def test_resolve_a_code_to_its_card(api: Api, platform: Platform) -> None:
    code = coded_building(platform)
    r = api.get(f"/api/codes/{code}")
    assert r.status_code == 200, r.text
    card = r.json()
    assert card["code"] == code and card["code_state"] == "active" and card["replaced_by"] == []
    assert card["object"]["class_name"] == "建筑物" and card["object"]["name"] == "1号楼"
    assert card["division"] == {"code": "420600", "name": "襄阳市"}
    assert card["geometry"]["type"] == "Polygon" and card["address"] is None
    assert card["beidou"]["code2d"].startswith("N49") and len(card["beidou"]["code2d"]) == 20
    assert card["lineage"] == {"came_from": [], "went_to": []}
    assert card["links"]["portal"] == f"/portal/code.html?code={code}"
    assert api.get(f"/api/codes/{code.lower()}").json()["code"] == code  # an x check digit in lower case too


def test_resolution_errors_are_problem_json(api: Api, platform: Platform) -> None:
    code = coded_building(platform)
    wrong_check = code[:20] + ("0" if code[20] != "0" else "1")
    body = problem(api.get(f"/api/codes/{wrong_check}"), 400)
    assert body["issues"][0]["field"] == "unified_code" and "check character" in body["issues"][0]["reason"]
    body = problem(api.get("/api/codes/42060A050101000000013"), 400)
    assert "position 6" in body["issues"][0]["reason"]
    body = problem(api.get("/api/codes/4206"), 400)
    assert "expected 21" in body["issues"][0]["reason"]
    body = problem(api.get(f"/api/codes/{make_code('420600', '099999', 1)}"), 400)
    assert "not in the class table" in body["issues"][0]["reason"]
    body = problem(api.get(f"/api/codes/{make_code('420602', '050101', 99)}"), 404)
    assert "not issued" in body["detail"]
    foreign = api.get(f"/api/codes/validate/{make_code('420602', '050101', 99)}").json()
    assert foreign["valid"] and foreign["serial"] == 99


# --- labels ----------------------------------------------------------------------------------------


def svg_matrix(svg: str) -> list[list[bool]]:
    """Read the QR modules back from the label's path (``M x y h w v1 h-w z`` per dark run)."""
    path = ElementTree.fromstring(svg).find(".//{http://www.w3.org/2000/svg}path")
    assert path is not None
    n = int(path.attrib["data-qr-modules"])
    grid = [[False] * n for _ in range(n)]
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", path.attrib["d"]):
        for i in range(int(x), int(x) + int(w)):
            grid[int(y)][i] = True
    return grid


def png_matrix(png: bytes, scale: int, border: int = 4) -> list[list[bool]]:
    """Decode segno's 1-bit greyscale PNG and sample one pixel per module."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        header = data if kind == b"IHDR" else header
        idat += data if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert (depth, colour) == (1, 0)
    raw, stride = zlib.decompress(idat), (width + 7) // 8
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):  # undo the PNG row filter (1 byte per pixel group at depth 1)
            left, up, corner = line[i - 1] if i else 0, prev[i], prev[i - 1] if i else 0
            guess = {0: 0, 1: left, 2: up, 3: (left + up) // 2}.get(kind)
            if guess is None:  # Paeth
                p = left + up - corner
                guess = min((abs(p - left), 0, left), (abs(p - up), 1, up), (abs(p - corner), 2, corner))[2]
            line[i] = (line[i] + guess) & 0xFF
        rows.append(line)
        prev = line

    def dark(x: int, y: int) -> bool:
        return not (rows[y][x // 8] >> (7 - x % 8)) & 1

    n = width // scale - 2 * border
    return [[dark((border + i) * scale, (border + j) * scale) for i in range(n)] for j in range(n)]


def test_labels_encode_the_portal_url(api: Api, platform: Platform) -> None:
    code = coded_building(platform)
    expected = [[bool(v) for v in row] for row in segno.make(URL + code, error="m", boost_error=False).matrix]
    r = api.get(f"/api/codes/{code}/label.svg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
    assert svg_matrix(r.text) == expected
    assert "1号楼" in r.text and f"{code[:6]} {code[6:12]}" in r.text
    r = api.get(f"/api/codes/{code}/label.png?scale=3")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert png_matrix(r.content, 3) == expected
    problem(api.get(f"/api/codes/{make_code('420602', '050101', 99)}/label.png"), 404)


def test_a_label_sheet_for_a_class_in_a_box(api: Api, platform: Platform) -> None:
    codes = [coded_building(platform, f"{i}号楼", dx=i * 0.001) for i in range(11)]
    add_building(platform, "未赋码", dx=0.0005)
    x, y = ORIGIN
    r = api.get(f"/api/codes/labels.svg?class=050101&bbox={x - 0.001},{y - 0.001},{x + 0.0095},{y + 0.001}")
    assert r.status_code == 200, r.text
    sheet = ElementTree.fromstring(r.text)
    groups = [g.attrib["data-code"] for g in sheet.iter("{http://www.w3.org/2000/svg}g") if "data-code" in g.attrib]
    assert groups == sorted(codes[:10])
    assert sheet.attrib["height"] == "594mm"  # 10 labels: two A4-high pages of 9
    problem(api.get("/api/codes/labels.svg?class=050101&bbox=1,2,3"), 400)


# --- assignment, lifecycle, lineage ----------------------------------------------------------------


def test_assign_now_or_as_a_job(admin_api: Api, platform: Platform) -> None:
    ids = [add_lamp(platform, f"灯{i}", dx=i * 1e-4).id for i in range(4)]
    r = admin_api.post("/api/codes/assign", json={"object_ids": ids[:2]})
    assert r.status_code == 200, r.text
    assert [a["object_id"] for a in r.json()["assigned"]] == ids[:2]
    r = admin_api.post("/api/codes/assign", json={"class_code": "010301"})
    assert r.status_code == 202 and r.json()["kind"] == "codes.assign"
    platform.jobs.run_one()
    job = admin_api.get(f"/api/jobs/{r.json()['id']}").json()
    assert job["state"] == "succeeded" and job["result"]["coded"] == 2
    body = problem(admin_api.post("/api/codes/assign", json={"object_ids": [ids[0]]}), 409)
    assert "already has code" in body["issues"][0]["reason"]
    r = admin_api.post("/api/codes/assign", json={"object_ids": [add_lamp(platform).id], "height": 12.5})
    assert admin_api.get(f"/api/codes/{r.json()['assigned'][0]['code']}").json()["beidou"]["height_m"] == 12.5


def test_anonymous_callers_read_but_do_not_assign(api: Api, platform: Platform) -> None:
    lamp = add_lamp(platform)
    assert api.post("/api/codes/assign", json={"object_ids": [lamp.id]}).status_code in (401, 403)
    assert api.post("/api/codes/assign", json={"class_code": "010301"}).status_code in (401, 403)
    assert platform.objects.get(lamp.id).code is None


def test_merge_split_and_retire_over_http(admin_api: Api, platform: Platform) -> None:
    a, b = coded_building(platform, "东楼"), coded_building(platform, "西楼", dx=0.0003)
    r = admin_api.post(f"/api/codes/{a}/merge", json={"with": [b], "name": "东西楼"})
    assert r.status_code == 201, r.text
    merged = r.json()["code"]
    old = admin_api.get(f"/api/codes/{a}").json()
    assert old["code_state"] == "retired" and old["replaced_by"] == [merged]
    parts = [{"name": "甲", "geometry": mapping(building_footprint())},
             {"name": "乙", "geometry": mapping(building_footprint(0.0003))}]
    r = admin_api.post(f"/api/codes/{merged}/split", json={"parts": parts})
    assert r.status_code == 201, r.text
    new = [c["code"] for c in r.json()["items"]]
    assert admin_api.get(f"/api/codes/{merged}").json()["replaced_by"] == new
    assert admin_api.get(f"/api/codes/{new[0]}").json()["lineage"]["came_from"][0]["kind"] == "split"
    assert admin_api.post(f"/api/codes/{new[1]}/retire").json()["code_state"] == "retired"
    problem(admin_api.post(f"/api/codes/{new[1]}/retire"), 409)


def test_building_nodes_over_http(admin_api: Api, platform: Platform) -> None:
    body = {"name": "3号楼", "geometry": mapping(building_footprint()), "attributes": {"floors": 11},
            "permit_no": "建字第1号", "permit_date": "2026-05-01"}
    r = admin_api.post("/api/codes/buildings/planning-permit", json=body)
    assert r.status_code == 201, r.text
    code = r.json()["code"]
    assert r.json()["object"]["state"] == "planned"
    r = admin_api.post(f"/api/codes/{code}/area-survey", json={"area_m2": 4321.5, "survey_date": "2027-01-02"})
    assert r.json()["object"]["attributes"]["surveyed_area_m2"] == 4321.5
    r = admin_api.post(f"/api/codes/{code}/completion-acceptance", json={"acceptance_date": "2027-03-04"})
    assert r.json()["object"]["state"] == "active" and r.json()["code"] == code
    problem(admin_api.post(f"/api/codes/{code}/completion-acceptance", json={"acceptance_date": "soon"}), 400)


# --- crosswalk and health --------------------------------------------------------------------------


def test_crosswalk_over_http(admin_api: Api, platform: Platform) -> None:
    add_department(platform, "zjj", "住建局")
    a, b = coded_building(platform), coded_building(platform, "2号楼", dx=0.001)
    r = admin_api.request("PUT", "/api/codes/crosswalk/zjj/LP/2019/001", json={"code": a})
    assert r.status_code == 200, r.text
    assert r.json()["legacy_id"] == "LP/2019/001" and r.json()["department"]["code"] == "zjj"
    assert admin_api.get("/api/codes/crosswalk/zjj/LP/2019/001").json()["code"] == a
    body = problem(admin_api.request("PUT", "/api/codes/crosswalk/zjj/LP/2019/001", json={"code": b}), 409)
    assert a in body["detail"]
    problem(admin_api.get("/api/codes/crosswalk/zjj/nope"), 404)
    assert [e["legacy_id"] for e in admin_api.get(f"/api/codes/{a}/crosswalk").json()["items"]] == ["LP/2019/001"]
    assert admin_api.delete("/api/codes/crosswalk/zjj/LP/2019/001").status_code == 204
    problem(admin_api.get("/api/codes/crosswalk/zjj/LP/2019/001"), 404)


def test_health_over_http(admin_api: Api, api: Api, platform: Platform) -> None:
    dept = add_department(platform, "zjj", "住建局")
    add_building(platform, department_id=dept.id)
    r = admin_api.get("/api/codes/health?department=zjj")
    assert r.status_code == 200, r.text
    kinds = {p["kind"]: p["count"] for p in r.json()["problems"]}
    assert kinds["uncoded"] == 1 and set(kinds) == {"uncoded", "duplicate_legacy_ids", "retired_crosswalk",
                                                     "retired_parent", "division_mismatch", "stale_beidou"}
    assert admin_api.get(f"/api/codes/health?department={dept.id}").json()["department_id"] == dept.id
    problem(admin_api.get("/api/codes/health?department=nope"), 404)
    assert api.anonymous().get("/api/codes/health").status_code == 403


# --- Beidou ----------------------------------------------------------------------------------------


def test_beidou_encode_and_decode(api: Api) -> None:
    lng, lat = 116 + 18 / 60 + 45.37 / 3600, 39 + 59 / 60 + 35.38 / 3600
    r = api.get(f"/api/beidou/encode?lng={lng}&lat={lat}&level=8&height=50")
    assert r.status_code == 200, r.text
    assert r.json()["code"] == "N50J47539B825534" == beidou.encode(lng, lat, 8)
    assert r.json()["code3d"].startswith("N050J0047050390B80205563")
    cell = api.get("/api/beidou/decode/N50J47539B825534").json()
    assert cell["dimensions"] == 2 and cell["level"] == 8
    assert cell["bounds"][0] <= lng <= cell["bounds"][2]
    three = api.get(f"/api/beidou/decode/{r.json()['code3d']}").json()
    assert three["dimensions"] == 3 and three["bottom_m"] <= 50 < three["top_m"]
    body = problem(api.get("/api/beidou/decode/N50J4753ZZ"), 400)
    assert any("2D" in i["reason"] for i in body["issues"]) and any("3D" in i["reason"] for i in body["issues"])
    body = problem(api.get("/api/beidou/encode?lng=112&lat=89"), 400)
    assert body["issues"]
